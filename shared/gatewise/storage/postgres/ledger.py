"""The call ledger in PostgreSQL: group commit (one INSERT, or COPY for a large backlog),
summaries as SQL aggregates.

``record`` only queues its rows and waits; one flush at a time writes everything queued since
the last one in a single transaction, so a burst of concurrent calls shares one round trip and
one commit. A caller's wait ends only once its rows are committed (nothing acknowledged is
lost), and a cancelled caller's rows are written all the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Iterable, Sequence
from typing import Any

from gatewise.ledger.records import GROUP_BY_CHOICES, CallRecord, GroupBy, SummaryRow, group_key_sql
from gatewise.ledger.sqlite import stored_row, window_clause
from gatewise.ledger.store import LedgerClosedError
from gatewise.ledger.writer import report_dropped
from gatewise.storage.outage import StorageUnavailable
from gatewise.storage.postgres.analytics import as_report
from gatewise.storage.postgres.database import BadRow, Database, pg_marks
from gatewise.storage.postgres.spool import Spool

# What a write raises for a row's own values (as the SQLite ledger's BAD_ROW_ERRORS): encoding it,
# or the server refusing it; anything else is the database's trouble, not the row's.
_BAD_ROW = (BadRow, OverflowError, ValueError, TypeError)

log = logging.getLogger(__name__)

_COLUMNS = tuple(f.name for f in dataclasses.fields(CallRecord))
MAX_BATCH = 5000  # rows per transaction; a larger backlog is written in several
# Up to this many rows go in one INSERT statement (one round trip, committed on its own);
# more through COPY, whose transaction costs three round trips more but streams any number.
INSERT_ROWS = 64
_ROW_MARKS = "(" + ", ".join(["%s"] * len(_COLUMNS)) + ")"
# What tells one call's rows apart (its attempts, its embedding row): a kept row found with these
# values is in the table already.
_ROW_KEY = ("request_id", "attempt", "model", "ts")

_GROUP_KEYS = group_key_sql(
    day="to_char(to_timestamp(ts) AT TIME ZONE 'UTC', 'YYYY-MM-DD')", none="NULL::text")

# percentile_disc is the nearest-rank percentile, as the SQLite ledger computes it.
_SUMMARY_SQL = """
SELECT {key} AS key,
       COUNT(DISTINCT request_id) AS requests,
       COUNT(*) AS attempts,
       COUNT(*) FILTER (WHERE status = 'error') AS errors,
       COALESCE(SUM(cost_usd), 0) AS cost_usd,
       COALESCE(SUM(tokens_in), 0)::bigint AS tokens_in,
       COALESCE(SUM(tokens_out), 0)::bigint AS tokens_out,
       AVG(latency_ms) AS avg_latency_ms,
       percentile_disc(0.5) WITHIN GROUP (ORDER BY latency_ms) AS p50_latency_ms,
       percentile_disc(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95_latency_ms
FROM calls WHERE {where}
GROUP BY 1
ORDER BY {order}
"""


@dataclasses.dataclass(slots=True)
class _Pending:
    rows: Sequence[CallRecord]
    done: asyncio.Future[None]
    kept: bool = False  # rows kept while the database was away (see Spool), their callers told


# How soon rows kept while the database is away are tried again.
SPOOL_RETRY_S = 1.0


def _row_key(rec: CallRecord) -> tuple[Any, ...]:
    """A record's ``_ROW_KEY`` values as stored (scrubbed)."""
    values = dict(zip(_COLUMNS, stored_row(rec), strict=True))
    return tuple(values[column] for column in _ROW_KEY)


def _settle(pending: _Pending, error: Exception | None) -> None:
    if pending.done.done():  # its caller was cancelled
        return
    if error is None:
        pending.done.set_result(None)
    else:
        pending.done.set_exception(error)


class PostgresLedger:
    """A ``LedgerStore`` in the ``calls`` table of a shared database."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._label = f"the call ledger at {db.label}"
        self._queue: list[_Pending] = []
        self._flusher: asyncio.Task[None] | None = None
        self._closed = False
        self.commits = 0
        self.spool = Spool(self._label, db.config.spool_max_rows)
        self._retry: asyncio.TimerHandle | None = None

    async def record(self, rec: CallRecord) -> None:
        await self._submit((rec,))

    async def record_many(self, recs: Iterable[CallRecord]) -> None:
        batch = tuple(recs)
        self._check_open()
        if batch:
            await self._submit(batch)

    def record_soon(self, recs: Iterable[CallRecord]) -> Awaitable[None]:
        return self.record_many(recs)  # every row is waited for, as other instances read them

    async def flush(self) -> None:
        """Nothing is held back (see record_soon)."""

    async def summary(self, since: float | None = None, until: float | None = None,
                      group_by: GroupBy | None = None) -> list[SummaryRow]:
        if group_by not in _GROUP_KEYS:
            raise ValueError(f"group_by must be None or one of {list(GROUP_BY_CHOICES)}")
        where, params = window_clause(since, until)
        where = pg_marks(where)
        order = "key" if group_by == "day" else "cost_usd DESC, attempts DESC, key NULLS FIRST"
        sql = _SUMMARY_SQL.format(key=_GROUP_KEYS[group_by], where=where, order=order)
        rows = await self._fetch(sql, params, report=True)
        if group_by is None and not rows:
            return [SummaryRow(None, 0, 0, 0, 0.0, 0, 0, 0.0, 0.0, 0.0)]
        return [SummaryRow(*row) for row in rows]

    async def recent(self, limit: int = 50) -> list[CallRecord]:
        if limit < 0:
            raise ValueError("limit must not be negative")
        sql = f"SELECT {', '.join(_COLUMNS)} FROM calls ORDER BY ts DESC, id DESC LIMIT %s"
        rows = await self._fetch(sql, [limit])
        return [CallRecord(**dict(zip(_COLUMNS, row, strict=True))) for row in rows]

    async def count(self) -> int:
        rows = await self._fetch("SELECT COUNT(*) FROM calls", [])
        return int(rows[0][0])

    async def close(self) -> None:
        """Write everything queued (and kept, if the database answers), then refuse new rows.
        The pool belongs to the caller."""
        self._closed = True
        if self._retry is not None:
            self._retry.cancel()
        self._requeue_kept()
        while self._flusher is not None and not self._flusher.done():
            with contextlib.suppress(Exception):
                await asyncio.shield(self._flusher)
        if self.spool.rows:
            log.error("%d kept call(s) could not be written to %s at close", len(self.spool.rows),
                      self._label)

    def _check_open(self) -> None:
        if self._closed:
            raise LedgerClosedError(f"{self._label} is closed; open it again to record calls")

    async def _fetch(self, sql: str, params: list[Any], *, report: bool = False) -> list[tuple[Any, ...]]:
        """The rows of one query; a ``report`` (over a window of calls) runs as analytics do."""
        self._check_open()
        async with self._db.connection() as conn:
            if not report:
                cursor = await conn.execute(sql, params)
                return await cursor.fetchall()
            async with conn.transaction():
                await as_report(conn, self._db)
                cursor = await conn.execute(sql, params)
                return await cursor.fetchall()

    async def _submit(self, rows: Sequence[CallRecord]) -> None:
        self._check_open()
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._enqueue(_Pending(rows, done))
        await asyncio.shield(done)

    def _enqueue(self, pending: _Pending) -> None:
        self._queue.append(pending)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="gatewise-ledger-flush")

    async def _flush(self) -> None:
        while self._queue:
            batch: list[_Pending] = []
            size = 0
            while self._queue and (not batch or size + len(self._queue[0].rows) <= MAX_BATCH):
                pending = self._queue.pop(0)
                batch.append(pending)
                size += len(pending.rows)
            try:
                await self._write(await self._unwritten(batch))
            except _BAD_ROW:  # the database refused some row's values: each row on its own
                await self._row_by_row(batch)
                continue
            except Exception as exc:  # the database itself: every row of the batch waits on it
                self._failed(batch, exc)
                continue
            self._done(batch)

    def _done(self, batch: list[_Pending]) -> None:
        self.commits += 1
        for pending in batch:
            _settle(pending, None)
        if kept := sum(len(pending.rows) for pending in batch if pending.kept):
            self.spool.written(kept)

    def _failed(self, batch: list[_Pending], exc: Exception) -> None:
        """The database failed the batch's rows: their callers get the error, or under fail_open
        the rows are kept for later and the callers told they are recorded."""
        if not (isinstance(exc, StorageUnavailable) and self._db.fails_open):
            for pending in batch:
                _settle(pending, exc)
            return
        self.spool.keep([rec for pending in batch for rec in pending.rows])
        for pending in batch:
            _settle(pending, None)
        if self._retry is None and not self._closed:
            self._retry = asyncio.get_running_loop().call_later(SPOOL_RETRY_S, self._requeue_kept)

    def _requeue_kept(self) -> None:
        self._retry = None
        if rows := self.spool.take():
            told: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            told.set_result(None)
            self._enqueue(_Pending(rows, told, kept=True))

    async def _unwritten(self, batch: list[_Pending]) -> list[CallRecord]:
        """The batch's rows, less kept ones already in the table: the statement that failed may
        have committed before its answer was lost, and a row must not be counted twice."""
        rows = [rec for pending in batch for rec in pending.rows]
        kept = [rec for pending in batch if pending.kept for rec in pending.rows]
        if not kept:
            return rows
        async with self._db.connection() as conn:
            cursor = await conn.execute(
                f"SELECT {', '.join(_ROW_KEY)} FROM calls WHERE request_id = ANY(%s)",
                [sorted({rec.request_id for rec in kept})])
            stored = set(await cursor.fetchall())
        written = {id(rec) for rec in kept if _row_key(rec) in stored}
        return [rec for rec in rows if id(rec) not in written]

    async def _row_by_row(self, batch: list[_Pending]) -> None:
        """Each row in a statement of its own, so one bad row loses only itself (its caller gets
        the error); the rows the database refused are logged once. Should the database itself
        fail, the rest of the batch fails (or is kept) as a whole batch would."""
        dropped: list[tuple[CallRecord, BaseException]] = []
        try:
            for index, pending in enumerate(batch):
                error: Exception | None = None
                try:
                    for rec in await self._unwritten([pending]):
                        try:
                            await self._write([rec])
                            self.commits += 1
                        except _BAD_ROW as exc:
                            dropped.append((rec, exc))
                            error = error or exc
                except Exception as exc:  # kept again, this one's written rows are found in the table
                    self._failed(batch[index:], exc)
                    return
                _settle(pending, error)
        finally:
            report_dropped(self._label, dropped)

    async def _write(self, records: list[CallRecord]) -> None:
        if not records:  # every kept row was in the table already
            return
        if len(records) <= INSERT_ROWS:
            sql = f"INSERT INTO calls ({', '.join(_COLUMNS)}) VALUES {', '.join([_ROW_MARKS] * len(records))}"
            async with self._db.connection() as conn:
                await conn.execute(sql, [value for rec in records for value in stored_row(rec)])
            return
        sql = f"COPY calls ({', '.join(_COLUMNS)}) FROM STDIN"
        async with (self._db.connection() as conn, conn.transaction(), conn.cursor() as cur,
                    cur.copy(sql) as copy):
            for rec in records:
                await copy.write_row(stored_row(rec))

