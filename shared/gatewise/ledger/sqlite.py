"""The SQLite ledger: one file in WAL mode that several server processes can share."""

from __future__ import annotations

import asyncio
import dataclasses
import operator
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from gatewise.ledger.migrations import migrate
from gatewise.ledger.records import GROUP_BY_CHOICES, CallRecord, GroupBy, SummaryRow, group_key_sql
from gatewise.ledger.store import LedgerClosedError, LedgerError
from gatewise.ledger.writer import DEFER_DELAY_S, GroupCommitWriter
from gatewise.redact import scrub_data
from gatewise.sqlite_wal import create_private_file, enable_wal

if TYPE_CHECKING:  # imported when a ledger opens (with numpy, when installed): see _connect
    from sqlite_utils import Database

T = TypeVar("T")

DEFAULT_BUSY_TIMEOUT_MS = 5000
# Every this many batches committed on the event loop, one goes to the writer thread instead: its
# connection checkpoints the WAL once it has grown, a disk sync the loop's connection never does.
CHECKPOINT_EVERY = 64

_COLUMNS = tuple(f.name for f in dataclasses.fields(CallRecord))
_values = operator.attrgetter(*_COLUMNS)  # a record's column values, in order
_INSERT_SQL = f"INSERT INTO calls ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"

_GROUP_KEYS = group_key_sql(day="date(ts, 'unixepoch')", none="NULL")
# What an insert raises for a row's own values (an integer past 64 bits, a value of a type SQLite
# cannot bind, a constraint), as opposed to trouble with the database itself.
BAD_ROW_ERRORS: tuple[type[Exception], ...] = (
    OverflowError, ValueError, TypeError, sqlite3.InterfaceError, sqlite3.IntegrityError, sqlite3.DataError)

# Percentiles by nearest rank: the value at position ceil(p * n) once sorted, in integer maths
# because SQLite's ceil() is an optional build feature.
_SUMMARY_SQL = """
WITH scoped AS (
    SELECT {key} AS key, request_id, status, cost_usd, tokens_in, tokens_out, latency_ms,
           ROW_NUMBER() OVER (PARTITION BY {key} ORDER BY latency_ms) AS pos,
           COUNT(*) OVER (PARTITION BY {key}) AS n
    FROM calls {where}
)
SELECT key,
       COUNT(DISTINCT request_id) AS requests,
       COUNT(*) AS attempts,
       SUM(status = 'error') AS errors,
       TOTAL(cost_usd) AS cost_usd,
       SUM(tokens_in) AS tokens_in,
       SUM(tokens_out) AS tokens_out,
       AVG(latency_ms) AS avg_latency_ms,
       MAX(CASE WHEN pos = (n * 50 + 99) / 100 THEN latency_ms END) AS p50_latency_ms,
       MAX(CASE WHEN pos = (n * 95 + 99) / 100 THEN latency_ms END) AS p95_latency_ms
FROM scoped
GROUP BY key
ORDER BY {order}
"""


# Every ledger open in this process, so a read through one commits what the others hold back;
# the lock because ledgers open on worker threads while a loop may be reading the set.
_OPEN: weakref.WeakSet[SQLiteLedger] = weakref.WeakSet()
_OPEN_LOCK = threading.Lock()


def _connect(path: Path, busy_timeout_ms: int, *, read_only: bool = False) -> Database:
    # check_same_thread=False: the writer thread and to_thread workers use these connections,
    # each serialised by its owner. Plugins off so installed extras cannot alter the ledger.
    from sqlite_utils import Database

    conn = sqlite3.connect(path, timeout=busy_timeout_ms / 1000, check_same_thread=False)
    db = Database(conn, execute_plugins=False)
    db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    if read_only:
        db.execute("PRAGMA query_only = ON")
    else:
        enable_wal(conn, busy_timeout_ms / 1000)
        # With WAL, NORMAL skips the fsync per commit yet never corrupts the file; a process
        # crash keeps every commit, only power loss can drop the last few.
        db.execute("PRAGMA synchronous = NORMAL")
    return db


class SQLiteLedger:
    """A ``LedgerStore`` on one SQLite file, written by group commit (see ``writer``): on the
    event loop while nothing else writes, else by a thread that waits its turn; rows recorded
    with ``record_soon`` by that thread within a few milliseconds."""

    def __init__(self, path: Path | str, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
                 defer_delay_s: float = DEFER_DELAY_S) -> None:
        self.path = Path(path)
        label = f"the call ledger at {self.path}"
        dbs: list[Database] = []
        try:
            create_private_file(self.path)
            dbs.append(_connect(self.path, busy_timeout_ms))
            migrate(dbs[0], name=label)
            dbs.append(_connect(self.path, busy_timeout_ms, read_only=True))
            dbs.append(_connect(self.path, 0))  # the loop's: never waits for a lock
            dbs[-1].execute("PRAGMA wal_autocheckpoint = 0")
        except BaseException as exc:
            for db in dbs:
                db.close()
            if isinstance(exc, OSError | sqlite3.Error):
                raise LedgerError(f"cannot open {label}: {exc}") from exc
            raise
        self._write_db, self._read_db, self._loop_db = dbs
        self._label = label
        self._closed = False
        self._read_lock = threading.Lock()
        self._loop_lock = threading.Lock()  # one event loop at a time on the loop's connection
        self._loop_batches = 0
        self._writer = GroupCommitWriter(self._insert, label=label, bad_row_errors=BAD_ROW_ERRORS,
                                         write_now=self._insert_now, delay_s=defer_delay_s)
        self._file = self.path.resolve()
        with _OPEN_LOCK:
            _OPEN.add(self)

    @property
    def commits(self) -> int:
        """Transactions committed so far; far fewer than rows when writes arrive together."""
        return self._writer.commits

    async def record(self, rec: CallRecord) -> None:
        await self._writer.submit((rec,))

    def record_many(self, recs: Iterable[CallRecord]) -> asyncio.Future[None]:
        # The writer's own future, not a coroutine: a caller that starts the write now and waits
        # later needs no task to run it.
        batch = tuple(recs)
        if batch:
            return self._writer.submit(batch)
        self._check_open()
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    def record_soon(self, recs: Iterable[CallRecord]) -> asyncio.Future[None] | None:
        # Committed within the writer's delay (on this loop, or by its thread when the file is
        # locked), or sooner by a read or close.
        return self._writer.defer(tuple(recs))

    async def flush(self) -> None:
        """Commit the rows ``record_soon`` queued here and in every other ledger this process
        has open on the same file, so a reader of the file sees them."""
        with _OPEN_LOCK:
            same_file = [ledger for ledger in _OPEN if ledger._file == self._file]
        for ledger in same_file:
            await ledger._writer.flush()

    async def summary(
        self,
        since: float | None = None,
        until: float | None = None,
        group_by: GroupBy | None = None,
    ) -> list[SummaryRow]:
        if group_by not in _GROUP_KEYS:
            raise ValueError(f"group_by must be None or one of {list(GROUP_BY_CHOICES)}")
        where, params = window_clause(since, until)
        key = _GROUP_KEYS[group_by]
        sql = _SUMMARY_SQL.format(
            key=key,
            where=f"WHERE {where}",
            order="key" if group_by == "day" else "cost_usd DESC, attempts DESC, key",
        )
        rows = await self._read(lambda db: list(db.query(sql, params)))
        if group_by is None and not rows:
            return [SummaryRow(None, 0, 0, 0, 0.0, 0, 0, 0.0, 0.0, 0.0)]
        return [SummaryRow(**row) for row in rows]

    async def recent(self, limit: int = 50) -> list[CallRecord]:
        if limit < 0:
            raise ValueError("limit must not be negative")
        sql = f"SELECT {', '.join(_COLUMNS)} FROM calls ORDER BY ts DESC, id DESC LIMIT ?"
        rows = await self._read(lambda db: list(db.query(sql, [limit])))
        return [CallRecord(**row) for row in rows]

    async def count(self) -> int:
        return await self._read(lambda db: db.execute("SELECT COUNT(*) FROM calls").fetchone()[0])

    async def close(self) -> None:
        self._closed = True
        await self._writer.close()
        # On a thread: a read in progress holds its lock for as long as its query runs.
        await asyncio.to_thread(self._close_connections)

    def _close_connections(self) -> None:
        with self._read_lock, self._loop_lock:
            self._write_db.close()
            self._read_db.close()
            self._loop_db.close()

    def _check_open(self) -> None:
        if self._closed:
            raise LedgerClosedError(f"{self._label} is closed; open it again to use it")

    async def _read(self, query: Callable[[Database], T]) -> T:
        self._check_open()
        await self.flush()  # the process's own rows first
        return await asyncio.to_thread(self._run_read, query)

    def _run_read(self, query: Callable[[Database], T]) -> T:
        with self._read_lock:
            self._check_open()  # close() may have won the race for the lock
            return query(self._read_db)

    def _insert(self, records: list[CallRecord]) -> None:
        """Runs on the writer thread, waiting for the write lock up to the busy timeout."""
        _insert_into(self._write_db.conn, records)

    def _insert_now(self, records: list[CallRecord]) -> bool:
        """Runs on an event loop: the rows committed at once, or False with nothing done when
        another connection holds the write lock or this batch is the thread's to checkpoint."""
        self._loop_batches += 1
        if self._loop_batches % CHECKPOINT_EVERY == 0 or not self._loop_lock.acquire(blocking=False):
            return False
        try:
            conn = self._loop_db.conn
            try:
                conn.execute("BEGIN IMMEDIATE")  # busy timeout 0: fails at once when locked
            except sqlite3.OperationalError:
                return False  # the thread will wait for the lock (and report any other failure)
            _insert_rows(conn, records)
            return True
        finally:
            self._loop_lock.release()


def _insert_into(conn: sqlite3.Connection, records: list[CallRecord]) -> None:
    """Every row in one IMMEDIATE transaction, or none."""
    conn.execute("BEGIN IMMEDIATE")
    _insert_rows(conn, records)


def _insert_rows(conn: sqlite3.Connection, records: list[CallRecord]) -> None:
    """Insert and commit in the transaction ``conn`` has begun; roll it back on any failure."""
    try:
        # One prepared statement on the raw connection: sqlite-utils' insert_all would inspect
        # the table and build its SQL again for every batch.
        conn.executemany(_INSERT_SQL, [stored_row(rec) for rec in records])
        conn.commit()
    except BaseException:
        conn.rollback()
        raise


def stored_row(rec: CallRecord) -> tuple[Any, ...]:
    """A record's column values in the order of its fields, as every ledger stores them.

    Names, tags and error codes may carry what an upstream echoed (a model id, say): no
    configured key reaches the database."""
    values: tuple[Any, ...] = scrub_data(_values(rec))
    return values


def open_ledger(path: Path) -> SQLiteLedger:
    """Open (creating and migrating if needed) the SQLite ledger at ``path``."""
    return SQLiteLedger(path)


def window_clause(since: float | None, until: float | None) -> tuple[str, list[Any]]:
    """A WHERE condition (never empty) and its ``?`` parameters for ``since <= ts < until``; with
    ``%s`` for ``?``, valid in PostgreSQL too."""
    clauses, params = ["1 = 1"], []
    if since is not None:
        clauses.append("ts >= ?")
        params.append(since)
    if until is not None:
        clauses.append("ts < ?")
        params.append(until)
    return " AND ".join(clauses), params
