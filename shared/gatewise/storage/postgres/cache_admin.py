"""What the shared caches hold, by owner, and clearing them: the PostgreSQL side of
:mod:`gatewise.cache.admin`, over ``cache_entries`` (exact) and ``semantic_entries``.

A clear deletes in batches, each its own transaction, so it never holds rows for long; the
semantic one takes the semantic write lock first, as every writer of that table does, and its
trigger logs each deletion so every instance drops the entries from its in-memory index.
"""

from __future__ import annotations

from typing import Any

from gatewise.cache.admin import DELETE_BATCH, Selection, StoreName, StoreUsage, Tally, summary
from gatewise.storage.postgres.database import Connection, Database
from gatewise.storage.postgres.schema import SEMANTIC_LOCK

# Each store's table and its key column.
TABLES: dict[StoreName, tuple[str, str]] = {
    "exact": ("cache_entries", "key"),
    "semantic": ("semantic_entries", "id"),
}


async def usage(db: Database, names: list[StoreName], now: float) -> list[StoreUsage]:
    """Live (unexpired) entries and their bytes in each store, by owner."""
    async with db.connection() as conn:
        return [await _by_owner(conn, name, "expires_at > %s", [now]) for name in names]


async def clear(db: Database, names: list[StoreName], selection: Selection, now: float,
                *, dry_run: bool) -> list[StoreUsage]:
    """Delete the selected entries (expired ones too) and say what went; with ``dry_run`` only
    say what would go."""
    where, params = selection.where(now, mark="%s")
    async with db.connection() as conn:
        if dry_run:
            return [await _by_owner(conn, name, where, params) for name in names]
        return [await _clear(conn, name, where, params) for name in names]


async def _by_owner(conn: Connection, name: StoreName, where: str, params: list[Any]) -> StoreUsage:
    table, _ = TABLES[name]
    cursor = await conn.execute(f"SELECT namespace, project, COUNT(*), COALESCE(SUM(size), 0) FROM {table}"
                                f" WHERE {where} GROUP BY 1, 2", params)
    rows = await cursor.fetchall()
    return summary(name, [(ns, project, int(n), int(size)) for ns, project, n, size in rows])


async def _clear(conn: Connection, name: StoreName, where: str, params: list[Any]) -> StoreUsage:
    table, key = TABLES[name]
    gone = Tally()
    while True:
        async with conn.transaction():
            if name == "semantic":
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", [SEMANTIC_LOCK])
            cursor = await conn.execute(
                f"DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM {table} WHERE {where} LIMIT %s)"
                " RETURNING namespace, project, size", [*params, DELETE_BATCH])
            batch = await cursor.fetchall()
        gone.add(batch)
        if len(batch) < DELETE_BATCH:
            break
    return gone.usage(name)
