"""Reliability under upstream chaos: routed_complete while the primary models misbehave.

The sandbox runs in its own process. Every primary model of the task table fails 30 % of its
calls — a mix of 429 (with Retry-After), 500/502/503 and hanging requests cut off by the read
timeout — while the fallback chain ends in one healthy model. The same prompts then run against a
healthy upstream, in the same run, as the baseline for latency.

Usage: python bench/chaos.py [--calls 5000] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from common import pct, sandbox_process
from gatewise.config import load_settings
from gatewise.errors import GatewiseError
from gatewise.gateway import CompletionRequest, RoutingGateway
from gatewise.runtime import Runtime

PROMPTS = [
    "What is 17*23?",
    "Write a Python function that reverses a linked list.",
    "Summarize: the launch moved to May because the supplier missed two deadlines.",
    "Translate into German: the meeting starts at nine.",
    "Explain why the sky is blue, step by step.",
    "Write a haiku about the sea.",
    "Analyze this dataset trend: 3, 5, 8, 13, 21.",
    "hello",
]
HEALTHY_FALLBACK = "mistralai/mistral-large-2512"
FAULT = {"error_rate": 0.25, "statuses": [429, 500, 502, 503], "retry_after": 1,
         "timeout_rate": 0.05}


async def run(gateway: RoutingGateway, calls: int, concurrency: int) -> tuple[list[float], int, int]:
    latencies: list[float] = []
    failures = fallbacks = 0
    queue = iter(range(calls))

    async def worker() -> None:
        nonlocal failures, fallbacks
        for i in queue:
            # no_cache: every call must reach the (faulty) upstream, not the response cache
            request = CompletionRequest(prompt=PROMPTS[i % len(PROMPTS)], max_tokens=64, no_cache=True)
            started = time.perf_counter()
            try:
                result = await gateway.complete(request)
            except GatewiseError:
                failures += 1
                continue
            latencies.append((time.perf_counter() - started) * 1000)
            fallbacks += result.fallback_used

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, failures, fallbacks


async def main(calls: int, concurrency: int) -> None:
    rows = []
    with sandbox_process() as url, tempfile.TemporaryDirectory() as data:
        admin = url.removesuffix("/api/v1") + "/_sandbox"
        for label, faulty in (("healthy upstream (baseline)", False), ("30 % faults on primaries", True)):
            settings = load_settings(
                {}, data_dir=Path(data) / label[:7], sandbox_url=url,
                limits={"read_timeout_s": 0.25, "max_retries": 1, "backoff_base_s": 0.01},
                routing={"fallback_chain": [HEALTHY_FALLBACK]})
            runtime = await Runtime.open(settings)
            gateway = RoutingGateway.from_runtime(runtime)
            httpx.post(f"{admin}/reset")
            if faulty:
                for model in set(gateway.routing.primary.values()):
                    httpx.put(f"{admin}/faults", json={"model": model, **FAULT})
            started = time.perf_counter()
            latencies, failures, fallbacks = await run(gateway, calls, concurrency)
            wall = time.perf_counter() - started
            stats = httpx.get(f"{admin}/stats").json()
            primaries = set(gateway.routing.primary.values())
            primary_calls = sum(row["requests"] for model, row in stats["models"].items()
                                if model in primaries)
            rows.append((label, calls, failures, fallbacks, latencies, wall,
                         {**stats["totals"], "primary_calls": primary_calls}))
            await runtime.close()
    report(rows)


def report(rows: list) -> None:
    base_p50 = statistics.median(rows[0][4])
    base_p95 = pct(rows[0][4], 0.95)
    print(f"\nrouted_complete under chaos — {rows[0][1]} calls per row; faults: {FAULT} on every "
          f"primary model; fallback chain ends in a healthy {HEALTHY_FALLBACK}\n")
    print("| upstream | calls | success rate | fallback rate | calls to primaries | injected faults "
          "| p50 ms | p95 ms | p95 added vs healthy ms | wall s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for label, calls, failures, fallbacks, lat, wall, stats in rows:
        ok = calls - failures
        print(f"| {label} | {calls} | {100 * ok / calls:.2f} % | {100 * fallbacks / max(ok, 1):.1f} % "
              f"| {stats['primary_calls']} | {stats['injected']} | {statistics.median(lat):.2f} "
              f"| {pct(lat, 0.95):.2f} | "
              f"{pct(lat, 0.95) - base_p95:+.2f} | {wall:.1f} |")
    print(f"\nhealthy p50 {base_p50:.2f} ms; a timed-out attempt costs the read timeout (250 ms) "
          "before the fallback answers.")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    asyncio.run(main(args.calls, args.concurrency))
