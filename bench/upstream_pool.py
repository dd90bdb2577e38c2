"""Upstream connections in one httpcore pool against shards of SHARD_SIZE, under concurrency.

routed_complete in-process (RoutingGateway.complete, response cache bypassed) against the sandbox
upstream in a process of its own, at each concurrency, with two gateways in this process: one
whose upstream client keeps all its connections in one pool (as before gatewise.upstream.pool),
one with the shards. Rounds alternate between them, so drift on a shared machine hits both.
CPU time of this process per call is the figure to read on a busy machine; calls/s is printed
beside it with the load average.

Usage: python bench/upstream_pool.py [--calls 640] [--concurrency 1,16,64] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

import gatewise.upstream.pool as pool
from common import sandbox_process
from gatewise.config import load_settings
from gatewise.gateway import CompletionRequest, RoutingGateway
from gatewise.runtime import Runtime

REQUEST = CompletionRequest(prompt="What is 17*23?", model="openai/gpt-4o-mini", no_cache=True)
LAYOUTS = {"one pool": 1 << 30, f"shards of {pool.SHARD_SIZE}": pool.SHARD_SIZE}


async def run(gateway: RoutingGateway, clients: int, calls: int) -> tuple[float, float]:
    """Wall and CPU seconds for ``calls`` calls from ``clients`` concurrent callers."""

    async def caller() -> None:
        for _ in range(calls // clients):
            await gateway.complete(REQUEST)

    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(caller() for _ in range(clients)))
    return time.perf_counter() - wall, time.process_time() - cpu


async def main(calls: int, levels: list[int], rounds: int) -> None:
    with sandbox_process() as upstream, tempfile.TemporaryDirectory() as tmp:
        gateways: dict[str, tuple[Runtime, RoutingGateway]] = {}
        for name, size in LAYOUTS.items():
            pool.SHARD_SIZE = size  # read when the upstream client is first used, just below
            runtime = await Runtime.open(load_settings({}, data_dir=Path(tmp) / str(size),
                                                       sandbox_url=upstream))
            gateway = RoutingGateway.from_runtime(runtime)
            await gateway.complete(REQUEST)
            gateways[name] = (runtime, gateway)
        rows = ["| callers | upstream connections | calls/s | CPU ms per call | CPU vs one pool |",
                "| ---: | --- | ---: | ---: | ---: |"]
        try:
            for clients in levels:
                totals = {name: [0.0, 0.0] for name in gateways}
                for _, gateway in gateways.values():
                    await run(gateway, clients, clients * 3)  # warm up the connections
                for _ in range(rounds):
                    for name, (_, gateway) in gateways.items():
                        wall, cpu = await run(gateway, clients, calls)
                        totals[name][0] += wall
                        totals[name][1] += cpu
                done = (calls // clients) * clients * rounds
                base = totals["one pool"][1] / done
                for name, (wall, cpu) in totals.items():
                    rows.append(f"| {clients} | {name} | {done / wall:,.0f} | {1000 * cpu / done:.2f} | "
                                f"{cpu / done / base:.2f}x |")
        finally:
            for runtime, _ in gateways.values():
                await runtime.close()
    print(f"routed_complete in-process, {calls} calls x {rounds} rounds per layout and concurrency, "
          f"{os.cpu_count()} cores shared with the upstream, load average {os.getloadavg()[0]:.1f} "
          "at the end\n")
    print("\n".join(rows))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=640)
    parser.add_argument("--concurrency", default="1,16,64")
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    asyncio.run(main(options.calls, [int(c) for c in options.concurrency.split(",")], options.rounds))
