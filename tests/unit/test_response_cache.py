"""The exact response cache: key normalisation, expiry, LRU eviction, controls and sharing."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import sqlite3
import stat
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gatewise.cache import (
    CacheClosedError,
    CacheError,
    ResponseCache,
    cache_key,
    content_hash,
    should_store,
)
from gatewise.cache.keys import request_hash
from gatewise.ledger import CACHE_STATUSES
from store_support import FakeClock, count_elsewhere

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def cache(tmp_path: Path, clock: FakeClock) -> AsyncIterator[ResponseCache]:
    c = ResponseCache(tmp_path / "cache.sqlite3", ttl_s=60, max_bytes=1_000_000, clock=clock)
    yield c
    await c.close()


def _request(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "model": "gpt-x",
        "temperature": 0.2,
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "Hello there"}],
    }
    return {**base, **overrides}


# Keys


def test_key_ignores_order_end_whitespace_and_none_params() -> None:
    a = cache_key("routed_complete", _request())
    b = cache_key(
        "routed_complete",
        {
            "messages": [{"content": "  Hello there\n", "role": "user"}],
            "max_tokens": 100,
            "top_p": None,
            "temperature": 0.2,
            "model": "gpt-x",
        },
    )
    assert a == b
    assert len(a) == 64


def test_key_keeps_inner_whitespace_and_folds_float_spelling() -> None:
    base = cache_key("routed_complete", _request())
    inner = _request(messages=[{"role": "user", "content": "Hello  there"}])
    assert cache_key("routed_complete", inner) != base
    assert cache_key("routed_complete", _request(temperature=1)) == cache_key(
        "routed_complete", _request(temperature=1.0)
    )


def test_key_changes_with_model_parameters_and_namespace() -> None:
    base = cache_key("routed_complete", _request())
    assert cache_key("routed_complete", _request(temperature=0.3)) != base
    assert cache_key("routed_complete", _request(model="gpt-y")) != base
    assert cache_key("routed_complete", _request(seed=1)) != base
    assert cache_key("web_search", _request()) != base


def test_same_image_as_bytes_or_data_url_gives_same_key() -> None:
    data_url = "data:image/png;base64," + base64.b64encode(PNG).decode()

    def image_request(image: object) -> dict[str, object]:
        return {"model": "vision-1", "prompt": "What is this?", "image": image}

    as_bytes = cache_key("analyze_image", image_request(PNG))
    assert as_bytes == cache_key("analyze_image", image_request(data_url))
    assert as_bytes == cache_key("analyze_image", image_request(bytearray(PNG)))
    assert as_bytes != cache_key("analyze_image", image_request(PNG + b"\x00"))
    assert content_hash(PNG) == content_hash(base64.b64decode(data_url.split(",", 1)[1]))


def test_key_rejects_values_it_cannot_normalise() -> None:
    with pytest.raises(TypeError):
        cache_key("routed_complete", {"model": object()})
    with pytest.raises(ValueError):
        cache_key("", _request())


@pytest.mark.parametrize("key_length", [0, 1, 32, 64, 65, 200])  # SHA-256's block is 64 bytes
def test_request_hash_is_the_hmac_of_the_folded_text(key_length: int) -> None:
    key = bytes(range(7, 7 + key_length))
    for text, folded in [("What is 17*23?", "what is 17*23?"), ("  Straße\n\t ＡＢＣ  x ", "strasse abc x"),
                         ("é" * 3000, "é" * 3000)]:
        assert request_hash(key, text) == hmac.new(key, folded.encode(), hashlib.sha256).hexdigest()
    assert request_hash(key, " \n ") is None
    assert request_hash(key, "same") != request_hash(key + b"!", "same")


# Storage


async def test_hit_and_miss(cache: ResponseCache, clock: FakeClock) -> None:
    assert await cache.get("k") is None
    await cache.put("k", {"text": "answer", "n": [1, 2]})
    clock.advance(5)
    hit = await cache.get("k")
    assert hit is not None
    assert hit.value == {"text": "answer", "n": [1, 2]}
    assert hit.stored_at == clock.now - 5
    assert hit.age_s == 5


async def test_ttl_expiry_and_per_entry_ttl(cache: ResponseCache, clock: FakeClock) -> None:
    await cache.put("default", {"v": 1})
    await cache.put("short", {"v": 2}, ttl_s=10)
    clock.advance(10)
    assert await cache.get("short") is None
    assert await cache.get("default") is not None
    clock.advance(50)
    assert await cache.get("default") is None
    assert (await cache.stats()).entries == 0


async def test_zero_ttl_stores_nothing(cache: ResponseCache) -> None:
    await cache.put("k", {"v": 1})
    await cache.put("k", {"v": 2}, ttl_s=0)
    assert await cache.get("k") is None


async def test_max_age(cache: ResponseCache, clock: FakeClock) -> None:
    await cache.put("k", {"v": 1})
    clock.advance(30)
    assert await cache.get("k", max_age_s=20) is None
    assert await cache.get("k", max_age_s=40) is not None


async def test_delete_and_clear(cache: ResponseCache) -> None:
    for key in "abc":
        await cache.put(key, {"k": key})
    await cache.delete("a")
    assert await cache.get("a") is None
    assert await cache.get("b") is not None
    await cache.clear()
    stats = await cache.stats()
    assert (stats.entries, stats.bytes) == (0, 0)


async def test_lru_eviction_keeps_recently_used(tmp_path: Path, clock: FakeClock) -> None:
    value = {"text": "x" * 90}
    # Each entry is 101 bytes of JSON plus its 1-byte key: three fit, a fourth does not.
    cache = ResponseCache(tmp_path / "c.sqlite3", ttl_s=600, max_bytes=320, clock=clock)
    try:
        for key in "abc":
            await cache.put(key, value)
            clock.advance(1)
        assert await cache.get("a") is not None  # touching "a" makes "b" the oldest
        clock.advance(1)
        await cache.put("d", value)
        assert await cache.get("b") is None
        clock.advance(1)
        await cache.put("e", value)
        assert await cache.get("c") is None  # the next least recently used
        assert [await cache.get(k) is not None for k in "ade"] == [True, True, True]
        stats = await cache.stats()
        assert stats.entries == 3
        assert stats.bytes <= 320
        assert stats.evictions == 2
    finally:
        await cache.close()


async def test_oversize_entry_is_not_stored(tmp_path: Path, clock: FakeClock) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite3", ttl_s=600, max_bytes=200, clock=clock)
    try:
        await cache.put("small", {"v": 1})
        await cache.put("big", {"v": 1})
        await cache.put("big", {"text": "y" * 500})
        assert await cache.get("big") is None  # the older, smaller answer is gone too
        assert await cache.get("small") is not None
        assert (await cache.stats()).evictions == 0
    finally:
        await cache.close()


async def test_lookup_controls(cache: ResponseCache) -> None:
    await cache.put("k", {"v": 1})
    assert await cache.lookup("k", no_cache=True, force_refresh=True) == ("bypass", None)
    assert await cache.lookup("k", no_cache=False, force_refresh=True) == ("refresh", None)
    status, hit = await cache.lookup("k", no_cache=False, force_refresh=False, max_age_s=None)
    assert status == "hit_exact"
    assert hit is not None
    assert hit.value == {"v": 1}
    assert await cache.lookup("other", no_cache=False, force_refresh=False) == ("miss", None)
    assert not should_store("bypass")
    assert all(should_store(s) for s in ("hit_exact", "miss", "refresh"))
    # The cache speaks the ledger's vocabulary: its statuses go into rows as they are.
    assert {"bypass", "refresh", "hit_exact", "miss"} <= CACHE_STATUSES
    stats = await cache.stats()
    assert (stats.hits, stats.misses) == (1, 1)  # bypass and refresh count as neither


async def test_stats_counters(cache: ResponseCache) -> None:
    await cache.put("a", {"v": 1})
    await cache.put("b", {"v": 22})
    await cache.get("a")
    await cache.get("a")
    await cache.get("missing")
    stats = await cache.stats()
    assert (stats.entries, stats.hits, stats.misses, stats.evictions) == (2, 2, 1, 0)
    assert stats.bytes == len('{"v":1}') + 1 + len('{"v":22}') + 1


async def test_many_concurrent_tasks(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite3", ttl_s=600, max_bytes=10_000_000)
    try:

        async def worker(i: int) -> None:
            key = f"k{i % 50}"
            await cache.put(key, {"i": i % 50})
            hit = await cache.get(key)
            assert hit is not None
            assert hit.value == {"i": i % 50}

        await asyncio.gather(*(worker(i) for i in range(200)))
        stats = await cache.stats()
        assert stats.entries == 50
        assert stats.hits == 200
    finally:
        await cache.close()


_WRITER = """
import asyncio, sys
from pathlib import Path
from gatewise.cache import ResponseCache

async def main(path, tag):
    cache = ResponseCache(Path(path), ttl_s=600, max_bytes=4000)
    for i in range(150):
        await cache.put(f"{tag}{i}", {"text": "z" * (i % 40), "i": i})
        await cache.get(f"{tag}{i // 2}")
    await cache.close()

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


def test_two_processes_share_one_file(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(path), tag], stderr=subprocess.PIPE)
        for tag in ("p", "q")
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err.decode()
    with sqlite3.connect(path) as conn:
        (stored, count) = conn.execute("SELECT COALESCE(SUM(size), 0), COUNT(*) FROM entries").fetchone()
        totals = conn.execute("SELECT entries, bytes FROM totals").fetchone()
    conn.close()
    assert totals == (count, stored)
    assert 0 < stored <= 4000


async def test_use_after_close_is_a_clear_error(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite3", ttl_s=60, max_bytes=1000)
    await cache.put("k", {"v": 1})
    await cache.close()
    await cache.close()  # a second close is harmless
    with pytest.raises(CacheClosedError, match="closed"):
        await cache.get("k")
    with pytest.raises(CacheClosedError):
        await cache.put("k", {"v": 2})
    with pytest.raises(CacheClosedError):
        await cache.lookup("k", no_cache=True, force_refresh=False)


async def test_reopen_keeps_entries_and_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    cache = ResponseCache(path, ttl_s=60, max_bytes=1000)
    await cache.put("k", {"v": 1})
    await cache.close()
    cache = ResponseCache(path, ttl_s=60, max_bytes=1000)
    assert await cache.get("k") is not None
    await cache.close()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(CacheError, match="newer"):
        ResponseCache(path, ttl_s=60, max_bytes=1000)


async def test_file_is_user_only(tmp_path: Path) -> None:
    path = tmp_path / "data" / "cache.sqlite3"
    cache = ResponseCache(path, ttl_s=60, max_bytes=1000)
    try:
        await cache.put("k", {"v": 1})
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    finally:
        await cache.close()


async def test_a_second_open_in_one_process_keeps_the_wal_shared(tmp_path: Path) -> None:
    """Opening the file again must not drop the first connection's locks: another process closing
    its connection would then delete the WAL, and later writes would be lost to everyone else."""
    path = tmp_path / "cache.sqlite3"
    first = ResponseCache(path, ttl_s=600, max_bytes=1_000_000)
    await first.put("a", {"answer": 1})
    second = ResponseCache(path, ttl_s=600, max_bytes=1_000_000)
    assert count_elsewhere(path, "entries") == 1
    await first.put("b", {"answer": 2})
    assert count_elsewhere(path, "entries") == 2
    assert path.with_name("cache.sqlite3-wal").exists()
    await first.close()
    await second.close()
