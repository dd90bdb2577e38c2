"""Where the analytics read the ``calls`` table: the ledger file, or the shared PostgreSQL database.

Every query is written once, in the SQL both engines accept (``?`` parameters, counts as
``SUM(CASE ...)``, sums cast to the type the figure has); the few expressions they spell
differently (a UTC day, a time slot, latency percentiles) come from the reader's ``Dialect``.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from gatewise.ledger.guardrail_events import CheckCounts, EventFilter, GuardrailEvents

BUSY_TIMEOUT_S = 5.0
# SQL fragment: true for an attempt answered from a cache (its spend is zero whatever was stored).
IS_HIT = "cache_status IN ('hit_exact', 'hit_semantic')"


class Row(Protocol):
    """A result row by column name: sqlite3.Row, or psycopg's dict row."""

    def __getitem__(self, key: str, /) -> Any: ...

    def keys(self) -> Iterable[str]: ...


def count_if(condition: str) -> str:
    """How many rows of the group meet ``condition`` (an integer in both engines)."""
    return f"SUM(CASE WHEN {condition} THEN 1 ELSE 0 END)"


def total(expr: str) -> str:
    """The sum of ``expr`` as a float, 0.0 over no values (SQLite's TOTAL)."""
    return f"CAST(COALESCE(SUM({expr}), 0) AS DOUBLE PRECISION)"


def integer_sum(expr: str) -> str:
    """The sum of an integer ``expr`` as an integer, 0 over no values (PostgreSQL's SUM of a
    bigint is a numeric)."""
    return f"CAST(COALESCE(SUM({expr}), 0) AS BIGINT)"


def any_of(condition: str) -> str:
    """1 if a row of the group meets ``condition``, else 0."""
    return f"MAX(CASE WHEN {condition} THEN 1 ELSE 0 END)"


@dataclass(frozen=True, slots=True)
class Dialect:
    """What the engines spell differently; everything else in the analytics SQL is shared."""

    day: str  # the UTC calendar date of ``ts``, as 'YYYY-MM-DD'
    floor: Callable[[str], str]  # the largest integer not above a non-negative expression
    # SELECT key, p50, p95, p99 of successful attempts' latency per {key}, nearest rank.
    percentiles: str
    # One text value for several columns together (NULLs kept apart from any text), to group by
    pack: Callable[[Sequence[str]], str]


# Nearest rank: the value at position ceil(p * n) once sorted, in integer maths because SQLite's
# ceil() is an optional build feature. Both window functions share one window, so the rows are
# sorted once; only the three ranked rows per group reach the grouping.
_SQLITE_PERCENTILES = """
WITH ok AS (
    SELECT {key} AS key, latency_ms,
           ROW_NUMBER() OVER ranked AS pos,
           COUNT(*) OVER (ranked ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS n
    FROM calls WHERE status = 'ok' AND {where}
    WINDOW ranked AS (PARTITION BY {key} ORDER BY latency_ms)
)
SELECT key,
       MAX(CASE WHEN pos = (n * 50 + 99) / 100 THEN latency_ms END) AS p50,
       MAX(CASE WHEN pos = (n * 95 + 99) / 100 THEN latency_ms END) AS p95,
       MAX(CASE WHEN pos = (n * 99 + 99) / 100 THEN latency_ms END) AS p99
FROM ok
WHERE pos IN ((n * 50 + 99) / 100, (n * 95 + 99) / 100, (n * 99 + 99) / 100)
GROUP BY 1
"""
# percentile_disc is the nearest rank, in one sort per group.
_POSTGRES_PERCENTILES = """
SELECT {key} AS key,
       percentile_disc(0.50) WITHIN GROUP (ORDER BY latency_ms) AS p50,
       percentile_disc(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95,
       percentile_disc(0.99) WITHIN GROUP (ORDER BY latency_ms) AS p99
FROM calls WHERE status = 'ok' AND {where}
GROUP BY 1
"""

# ts >= the start makes the division non-negative, where CAST's truncation is the floor.
SQLITE = Dialect(day="date(ts, 'unixepoch')", floor=lambda expr: f"CAST({expr} AS INTEGER)",
                 percentiles=_SQLITE_PERCENTILES, pack=lambda cols: f"json_array({', '.join(cols)})")
POSTGRES = Dialect(day="to_char(to_timestamp(ts) AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
                   floor=lambda expr: f"CAST(floor({expr}) AS INTEGER)",
                   percentiles=_POSTGRES_PERCENTILES,
                   pack=lambda cols: f"CAST(json_build_array({', '.join(cols)}) AS TEXT)")


class Reader(Protocol):
    """One read transaction over the ledger, so every query of a report sees the same rows."""

    dialect: Dialect

    async def __aenter__(self) -> Reader: ...

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None: ...

    async def rows(self, sql: str, params: Sequence[Any] = ()) -> Sequence[Row]: ...

    async def each(self, sql: str, params: Sequence[Any], feed: Callable[[Iterable[Row]], None]) -> None:
        """``feed`` the rows in order, in one or more batches: for answers with a row per
        request, which would not fit in memory at once."""


class EventCounts(Protocol):
    async def counts(self, filters: EventFilter) -> list[CheckCounts]: ...


@dataclass(frozen=True, slots=True)
class LedgerSource:
    """The calls and guardrail counts the analytics read, from whichever backend holds them."""

    reader: Callable[[], Reader]
    guardrail_events: EventCounts

    @classmethod
    def file(cls, path: Path | str) -> LedgerSource:
        return cls(lambda: LedgerReader(path), GuardrailEvents(path))


def ledger_source(ledger: LedgerSource | Path | str) -> LedgerSource:
    """A ledger file's path stands for the file's source."""
    return ledger if isinstance(ledger, LedgerSource) else LedgerSource.file(ledger)


class LedgerReader:
    """One read transaction over the ledger, so every query of a report sees the same rows.

    A missing file, or one no server has migrated yet, reads as an empty ledger.
    """

    dialect = SQLITE

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None

    async def __aenter__(self) -> LedgerReader:
        self._conn = await asyncio.to_thread(self._open)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._conn is not None:
            await asyncio.to_thread(self._conn.close)
            self._conn = None

    async def rows(self, sql: str, params: Sequence[Any] = ()) -> Sequence[Row]:
        conn = self._conn
        if conn is None:
            return []
        return await asyncio.to_thread(lambda: conn.execute(sql, params).fetchall())

    async def each(self, sql: str, params: Sequence[Any], feed: Callable[[Iterable[Row]], None]) -> None:
        """All the rows in one batch, as SQLite yields them, on the reader's thread."""
        conn = self._conn
        if conn is not None:
            await asyncio.to_thread(lambda: feed(conn.execute(sql, params)))

    def _open(self) -> sqlite3.Connection | None:
        if not self.path.is_file():
            return None
        # A URI so the file opens read-only; as_uri() escapes '?', '#' and '%' in the path.
        uri = self.path.resolve().as_uri() + "?mode=ro"
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, check_same_thread=False,
                               isolation_level=None)
        try:
            conn.row_factory = sqlite3.Row
            # In WAL mode an open read transaction pins one snapshot while writers carry on.
            conn.execute("BEGIN")
            found = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'calls'"
            ).fetchone()
        except BaseException:
            conn.close()
            raise
        if found is None:
            conn.close()
            return None
        return conn
