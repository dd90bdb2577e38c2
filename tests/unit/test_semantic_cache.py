"""The semantic cache: scopes that never mix, expiry, the byte bound, several processes on one
file, restarts, the offline local embedder and memoised upstream embeddings."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from gatewise.cache.embedders import HashEmbedder, LocalEmbedder
from gatewise.cache.semantic import FILE_NAME, Scope, SemanticCache, request_is_cacheable
from gatewise.cache.vector_index import VectorIndex
from gatewise.catalog import Catalog
from gatewise.config import EmbeddingCacheConfig, Settings
from gatewise.upstream.openrouter import OpenRouterClient
from store_support import FakeClock

QUESTION = "How do I reset my password?"
SCOPE = Scope("routing-gateway:routed_complete", ("simple_queries",), {"temperature": 0, "max_tokens": 200},
              [{"role": "system", "content": "You are a helpful support agent."}], "support-bot")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def cache(tmp_path: Path, clock: FakeClock) -> AsyncIterator[SemanticCache]:
    c = SemanticCache.at(tmp_path / FILE_NAME, HashEmbedder(), threshold=0.85, ttl_s=600, max_bytes=10**7,
                         clock=clock)
    yield c
    await c.close()


async def test_a_hit_says_what_it_answered_and_how_close(cache: SemanticCache, clock: FakeClock) -> None:
    await cache.store(SCOPE, QUESTION, {"content": "Use the reset link."})
    clock.advance(42)
    found = await cache.lookup(SCOPE, "how do i reset my password")
    assert found.hit is not None
    assert found.hit.value == {"content": "Use the reset link."}
    assert found.hit.question == QUESTION and found.hit.age_s == 42
    assert 0.85 <= found.hit.similarity <= 1.0 + 1e-6
    stats = await cache.stats()
    assert (stats.entries, stats.hits, stats.misses) == (1, 1, 0)


@pytest.mark.parametrize("other", [
    Scope(SCOPE.namespace, SCOPE.models, SCOPE.params, [{"role": "system", "content": "You are a pirate."}],
          SCOPE.project),
    Scope(SCOPE.namespace, SCOPE.models, SCOPE.params, SCOPE.context, "other-project"),
    Scope(SCOPE.namespace, SCOPE.models, {"temperature": 0, "max_tokens": 50}, SCOPE.context, SCOPE.project),
    Scope(SCOPE.namespace, ("reasoning_tasks",), SCOPE.params, SCOPE.context, SCOPE.project),
    Scope("openrouter-search:web_search", SCOPE.models, SCOPE.params, SCOPE.context, SCOPE.project),
    Scope(SCOPE.namespace, SCOPE.models, SCOPE.params,
          [*SCOPE.context, {"role": "user", "content": "I use the mobile app."}], SCOPE.project),
], ids=["system prompt", "project", "parameters", "model set", "namespace", "earlier turns"])
async def test_lookups_never_cross_scopes(cache: SemanticCache, other: Scope) -> None:
    await cache.store(SCOPE, QUESTION, {"content": "scoped"})
    assert (await cache.lookup(other, QUESTION)).hit is None
    assert (await cache.lookup(SCOPE, QUESTION)).hit is not None


def _turns(*texts: str) -> list[dict[str, str]]:
    return [{"role": role, "content": text} for role, text in zip(("system", "user", "assistant"), texts,
                                                                    strict=False)]


async def test_earlier_turns_are_compared_as_read_not_byte_for_byte(cache: SemanticCache) -> None:
    history = _turns("You are a support agent.", "My Flixora plan renews on the 14th.", "Thanks. What next?")
    scope = Scope(SCOPE.namespace, SCOPE.models, SCOPE.params, history, SCOPE.project)
    await cache.store(scope, "Cancel it", {"content": "Cancelled the Flixora plan."})
    as_read = _turns("You are a support agent.\n", "my flixora  plan renews on the 14th",
                     "Thanks.\tWhat next?")
    other = _turns("You are a support agent.", "My Flixora plan renews on the 15th.", "Thanks. What next?")
    found = await cache.lookup(Scope(SCOPE.namespace, SCOPE.models, SCOPE.params, as_read, SCOPE.project),
                               "cancel it")
    assert found.hit is not None and found.hit.value == {"content": "Cancelled the Flixora plan."}
    assert (await cache.lookup(Scope(SCOPE.namespace, SCOPE.models, SCOPE.params, other, SCOPE.project),
                               "cancel it")).hit is None


async def test_a_cache_built_with_one_embedder_is_not_searched_with_another(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    first = SemanticCache.at(path, HashEmbedder(256), threshold=0.85, ttl_s=600, max_bytes=10**7)
    await first.store(SCOPE, QUESTION, {"content": "256"})
    await first.close()
    other = SemanticCache.at(path, HashEmbedder(128), threshold=0.85, ttl_s=600, max_bytes=10**7)
    try:
        assert (await other.lookup(SCOPE, QUESTION)).hit is None
        await other.store(SCOPE, QUESTION, {"content": "128"})
        assert (await other.lookup(SCOPE, QUESTION)).hit.value == {"content": "128"}
    finally:
        await other.close()
    with sqlite3.connect(path) as conn:
        assert sorted(r[0] for r in conn.execute("SELECT embedder FROM entries")) == \
            ["local-hash:128", "local-hash:256"]


async def test_entries_expire_and_max_age_applies(cache: SemanticCache, clock: FakeClock) -> None:
    await cache.store(SCOPE, QUESTION, {"content": "old"})
    clock.advance(300)
    too_old = await cache.lookup(SCOPE, QUESTION, max_age_s=299)
    assert too_old.hit is None and too_old.refused == "age"
    assert "older than max_age_s" in too_old.why_not_served
    assert (await cache.lookup(SCOPE, QUESTION, max_age_s=301)).hit is not None
    clock.advance(301)  # past the 600 s ttl
    assert (await cache.lookup(SCOPE, QUESTION)).hit is None
    stats = await cache.stats()
    assert stats.entries == 0 and stats.memory_bytes == 0  # gone from the file and from memory


async def test_clear_empties_the_file_and_memory(cache: SemanticCache) -> None:
    await cache.store(SCOPE, QUESTION, {"content": "x"})
    assert (await cache.stats()).memory_bytes > 0
    await cache.clear()
    stats = await cache.stats()
    assert (stats.entries, stats.bytes, stats.memory_bytes) == (0, 0, 0)
    assert (await cache.lookup(SCOPE, QUESTION)).hit is None


async def test_a_fresh_answer_replaces_the_one_stored_for_the_same_question(cache: SemanticCache,
                                                                          clock: FakeClock) -> None:
    """After force_refresh (or past a caller's max_age_s) the new answer is stored: a rewording is
    then served it, never the one it replaced, and the old entry is gone."""
    other = Scope(SCOPE.namespace, SCOPE.models, SCOPE.params, [], "another-project")
    await cache.store(SCOPE, QUESTION, {"content": "old"})
    await cache.store(other, QUESTION, {"content": "other project"})
    clock.advance(60)
    await cache.store(SCOPE, QUESTION, {"content": "new"})
    found = await cache.lookup(SCOPE, "how do I reset my password")
    assert found.hit is not None and found.hit.value == {"content": "new"} and found.hit.age_s == 0
    stats = await cache.stats()
    assert stats.entries == 2 and stats.evictions == 0  # the other scope's entry stays
    assert (await cache.lookup(other, QUESTION)).hit.value == {"content": "other project"}
    await cache.store(SCOPE, "How do I reset my password for the admin account?", {"content": "admin"})
    assert (await cache.stats()).entries == 3  # another question is another entry


async def test_an_embedder_that_fails_makes_the_cache_step_aside(tmp_path: Path, settings: Settings) -> None:
    dead = settings.model_copy(update={
        "sandbox_url": "http://127.0.0.1:9/api/v1",
        "limits": settings.limits.model_copy(update={"max_retries": 0})})
    client = OpenRouterClient(dead)
    cache = SemanticCache.at(tmp_path / FILE_NAME, "openai/text-embedding-3-large", threshold=0.85,
                             ttl_s=600, max_bytes=10**7, client=client)
    try:
        assert await cache.store(SCOPE, QUESTION, {"content": "x"}) == 0.0
        found = await cache.lookup(SCOPE, QUESTION)
        assert found.hit is None and found.refused == "embedder"
        stats = await cache.stats()
        assert stats.entries == 0 and stats.misses == 1 and stats.refused == {"embedder": 1}
    finally:
        await cache.close()
        await client.aclose()


async def test_least_recently_used_go_first_within_the_byte_bound(tmp_path: Path, clock: FakeClock) -> None:
    cache = SemanticCache.at(tmp_path / FILE_NAME, HashEmbedder(), threshold=0.85, ttl_s=600,
                             max_bytes=8_000, clock=clock)
    questions = [f"What is the refund policy for product line {word}?"
                 for word in ("alpha", "bravo", "charlie", "delta", "echo")]  # about 2,150 bytes each
    try:
        for question in questions[:3]:
            clock.advance(1)
            await cache.store(SCOPE, question, {"content": "x" * 1000})
        clock.advance(1)
        assert (await cache.lookup(SCOPE, questions[0])).hit is not None  # now the most recent use
        for question in questions[3:]:
            clock.advance(1)
            await cache.store(SCOPE, question, {"content": "x" * 1000})
        stats = await cache.stats()
        assert stats.bytes <= 8_000 and stats.evictions > 0
        assert (await cache.lookup(SCOPE, questions[0])).hit is not None
        assert (await cache.lookup(SCOPE, questions[1])).hit is None  # least recently used: gone
        assert (await cache.lookup(SCOPE, questions[2])).hit is None
        assert (await cache.lookup(SCOPE, questions[-1])).hit is not None
    finally:
        await cache.close()


async def test_the_byte_bound_counts_every_stored_byte_with_the_earlier_turns(
        tmp_path: Path, clock: FakeClock) -> None:
    """A conversation's earlier turns are stored with its entry, so they count against
    max_cache_size like the question and the answer do."""
    path = tmp_path / FILE_NAME
    cache = SemanticCache.at(path, HashEmbedder(), threshold=0.85, ttl_s=600, max_bytes=12_000, clock=clock)
    try:
        for i in range(4):
            clock.advance(1)
            history = _turns("You are a support agent.", f"My order {i} is late. " + "Still waiting. " * 200)
            scope = Scope(SCOPE.namespace, SCOPE.models, SCOPE.params, history, SCOPE.project)
            await cache.store(scope, "Where is it?", {"content": "x"})  # about 4,500 bytes each
        stats = await cache.stats()
    finally:
        await cache.close()
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT size, length(CAST(question AS BLOB)) + length(vector) + length(value) + length(scope)"
            " + length(CAST(history AS BLOB)) + length(embedder) + length(namespace)"
            " + length(coalesce(project, '')) FROM entries").fetchall()
    assert rows and all(size == stored for size, stored in rows)
    assert all(size > 3_000 for size, _ in rows)  # the turns are in it
    assert stats.bytes == sum(size for size, _ in rows) <= 12_000 and stats.evictions == 2


async def test_entries_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    first = SemanticCache.at(path, HashEmbedder(), threshold=0.85, ttl_s=600, max_bytes=10**7)
    await first.store(SCOPE, QUESTION, {"content": "kept"})
    await first.close()
    again = SemanticCache.at(path, HashEmbedder(), threshold=0.85, ttl_s=600, max_bytes=10**7)
    try:
        assert (await again.lookup(SCOPE, "how do I reset my password")).hit.value == {"content": "kept"}
    finally:
        await again.close()


SECOND_PROCESS = textwrap.dedent("""
    import asyncio, sys
    from gatewise.cache.embedders import HashEmbedder
    from gatewise.cache.semantic import Scope, SemanticCache

    async def main(path, action):
        cache = SemanticCache.at(path, HashEmbedder(), threshold=0.85, ttl_s=600, max_bytes=10**7)
        scope = Scope("routing-gateway:routed_complete", ("m",))
        if action == "store":
            await cache.store(scope, "Where is my parcel?", {"content": "from the other process"})
        else:
            await cache.clear()
        await cache.close()

    asyncio.run(main(sys.argv[1], sys.argv[2]))
""")


def _other_process(path: Path, action: str) -> None:
    subprocess.run([sys.executable, "-c", SECOND_PROCESS, str(path), action], check=True, timeout=60)


async def test_two_processes_see_each_others_entries_and_deletions(cache: SemanticCache,
                                                                  tmp_path: Path) -> None:
    scope = Scope("routing-gateway:routed_complete", ("m",))
    await cache.store(scope, "How do I reset my password?", {"content": "ours"})
    assert (await cache.lookup(scope, "Where is my parcel?")).hit is None  # index loaded, empty there
    _other_process(tmp_path / FILE_NAME, "store")
    found = await cache.lookup(scope, "where is my parcel")
    assert found.hit is not None and found.hit.value == {"content": "from the other process"}
    _other_process(tmp_path / FILE_NAME, "clear")
    assert (await cache.lookup(scope, "where is my parcel")).hit is None
    assert (await cache.lookup(scope, "How do I reset my password?")).hit is None
    assert (await cache.stats()).memory_bytes == 0  # the deletions left this process's memory too


def test_what_may_be_answered_from_the_semantic_cache() -> None:
    ask = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": QUESTION}]
    assert request_is_cacheable({"messages": ask, "temperature": 0}) is None
    assert request_is_cacheable({"messages": ask}) is None
    assert request_is_cacheable({"messages": ask, "tools": [{"type": "function"}]}) == "tools"
    assert request_is_cacheable({"messages": ask, "response_format": {"type": "json_object"}}) == \
        "response_format"
    image = [{"role": "user", "content": [{"type": "text", "text": "What is this?"},
                                          {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}]
    assert request_is_cacheable({"messages": image}) == "images"
    assert request_is_cacheable({"messages": [*ask, {"role": "assistant", "content": "Hi"}]}) is not None


async def test_long_prompts_are_neither_stored_nor_looked_up(cache: SemanticCache) -> None:
    document = "Summarise this contract. " + "Clause text. " * 200
    assert await cache.store(SCOPE, document, {"content": "summary"}) == 0.0
    assert (await cache.lookup(SCOPE, document)).hit is None
    assert (await cache.stats()).entries == 0


def test_the_local_embedder_loads_offline_and_lazily(tmp_path: Path) -> None:
    script = textwrap.dedent("""
        import sys
        import gatewise.cache.embedders as embedders
        assert "onnxruntime" not in sys.modules  # nothing heavy at import: servers start fast
        vectors = embedders.LocalEmbedder().embed_now(["cancel my subscription", "end my subscription"])
        assert "huggingface_hub" not in sys.modules
        print(vectors.shape[1], round(float(vectors[0] @ vectors[1]), 2))
    """)
    # No hub, and any attempt at the network would go to a closed port.
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HOME": str(tmp_path), "HTTPS_PROXY": "http://127.0.0.1:9",
           "HTTP_PROXY": "http://127.0.0.1:9", "XDG_CACHE_HOME": str(tmp_path / "cache")}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    dimensions, similarity = out.stdout.split()
    assert dimensions == "384" and float(similarity) > 0.7
    # Nothing was fetched: only onnxruntime's small device-id files appear under the cache.
    written = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert all(".onnxruntime" in p.parts and p.stat().st_size < 100_000 for p in written)


async def test_local_vectors_are_unit_length_and_batch_like_singles() -> None:
    embedder = LocalEmbedder()
    try:
        batch = (await embedder.embed(["short", "a much longer question about parcels and refunds"])).vectors
        single = (await embedder.embed(["short"])).vectors
    finally:
        await embedder.aclose()
    assert batch.dtype == np.float32 and batch.shape == (2, 384)
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    assert np.allclose(batch[0], single[0], atol=1e-4)  # padding does not leak into the mean


async def test_the_settings_choose_the_file_threshold_and_local_embedder(settings: Settings) -> None:
    cache = SemanticCache.open(settings)
    await cache.close()
    assert cache.embedder.name == "local:all-MiniLM-L6-v2-int8-exact"  # the default, loaded later
    assert cache.threshold == settings.caching.semantic_cache.similarity_threshold
    assert cache.max_bytes == settings.caching.semantic_cache.max_cache_size
    assert (settings.data_dir / FILE_NAME).exists()


async def test_upstream_embeddings_are_memoised_and_priced(tmp_path: Path, settings: Settings,
                                                           clock: FakeClock) -> None:
    caching = settings.caching.model_copy(update={"embedding_cache": EmbeddingCacheConfig(
        model="text-embedding-3-large", ttl_seconds=3600)})
    client = OpenRouterClient(settings)
    opened = SemanticCache.open(settings.model_copy(update={"caching": caching}), tmp_path,
                                client=client, catalog=Catalog.snapshot())
    await opened.close()
    # The same file and embedder, on a clock the test moves.
    cache = SemanticCache.at(tmp_path / FILE_NAME, "openai/text-embedding-3-large", threshold=0.85, ttl_s=600,
                             max_bytes=10**7, embedding_ttl_s=3600, client=client, clock=clock)
    try:
        assert opened.embedder.name == cache.embedder.name == "openrouter:openai/text-embedding-3-large"
        first = await cache.store(SCOPE, QUESTION, {"content": "upstream"})
        assert first > 0  # the sandbox prices embeddings like upstream does
        found = await cache.lookup(SCOPE, QUESTION)
        assert found.hit is not None and found.cost_usd == 0.0  # the question's vector was kept
        clock.advance(3601)
        assert (await cache.lookup(SCOPE, QUESTION)).cost_usd > 0  # the kept vector expired
    finally:
        await cache.close()
        await client.aclose()


def test_the_index_finds_the_nearest_and_forgets_removed_and_expired() -> None:
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((3000, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = VectorIndex(384)
    expires = np.where(np.arange(3000) % 10 == 0, 50.0, 1e12)  # every tenth entry expires at t=50
    index.add(np.arange(3000), vectors, expires)
    queries = vectors[:300] + rng.normal(0, 0.01, (300, 384)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    for i, query in enumerate(queries):
        (best, score), *_ = index.search(query, now=0)
        assert best == i and score == pytest.approx(float(vectors[i] @ query), abs=0.01)
    for entry_id in range(0, 3000, 2):
        index.remove(entry_id)
    assert len(index) == 1500
    for i, query in enumerate(queries):
        found = [entry_id for entry_id, _ in index.search(query, now=100)]
        assert all(f % 2 == 1 and f % 10 != 0 for f in found)  # never removed, never expired
        if i % 2 == 1 and i % 10 != 0:
            assert found[0] == i


PROGRAM = "Explain what this Python does:\nfor i in range(3):\n    print(i)\nprint('done')"
INDENTED = "Explain what this Python does:\nfor i in range(3):\n    print(i)\n    print('done')"


@pytest.mark.parametrize("question", [
    PROGRAM,
    "In YAML, is this valid?\na:\n  b: 1\n c: 2",
    "Is this valid JSON: {\"a\": 1,}",
    "What does this do?\n```\nrm -rf build\n```",
    "Why is my <div> not centred?",
])
async def test_code_and_structured_text_are_left_to_the_exact_cache(cache: SemanticCache,
                                                                    question: str) -> None:
    """Spacing and signs are what such text means: no other wording may stand for it."""
    assert await cache.store(SCOPE, question, {"content": "explained"}) == 0.0
    assert (await cache.lookup(SCOPE, question)).hit is None
    assert (await cache.stats()).entries == 0


async def test_a_redacted_values_placeholder_is_no_markup(cache: SemanticCache) -> None:
    question = "How do I reset my password? Reply to <EMAIL_1>"
    await cache.store(SCOPE, question, {"content": "Use the reset link."})
    assert (await cache.lookup(SCOPE, "How can I reset my password? Reply to <EMAIL_1>")).hit is not None


async def test_earlier_turns_with_code_are_compared_as_sent(cache: SemanticCache) -> None:
    def scope_of(code: str) -> Scope:
        history = _turns("You review code.", code, "It loops.")
        return Scope(SCOPE.namespace, SCOPE.models, SCOPE.params, history, SCOPE.project)

    scope = scope_of(PROGRAM)
    await cache.store(scope, "Is it correct?", {"content": "yes"})
    assert (await cache.lookup(scope, "Is it correct?")).hit is not None
    assert (await cache.lookup(scope_of(INDENTED), "Is it correct?")).hit is None


async def test_a_system_prompt_keeps_its_quoted_words_and_capitals(cache: SemanticCache) -> None:
    def scope(system: str) -> Scope:
        return Scope(SCOPE.namespace, SCOPE.models, SCOPE.params, [{"role": "system", "content": system}],
                     SCOPE.project)

    await cache.store(scope("Reply in Polish, as 'Pan'."), QUESTION, {"content": "po polsku"})
    assert (await cache.lookup(scope("reply in Polish,  as 'Pan'"), QUESTION)).hit is not None
    assert (await cache.lookup(scope("Reply in polish, as 'Pan'."), QUESTION)).hit is None
    assert (await cache.lookup(scope("Reply in Polish, as 'pan'."), QUESTION)).hit is None
