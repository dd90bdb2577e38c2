"""``gatewise serve`` under load: routed_complete over Streamable HTTP beside the in-process call.

The sandbox upstream runs in a process of its own; ``gatewise serve`` runs in another, with a
bearer token (authentication on, as a team would run it) and the response cache bypassed, so
every call goes through the whole path to the upstream and writes its ledger row. Clients are
MCP SDK Streamable HTTP clients in this process, one session each; the in-process rows call
RoutingGateway.complete() in this process with the same concurrency against the same upstream.
Both share the machine's cores with the upstream, so read the ratio, not the absolute figures.

Memory: a fresh ``gatewise serve`` answers --memory-calls calls from 16 clients, each opening a
new session every 250 calls, and its resident set (VmRSS) is read along the way; the last reading
is compared with the one after --memory-early calls.

Reference: the same completion through LiteLLM's proxy (``litellm --config``) against the same
upstream, at the same concurrency and in the same run. It speaks the OpenAI HTTP API, not MCP
(one POST per call, no session, no ledger or budgets), so it shows what a bare gateway hop
costs, not the same work. ``litellm[proxy]`` brings about a hundred packages (boto3, Azure
SDKs, FastAPI, Prisma extras…) with pins of their own, so it lives in a virtualenv of its own
and is found as the ``litellm`` command (or --litellm PATH); it runs offline with its bundled
price list:
    python -m venv /tmp/litellm-venv && /tmp/litellm-venv/bin/pip install 'litellm[proxy]'
Without it the rows are skipped and the output says why.

Usage: python bench/load.py [--calls 2000] [--concurrency 1,16,64] [--memory-calls 20000]
                            [--memory-early 2000] [--litellm PATH]
Quick: python bench/load.py --calls 200 --memory-calls 2000 --memory-early 400
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, ExitStack, asynccontextmanager, contextmanager
from functools import partial
from pathlib import Path

import httpx
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from common import pct, sandbox_process
from gatewise.config import load_settings
from gatewise.gateway import CompletionRequest, RoutingGateway
from gatewise.runtime import Runtime
from gatewise.serving.main import SUITE

PROMPT = "What is 17*23?"
MODEL = "openai/gpt-4o-mini"
ARGS = {"prompt": PROMPT, "model": MODEL, "no_cache": True}
SESSION_CALLS = 250  # memory phase: each client opens a new session this often
MEMORY_CLIENTS = 16


@contextmanager
def serve_process(sandbox_url: str, data_dir: Path) -> Iterator[tuple[str, str, int]]:
    """``gatewise serve`` on a free port; yields its base URL, a token, and its pid."""
    token = secrets.token_urlsafe(32)
    config = data_dir / "serve.json"
    # Limits sized for the bench: every client may call as fast as it can.
    config.write_text(json.dumps({"server": {"auth": {"rate_per_minute": 1_000_000, "burst": 100_000}}}))
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(GATEWISE_SANDBOX_URL=sandbox_url, GATEWISE_DATA_DIR=str(data_dir), GATEWISE_CONFIG=str(config),
               GATEWISE_AUTH_TOKENS=f"bench:{token}", GATEWISE_LOG_LEVEL="WARNING")
    log = data_dir / "serve.log"  # a file, not a pipe: a pipe nobody reads would fill and stall it
    with socket_port() as port, log.open("wb") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "gatewise.cli", "serve", "--port", str(port)],
                                env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"gatewise serve exited: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("gatewise serve did not become ready")
            time.sleep(0.2)
        yield base, token, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=60)


@contextmanager
def socket_port() -> Iterator[int]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    yield port


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


@asynccontextmanager
async def mcp_session(url: str, token: str) -> AsyncIterator[Client]:
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60) as http, \
            Client(streamable_http_client(url, http_client=http)) as client:
        yield client


async def call_over_http(client: Client) -> None:
    result = await client.call_tool("routed_complete", ARGS)
    if result.is_error:
        raise RuntimeError(str(result.content[0])[:300])


async def drive(calls: list[Callable[[], Awaitable[None]]], total: int) -> tuple[list[float], float]:
    """``total`` calls spread over the workers (one per entry of ``calls``); ms each, and wall s."""
    latencies: list[float] = []
    share = max(total // len(calls), 1)

    async def worker(call: Callable[[], Awaitable[None]]) -> None:
        for _ in range(share):
            started = time.perf_counter()
            await call()
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(worker(call) for call in calls))
    return latencies, time.perf_counter() - started


PROXY = "LiteLLM proxy (OpenAI HTTP)"


async def throughput(url: str, token: str, gateway: RoutingGateway, levels: list[int],
                     calls: int, proxy: tuple[str, str] | None) -> list[str]:
    request = CompletionRequest(prompt=PROMPT, model=MODEL, no_cache=True)

    async def in_process() -> None:
        await gateway.complete(request)

    rows = ["| clients | path | calls/s | p50 ms | p95 ms | p99 ms | calls/s vs in-process | "
            "p50 vs in-process |", "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for clients in levels:
        async with AsyncExitStack() as stack:
            sessions = [await stack.enter_async_context(mcp_session(url, token)) for _ in range(clients)]
            paths = {"in-process": [in_process] * clients,
                     "Streamable HTTP": [partial(call_over_http, s) for s in sessions]}
            if proxy is not None:
                base, key = proxy
                bearer = {"Authorization": f"Bearer {key}"}
                posts = [await stack.enter_async_context(
                    httpx.AsyncClient(base_url=base, headers=bearer, timeout=60)) for _ in range(clients)]
                paths[PROXY] = [partial(call_through_proxy, http) for http in posts]
            for group in paths.values():  # warm up sessions, pools and the ledger
                await drive(group, clients * 5)
            # Interleaved halves, so drift on a shared machine hits every path alike.
            results: dict[str, tuple[list[float], float]] = {name: ([], 0.0) for name in paths}
            for _ in range(2):
                for name, group in paths.items():
                    latencies, wall = await drive(group, calls // 2)
                    results[name] = (results[name][0] + latencies, results[name][1] + wall)
        base_rate = len(results["in-process"][0]) / results["in-process"][1]
        base_p50 = statistics.median(results["in-process"][0])
        for name, (latencies, wall) in results.items():
            rate = len(latencies) / wall
            p50 = statistics.median(latencies)
            rows.append(f"| {clients} | {name} | {rate:,.0f} | {p50:.2f} | {pct(latencies, 0.95):.2f} | "
                        f"{pct(latencies, 0.99):.2f} | {rate / base_rate:.2f}x | {p50 / base_p50:.2f}x |")
    return rows


async def call_through_proxy(http: httpx.AsyncClient) -> None:
    reply = await http.post("/v1/chat/completions", json={
        "model": MODEL, "messages": [{"role": "user", "content": PROMPT}]})
    if reply.status_code != 200 or not reply.json()["choices"][0]["message"]["content"]:
        raise RuntimeError(f"LiteLLM proxy: {reply.status_code} {reply.text[:300]}")


class ProxyUnavailable(Exception):
    """Why the LiteLLM rows are left out."""


@contextmanager
def litellm_proxy(command: str | None, sandbox_url: str, data_dir: Path) -> Iterator[tuple[str, str]]:
    """``litellm --config`` routing MODEL to the sandbox upstream, offline, with a master key (as
    authentication is on for gatewise serve); yields its base URL and the key."""
    found = shutil.which(command or "litellm")
    if found is None:
        raise ProxyUnavailable(
            f"no `{command or 'litellm'}` command. Install LiteLLM in a virtualenv of its own: "
            "`python -m venv /tmp/litellm-venv && /tmp/litellm-venv/bin/pip install 'litellm[proxy]'`, "
            "then pass --litellm /tmp/litellm-venv/bin/litellm")
    config = data_dir / "litellm.json"  # YAML is a superset of JSON
    config.write_text(json.dumps({"model_list": [{"model_name": MODEL, "litellm_params": {
        "model": f"openai/{MODEL}", "api_base": sandbox_url, "api_key": "sandbox"}}],
        "litellm_settings": {"telemetry": False, "drop_params": True}}))
    # The bundled price list instead of fetching it; no keys of this environment.
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    key = "sk-" + secrets.token_hex(32)
    env.update(LITELLM_LOCAL_MODEL_COST_MAP="True", LITELLM_LOG="ERROR", NO_DOCS="True",
               LITELLM_MASTER_KEY=key)
    log = data_dir / "litellm.log"
    with socket_port() as port, log.open("wb") as out:
        proc = subprocess.Popen([found, "--config", str(config), "--host", "127.0.0.1", "--port", str(port),
                                 "--num_workers", "1"], env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while not _answers(f"{base}/health/liveliness"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise ProxyUnavailable(f"`litellm --config` did not start: {log.read_text()[-600:]}")
            time.sleep(0.5)
        yield base, key
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


async def memory(sandbox_url: str, data_dir: Path, total: int, early: int) -> list[str]:
    readings: list[tuple[int, float]] = []
    with serve_process(sandbox_url, data_dir) as (base, token, pid):
        url = f"{base}/routing-gateway/mcp"
        readings.append((0, rss_mib(pid)))
        done = 0
        marks = sorted({early, *range(early, total + 1, max(early, total // 10)), total})
        for mark in marks:
            while done < mark:
                batch = min(SESSION_CALLS * MEMORY_CLIENTS, mark - done)
                async with AsyncExitStack() as stack:
                    sessions = [await stack.enter_async_context(mcp_session(url, token))
                                for _ in range(MEMORY_CLIENTS)]
                    await drive([partial(call_over_http, s) for s in sessions], batch)
                done += max(batch // MEMORY_CLIENTS, 1) * MEMORY_CLIENTS
            readings.append((done, rss_mib(pid)))
    early_rss = next(r for n, r in readings if n >= early)
    rows = ["| calls answered | resident set MiB | vs after early calls |", "| ---: | ---: | ---: |"]
    rows += [f"| {n:,} | {r:.1f} | {r / early_rss:.3f}x |" if n else f"| 0 (ready) | {r:.1f} | |"
             for n, r in readings]
    return rows


async def main(calls: int, levels: list[int], memory_calls: int, memory_early: int,
               litellm: str | None) -> None:
    with sandbox_process() as upstream, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "serve").mkdir()
        runtime = await Runtime.open(load_settings({}, data_dir=root / "in-process", sandbox_url=upstream))
        try:
            gateway = RoutingGateway.from_runtime(runtime)
            with serve_process(upstream, root / "serve") as (base, token, _), ExitStack() as proxies:
                try:
                    proxy: tuple[str, str] | None = proxies.enter_context(
                        litellm_proxy(litellm, upstream, root))
                    proxy_note = (f"{PROXY}: the same model and prompt as one POST /v1/chat/completions per "
                                  "call to `litellm --config` (one worker, master key) in front of the same "
                                  "upstream: another protocol, no session, ledger, budgets or guardrails.")
                except ProxyUnavailable as why:
                    proxy, proxy_note = None, f"{PROXY}: skipped: {why}"
                rows = await throughput(f"{base}/routing-gateway/mcp", token, gateway, levels, calls, proxy)
        finally:
            await runtime.close()
        print(f"routed_complete, {calls:,} calls per path and concurrency, response cache bypassed, "
              f"{len(SUITE)} servers in the serving process, bearer-token authentication on, "
              f"{os.cpu_count()} cores shared by upstream, server and clients, load average "
              f"{os.getloadavg()[0]:.1f} at the end\n")
        print("\n".join(rows))
        print("\n" + proxy_note)
        (root / "memory").mkdir()
        memory_rows = await memory(upstream, root / "memory", memory_calls, memory_early)
        print(f"\nResident set of gatewise serve over {memory_calls:,} calls ({MEMORY_CLIENTS} clients, "
              f"a new session every {SESSION_CALLS} calls each)\n")
        print("\n".join(memory_rows))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls per path at each concurrency")
    parser.add_argument("--concurrency", default="1,16,64", help="comma-separated client counts")
    parser.add_argument("--memory-calls", type=int, default=20_000)
    parser.add_argument("--memory-early", type=int, default=2_000)
    parser.add_argument("--litellm", metavar="PATH", help="the litellm command (default: litellm on PATH)")
    options = parser.parse_args()
    asyncio.run(main(options.calls, [int(c) for c in options.concurrency.split(",")],
                     options.memory_calls, options.memory_early, options.litellm))
