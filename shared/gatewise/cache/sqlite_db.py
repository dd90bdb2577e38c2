"""What the cache files share: opening a SQLite file for several processes, creating its schema
once, and running every statement on one dedicated thread so the event loop never blocks."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from gatewise.sqlite_wal import create_private_file, enable_wal

T = TypeVar("T")

DEFAULT_BUSY_TIMEOUT_MS = 5000
_EVICT_BATCH = 64


class CacheError(RuntimeError):
    """A cache file could not be opened or used."""


class CacheClosedError(CacheError):
    """The cache was used after ``close()``."""


@dataclass(frozen=True, slots=True)
class FileSchema:
    """A cache file's tables at ``version``; ``upgrades[v]`` brings a file written at ``v - 1`` to
    ``v``. Upgrades run before ``statements``, whose ``IF NOT EXISTS`` parts may then use them."""

    statements: Sequence[str]
    version: int
    upgrades: Mapping[int, Sequence[str]] = field(default_factory=dict)


def totals_schema(also_on_delete: str = "") -> tuple[str, ...]:
    """One row of running totals over ``entries`` (count, bytes), kept exact by triggers whoever
    writes, so the size check after each write is O(1), not a table scan."""
    return (
        """CREATE TABLE IF NOT EXISTS totals (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            entries INTEGER NOT NULL,
            bytes INTEGER NOT NULL
        )""",
        "INSERT OR IGNORE INTO totals (id, entries, bytes) VALUES (1, 0, 0)",
        """CREATE TRIGGER IF NOT EXISTS entries_added AFTER INSERT ON entries BEGIN
            UPDATE totals SET entries = entries + 1, bytes = bytes + NEW.size WHERE id = 1;
        END""",
        f"""CREATE TRIGGER IF NOT EXISTS entries_removed AFTER DELETE ON entries BEGIN
            UPDATE totals SET entries = entries - 1, bytes = bytes - OLD.size WHERE id = 1;
            {also_on_delete}
        END""",
    )


def open_db(path: Path, busy_timeout_ms: int) -> sqlite3.Connection:
    create_private_file(path)
    # Autocommit (isolation_level=None): single statements commit alone, writes BEGIN explicitly.
    # check_same_thread=False: opened here, then used only by the cache's thread.
    conn = sqlite3.connect(
        path, timeout=busy_timeout_ms / 1000, isolation_level=None, check_same_thread=False
    )
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        enable_wal(conn, busy_timeout_ms / 1000)
        # In WAL mode NORMAL never corrupts the file; only power loss can drop the last commits.
        conn.execute("PRAGMA synchronous = NORMAL")
    except BaseException:
        conn.close()
        raise
    return conn


def ensure_schema(conn: sqlite3.Connection, label: str, schema: FileSchema) -> None:
    """Create or upgrade the schema once; IMMEDIATE so two processes opening a file do not race."""
    version = schema.version
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            (found,) = conn.execute("PRAGMA user_version").fetchone()
            if found > version:
                raise CacheError(
                    f"{label} has schema version {found}, newer than this gatewise knows "
                    f"({version}); upgrade gatewise or delete the cache file"
                )
            for step in range(found + 1, version + 1) if found else ():
                for statement in schema.upgrades.get(step, ()):
                    conn.execute(statement)
            for statement in schema.statements:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # some errors make SQLite roll back by itself
                conn.execute("ROLLBACK")
            raise
    except sqlite3.Error as exc:
        raise CacheError(f"cannot open {label}: {exc}") from exc


class DbThread:
    """One SQLite connection used only from one thread; ``run`` awaits work submitted to it."""

    def __init__(self, path: Path, label: str, schema: FileSchema,
                 *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS) -> None:
        self.label = label
        try:
            self.conn = open_db(path, busy_timeout_ms)
        except (OSError, sqlite3.Error) as exc:
            raise CacheError(f"cannot open {label}: {exc}") from exc
        try:
            ensure_schema(self.conn, label, schema)
        except BaseException:
            self.conn.close()
            raise
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gatewise-cache")
        # Guards "closed?" plus the submit, so no work can be queued behind the closing step.
        self._lock = threading.Lock()
        self.closed = False

    def check_open(self) -> None:
        if self.closed:
            raise CacheClosedError(f"{self.label} is closed; open it again to use it")

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        with self._lock:
            self.check_open()
            future = self._executor.submit(fn, *args)
        try:
            return await asyncio.wrap_future(future)
        except sqlite3.Error as exc:
            raise CacheError(f"{self.label} failed: {exc}") from exc

    async def close(self) -> None:
        """Finish work already started, then close the file. Safe to call twice."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
            done = asyncio.wrap_future(self._executor.submit(self.conn.close))
        await done
        self._executor.shutdown(wait=False)


def in_transaction(conn: sqlite3.Connection, work: Callable[[], T]) -> T:
    """``work`` inside BEGIN IMMEDIATE: other processes' writers wait, and a failure rolls back."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = work()
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:  # some errors make SQLite roll back by itself
            conn.execute("ROLLBACK")
        raise
    return result


def evict_lru(conn: sqlite3.Connection, max_bytes: int, key_column: str, keep: Any) -> list[Any]:
    """Delete least recently used ``entries`` (never ``keep``) until the ``totals`` row's bytes
    fit ``max_bytes``; returns their keys. Call it inside the write's IMMEDIATE transaction, so
    two processes cannot both evict for the same room."""
    evicted: list[Any] = []
    while True:
        (total,) = conn.execute("SELECT bytes FROM totals WHERE id = 1").fetchone()
        excess = total - max_bytes
        if excess <= 0:
            return evicted
        victims = conn.execute(
            f"SELECT {key_column}, size FROM entries WHERE {key_column} != ? "
            f"ORDER BY last_used, stored_at LIMIT ?", (keep, _EVICT_BATCH)).fetchall()
        chosen: list[Any] = []
        for victim, victim_size in victims:
            chosen.append(victim)
            excess -= victim_size
            if excess <= 0:
                break
        if not chosen:  # cannot happen while ``keep`` fits, but never loop forever
            return evicted
        conn.executemany(f"DELETE FROM entries WHERE {key_column} = ?", [(v,) for v in chosen])
        evicted += chosen
