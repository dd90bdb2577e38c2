"""The cache files by owner: what they hold, clearing a selection, and files from before owners."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from gatewise.cache import ResponseCache
from gatewise.cache.admin import Selection, clear_entries, store_usage
from gatewise.cache.embedders import HashEmbedder
from gatewise.cache.semantic import FILE_NAME, Scope, SemanticCache
from store_support import FakeClock, sqlite_rows

ROUTED = "routing-gateway:routed_complete"
# The exact cache's first schema, as files written before entries kept their owner have it.
V1_EXACT = (
    "CREATE TABLE entries (key TEXT PRIMARY KEY, value BLOB NOT NULL, size INTEGER NOT NULL,"
    " stored_at REAL NOT NULL, expires_at REAL NOT NULL, last_used REAL NOT NULL)",
    "CREATE TABLE totals (id INTEGER PRIMARY KEY CHECK (id = 1), entries INTEGER NOT NULL,"
    " bytes INTEGER NOT NULL)",
    "INSERT INTO totals VALUES (1, 1, 10)",
    "INSERT INTO entries VALUES ('k-old', '{\"a\":1}', 10, 999000, 2000000, 999000)",
    "PRAGMA user_version = 1",
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def fill(data: Path, clock: FakeClock) -> None:
    """Three exact entries of two tools and projects, 100 s apart, and two semantic ones."""
    cache = ResponseCache(data / "cache.sqlite3", ttl_s=600, max_bytes=10**6, clock=clock)
    await cache.put("a", {"answer": "one"}, namespace=ROUTED, project="support")
    clock.advance(100)
    await cache.put("b", {"answer": "two"}, namespace=ROUTED, project="sales")
    await cache.put("c", {"answer": "three"}, namespace="openrouter-search:web_search")
    await cache.close()
    sem = SemanticCache.at(data / FILE_NAME, HashEmbedder(), threshold=0.85, ttl_s=600, max_bytes=10**7,
                           clock=clock)
    await sem.store(Scope(ROUTED, ("m",), project="support"), "How do I reset my password?", {"x": 1})
    await sem.store(Scope(ROUTED, ("m",), project="sales"), "Where is my parcel?", {"x": 2})
    await sem.close()


async def test_usage_by_owner_counts_live_entries_only(tmp_path: Path, clock: FakeClock) -> None:
    await fill(tmp_path, clock)
    exact, sem = await store_usage(tmp_path, clock=clock)
    assert (exact.store, exact.entries, sem.store, sem.entries) == ("exact", 3, "semantic", 2)
    assert exact.bytes == sum(o.bytes for o in exact.owners) > 0
    assert {(o.namespace, o.project, o.entries) for o in exact.owners} == {
        (ROUTED, "support", 1), (ROUTED, "sales", 1), ("openrouter-search:web_search", None, 1)}
    clock.advance(550)  # the first entry is 650 s old: past its 600 s TTL
    exact, _ = await store_usage(tmp_path, clock=clock)
    assert exact.entries == 2


@pytest.mark.parametrize(("selection", "left"), [
    (Selection(namespace="routing-gateway"), {"c"}),
    (Selection(namespace=ROUTED, project="sales"), {"a", "c"}),
    (Selection(older_than_s=50), {"b", "c"}),
    (Selection(namespace="routing"), {"a", "b", "c"}),  # a server's name, not any prefix of it
    (Selection(namespace="routing-gateway:%"), {"a", "b", "c"}),  # no wildcards
    (Selection(), set()),
])
async def test_clear_a_selection_after_a_dry_run(tmp_path: Path, clock: FakeClock, selection: Selection,
                                                 left: set[str]) -> None:
    await fill(tmp_path, clock)
    preview = await clear_entries(tmp_path, "exact", selection, dry_run=True, clock=clock)
    assert sqlite_rows(tmp_path / "cache.sqlite3", "SELECT COUNT(*) FROM entries") == [(3,)]
    done = await clear_entries(tmp_path, "exact", selection, dry_run=False, clock=clock)
    assert [s.model_dump() for s in done] == [s.model_dump() for s in preview]
    assert done[0].entries == 3 - len(left)
    assert {k for (k,) in sqlite_rows(tmp_path / "cache.sqlite3", "SELECT key FROM entries")} == left
    # The running totals the byte bound relies on stay exact.
    assert sqlite_rows(tmp_path / "cache.sqlite3", "SELECT entries FROM totals") == [(len(left),)]


async def test_a_semantic_clear_reaches_a_cache_open_elsewhere(tmp_path: Path, clock: FakeClock) -> None:
    await fill(tmp_path, clock)
    live = SemanticCache.at(tmp_path / FILE_NAME, HashEmbedder(), threshold=0.85, ttl_s=600,
                            max_bytes=10**7, clock=clock)
    support = Scope(ROUTED, ("m",), project="support")
    sales = Scope(ROUTED, ("m",), project="sales")
    try:
        assert (await live.lookup(support, "How do I reset my password?")).hit is not None
        done = await clear_entries(tmp_path, "all", Selection(project="support"), dry_run=False, clock=clock)
        assert [(s.store, s.entries) for s in done] == [("exact", 1), ("semantic", 1)]
        assert (await live.lookup(support, "How do I reset my password?")).hit is None
        assert (await live.lookup(sales, "Where is my parcel?")).hit is not None
    finally:
        await live.close()


async def test_missing_files_read_as_empty_and_are_not_created(tmp_path: Path) -> None:
    usage = await store_usage(tmp_path)
    cleared = await clear_entries(tmp_path, "all", Selection(), dry_run=False)
    assert [(u.entries, u.bytes) for u in usage + cleared] == [(0, 0)] * 4
    assert list(tmp_path.iterdir()) == []


async def test_a_file_from_before_owners_keeps_its_entries(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "cache.sqlite3"
    with closing(sqlite3.connect(path)) as conn:
        for statement in V1_EXACT:
            conn.execute(statement)
        conn.commit()
    (exact, _) = await store_usage(tmp_path, clock=clock)  # the admin upgrades it as the cache would
    assert [(o.namespace, o.project, o.entries) for o in exact.owners] == [("", None, 1)]
    cache = ResponseCache(path, ttl_s=600, max_bytes=10**6, clock=clock)
    try:
        hit = await cache.get("k-old")
        assert hit is not None and hit.value == {"a": 1}
        await cache.put("k-new", {"b": 2}, namespace=ROUTED, project="p")
    finally:
        await cache.close()
    assert sqlite_rows(path, "SELECT key, namespace, project FROM entries ORDER BY key") == [
        ("k-new", ROUTED, "p"), ("k-old", "", None)]
    assert sqlite_rows(path, "PRAGMA user_version") == [(2,)]
