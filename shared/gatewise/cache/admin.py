"""What the caches hold, by owner, and clearing them: the cache files in the data dir, or the
shared database's tables when the stores are on PostgreSQL (``gatewise.storage.postgres.cache_admin``).

Both stores are read and changed through a connection of their own, as any other process would:
SQLite makes a clear visible to every process sharing the data dir at once (the exact cache
keeps nothing in memory; the semantic cache's removal log tells each process which entries to
drop from its in-memory index). A file no server has created yet reads as empty and is not
created.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from pydantic import BaseModel, Field

from gatewise.cache import response
from gatewise.cache.sqlite_db import (
    DEFAULT_BUSY_TIMEOUT_MS,
    CacheError,
    FileSchema,
    ensure_schema,
    in_transaction,
    open_db,
)
from gatewise.errors import ErrorCode, GatewiseError

if TYPE_CHECKING:
    from gatewise.storage.postgres.database import Database

StoreName = Literal["exact", "semantic"]
ClearScope = Literal["exact", "semantic", "all"]
MAX_OWNERS = 50  # owner groups listed per store; the rest are summed in ``other_owners``
# Rows deleted per transaction, so a large clear never holds the write lock for long.
DELETE_BATCH = 1000
# Where the caches are: the data dir's files, or the shared database (storage.url).
CacheHome: TypeAlias = "Path | Database"


class OwnerUsage(BaseModel):
    namespace: str = Field(description="'<server>:<tool>' that stored them ('' before owners were kept)")
    project: str | None
    entries: int
    bytes: int


class StoreUsage(BaseModel):
    store: StoreName
    entries: int
    bytes: int = Field(description="Stored size of the entries (answers, keys, questions, vectors)")
    owners: list[OwnerUsage] = Field(
        description=f"By namespace and project, largest first (at most {MAX_OWNERS})")
    other_owners: int = Field(0, description="Owner groups not listed")


@dataclass(frozen=True, slots=True)
class Selection:
    """Which entries: all of them, or those of a server or one tool, of a project, stored more
    than ``older_than_s`` ago; every given condition must hold."""

    namespace: str | None = None  # 'routing-gateway' (every tool of it) or 'routing-gateway:routed_complete'
    project: str | None = None
    older_than_s: float | None = None

    def where(self, now: float, *, mark: str = "?") -> tuple[str, list[Any]]:
        """The SQL condition and its parameters, written with ``mark`` as the placeholder."""
        clauses: list[str] = ["1 = 1"]
        params: list[Any] = []
        if self.namespace is not None:
            if ":" in self.namespace:
                clauses.append(f"namespace = {mark}")
                params.append(self.namespace)
            else:  # a prefix compared as text, so no LIKE wildcard in a name can widen it
                prefix = self.namespace + ":"
                clauses.append(f"substr(namespace, 1, {mark}) = {mark}")
                params += [len(prefix), prefix]
        if self.project is not None:
            clauses.append(f"project = {mark}")
            params.append(self.project)
        if self.older_than_s is not None:
            clauses.append(f"stored_at <= {mark}")
            params.append(now - self.older_than_s)
        return " AND ".join(clauses), params


def store_names(scope: ClearScope) -> list[StoreName]:
    return ["exact", "semantic"] if scope == "all" else [scope]


async def store_usage(home: CacheHome, *, clock: Callable[[], float] = time.time) -> list[StoreUsage]:
    """Live (unexpired) entries and their bytes in each store, by owner."""
    if not isinstance(home, Path):
        from gatewise.storage.postgres import cache_admin

        return await cache_admin.usage(home, ["exact", "semantic"], clock())
    return await asyncio.to_thread(_each_store, home, ["exact", "semantic"], _usage, clock())


async def clear_entries(home: CacheHome, scope: ClearScope, selection: Selection, *, dry_run: bool,
                        clock: Callable[[], float] = time.time) -> list[StoreUsage]:
    """Delete the selected entries (expired ones too) from the stores ``scope`` names, and say
    what went; with ``dry_run`` only say what would go."""
    if not isinstance(home, Path):
        from gatewise.storage.postgres import cache_admin

        return await cache_admin.clear(home, store_names(scope), selection, clock(), dry_run=dry_run)

    def clear(conn: sqlite3.Connection, name: StoreName, now: float) -> StoreUsage:
        return _clear(conn, name, selection, now, dry_run=dry_run)

    return await asyncio.to_thread(_each_store, home, store_names(scope), clear, clock())


Work = Callable[[sqlite3.Connection, StoreName, float], StoreUsage]


def _store_file(name: StoreName) -> tuple[str, FileSchema]:
    """The file name and schema of a store."""
    if name == "exact":
        return response.FILE_NAME, response.SCHEMA
    from gatewise.cache import semantic  # loads numpy: only once a store is read, not at import

    return semantic.FILE_NAME, semantic.SCHEMA


def _each_store(data_dir: Path, names: list[StoreName], work: Work, now: float) -> list[StoreUsage]:
    found = []
    for name in names:
        file_name, schema = _store_file(name)
        path = data_dir / file_name
        if not path.is_file():
            found.append(StoreUsage(store=name, entries=0, bytes=0, owners=[]))
            continue
        label = f"the {name} cache at {path}"
        try:
            with closing(open_db(path, DEFAULT_BUSY_TIMEOUT_MS)) as conn:
                (version,) = conn.execute("PRAGMA user_version").fetchone()
                if version != schema.version:  # an older file gains the owner columns; a newer is refused
                    ensure_schema(conn, label, schema)
                found.append(work(conn, name, now))
        except sqlite3.Error as exc:
            raise CacheError(f"{label} failed: {exc}") from exc
    return found


def _usage(conn: sqlite3.Connection, name: StoreName, now: float) -> StoreUsage:
    return _by_owner(conn, name, "expires_at > ?", [now])


def _by_owner(conn: sqlite3.Connection, name: StoreName, where: str, params: list[Any]) -> StoreUsage:
    rows = conn.execute(f"SELECT namespace, project, COUNT(*), TOTAL(size) FROM entries WHERE {where}"
                        " GROUP BY 1, 2", params).fetchall()
    return summary(name, [(ns, project, n, int(size)) for ns, project, n, size in rows])


def _clear(conn: sqlite3.Connection, name: StoreName, selection: Selection, now: float,
           *, dry_run: bool) -> StoreUsage:
    where, params = selection.where(now)
    if dry_run:
        return _by_owner(conn, name, where, params)
    gone = Tally()
    while True:
        batch = in_transaction(conn, lambda: conn.execute(
            f"DELETE FROM entries WHERE rowid IN (SELECT rowid FROM entries WHERE {where} LIMIT ?)"
            " RETURNING namespace, project, size", [*params, DELETE_BATCH]).fetchall())
        gone.add(batch)
        if len(batch) < DELETE_BATCH:
            break
    return gone.usage(name)


class Tally:
    """Deleted rows (namespace, project, size) counted by owner, batch by batch."""

    def __init__(self) -> None:
        self._by_owner: dict[tuple[str, str | None], list[int]] = {}

    def add(self, batch: Iterable[Sequence[Any]]) -> None:
        for namespace, project, size in batch:
            counted = self._by_owner.setdefault((namespace, project), [0, 0])
            counted[0] += 1
            counted[1] += int(size)

    def usage(self, name: StoreName) -> StoreUsage:
        return summary(name, [(ns, project, n, size) for (ns, project), (n, size) in self._by_owner.items()])


def summary(name: StoreName, rows: list[tuple[str, str | None, int, int]]) -> StoreUsage:
    rows.sort(key=lambda r: (-r[3], -r[2], r[0], r[1] or ""))
    owners = [OwnerUsage(namespace=ns, project=project, entries=n, bytes=size)
              for ns, project, n, size in rows[:MAX_OWNERS]]
    return StoreUsage(store=name, entries=sum(r[2] for r in rows), bytes=sum(r[3] for r in rows),
                      owners=owners, other_owners=max(0, len(rows) - MAX_OWNERS))


class CacheClearing(BaseModel):
    applied: bool = Field(description="False for a dry run: nothing was deleted")
    scope: ClearScope
    entries: int = Field(description="Entries deleted (or, on a dry run, that would be)")
    bytes: int
    stores: list[StoreUsage] = Field(description="What went from each store, by owner")
    note: str | None = Field(None, description=(
        "When a namespace filter matched nothing: the servers whose entries the stores do hold"))


async def clear_cache(home: CacheHome, scope: ClearScope, selection: Selection, *, confirm: bool,
                      dry_run: bool) -> CacheClearing:
    """Clear the selected entries, refusing without ``confirm`` unless it is a dry run."""
    if not dry_run and not confirm:
        raise GatewiseError(
            ErrorCode.INVALID_INPUT, "clearing cached answers cannot be undone; nothing was deleted",
            hint="Call again with confirm: true, or with dry_run: true to see what would go.")
    stores = await clear_entries(home, scope, selection, dry_run=dry_run)
    entries = sum(s.entries for s in stores)
    note = await _servers_held(home, scope) if selection.namespace is not None and not entries else None
    return CacheClearing(applied=not dry_run, scope=scope, entries=entries,
                         bytes=sum(s.bytes for s in stores), stores=stores, note=note)


async def _servers_held(home: CacheHome, scope: ClearScope) -> str:
    """Which servers the stores hold entries of, for a namespace that matched nothing (a typo is
    the likely cause); project names are not listed, as they may be other tenants'."""
    held = sorted({owner.namespace.partition(":")[0] for usage in await store_usage(home)
                   if usage.store in store_names(scope) for owner in usage.owners if owner.namespace})
    return "no stored entry has this namespace; " + (
        f"entries are held for: {', '.join(held[:MAX_OWNERS])}" if held else "the stores hold no entries")
