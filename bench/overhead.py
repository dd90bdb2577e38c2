"""What the routing gateway adds to a call, against a direct httpx call to the same upstream.

The sandbox upstream runs in its own process on loopback (so it does not share this process's
GIL); three ways of making the same chat call are interleaved in rounds so drift hits them all
alike:

- direct:     one pooled httpx.AsyncClient POSTing /chat/completions (the baseline);
- in-process: RoutingGateway.complete() — validation, analysis, route plan, upstream call,
              ledger commit to a real SQLite file, result model;
- mcp:        the routed_complete tool through the in-memory MCP client (adds the protocol);
- litellm:    LiteLLM's Router.acompletion() to the same upstream, when the bench extra is
              installed (pip install -e ".[bench]").

Usage: python bench/overhead.py [--calls 2000] [--rounds 4]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from gatewise.servers.routing_gateway.server import create_server
from mcp import Client

from common import free_port, pct, start_sandbox
from gatewise.config import load_settings
from gatewise.gateway import CompletionRequest, RoutingGateway
from gatewise.runtime import Runtime

PROMPT = "What is 17*23?"
MODEL = "openai/gpt-4o-mini"


async def timed(fn: Callable[[], Awaitable[object]], n: int, out: list[float]) -> None:
    for _ in range(n):
        start = time.perf_counter()
        await fn()
        out.append((time.perf_counter() - start) * 1000)


async def main(calls: int, rounds: int) -> None:
    port = free_port()
    proc = start_sandbox(port)
    url = f"http://127.0.0.1:{port}/api/v1"
    try:
        with tempfile.TemporaryDirectory() as data:
            settings = load_settings({}, data_dir=Path(data), sandbox_url=url)
            runtime = await Runtime.open(settings)
            gateway = RoutingGateway.from_runtime(runtime)
            request = CompletionRequest(prompt=PROMPT, model=MODEL)
            body = {"model": MODEL, "messages": [{"role": "user", "content": PROMPT}]}
            async with httpx.AsyncClient(base_url=url) as direct, \
                    Client(create_server(settings)) as mcp_client:

                async def call_direct() -> None:
                    (await direct.post("/chat/completions", json=body)).raise_for_status()

                async def call_gateway() -> None:
                    await gateway.complete(request)

                async def call_mcp() -> None:
                    result = await mcp_client.call_tool("routed_complete",
                                                        {"prompt": PROMPT, "model": MODEL})
                    assert not result.is_error

                modes = {"direct httpx (baseline)": call_direct,
                         "routed_complete in-process": call_gateway,
                         "routed_complete via MCP client": call_mcp}
                litellm_call = litellm_router(url, body)
                if litellm_call is not None:
                    modes["LiteLLM Router.acompletion"] = litellm_call
                samples: dict[str, list[float]] = {name: [] for name in modes}
                for fn in modes.values():  # warm up pools, caches and imports
                    await timed(fn, 50, [])
                per_round = max(calls // rounds, 1)
                for _ in range(rounds):
                    for name, fn in modes.items():
                        await timed(fn, per_round, samples[name])
            rows = await runtime.ledger.count()
            await runtime.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    report(samples, rows)


def litellm_router(url: str, body: dict) -> Callable[[], Awaitable[object]] | None:
    """LiteLLM's Router against the same upstream, or None when it is not installed."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no price-map download
    try:
        from litellm import Router
    except ImportError:
        print("LiteLLM is not installed (pip install -e '.[bench]'): its row is left out.")
        return None
    router = Router(model_list=[{"model_name": "bench", "litellm_params": {
        "model": f"openrouter/{MODEL}", "api_base": url, "api_key": "sk-sandbox"}}])

    async def call() -> None:
        await router.acompletion(model="bench", messages=body["messages"])

    return call


def report(samples: dict[str, list[float]], ledger_rows: int) -> None:
    base = samples["direct httpx (baseline)"]
    b50, b95 = statistics.median(base), pct(base, 0.95)
    print(f"\nrouted_complete overhead — {len(base)} calls per row, sandbox upstream in its own "
          f"process on loopback, ledger on ({ledger_rows} rows written)\n")
    print("| path | p50 ms | p95 ms | added p50 ms | added p95 ms | p50 ratio vs direct |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, values in samples.items():
        p50, p95 = statistics.median(values), pct(values, 0.95)
        print(f"| {name} | {p50:.3f} | {p95:.3f} | {p50 - b50:+.3f} | {p95 - b95:+.3f} | "
              f"{p50 / b50:.2f}x |")
    mine = samples["routed_complete in-process"]
    other = samples.get("LiteLLM Router.acompletion")
    print("\nadded = the path's percentile minus the direct call's; target: added p50 ≤ 1 ms "
          "in-process.")
    if other:
        ratio = (statistics.median(other) - b50) / max(statistics.median(mine) - b50, 1e-9)
        print(f"LiteLLM Router adds {ratio:.1f}x the p50 overhead of routed_complete in-process.")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    asyncio.run(main(args.calls, args.rounds))
