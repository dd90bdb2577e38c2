"""The exact response cache in the shared database, so an answer stored by one instance is
served by every other: same keys, TTL and least-recently-used eviction under ``max_bytes`` as
the SQLite file (:class:`gatewise.cache.response.ResponseCache`, whose interface this keeps).

A trigger keeps the entry count and byte total in one row, so the size check after a write is
one read, not a scan. Eviction and expiry pass over rows another instance is writing (SKIP
LOCKED) rather than wait for them while holding the totals row, so two writers never deadlock.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from typing import Any

from gatewise.cache.response import CacheHit, CacheStats, ResponseCache
from gatewise.cache.sqlite_db import CacheClosedError
from gatewise.ledger.records import CacheStatus
from gatewise.storage.postgres.database import Connection, Database

EVICT_BATCH = 64

_TOUCH = """UPDATE cache_entries SET last_used = %s
    WHERE key = %s AND expires_at > %s AND stored_at >= %s
    RETURNING value, stored_at"""
_UPSERT = """INSERT INTO cache_entries
        (key, value, size, stored_at, expires_at, last_used, namespace, project)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT (key) DO UPDATE SET value = excluded.value, size = excluded.size,
        stored_at = excluded.stored_at, expires_at = excluded.expires_at, last_used = excluded.last_used,
        namespace = excluded.namespace, project = excluded.project"""
_EXPIRE = """DELETE FROM cache_entries WHERE key IN
    (SELECT key FROM cache_entries WHERE expires_at <= %s LIMIT 1000 FOR UPDATE SKIP LOCKED)"""


class PostgresResponseCache(ResponseCache):
    """JSON-able answers by key in ``cache_entries``; see the module docstring."""

    def __init__(self, db: Database, *, ttl_s: float, max_bytes: int,
                 clock: Callable[[], float] = time.time) -> None:
        # The SQLite file of the base class is never opened: every method is answered here.
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        self._pg = db
        self.label = f"the response cache at {db.label}"
        self.ttl_s = ttl_s
        self.max_bytes = max_bytes
        self._clock = clock
        self._closed = False
        self._hits = self._misses = self._evictions = 0

    async def get(self, key: str, *, max_age_s: float | None = None) -> CacheHit | None:
        self._check_open()
        now = self._clock()
        oldest = -math.inf if max_age_s is None else now - max_age_s
        async with self._pg.connection() as conn:
            cursor = await conn.execute(_TOUCH, [now, key, now, oldest])
            row = await cursor.fetchone()
        if row is None:
            self._misses += 1
            return None
        self._hits += 1
        value, stored_at = row
        return CacheHit(json.loads(bytes(value)), stored_at, max(0.0, now - stored_at))

    async def put(self, key: str, value: dict[str, Any], *, ttl_s: float | None = None,
                  namespace: str = "", project: str | None = None) -> None:
        self._check_open()
        blob = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
        ttl = self.ttl_s if ttl_s is None else ttl_s
        size = len(blob) + len(key.encode())
        now = self._clock()
        with self._pg.skipped_while_down():  # fail_open: nothing stored
            async with self._pg.connection() as conn:
                if size > self.max_bytes or ttl <= 0:  # could never be served: drop any older entry
                    await conn.execute("DELETE FROM cache_entries WHERE key = %s", [key])
                    return
                async with conn.transaction():
                    await conn.execute(_UPSERT, [key, blob, size, now, now + ttl, now, namespace, project])
                    await conn.execute(_EXPIRE, [now])
                    self._evictions += await self._evict(conn, key)

    async def delete(self, key: str) -> None:
        self._check_open()
        async with self._pg.connection() as conn:
            await conn.execute("DELETE FROM cache_entries WHERE key = %s", [key])

    async def clear(self) -> None:
        self._check_open()
        async with self._pg.connection() as conn:
            await conn.execute("DELETE FROM cache_entries")

    async def stats(self) -> CacheStats:
        self._check_open()
        async with self._pg.connection() as conn:
            await conn.execute(_EXPIRE, [self._clock()])
            cursor = await conn.execute("SELECT entries, bytes FROM cache_totals WHERE id = 1")
            row = await cursor.fetchone()
        entries, size = row if row else (0, 0)
        return CacheStats(int(entries), int(size), self._hits, self._misses, self._evictions)

    async def lookup(self, key: str, *, no_cache: bool = False, force_refresh: bool = False,
                     max_age_s: float | None = None) -> tuple[CacheStatus, CacheHit | None]:
        self._check_open()
        if no_cache:
            return "bypass", None
        if force_refresh:
            return "refresh", None
        hit = None
        with self._pg.skipped_while_down():  # fail_open: a miss
            hit = await self.get(key, max_age_s=max_age_s)
        return ("hit_exact", hit) if hit is not None else ("miss", None)

    async def close(self) -> None:
        """Refuse further work; the pool belongs to the caller."""
        self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise CacheClosedError(f"{self.label} is closed; open it again to use it")

    async def _evict(self, conn: Connection, keep: str) -> int:
        return len(await evict_lru(conn, "cache_totals", "cache_entries", "key", keep, self.max_bytes))


async def evict_lru(conn: Connection, totals: str, table: str, key_column: str, keep: Any,
                    max_bytes: int) -> list[Any]:
    """Delete the least recently used rows of ``table`` (never ``keep``; of rows used at the same
    time, the earlier stored first, as the SQLite stores do) until the byte total in ``totals``
    fits ``max_bytes``; their keys. Rows other transactions hold are passed over."""
    evicted: list[Any] = []
    victims = (f"SELECT {key_column}, size FROM {table} WHERE {key_column} != %s"
               f" ORDER BY last_used, stored_at LIMIT %s FOR UPDATE SKIP LOCKED")
    while True:
        cursor = await conn.execute(f"SELECT bytes FROM {totals} WHERE id = 1")
        row = await cursor.fetchone()
        excess = int(row[0]) - max_bytes if row else 0
        if excess <= 0:
            return evicted
        cursor = await conn.execute(victims, [keep, EVICT_BATCH])
        chosen = []
        for victim, victim_size in await cursor.fetchall():
            chosen.append(victim)
            excess -= victim_size
            if excess <= 0:
                break
        if not chosen:  # the rest are being written by others: they evict next time
            return evicted
        await conn.execute(f"DELETE FROM {table} WHERE {key_column} = ANY(%s)", [chosen])
        evicted += chosen
