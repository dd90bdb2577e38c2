"""What one dashboard snapshot costs on a large ledger, against reading the window's rows into Python.

A ledger of N calls (default 100,000) spread over 30 days: 20 models, 60 projects, 5 % failed
attempts, a fallback in 1 of 10 requests, cache hits; rows are written straight into the ledger's
SQLite file after the store has created it. For the 24-hour and 30-day windows, side by side in
the same run:

- snapshot: gatewise.dashboard.build_snapshot, the figures aggregated in SQL (usage by model and by
  project, the time slots, guardrail events);
- rows into Python: the same totals, groups, slots and latency percentiles from every row of the
  window fetched into Python (what a dashboard without SQL aggregates would do);
- 20 viewers (24-hour window): twenty concurrent requests through the dashboard's shared snapshot
  (Snapshots), against twenty snapshots built one after another.

Time is the median of --repeat runs; memory, in one more run under tracemalloc, is the peak of
Python allocations.

Usage: python bench/dashboard.py [--calls 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import tempfile
import time
import tracemalloc
from collections import defaultdict
from collections.abc import Awaitable, Callable
from contextlib import closing
from pathlib import Path
from typing import Any

from gatewise.catalog import Catalog
from gatewise.dashboard import WINDOWS, DashboardSources, build_snapshot
from gatewise.dashboard.snapshot import Snapshots, WindowName
from gatewise.ledger import open_ledger
from gatewise.ledger.guardrail_events import GuardrailEvents

VIEWERS = 20
COLUMNS = ("ts", "server", "tool", "provider", "model", "tokens_in", "tokens_out", "cost_usd", "latency_ms",
           "status", "error_code", "cache_status", "route_reason", "project", "request_id", "attempt", "task")


async def fill(path: Path, calls: int, now: float) -> None:
    await open_ledger(path).close()  # the store creates and migrates the file
    rng = random.Random(7)
    models = [f"vendor{i % 5}/model-{i}" for i in range(20)]
    projects = [f"project-{i}" for i in range(60)]
    rows: list[tuple[Any, ...]] = []
    request = 0
    while len(rows) < calls:
        request += 1
        ts = now - rng.random() * 30 * 86_400
        project = rng.choice(projects)
        attempts = 2 if rng.random() < 0.1 else 1
        for attempt in range(attempts):
            failed = attempt < attempts - 1 or rng.random() < 0.03
            hit = not failed and rng.random() < 0.15
            rows.append((ts + attempt, "routing-gateway", "routed_complete", "openrouter", rng.choice(models),
                         rng.randint(20, 2000), 0 if failed else rng.randint(10, 800),
                         0.0 if failed or hit else rng.random() * 0.01, rng.lognormvariate(6, 0.6),
                         "error" if failed else "ok", "UPSTREAM_ERROR" if failed else None,
                         "hit_exact" if hit else "miss", "bench", project, f"req-{request}", attempt,
                         "simple_queries"))
    rows = sorted(rows[:calls])  # in time order, as servers append them
    with closing(sqlite3.connect(path)) as conn:
        conn.executemany(f"INSERT INTO calls ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
                         rows)
        conn.commit()


def rows_into_python(path: Path, since: float, until: float, slot_s: float) -> dict[str, Any]:
    """The snapshot's main figures from every row of the window, aggregated in Python."""
    with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as conn:
        rows = conn.execute("SELECT * FROM calls WHERE ts >= ? AND ts < ?", (since, until)).fetchall()
    cost: dict[str, dict[Any, float]] = {"model": defaultdict(float), "project": defaultdict(float)}
    latencies: dict[Any, list[float]] = defaultdict(list)
    slots: dict[int, float] = defaultdict(float)
    requests: set[str] = set()
    for row in rows:
        # id, ts, server, tool, provider, model, tokens_in, tokens_out, cost_usd, latency_ms, status,
        # error_code, cache_status, route_reason, project, request_id, ...
        (_, ts, _, _, _, model, _, _, usd, latency, status, _, cache, _, project, request, *_) = row
        spent = 0.0 if cache.startswith("hit") else usd
        cost["model"][model] += spent
        cost["project"][project] += spent
        slots[int((ts - since) // slot_s)] += spent
        requests.add(request)
        if status == "ok":
            latencies[model].append(latency)
    percentiles = {model: [sorted(values)[int(q * (len(values) - 1))] for q in (0.5, 0.95, 0.99)]
                   for model, values in latencies.items()}
    return {"requests": len(requests), "cost": cost, "slots": slots, "latency": percentiles}


async def timed(fn: Callable[[], Awaitable[object]], repeat: int) -> float:
    """Median milliseconds over ``repeat`` runs."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        await fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


async def peak_mib(fn: Callable[[], Awaitable[object]]) -> float:
    """tracemalloc's peak of Python allocations during one run (tracing slows the run: untimed)."""
    tracemalloc.start()
    try:
        await fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


async def run(calls: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ledger.sqlite3"
        now = time.time()
        await fill(path, calls, now)
        catalog = Catalog.snapshot()
        sources = DashboardSources(path, GuardrailEvents(path), None, lambda: catalog)
        print(f"{calls:,} calls over 30 days; median of {repeat} runs; peak = tracemalloc peak\n")
        print("| window | rows in window | snapshot ms | rows into Python ms | time ratio "
              "| snapshot peak MiB | rows peak MiB | memory ratio |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        measured: tuple[WindowName, ...] = ("24h", "30d")
        for name in measured:
            span = WINDOWS[name]
            since = now - span.seconds
            with closing(sqlite3.connect(path)) as conn:
                inside = conn.execute("SELECT COUNT(*) FROM calls WHERE ts >= ?", (since,)).fetchone()[0]

            async def snapshot(name: WindowName = name) -> object:
                return await build_snapshot(sources, name, now=now)

            async def naive(since: float = since, slot_s: float = span.slot_s) -> object:
                return await asyncio.to_thread(rows_into_python, path, since, now, slot_s)

            snap_ms, naive_ms = await timed(snapshot, repeat), await timed(naive, repeat)
            snap_mib, naive_mib = await peak_mib(snapshot), await peak_mib(naive)
            print(f"| {name} | {inside:,} | {snap_ms:.0f} | {naive_ms:.0f} | {naive_ms / snap_ms:.2f}x | "
                  f"{snap_mib:.1f} | {naive_mib:.1f} | {naive_mib / snap_mib:.1f}x |")

        async def shared() -> object:
            viewers = Snapshots(sources)
            return await asyncio.gather(*(viewers.get("24h") for _ in range(VIEWERS)))

        async def separate() -> object:
            return [await build_snapshot(sources, "24h", now=now) for _ in range(VIEWERS)]

        shared_ms, separate_ms = await timed(shared, repeat), await timed(separate, 1)
        print(f"\n{VIEWERS} viewers of the 24h window at once: {shared_ms:.0f} ms sharing one snapshot, "
              f"{separate_ms:.0f} ms building one each ({separate_ms / shared_ms:.1f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(run(args.calls, args.repeat))


if __name__ == "__main__":
    main()
