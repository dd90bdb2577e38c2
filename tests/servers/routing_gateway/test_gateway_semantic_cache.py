"""routed_complete with the semantic cache on: a paraphrase is answered from the cache, free, in
its own scope only; traps, opt-outs and requests that depend on more than words go upstream."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from PIL import Image

from gatewise.cache.embedders import LocalEmbedder
from gatewise.config import Settings, load_settings
from gatewise_sandbox import SandboxServer
from sandbox_admin import SandboxAdmin
from tool_support import ledger_rows

MODEL = "openai/gpt-4o-mini"
QUESTION = "How do I reset my password?"
PARAPHRASE = "How can I reset my password?"
BASE = {"model": "gpt-4o-mini", "project": "support-bot", "system": "You are a helpful support agent."}


def semantic_settings(data_dir: Path, sandbox: SandboxServer, *, embedder: str = "local",
                      exact: bool = True, **semantic: Any) -> Settings:
    return load_settings({}, data_dir=data_dir, sandbox_url=sandbox.url, caching={
        "semantic_cache": {"enabled": True, **semantic}, "embedding_cache": {"model": embedder},
        "response_cache": {"exact_match": exact}})


class Asker:
    """Calls routed_complete once per argument set, in order, on one server; returns the results."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def __call__(self, *calls: dict[str, Any], settings: Settings | None = None
                       ) -> list[dict[str, Any]]:
        from gatewise.servers.routing_gateway.server import create_server

        async with Client(create_server(settings or self.settings)) as client:
            return [(await client.call_tool("routed_complete", {**BASE, **args})).structured_content
                    for args in calls]


@pytest.fixture
def ask(tmp_path: Path, sandbox: SandboxServer) -> Asker:
    return Asker(semantic_settings(tmp_path / "data", sandbox))


def png_data_url() -> str:
    picture = io.BytesIO()
    Image.new("RGB", (32, 32), "red").save(picture, "PNG")
    return "data:image/png;base64," + base64.b64encode(picture.getvalue()).decode()


def upstream_calls(upstream: SandboxAdmin) -> int:
    return upstream.stats()["models"].get(MODEL, {}).get("requests", 0)


async def test_a_paraphrase_is_answered_from_the_cache_for_free(ask: Asker, upstream: SandboxAdmin) -> None:
    first, second, repeat = await ask({"prompt": QUESTION}, {"prompt": PARAPHRASE}, {"prompt": PARAPHRASE})
    assert first["cache_status"] == "miss" and first["cost_usd"] > 0 and first.get("semantic_match") is None
    assert second["cache_status"] == "hit_semantic" and second["cost_usd"] == 0
    assert second["answer"] == first["answer"] and "attempts" not in second  # none made
    assert second["route"]["reason"] == ("served from the semantic cache; the stored answer's route: "
                                         "requested by the caller")
    match = second["semantic_match"]
    threshold = ask.settings.caching.semantic_cache.similarity_threshold  # the stage reads the config
    assert match["question"] == QUESTION and threshold <= match["similarity"] <= 1 and match["age_s"] >= 0
    assert "semantic cache" in second["warnings"][0]
    # The paraphrase's own repeat is served by the semantic cache again, not stored as an exact entry.
    assert repeat["cache_status"] == "hit_semantic"
    assert upstream_calls(upstream) == 1
    rows = sorted(await ledger_rows(ask.settings), key=lambda r: r.ts)
    assert [(r.cache_status, r.cost_usd == 0) for r in rows] == [
        ("miss", False), ("hit_semantic", True), ("hit_semantic", True)]
    assert rows[1].route_reason == "semantic cache" and rows[1].project == "support-bot"
    first_hash, second_hash, repeat_hash = (r.request_hash for r in rows)
    assert first_hash and second_hash == repeat_hash != first_hash and len(first_hash) == 64


@pytest.mark.parametrize("trap", [
    "How do I not reset my password?",  # negation
    "How do I reset my password for account 48213?",  # another number
    "How do I reset my Google password?",  # another entity
])
async def test_a_question_that_wants_another_answer_goes_upstream(ask: Asker, upstream: SandboxAdmin,
                                                                 trap: str) -> None:
    _, second = await ask({"prompt": QUESTION}, {"prompt": trap})
    assert second["cache_status"] == "miss" and second["cost_usd"] > 0
    assert second.get("semantic_match") is None
    assert upstream_calls(upstream) == 2


@pytest.mark.parametrize(("seed", "probe"), [
    ("Is -40 degrees cold?", "Is 40 degrees cold?"),
    ("Can O+ blood be given to someone who is A-?", "Can O- blood be given to someone who is A+?"),
    ("How many grams is ½ cup of sugar?", "How many grams is ¼ cup of sugar?"),
    ("What does 👍 mean in a text message?", "What does 👎 mean in a text message?"),
    ("Why are emails to gmail.com bouncing?", "Why are emails to hotmail.com bouncing?"),
    ("How do I say thank you in Japanese?", "How do I say sorry in Japanese?"),
    (QUESTION, "How do I reset someone else's password?"),
    ("Is 'Polish' a nationality?", "Is 'polish' a nationality?"),
    ("Explain what this Python does:\nfor i in range(3):\n    print(i)\nprint('done')",
     "Explain what this Python does:\nfor i in range(3):\n    print(i)\n    print('done')"),
])
async def test_another_sign_symbol_phrase_owner_case_or_layout_goes_upstream(
        ask: Asker, upstream: SandboxAdmin, seed: str, probe: str) -> None:
    first, second = await ask({"prompt": seed}, {"prompt": probe})
    assert first["cache_status"] == second["cache_status"] == "miss" and second["cost_usd"] > 0
    assert second.get("semantic_match") is None
    assert upstream_calls(upstream) == 2  # the probe was asked upstream, not given the seed's answer


@pytest.mark.parametrize("other", [
    {"system": "You are a pirate."},
    {"project": "billing"},
    {"max_tokens": 50},
    {"temperature": 0},
    {"model": "anthropic/claude-3-haiku"},
    {"explain": True},  # a brief answer holds no whole route to explain with
    {"max_cost_usd": 0.01},  # a cost limit may pick another model
    {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"},
                  {"role": "user", "content": PARAPHRASE}], "system": None},
])
async def test_answers_never_cross_scopes(ask: Asker, upstream: SandboxAdmin, other: dict[str, Any]) -> None:
    args = {"prompt": PARAPHRASE, **other}
    if "messages" in other:
        del args["prompt"]
    first, second = await ask({"prompt": QUESTION}, args)
    assert first["cache_status"] == second["cache_status"] == "miss" and second["cost_usd"] > 0


async def test_entries_of_another_embedder_are_not_searched(tmp_path: Path, sandbox: SandboxServer,
                                                            ask: Asker, upstream: SandboxAdmin) -> None:
    data = tmp_path / "shared"
    hashed = semantic_settings(data, sandbox, embedder="local-hash")
    (stored,) = await ask({"prompt": QUESTION}, settings=hashed)
    (same,) = await ask({"prompt": "how do i reset my password"}, settings=hashed)
    (other,) = await ask({"prompt": PARAPHRASE}, settings=semantic_settings(data, sandbox))
    assert (stored["cache_status"], same["cache_status"]) == ("miss", "hit_semantic")
    assert other["cache_status"] == "miss"


async def test_the_cache_controls_apply_as_for_the_exact_cache(ask: Asker, upstream: SandboxAdmin) -> None:
    outs = await ask(
        {"prompt": QUESTION, "no_cache": True},  # neither read nor stored
        {"prompt": PARAPHRASE},  # so this misses, and is stored
        {"prompt": "How could I reset my password?", "force_refresh": True},  # skips the read, stores
        {"prompt": "How can I reset my password, please?", "max_age_s": 0},  # nothing is that fresh
        {"prompt": "How can I reset my password please?", "max_age_s": 3600})
    assert [o["cache_status"] for o in outs] == ["bypass", "miss", "refresh", "miss", "hit_semantic"]
    assert upstream_calls(upstream) == 4


async def test_a_sampled_answer_is_served_only_when_the_caller_opts_in(ask: Asker,
                                                                       upstream: SandboxAdmin) -> None:
    sampled, opted = {"temperature": 0.7}, {"temperature": 0.7, "cache_sampled": True}
    outs = await ask({"prompt": QUESTION, **opted}, {"prompt": PARAPHRASE, **sampled},
                     {"prompt": "How can I reset my password, please?", **opted})
    assert [o["cache_status"] for o in outs] == ["miss", "bypass", "hit_semantic"]
    assert upstream_calls(upstream) == 2


async def test_a_conversation_with_tool_turns_is_never_served(ask: Asker, upstream: SandboxAdmin) -> None:
    """A tool's output is untrusted and changes what the answer should say: a paraphrase after one
    is not enough to share an answer, and nothing of it is stored."""
    call = {"id": "call_1", "type": "function", "function": {"name": "lookup_account", "arguments": "{}"}}
    history = [{"role": "user", "content": "Look up my account."},
               {"role": "assistant", "content": None, "tool_calls": [call]},
               {"role": "tool", "tool_call_id": "call_1", "content": "Account 7 is locked."},
               {"role": "assistant", "content": "Your account is locked."}]
    outs = await ask({"messages": [*history, {"role": "user", "content": QUESTION}], "system": None},
                     {"messages": [*history, {"role": "user", "content": PARAPHRASE}], "system": None})
    assert [o["cache_status"] for o in outs] == ["miss", "miss"]
    assert upstream_calls(upstream) == 2


async def test_another_speakers_question_is_never_theirs(ask: Asker, upstream: SandboxAdmin) -> None:
    """A turn's `name` says who asks: alice's "What is my name?" is not bob's, asked last or
    earlier in the conversation; the same speaker's paraphrase is still served."""
    def turn(name: str, text: str) -> dict[str, Any]:
        return {"messages": [{"role": "user", "content": text, "name": name}], "system": None}

    earlier = [{"role": "user", "content": "Remember my name.", "name": "alice"},
               {"role": "assistant", "content": "I will."}]
    outs = await ask(turn("alice", "What is my name?"), turn("bob", "What is my name?"),
                     turn("carol", "What's my name?"), turn("alice", "What's my name?"),
                     {"messages": [*earlier, {"role": "user", "content": QUESTION}], "system": None},
                     {"messages": [{**earlier[0], "name": "bob"}, earlier[1],
                                   {"role": "user", "content": PARAPHRASE}], "system": None})
    assert [o["cache_status"] for o in outs] == ["miss", "miss", "miss", "hit_semantic", "miss", "miss"]


async def test_requests_with_images_are_never_served(ask: Asker, upstream: SandboxAdmin) -> None:
    image = {"images": [png_data_url()], "model": None}
    outs = await ask({"prompt": "What is in this picture?", **image},
                     {"prompt": "What is shown in this picture?", **image})
    assert [o["cache_status"] for o in outs] == ["miss", "miss"]


async def test_with_the_exact_cache_off_a_lookup_is_a_miss_not_a_bypass(
        tmp_path: Path, sandbox: SandboxServer, ask: Asker, upstream: SandboxAdmin) -> None:
    settings = semantic_settings(tmp_path / "other", sandbox, exact=False)
    outs = await ask({"prompt": QUESTION}, {"prompt": QUESTION}, {"prompt": PARAPHRASE}, settings=settings)
    assert [o["cache_status"] for o in outs] == ["miss", "hit_semantic", "hit_semantic"]


async def test_the_threshold_is_the_configured_one(tmp_path: Path, sandbox: SandboxServer, ask: Asker,
                                                   upstream: SandboxAdmin) -> None:
    strict = semantic_settings(tmp_path / "strict", sandbox, similarity_threshold=0.9999)
    outs = await ask({"prompt": QUESTION}, {"prompt": PARAPHRASE}, settings=strict)
    assert [o["cache_status"] for o in outs] == ["miss", "miss"]


async def test_the_doctor_shows_the_semantic_cache(ask: Asker, upstream: SandboxAdmin,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from gatewise.doctor import run_doctor

    await ask({"prompt": QUESTION})
    assert await run_doctor(ask.settings) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if "semantic cache" in line)
    assert line.startswith("  [ok] semantic cache: 1 entries")
    threshold = ask.settings.caching.semantic_cache.similarity_threshold
    assert f"embedder {LocalEmbedder.name}, similarity ≥ {threshold}" in line
    assert line.endswith("s, a rebuilt question's words read in context")


async def test_upstream_embeddings_are_charged_in_the_ledger(tmp_path: Path, sandbox: SandboxServer,
                                                            ask: Asker, upstream: SandboxAdmin) -> None:
    settings = semantic_settings(tmp_path / "upstream", sandbox, embedder="text-embedding-3-large")
    first, second = await ask({"prompt": QUESTION}, {"prompt": "how do i reset my password"},
                              settings=settings)
    assert second["cache_status"] == "hit_semantic" and second["cost_usd"] == 0
    rows = sorted(await ledger_rows(settings), key=lambda r: r.ts)
    embedded = [r for r in rows if r.route_reason == "semantic cache: embedding the question"]
    # One embedding per question: the store after the first miss reuses the lookup's vector.
    assert [r.request_id for r in embedded] == [first["request_id"], second["request_id"]]
    assert all(r.cost_usd > 0 and r.model == "openrouter:openai/text-embedding-3-large" for r in embedded)
    served = next(r for r in rows if r.cache_status == "hit_semantic" and r.route_reason == "semantic cache")
    assert served.cost_usd == 0 and served.request_id == second["request_id"]


async def test_cache_stats_count_why_semantic_lookups_served_nothing(ask: Asker) -> None:
    from gatewise.servers.routing_gateway.server import create_server

    async with Client(create_server(ask.settings)) as client:
        before = (await client.call_tool("get_cache_stats", {})).structured_content
        assert before["semantic_misses"] == {"missed": 0, "by_reason": {}}
        for prompt in (QUESTION, "How do I reset my password for account 48213?",
                       "How do I not reset my password?", "What's the capital of Peru?", PARAPHRASE):
            await client.call_tool("routed_complete", {**BASE, "prompt": prompt})
        after = (await client.call_tool("get_cache_stats", {})).structured_content
    # the first question found nothing stored, the capital of Peru nothing close enough to judge
    assert after["semantic_misses"] == {"missed": 4,
                                        "by_reason": {"negation": 1, "value": 1, "none_close": 2}}
    assert after["totals"]["hits_semantic"] == 1


async def test_cache_stats_say_nothing_of_semantic_misses_with_the_cache_off(
        tmp_path: Path, sandbox: SandboxServer) -> None:
    from gatewise.servers.routing_gateway.server import create_server

    settings = load_settings({}, data_dir=tmp_path / "data", sandbox_url=sandbox.url)
    async with Client(create_server(settings)) as client:
        report = (await client.call_tool("get_cache_stats", {})).structured_content
    assert report.get("semantic_misses") is None
