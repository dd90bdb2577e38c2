"""The semantic cache in the shared database, so an answer stored by one instance is served by
every other: the lookups and gates of :class:`gatewise.cache.semantic.SemanticCache`, with the
entries in ``semantic_entries`` (vectors as float32 bytes) instead of a SQLite file.

Each instance keeps its in-memory vector index and, before a search, follows what the others
did in one round trip: entries with ids past the last it loaded, and the removal log (filled by a
trigger on every deletion) past the last seq it applied. Every write takes ``SEMANTIC_LOCK``
before its ids are drawn (see the schema), so ids become visible in order and following by id
never skips one. An instance that fell behind the pruned removal log loads everything again.
Entries expire after ``ttl_s``; past ``max_bytes`` the least recently used go first, as in the
SQLite store. Eviction and expiry pass over rows another transaction holds (SKIP LOCKED).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from gatewise.cache.embedders import Embedder, make_embedder
from gatewise.cache.semantic import SemanticCache, SemanticStats, _Entry, _Row, _text_key, configured
from gatewise.cache.sqlite_db import CacheClosedError
from gatewise.storage.postgres.database import Connection, Database
from gatewise.storage.postgres.response_cache import evict_lru
from gatewise.storage.postgres.schema import SEMANTIC_LOCK

if TYPE_CHECKING:
    from gatewise.catalog import Catalog
    from gatewise.config import Settings
    from gatewise.upstream.openrouter import OpenRouterClient

_LOAD_BATCH = 4096
_REMOVED_KEEP = 50_000  # removal log rows kept for instances that are behind
_EXPIRE_BATCH = 1000

_LOCK = f"SELECT pg_advisory_xact_lock({SEMANTIC_LOCK})"
_INSERT = """INSERT INTO semantic_entries (scope, embedder, question, vector, value, size, stored_at,
        expires_at, last_used, namespace, project, history)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id"""
_REPLACE = "DELETE FROM semantic_entries WHERE id = ANY(%s) AND question = %s AND history = %s RETURNING id"
_EXPIRE = """DELETE FROM semantic_entries WHERE id IN (SELECT id FROM semantic_entries
    WHERE expires_at <= %s LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING id"""
_MARKS = """SELECT (SELECT COALESCE(MAX(id), 0) FROM semantic_entries),
    (SELECT MIN(seq) FROM semantic_removed), (SELECT COALESCE(MAX(seq), 0) FROM semantic_removed)"""


class PostgresEmbeddingMemo:
    """Upstream vectors by embedder and text in ``semantic_embeddings``, for ``ttl_s``."""

    def __init__(self, db: Database, ttl_s: float, clock: Callable[[], float]) -> None:
        self._pg, self._ttl_s, self._clock = db, ttl_s, clock

    async def recall(self, embedder: str, texts: Sequence[str]) -> list[np.ndarray | None]:
        keys = [_text_key(embedder, t) for t in texts]
        async with self._pg.connection() as conn:
            cursor = await conn.execute(
                "SELECT key, vector FROM semantic_embeddings WHERE key = ANY(%s) AND expires_at > %s",
                [keys, self._clock()])
            found = {key: bytes(blob) for key, blob in await cursor.fetchall()}
        return [None if (blob := found.get(k)) is None else np.frombuffer(blob, "<f4").copy() for k in keys]

    async def remember(self, embedder: str, texts: Sequence[str], vectors: np.ndarray) -> None:
        if self._ttl_s <= 0:
            return
        now = self._clock()
        rows = [(_text_key(embedder, text), vector.astype("<f4").tobytes(), now + self._ttl_s)
                for text, vector in zip(texts, vectors, strict=True)]
        async with self._pg.connection() as conn, conn.transaction():
            async with conn.cursor() as cursor:
                await cursor.executemany(
                    "INSERT INTO semantic_embeddings (key, vector, expires_at) VALUES (%s, %s, %s)"
                    " ON CONFLICT (key) DO UPDATE"
                    " SET vector = excluded.vector, expires_at = excluded.expires_at",
                    rows)
            await conn.execute(
                "DELETE FROM semantic_embeddings WHERE key IN (SELECT key FROM semantic_embeddings"
                " WHERE expires_at <= %s LIMIT %s FOR UPDATE SKIP LOCKED)", [now, _EXPIRE_BATCH])


class PostgresSemanticCache(SemanticCache):
    """See the module docstring. The index is touched only on the event loop's thread, and its
    catching up runs under one lock so concurrent lookups do not load the same rows twice."""

    def __init__(self, db: Database, embedder: Embedder, *, threshold: float, ttl_s: float, max_bytes: int,
                 clock: Callable[[], float] = time.time, owns_embedder: bool = False) -> None:
        super().__init__(None, embedder, threshold=threshold, ttl_s=ttl_s, max_bytes=max_bytes, clock=clock,
                         owns_embedder=owns_embedder)
        self._pg = db
        self.label = f"the semantic cache at {db.label}"
        self._closed = False
        self._syncing = asyncio.Lock()

    @classmethod
    def open_on(cls, db: Database, settings: Settings, *, client: OpenRouterClient | None = None,
                catalog: Catalog | None = None) -> PostgresSemanticCache:
        """As :meth:`SemanticCache.open`, on the shared database (upstream embeddings memoised
        in it too)."""
        model, options = configured(settings, catalog)
        memo = PostgresEmbeddingMemo(db, options.pop("embedding_ttl_s"), time.time)
        embedder = make_embedder(model, client=client, memo=memo, dimensions=options.pop("dimensions"),
                                 cost_of=options.pop("cost_of"))
        return cls(db, embedder, owns_embedder=True, **options)

    # The storage steps of SemanticCache.

    def _check_open(self) -> None:
        if self._closed:
            raise CacheClosedError(f"{self.label} is closed; open it again to use it")

    async def _find(self, scope: str, vector: np.ndarray, limit: int) -> list[_Row]:
        self._check_open()
        with self._pg.skipped_while_down():  # fail_open: a miss
            async with self._pg.connection() as conn:
                await self._catch_up(conn)
                ids = self._shortlist(scope, vector, limit)
                if not ids:
                    return []
                cursor = await conn.execute(
                    "SELECT id, question, vector, value, stored_at, history FROM semantic_entries"
                    " WHERE id = ANY(%s) AND expires_at > %s", [ids, self._clock()])
                found = await cursor.fetchall()
            return self._rows(ids, found)
        return []

    async def _use(self, entry_id: int) -> None:
        with self._pg.skipped_while_down():  # fail_open: the answer is served all the same
            async with self._pg.connection() as conn:
                await conn.execute("UPDATE semantic_entries SET last_used = %s WHERE id = %s",
                                   [self._clock(), entry_id])

    async def _keep(self, entry: _Entry, ttl_s: float) -> None:
        self._check_open()
        with self._pg.skipped_while_down():  # fail_open: nothing stored
            await self._insert(entry, ttl_s)

    async def _insert(self, entry: _Entry, ttl_s: float) -> None:
        now = self._clock()
        async with self._pg.connection() as conn:
            # Caught up before the lock, which every instance's store waits for: another instance
            # may hold this question's answer, and a first catch-up loads every entry.
            await self._catch_up(conn)
            alike = self._same_vector(entry)
            async with conn.transaction():
                await conn.execute(_LOCK)
                replaced: list[int] = []
                if alike:
                    cursor = await conn.execute(_REPLACE, [alike, entry.question, entry.history])
                    replaced = [int(r[0]) for r in await cursor.fetchall()]
                cursor = await conn.execute(_INSERT, entry.values(now, ttl_s))
                row = await cursor.fetchone()
                assert row is not None
                entry_id = int(row[0])
                cursor = await conn.execute(_EXPIRE, [now, _EXPIRE_BATCH])
                gone = [int(r[0]) for r in await cursor.fetchall()]
                gone += await evict_lru(conn, "semantic_totals", "semantic_entries", "id", entry_id,
                                       self.max_bytes)
                await conn.execute("DELETE FROM semantic_removed WHERE seq <= "
                                   "(SELECT MAX(seq) FROM semantic_removed) - %s", [_REMOVED_KEEP])
        self._stored(entry, entry_id, now + ttl_s, gone, replaced)

    async def _catch_up(self, conn: Connection) -> None:
        """Bring the in-memory indexes up to date with what every instance wrote: one round trip
        when nothing changed."""
        async with self._syncing:
            cursor = await conn.execute(_MARKS)
            marks = await cursor.fetchone()
            assert marks is not None
            newest_id, oldest_log, newest_log = int(marks[0]), marks[1], int(marks[2])
            if not self._loaded or (oldest_log is not None and oldest_log > self._last_removed + 1):
                # First load, or fell behind the pruned removal log: start again from the table.
                self._reset()
                self._last_id, self._last_removed, self._loaded = 0, newest_log, True
            while self._last_removed < newest_log:
                cursor = await conn.execute(
                    "SELECT seq, entry_id FROM semantic_removed WHERE seq > %s ORDER BY seq LIMIT %s",
                    [self._last_removed, _LOAD_BATCH])
                removed = await cursor.fetchall()
                if not removed:
                    break
                for seq, entry_id in removed:
                    self._forget(int(entry_id))
                    self._last_removed = int(seq)
            # In batches, so a start with a full cache never holds every vector at once.
            while self._last_id < newest_id:
                cursor = await conn.execute(
                    "SELECT id, scope, vector, expires_at FROM semantic_entries WHERE id > %s"
                    " ORDER BY id LIMIT %s", [self._last_id, _LOAD_BATCH])
                batch = await cursor.fetchall()
                if not batch:
                    break
                self._last_id = int(batch[-1][0])
                self._load(batch)

    async def _load_entries(self) -> None:
        self._check_open()
        async with self._pg.connection() as conn:
            await self._catch_up(conn)

    # The public surface that reads the store directly.

    async def clear(self) -> None:
        self._check_open()
        async with self._pg.connection() as conn:
            await self._delete(conn, "DELETE FROM semantic_entries")

    async def stats(self) -> SemanticStats:
        self._check_open()
        async with self._pg.connection() as conn:
            await self._delete(conn, _EXPIRE, [self._clock(), _EXPIRE_BATCH])
            cursor = await conn.execute("SELECT entries, bytes FROM semantic_totals WHERE id = 1")
            row = await cursor.fetchone()
        entries, size = (int(row[0]), int(row[1])) if row else (0, 0)
        memory = sum(index.nbytes for index in self._indexes.values())
        return SemanticStats(entries, size, self._hits, self._misses, dict(self._refused), self._evictions,
                             memory)

    async def _delete(self, conn: Connection, statement: str, params: Sequence[object] = ()) -> None:
        """A deletion under the semantic write lock, as every writer of the table takes it; then
        the index follows it (and whatever else the others did)."""
        async with conn.transaction():
            await conn.execute(_LOCK)
            await conn.execute(statement, params)
        await self._catch_up(conn)

    async def close(self) -> None:
        """Refuse further work; the pool belongs to the caller."""
        self._closed = True
        if self._owns_embedder:
            await self.embedder.aclose()

