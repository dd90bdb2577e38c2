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

A LiteLLM proxy row is added only when ``litellm.proxy`` imports (pip install -e ".[bench]");
otherwise the output says why it is missing.

Usage: python bench/load.py [--calls 2000] [--concurrency 1,16,64] [--memory-calls 20000]
                            [--memory-early 2000]
Quick: python bench/load.py --calls 200 --memory-calls 2000 --memory-early 400
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from functools import partial
from importlib.metadata import PackageNotFoundError, version
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


async def throughput(url: str, token: str, gateway: RoutingGateway, levels: list[int],
                     calls: int) -> list[str]:
    request = CompletionRequest(prompt=PROMPT, model=MODEL, no_cache=True)

    async def in_process() -> None:
        await gateway.complete(request)

    rows = ["| clients | path | calls/s | p50 ms | p95 ms | p99 ms | calls/s vs in-process | "
            "p50 vs in-process |", "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for clients in levels:
        async with AsyncExitStack() as stack:
            sessions = [await stack.enter_async_context(mcp_session(url, token)) for _ in range(clients)]
            http_calls = [partial(call_over_http, s) for s in sessions]
            local_calls = [in_process] * clients
            await drive(http_calls, clients * 5)  # warm up sessions, pools and the ledger
            await drive(local_calls, clients * 5)
            # Interleaved halves, so drift on a shared machine hits both paths alike.
            results: dict[str, tuple[list[float], float]] = {"in-process": ([], 0.0),
                                                              "Streamable HTTP": ([], 0.0)}
            for _ in range(2):
                for name, group in (("in-process", local_calls), ("Streamable HTTP", http_calls)):
                    latencies, wall = await drive(group, calls // 2)
                    results[name][0].extend(latencies)
                    results[name] = (results[name][0], results[name][1] + wall)
        base_rate = len(results["in-process"][0]) / results["in-process"][1]
        base_p50 = statistics.median(results["in-process"][0])
        for name, (latencies, wall) in results.items():
            rate = len(latencies) / wall
            p50 = statistics.median(latencies)
            rows.append(f"| {clients} | {name} | {rate:,.0f} | {p50:.2f} | {pct(latencies, 0.95):.2f} | "
                        f"{pct(latencies, 0.99):.2f} | {rate / base_rate:.2f}x | {p50 / base_p50:.2f}x |")
    return rows


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


def litellm_proxy_note() -> str:
    """Why there is no LiteLLM proxy row (read from the installed distributions: importing
    litellm would try to fetch its price list from the internet)."""
    try:
        version("litellm-proxy")
    except PackageNotFoundError:
        return ("LiteLLM proxy: not measured. `pip install 'litellm[proxy]'` needs the `litellm-proxy` "
                "distribution, which the package index does not offer, so it cannot be a bench extra.")
    return ("LiteLLM proxy: installed, but not driven by this bench (it speaks the OpenAI HTTP API, not "
            "MCP, so its row would not compare the same protocol).")


async def main(calls: int, levels: list[int], memory_calls: int, memory_early: int) -> None:
    with sandbox_process() as upstream, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "serve").mkdir()
        runtime = await Runtime.open(load_settings({}, data_dir=root / "in-process", sandbox_url=upstream))
        try:
            gateway = RoutingGateway.from_runtime(runtime)
            with serve_process(upstream, root / "serve") as (base, token, _):
                rows = await throughput(f"{base}/routing-gateway/mcp", token, gateway, levels, calls)
        finally:
            await runtime.close()
        print(f"routed_complete, {calls:,} calls per path and concurrency, response cache bypassed, "
              f"{len(SUITE)} servers in the serving process, bearer-token authentication on, "
              f"{os.cpu_count()} cores shared by upstream, server and clients, load average "
              f"{os.getloadavg()[0]:.1f} at the end\n")
        print("\n".join(rows))
        (root / "memory").mkdir()
        memory_rows = await memory(upstream, root / "memory", memory_calls, memory_early)
        print(f"\nResident set of gatewise serve over {memory_calls:,} calls ({MEMORY_CLIENTS} clients, "
              f"a new session every {SESSION_CALLS} calls each)\n")
        print("\n".join(memory_rows))
        print("\n" + litellm_proxy_note())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls per path at each concurrency")
    parser.add_argument("--concurrency", default="1,16,64", help="comma-separated client counts")
    parser.add_argument("--memory-calls", type=int, default=20_000)
    parser.add_argument("--memory-early", type=int, default=2_000)
    options = parser.parse_args()
    asyncio.run(main(options.calls, [int(c) for c in options.concurrency.split(",")],
                     options.memory_calls, options.memory_early))
