"""Budgets hold on every server's model calls, not only routed_complete: web_search, research and
the multimodal tools reserve their worst case against the global and project budgets, are refused
by a block budget, warn under a warn budget, and show their spend in get_budget_status."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from gatewise.servers.openrouter_multimodal.server import create_server as multimodal_server
from gatewise.servers.openrouter_search.server import create_server as search_server
from gatewise.servers.routing_gateway.server import create_server as gateway_server
from mcp import Client

from gatewise.caller import CALLER, Caller
from gatewise.config import Settings, load_settings
from tool_support import call, error_text, ledger_rows

OPUS = "anthropic/claude-opus-5.5"
CHEAP = "openai/gpt-4o-mini"


def rule(scope: str, limit_usd: float, on_exceed: str = "block", window: str = "daily") -> dict[str, Any]:
    return {"scope": scope, "window": window, "limit_usd": limit_usd, "on_exceed": on_exceed}


def budgeted(tmp_path: Path, sandbox, *rules: dict[str, Any]) -> Settings:
    return load_settings({}, data_dir=tmp_path / "data", sandbox_url=sandbox.url,
                         budgets={"rules": list(rules)},
                         limits={"backoff_base_s": 0.001, "backoff_max_s": 0.01})


@contextmanager
def token_of(project: str) -> Iterator[None]:
    """A caller whose credential binds it to ``project``, as the HTTP auth layer sets it."""
    bound = CALLER.set(Caller(project, project))
    try:
        yield
    finally:
        CALLER.reset(bound)


async def budgets_of(settings: Settings) -> dict[str, dict[str, Any]]:
    """get_budget_status as the operator sees it, by scope and window."""
    async with Client(gateway_server(settings)) as operator:
        report = await call(operator, "get_budget_status", {})
    return {f"{b['scope']} {b['window']}": b for b in report["budgets"]}


SEARCH = {"query": "latest python release", "max_results": 3}
CHAT = {"model": OPUS, "max_tokens": 4000, "messages": [{"role": "user", "content": "Say hi."}]}


async def test_a_project_block_budget_refuses_web_search_and_research(tmp_path: Path, sandbox,
                                                                       upstream) -> None:
    settings = budgeted(tmp_path, sandbox, rule("project:alpha", 0.002), rule("project:beta", 5.0),
                        rule("global", 100.0, "warn", "monthly"))
    with token_of("alpha"):
        async with Client(search_server(settings)) as alpha:
            refused = await error_text(alpha, "web_search", SEARCH)
            research = await error_text(alpha, "research", {"question": "What is new in Python?"})
    assert "BUDGET_EXCEEDED" in refused and "project:alpha daily budget" in refused
    assert "BUDGET_EXCEEDED" in research
    assert [row for row in await ledger_rows(settings) if row.status == "ok"] == []  # nothing was paid for

    with token_of("beta"):  # another project's budget has room: its search goes ahead and is charged
        async with Client(search_server(settings)) as beta:
            found = await call(beta, "web_search", SEARCH)
    budgets = await budgets_of(settings)
    assert found["cost_usd"] > 0.002
    assert budgets["project:beta daily"]["spent_usd"] == pytest.approx(found["cost_usd"])
    assert budgets["global monthly"]["spent_usd"] == pytest.approx(found["cost_usd"])
    assert budgets["project:alpha daily"]["spent_usd"] == 0.0
    assert all(b["reserved_usd"] == 0.0 for b in budgets.values())


async def test_a_project_block_budget_refuses_chat_completion(tmp_path: Path, sandbox, upstream) -> None:
    settings = budgeted(tmp_path, sandbox, rule("project:alpha", 0.002), rule("project:beta", 5.0))
    with token_of("alpha"):
        async with Client(multimodal_server(settings)) as alpha:
            refused = await error_text(alpha, "chat_completion", CHAT)
            cheap = await call(alpha, "chat_completion", {**CHAT, "model": CHEAP, "max_tokens": 50})
    assert "BUDGET_EXCEEDED" in refused and "its worst case" in refused
    with token_of("beta"):
        async with Client(multimodal_server(settings)) as beta:
            answered = await call(beta, "chat_completion", CHAT)
    budgets = await budgets_of(settings)
    # A call that fits alpha's budget is held and charged there.
    assert budgets["project:alpha daily"]["spent_usd"] == pytest.approx(cheap["cost_usd"])
    assert answered["cost_usd"] > 0
    assert budgets["project:beta daily"]["spent_usd"] == pytest.approx(answered["cost_usd"])


async def test_a_warn_budget_lets_multimodal_calls_through_with_a_warning(tmp_path: Path, sandbox,
                                                                          upstream) -> None:
    settings = budgeted(tmp_path, sandbox, rule("global", 0.000001, "warn"))
    async with Client(multimodal_server(settings)) as client:
        out = await call(client, "chat_completion", {**CHAT, "no_cache": True})
        again = await call(client, "chat_completion", CHAT)  # no_cache stored nothing: answered and stored
        repeat = await call(client, "chat_completion", CHAT)  # from the cache: free, and no budget note
    assert any(w.startswith("Budget may be exceeded") for w in out["warnings"]), out["warnings"]
    assert any(w.startswith(("Budget may be exceeded", "Over budget")) for w in again["warnings"])
    assert repeat["cache_status"] == "hit_exact"
    assert not any("udget" in w for w in repeat["warnings"]), repeat["warnings"]
    assert (await budgets_of(settings))["global daily"]["spent_usd"] == pytest.approx(
        out["cost_usd"] + again["cost_usd"])


async def test_a_downgrade_budget_refuses_a_tool_that_cannot_switch_models(tmp_path: Path, sandbox,
                                                                            upstream) -> None:
    settings = budgeted(tmp_path, sandbox, rule("global", 0.002, "downgrade"))
    async with Client(multimodal_server(settings)) as multimodal, Client(search_server(settings)) as search:
        chat = await error_text(multimodal, "chat_completion", CHAT)
        searched = await error_text(search, "web_search", SEARCH)
    for refused in (chat, searched):
        assert "BUDGET_EXCEEDED" in refused and "cannot switch to a cheaper one" in refused
    async with Client(gateway_server(settings)) as gateway:  # routed_complete still downgrades
        routed = await call(gateway, "routed_complete",
                            {"prompt": "Say hi.", "model": OPUS, "max_tokens": 400})
    assert routed["model"] != OPUS
