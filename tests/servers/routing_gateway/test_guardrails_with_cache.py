"""Guardrails and the response caches together, through a real MCP client, the sandbox upstream
and real cache files: what is stored is what the guardrails let through, a refused prompt stores
nothing, and a stored answer is served only under the guardrails it was checked by."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gatewise.servers.routing_gateway.server import create_server
from mcp import Client

from gatewise.config import Settings, load_settings
from sandbox_admin import SandboxAdmin
from store_support import sqlite_rows
from tool_support import call, error_text

FIRST, SECOND = "jane.roe@example.com", "john.doe@example.org"
QUESTION = f"How do I reset my password? Reply to {FIRST}"
PARAPHRASE = f"How can I reset my password? Reply to {SECOND}"
BASE = {"model": "gpt-4o-mini", "project": "support-bot"}


def settings_for(data_dir: Path, sandbox: Any, *, blocklist: tuple[str, ...] = ("nightingale",)) -> Settings:
    return load_settings(
        {}, data_dir=data_dir, sandbox_url=sandbox.url,
        caching={"semantic_cache": {"enabled": True}, "embedding_cache": {"model": "local"}},
        guardrails={"input_filters": {"pii_detection": True, "custom_blocklist": list(blocklist)},
                    "output_filters": {"compliance_check": True}})


async def ask(settings: Settings, *prompts: str) -> list[dict[str, Any]]:
    async with Client(create_server(settings)) as client:
        return [await call(client, "routed_complete", {**BASE, "prompt": p}) for p in prompts]


def entries(settings: Settings) -> int:
    data = settings.data_dir
    return sum(sqlite_rows(data / name, "SELECT COUNT(*) FROM entries")[0][0]
               for name in ("cache.sqlite3", "semantic.sqlite3") if (data / name).exists())


def files_holding(data_dir: Path, value: str) -> list[str]:
    return [p.name for p in data_dir.rglob("*.sqlite3*") if value.encode() in p.read_bytes()]


async def test_a_redacted_prompt_is_cached_redacted_and_a_hit_restores_the_callers_own_values(
        tmp_path: Path, sandbox, upstream: SandboxAdmin) -> None:
    settings = settings_for(tmp_path / "data", sandbox)
    first, second = await ask(settings, QUESTION, PARAPHRASE)
    assert first["cache_status"] == "miss" and FIRST in first["answer"]
    # The paraphrase differs in its address too, and is answered from the entry stored with a
    # placeholder: restored with this caller's address, never the first caller's.
    assert second["cache_status"] == "hit_semantic"
    assert SECOND in second["answer"] and FIRST not in second["answer"]
    assert len(upstream.received()) == 1 and FIRST not in str(upstream.received())
    assert files_holding(settings.data_dir, FIRST) == [] and files_holding(settings.data_dir, SECOND) == []


async def test_a_blocked_prompt_never_creates_a_cache_entry_nor_reads_one(
        tmp_path: Path, sandbox, upstream: SandboxAdmin) -> None:
    settings = settings_for(tmp_path / "data", sandbox)
    async with Client(create_server(settings)) as client:
        text = await error_text(client, "routed_complete", {**BASE, "prompt": "What is project Nightingale?"})
        assert "GUARDRAIL_BLOCKED" in text and entries(settings) == 0
        await call(client, "routed_complete", {**BASE, "prompt": "How do I reset my password?"})
        stored = entries(settings)
        # A near-copy of a cached question that carries a blocked word is refused, not served.
        text = await error_text(client, "routed_complete",
                                {**BASE, "prompt": "How do I reset my Nightingale password?"})
    assert "GUARDRAIL_BLOCKED" in text and entries(settings) == stored
    assert len(upstream.received()) == 1


async def test_a_stored_answer_is_not_served_under_stricter_output_checks(
        tmp_path: Path, sandbox, upstream: SandboxAdmin) -> None:
    data = tmp_path / "data"
    [stored] = await ask(settings_for(data, sandbox), QUESTION)
    assert "deterministic" in stored["answer"]  # the sandbox's reply says so
    # The same data directory under a blocklist that the stored answer breaks: neither cache may
    # answer with it; the fresh answer is checked and refused.
    stricter = settings_for(data, sandbox, blocklist=("nightingale", "deterministic"))
    for prompt in (QUESTION, PARAPHRASE):
        async with Client(create_server(stricter)) as client:
            text = await error_text(client, "routed_complete", {**BASE, "prompt": prompt})
        assert "GUARDRAIL_BLOCKED" in text and "deterministic" not in text.split("GUARDRAIL_BLOCKED")[0]
    assert len(upstream.received()) == 3
    # Back under the rules it was checked by, the stored answer is served again.
    [again] = await ask(settings_for(data, sandbox), PARAPHRASE)
    assert again["cache_status"] == "hit_semantic"
