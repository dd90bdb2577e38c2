"""Helpers shared by the benchmarks (run them as scripts: ``python bench/<name>.py``)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

from gatewise.upstream.local_sandbox import SandboxProcess


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@contextmanager
def sandbox_process() -> Iterator[str]:
    """The sandbox in a process of its own (no shared GIL) on a free port; yields its API URL."""
    with SandboxProcess() as sandbox:
        yield sandbox.url


async def timed(fn: Callable[[], Awaitable[object]], n: int, out: list[float]) -> None:
    for _ in range(n):
        start = time.perf_counter()
        await fn()
        out.append((time.perf_counter() - start) * 1000)


async def interleaved(modes: dict[str, Callable[[], Awaitable[object]]], calls: int, rounds: int,
                      warmup: int) -> dict[str, list[float]]:
    """Milliseconds per call of each mode, run in rounds so drift hits every mode alike."""
    samples: dict[str, list[float]] = {name: [] for name in modes}
    for fn in modes.values():  # warm up pools, caches and imports
        await timed(fn, warmup, [])
    per_round = max(calls // rounds, 1)
    for _ in range(rounds):
        for name, fn in modes.items():
            await timed(fn, per_round, samples[name])
    return samples


def added_table(samples: dict[str, list[float]], baseline: str) -> list[str]:
    """Markdown rows: each mode's p50/p95 and what it adds to the baseline's."""
    b50, b95 = statistics.median(samples[baseline]), pct(samples[baseline], 0.95)
    rows = ["| path | p50 ms | p95 ms | added p50 ms | added p95 ms | p50 ratio vs baseline |",
            "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, values in samples.items():
        p50, p95 = statistics.median(values), pct(values, 0.95)
        rows.append(f"| {name} | {p50:.3f} | {p95:.3f} | {p50 - b50:+.3f} | {p95 - b95:+.3f} | "
                    f"{p50 / b50:.2f}x |")
    return rows
