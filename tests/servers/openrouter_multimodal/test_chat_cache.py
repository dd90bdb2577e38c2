"""chat_completion through the response and semantic caches, by routed_complete's rules: a
repeat or a paraphrase is answered free and written to the ledger at zero cost; tools,
response_format, sampling without opt-in, image output and the opt-outs go upstream."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from gatewise.servers.openrouter_multimodal.server import create_server
from mcp import Client

from gatewise.config import Settings, load_settings
from gatewise_sandbox import SandboxServer
from sandbox_admin import SandboxAdmin
from tool_support import ledger_rows

MODEL = "openai/gpt-4o-mini"
SYSTEM = {"role": "system", "content": "You are a helpful support agent."}


def ask(text: str, **extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": [SYSTEM, {"role": "user", "content": text}], **extra}


@pytest.fixture
def settings(tmp_path: Path, sandbox: SandboxServer) -> Settings:
    return load_settings({}, data_dir=tmp_path / "data", sandbox_url=sandbox.url, caching={
        "semantic_cache": {"enabled": True}, "embedding_cache": {"model": "local"}})


async def chat(settings: Settings, *calls: dict[str, Any]) -> list[dict[str, Any]]:
    async with Client(create_server(settings)) as client:
        results = []
        for args in calls:
            result = await client.call_tool("chat_completion", args)
            assert not result.is_error, result.content
            results.append(result.structured_content)
        return results


def upstream_calls(upstream: SandboxAdmin) -> int:
    return int(upstream.stats()["totals"]["requests"])


async def test_a_repeat_and_a_paraphrase_are_answered_free_and_ledgered(
        settings: Settings, upstream: SandboxAdmin) -> None:
    first, repeat, paraphrase = await chat(settings, ask("How do I reset my password?"),
                                           ask("How do I reset my password?"),
                                           ask("How can I reset my password?"))
    assert first["cache_status"] == "miss" and first["cost_usd"] > 0
    assert repeat["cache_status"] == "hit_exact" and repeat["cost_usd"] == 0
    assert paraphrase["cache_status"] == "hit_semantic" and paraphrase["cost_usd"] == 0
    assert repeat["content"] == paraphrase["content"] == first["content"]
    assert paraphrase["semantic_match"]["question"] == "How do I reset my password?"
    assert upstream_calls(upstream) == 1
    rows = sorted(await ledger_rows(settings), key=lambda r: r.ts)
    assert [(r.tool, r.cache_status, r.cost_usd) for r in rows][1:] == [
        ("chat_completion", "hit_exact", 0.0), ("chat_completion", "hit_semantic", 0.0)]
    assert rows[0].cost_usd > 0


@pytest.mark.parametrize("extra", [
    {"no_cache": True},
    {"force_refresh": True},
    {"temperature": 0.7},
    {"tools": [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]},
    {"response_format": {"type": "json_object"}},
    {"model": "google/gemini-2.5-flash-image", "modalities": ["image", "text"]},
], ids=["no_cache", "force_refresh", "sampled", "tools", "response_format", "image output"])
async def test_what_a_paraphrase_cannot_answer_goes_upstream(
        settings: Settings, upstream: SandboxAdmin, extra: dict[str, Any]) -> None:
    await chat(settings, ask("How do I reset my password?", **extra))
    (second,) = await chat(settings, ask("How can I reset my password?", **extra))
    assert second["cache_status"] != "hit_semantic" and second.get("semantic_match") is None
    assert upstream_calls(upstream) == 2


async def test_a_sampled_call_opts_in_with_cache_sampled(settings: Settings, upstream: SandboxAdmin) -> None:
    _, second = await chat(settings, ask("How do I reset my password?", temperature=0.7, cache_sampled=True),
                           ask("How can I reset my password?", temperature=0.7, cache_sampled=True))
    assert second["cache_status"] == "hit_semantic" and upstream_calls(upstream) == 1


async def test_a_sampled_repeat_is_sampled_afresh_unless_opted_in(settings: Settings,
                                                                 upstream: SandboxAdmin) -> None:
    sampled = ask("How do I reset my password?", temperature=0.7)
    outs = await chat(settings, sampled, sampled, {**sampled, "cache_sampled": True},
                      {**sampled, "cache_sampled": True})
    assert [o["cache_status"] for o in outs] == ["bypass", "bypass", "miss", "hit_exact"]
    assert upstream_calls(upstream) == 3


async def test_max_age_s_turns_an_old_answer_away(settings: Settings, upstream: SandboxAdmin) -> None:
    await chat(settings, ask("How do I reset my password?"))
    (second,) = await chat(settings, ask("How do I reset my password?", max_age_s=0))
    assert second["cache_status"] == "miss" and upstream_calls(upstream) == 2
