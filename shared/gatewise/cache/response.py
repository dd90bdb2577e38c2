"""The exact response cache: JSON answers by request key in a SQLite file of its own.

The file sits beside the ledger but has its own tiny schema, so caching never touches the ledger's
migrations and can be deleted at any time. Several processes may share it: WAL lets readers run
beside a writer, the busy timeout queues writers, and triggers keep the byte total exact whoever
writes. All SQLite work runs on one dedicated thread per cache so the event loop never blocks.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gatewise.cache.sqlite_db import (
    DEFAULT_BUSY_TIMEOUT_MS,
    DbThread,
    FileSchema,
    evict_lru,
    in_transaction,
    totals_schema,
)
from gatewise.ledger.records import CacheStatus

# Who stored an entry (the tool's namespace and the caller's project), so entries can be counted
# and cleared by owner; the key alone is a hash. Version 1 files gain the columns on opening.
OWNER_COLUMNS = (
    "ALTER TABLE entries ADD COLUMN namespace TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE entries ADD COLUMN project TEXT",
)
# Covering, so counting or clearing by owner never reads the stored answers.
OWNER_INDEX = "CREATE INDEX IF NOT EXISTS entries_owner ON entries (namespace, project, expires_at, size)"

FILE_NAME = "cache.sqlite3"
SCHEMA = FileSchema((
    """CREATE TABLE IF NOT EXISTS entries (
        key TEXT PRIMARY KEY,
        value BLOB NOT NULL,
        size INTEGER NOT NULL,
        stored_at REAL NOT NULL,
        expires_at REAL NOT NULL,
        last_used REAL NOT NULL,
        namespace TEXT NOT NULL DEFAULT '',
        project TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS entries_last_used ON entries (last_used)",
    "CREATE INDEX IF NOT EXISTS entries_expires_at ON entries (expires_at)",
    OWNER_INDEX,
    *totals_schema(),
    """CREATE TRIGGER IF NOT EXISTS entries_resized AFTER UPDATE OF size ON entries BEGIN
        UPDATE totals SET bytes = bytes - OLD.size + NEW.size WHERE id = 1;
    END""",
), version=2, upgrades={2: OWNER_COLUMNS})

# Upsert rather than INSERT OR REPLACE: REPLACE deletes without firing the delete trigger.
_UPSERT = """INSERT INTO entries (key, value, size, stored_at, expires_at, last_used, namespace, project)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (key) DO UPDATE SET value = excluded.value, size = excluded.size,
        stored_at = excluded.stored_at, expires_at = excluded.expires_at, last_used = excluded.last_used,
        namespace = excluded.namespace, project = excluded.project"""

# Look up and mark as used in one statement: one round trip and one short write per hit.
_TOUCH = """UPDATE entries SET last_used = ?
    WHERE key = ? AND expires_at > ? AND stored_at >= ?
    RETURNING value, stored_at"""


@dataclass(frozen=True, slots=True)
class CacheHit:
    value: dict[str, Any]
    stored_at: float
    age_s: float


@dataclass(frozen=True, slots=True)
class CacheStats:
    """``entries`` and ``bytes`` describe the shared file; the counters only this instance."""

    entries: int
    bytes: int
    hits: int
    misses: int
    evictions: int


def should_store(status: CacheStatus) -> bool:
    """Whether a caller that went upstream after ``lookup`` may store the fresh answer."""
    return status != "bypass"


class ResponseCache:
    """JSON-able answers by key, expiring after ``ttl_s`` and evicted least recently used first
    once the stored total passes ``max_bytes``."""

    def __init__(
        self,
        path: Path | str,
        *,
        ttl_s: float,
        max_bytes: int,
        clock: Callable[[], float] = time.time,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
    ) -> None:
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        self.path = Path(path)
        self.ttl_s = ttl_s
        self.max_bytes = max_bytes
        self._clock = clock
        self._db = DbThread(self.path, f"the response cache at {self.path}", SCHEMA,
                            busy_timeout_ms=busy_timeout_ms)
        self._conn = self._db.conn
        self._run = self._db.run
        self._hits = self._misses = self._evictions = 0

    async def get(self, key: str, *, max_age_s: float | None = None) -> CacheHit | None:
        """The live entry for ``key`` no older than ``max_age_s``, or None; a hit counts as a use."""
        hit = await self._run(self._get, key, max_age_s)
        if hit is None:
            self._misses += 1
        else:
            self._hits += 1
        return hit

    async def put(self, key: str, value: dict[str, Any], *, ttl_s: float | None = None,
                  namespace: str = "", project: str | None = None) -> None:
        """Store ``value`` for ``ttl_s`` (default: the cache's), owned by ``namespace`` (the tool)
        and ``project``. A value that could never fit, or a ttl of zero, stores nothing and drops
        any older entry, so it cannot be served instead."""
        # Encoded here so later changes to ``value`` by the caller cannot leak into the entry.
        blob = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
        await self._run(self._put, key, blob, self.ttl_s if ttl_s is None else ttl_s, (namespace, project))

    async def delete(self, key: str) -> None:
        await self._run(self._write, "DELETE FROM entries WHERE key = ?", (key,))

    async def clear(self) -> None:
        await self._run(self._write, "DELETE FROM entries", ())

    async def stats(self) -> CacheStats:
        entries, size = await self._run(self._totals)
        return CacheStats(entries, size, self._hits, self._misses, self._evictions)

    async def lookup(
        self, key: str, *, no_cache: bool = False, force_refresh: bool = False, max_age_s: float | None = None
    ) -> tuple[CacheStatus, CacheHit | None]:
        """Apply a request's cache controls: ``no_cache`` neither reads nor (see ``should_store``)
        writes; ``force_refresh`` skips the read but the fresh answer is stored."""
        if no_cache:
            self._db.check_open()
            return "bypass", None
        if force_refresh:
            self._db.check_open()
            return "refresh", None
        hit = await self.get(key, max_age_s=max_age_s)
        return ("hit_exact", hit) if hit is not None else ("miss", None)

    async def close(self) -> None:
        """Finish work already started, then close the file. Safe to call twice."""
        await self._db.close()

    # Everything below runs on the cache's thread.

    def _get(self, key: str, max_age_s: float | None) -> CacheHit | None:
        now = self._clock()
        oldest = -math.inf if max_age_s is None else now - max_age_s
        row = self._conn.execute(_TOUCH, (now, key, now, oldest)).fetchone()
        if row is None:
            return None
        value, stored_at = row
        return CacheHit(json.loads(value), stored_at, max(0.0, now - stored_at))

    def _put(self, key: str, blob: bytes, ttl_s: float, owner: tuple[str, str | None]) -> None:
        size = len(blob) + len(key.encode())
        now = self._clock()
        conn = self._conn
        if size > self.max_bytes or ttl_s <= 0:
            conn.execute("DELETE FROM entries WHERE key = ?", (key,))
            return

        def write() -> int:
            conn.execute(_UPSERT, (key, blob, size, now, now + ttl_s, now, *owner))
            conn.execute("DELETE FROM entries WHERE expires_at <= ?", (now,))
            return len(evict_lru(conn, self.max_bytes, "key", key))

        self._evictions += in_transaction(conn, write)

    def _write(self, sql: str, params: tuple[Any, ...]) -> None:
        self._conn.execute(sql, params)

    def _totals(self) -> tuple[int, int]:
        # Expired entries are dropped first so the figures describe what could still be served.
        self._conn.execute("DELETE FROM entries WHERE expires_at <= ?", (self._clock(),))
        entries, size = self._conn.execute("SELECT entries, bytes FROM totals WHERE id = 1").fetchone()
        return int(entries), int(size)

