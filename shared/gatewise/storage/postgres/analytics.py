"""The analytics' reader over the shared database's ``calls`` table: every instance's calls.

One read-only REPEATABLE READ transaction per report, so its queries see one snapshot while
instances keep writing, as the SQLite reader's WAL snapshot does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AsyncExitStack
from types import TracebackType
from typing import Any

from psycopg.rows import dict_row

from gatewise.analytics.source import POSTGRES, Row
from gatewise.config import STALL_GRACE_S
from gatewise.storage.postgres.database import Connection, Database, pg_marks

EACH_BATCH = 5000  # rows fetched at a time; a batch's work on the event loop stays short
SORT_MEMORY = "64MB"  # per sort of one report's query, only while the report runs
REPORT_TIMEOUT_MS = 120_000  # any one statement of a report, at least


async def as_report(conn: Connection, db: Database) -> None:
    """Settings for the rest of this transaction, which reads a report over many rows."""
    # The reports sort every row of their window (requests by id, latencies by group): at the
    # server's default 4 MB those sorts spill to disk over a million rows.
    await conn.execute(f"SET LOCAL work_mem = '{SORT_MEMORY}'")
    # A report over a million rows takes seconds, past the bound meant for a call's statements:
    # it gets a bound of its own (still a bound).
    timeout_ms = max(db.config.statement_timeout_ms, REPORT_TIMEOUT_MS)
    await conn.execute(f"SET LOCAL statement_timeout = {int(timeout_ms)}")
    conn.answer_within_s = timeout_ms / 1000 + STALL_GRACE_S


class PostgresLedgerReader:
    dialect = POSTGRES

    def __init__(self, db: Database) -> None:
        self._db = db
        self._stack: AsyncExitStack | None = None
        self._conn: Connection | None = None

    async def __aenter__(self) -> PostgresLedgerReader:
        async with AsyncExitStack() as stack:
            conn = await stack.enter_async_context(self._db.connection())
            await stack.enter_async_context(conn.transaction())
            await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            await as_report(conn, self._db)
            self._conn, self._stack = conn, stack.pop_all()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        stack, self._stack, self._conn = self._stack, None, None
        if stack is not None:
            await stack.__aexit__(exc_type, exc, tb)

    async def rows(self, sql: str, params: Sequence[Any] = ()) -> Sequence[Row]:
        if self._conn is None:
            raise RuntimeError("the reader is not open")
        async with self._conn.cursor(row_factory=dict_row) as cursor:
            await cursor.execute(pg_marks(sql), list(params))
            return await cursor.fetchall()

    async def each(self, sql: str, params: Sequence[Any], feed: Callable[[Iterable[Row]], None]) -> None:
        """Through a server-side cursor, ``EACH_BATCH`` rows at a time, so an answer with a row
        per request is never held whole."""
        if self._conn is None:
            raise RuntimeError("the reader is not open")
        async with self._conn.cursor(name="gatewise_each", row_factory=dict_row) as cursor:
            await cursor.execute(pg_marks(sql), list(params))
            while batch := await cursor.fetchmany(EACH_BATCH):
                feed(batch)
