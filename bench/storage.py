"""The shared PostgreSQL backend against the embedded SQLite one, in the same run.

For each backend, through the same store interfaces the servers use:

- reservations/s: reserve + commit cycles against a global budget, CONCURRENCY at a time, in
                  one instance and then split over INSTANCES processes on the same store;
- ledger rows/s:  record() calls, CONCURRENCY at a time (group commit batches them), in one
                  instance and then split over INSTANCES processes;
- per call:       the storage work one routed call adds (reserve, commit, one ledger row),
                  one call at a time: p50 / p95;
- analytics:      summary() by model and by day over --rows ledger rows (bulk-loaded first),
                  and the usage analytics by model, the 30-day series of the dashboard and the
                  optimisation report through each backend's analytics source.

PostgreSQL runs on a throwaway database (``gatewise_bench_<uuid>``, dropped at the end) on the
server named by GATEWISE_BENCH_POSTGRES (default: the local one). SQLite uses a temporary file.

Usage: python bench/storage.py [--cycles 2000] [--rows 1000000] [--concurrency 32] [--instances 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg

from common import pct
from gatewise.analytics import optimization_report, usage_analytics
from gatewise.analytics.timeseries import usage_over_time
from gatewise.catalog import Catalog
from gatewise.config import BudgetRule, load_settings
from gatewise.ledger.records import CallRecord
from gatewise.storage.backends import Stores, analytics_source, open_stores

ADMIN_URL = os.environ.get("GATEWISE_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
MODELS = [f"vendor/model-{i}" for i in range(12)]
DAY = 86_400.0


def record(i: int, ts: float | None = None, tag: str = "req", text: str | None = None) -> CallRecord:
    return CallRecord(server="routing_gateway", tool="routed_complete", provider="sandbox",
                      model=MODELS[i % len(MODELS)], tokens_in=100 + i % 50, tokens_out=20 + i % 30,
                      cost_usd=0.0001 * (1 + i % 7), latency_ms=50.0 + (i * 37) % 400, status="ok",
                      cache_status="miss", route_reason="bench", request_id=f"{tag}-{i}", attempt=0,
                      project=f"p{i % 5}", request_hash=text, ts=time.time() if ts is None else ts)


@asynccontextmanager
async def backend(name: str) -> AsyncIterator[tuple[Stores, dict[str, str]]]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {"GATEWISE_DATA_DIR": tmp}
        database = None
        if name == "postgresql":
            database = f"gatewise_bench_{uuid.uuid4().hex[:12]}"
            with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{database}"')  # type: ignore[arg-type]
            env["GATEWISE_DATABASE_URL"] = urlunsplit(urlsplit(ADMIN_URL)._replace(path=f"/{database}"))
        try:
            stores = await open_stores(load_settings(env))
            try:
                await stores.budgets.set_budget(BudgetRule(scope="global", window="monthly", limit_usd=1e9))
                yield stores, env
            finally:
                await stores.budgets.close()
                await stores.ledger.close()
                if stores.database is not None:
                    await stores.database.close()
        finally:
            if database is not None:
                with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')  # type: ignore[arg-type]


async def rate(count: int, concurrency: int, one: Callable[[int], Awaitable[None]]) -> float:
    """``one(i)`` for i in range(count), ``concurrency`` workers; calls per second."""
    queue = iter(range(count))

    async def worker() -> None:
        for i in queue:
            await one(i)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return count / (time.perf_counter() - started)


async def bulk_load(stores: Stores, rows: int) -> None:
    """``rows`` ledger rows spread over 30 days, in batches of 10,000 through record_many. Every
    other row carries a text hash, each text about ten times, so the optimisation report has
    repeats to replay."""
    start = time.time() - 30 * DAY
    texts = rows // 20 + 1
    for first in range(0, rows, 10_000):
        batch = [record(i, start + i * 30 * DAY / rows, text=f"text-{i % texts}" if i % 2 else None)
                 for i in range(first, min(rows, first + 10_000))]
        await stores.ledger.record_many(batch)


def cycles_of(stores: Stores, tag: str) -> Callable[[int], Awaitable[None]]:
    """One budgeted call's hold and settle, against the global budget and one of five projects."""

    async def cycle(i: int) -> None:
        held = await stores.budgets.reserve(["global", f"project:p{i % 5}"], 0.001, f"{tag}-{i}")
        await stores.budgets.commit(held, 0.0005)

    return cycle


def rows_of(stores: Stores, tag: str) -> Callable[[int], Awaitable[None]]:
    async def one(i: int) -> None:
        await stores.ledger.record(record(i, tag=tag))

    return one


WORK = {"holds": cycles_of, "rows": rows_of}


async def worker(work: str, count: int, concurrency: int, start_at: float) -> None:
    """In a child process: ``count`` cycles of ``work`` from ``start_at``; prints when it
    finished (epoch s)."""
    stores = await open_stores(load_settings())
    await asyncio.sleep(max(0.0, start_at - time.time()))
    await rate(count, concurrency, WORK[work](stores, f"worker-{os.getpid()}"))
    print(time.time())
    await stores.budgets.close()
    await stores.ledger.close()
    if stores.database is not None:
        await stores.database.close()


def across_processes(env: dict[str, str], work: str, instances: int, cycles: int, concurrency: int) -> float:
    """Cycles of ``work`` per second of ``instances`` processes sharing the store, started together."""
    start_at = time.time() + 5  # once every process has opened its stores
    each = cycles // instances
    share = str(max(1, concurrency // instances))
    workers = [subprocess.Popen([sys.executable, __file__, WORKER, work, str(each), share, str(start_at)],
                                env={**os.environ, **env}, stdout=subprocess.PIPE, text=True)
               for _ in range(instances)]
    ends = [float(worker.communicate(timeout=600)[0]) for worker in workers]
    return each * instances / (max(ends) - start_at)


async def seconds(work: Awaitable[object]) -> float:
    """How long awaiting ``work`` took, wall clock."""
    started = time.perf_counter()
    await work
    return time.perf_counter() - started


async def measure(name: str, cycles: int, rows: int, concurrency: int, instances: int) -> dict[str, float]:
    async with backend(name) as (stores, env):
        budgets, ledger = stores.budgets, stores.ledger
        reservations = await rate(cycles, concurrency, cycles_of(stores, f"bench-{name}"))
        shared = await asyncio.to_thread(across_processes, env, "holds", instances, cycles, concurrency)
        ledger_rows = await rate(cycles * 4, concurrency, rows_of(stores, "one"))
        shared_rows = await asyncio.to_thread(across_processes, env, "rows", instances, cycles * 4,
                                              concurrency)
        per_call = []
        for i in range(max(200, cycles // 4)):
            started = time.perf_counter()
            held = await budgets.reserve(["global"], 0.001, f"call-{name}-{i}")
            await budgets.commit(held, 0.0005)
            await ledger.record(record(i))
            per_call.append((time.perf_counter() - started) * 1000)
        await bulk_load(stores, rows)
        total = await ledger.count()
        timings: dict[str, float] = {}
        for group in ("model", "day"):
            timings[group] = await seconds(ledger.summary(since=time.time() - 31 * DAY,
                                                          group_by=group))  # type: ignore[arg-type]
        # What get_gateway_analytics and the dashboard's 30-day chart run, on the same rows.
        source = analytics_source(load_settings(env).ledger_path, stores.database, stores.guardrail_events)
        until = time.time()
        timings["usage"] = await seconds(usage_analytics(source, Catalog.snapshot(), since=until - 31 * DAY,
                                                         until=until))
        timings["series"] = await seconds(usage_over_time(source, since=until - 30 * DAY, until=until,
                                                          slot_s=12 * 3600))
        timings["report"] = await seconds(optimization_report(source, Catalog.snapshot(),
                                                              since=until - 31 * DAY, until=until))
        return {"reservations/s": reservations, f"reservations/s, {instances} instances": shared,
                "ledger rows/s": ledger_rows, f"ledger rows/s, {instances} instances": shared_rows,
                "call p50 ms": pct(per_call, 0.5), "call p95 ms": pct(per_call, 0.95),
                "rows": float(total), "summary by model s": timings["model"],
                "summary by day s": timings["day"], "usage analytics by model s": timings["usage"],
                "usage over 30 days s": timings["series"], "optimization report s": timings["report"]}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cycles", type=int, default=2000, help="reserve+commit cycles")
    parser.add_argument("--rows", type=int, default=100_000, help="ledger rows for the analytics figures")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--instances", type=int, default=3, help="processes sharing the store")
    args = parser.parse_args()
    # Wall-clock figures on a shared machine: the load they were taken under goes with them.
    load_before = os.getloadavg()
    results = {name: await measure(name, args.cycles, args.rows, args.concurrency, args.instances)
               for name in ("sqlite", "postgresql")}
    print(f"storage backends, {args.cycles} cycles, {args.concurrency} concurrent, "
          f"{args.rows:,} ledger rows for analytics (same machine, same run)")
    print(f"load average (1, 5, 15 min) {', '.join(f'{x:.2f}' for x in load_before)} before, "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())} after; {os.cpu_count()} CPUs\n")
    print("| figure | SQLite (baseline) | PostgreSQL | PostgreSQL / SQLite |")
    print("|---|---:|---:|---:|")
    for figure, base in results["sqlite"].items():
        other = results["postgresql"][figure]
        print(f"| {figure} | {base:,.2f} | {other:,.2f} | {other / base if base else float('nan'):.2f}x |")


WORKER = "--worker"

if __name__ == "__main__":
    if sys.argv[1:2] == [WORKER]:
        asyncio.run(worker(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])))
    else:
        asyncio.run(main())
