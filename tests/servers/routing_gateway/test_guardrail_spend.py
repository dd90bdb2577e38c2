"""The guardrails' own model calls (the enterprise moderation model, the grounding judge) are paid
calls like any other: held against the budgets of the request they check, charged their cost,
and refused by a block budget they do not fit. Real sandbox upstream, real SQLite ledger."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from gatewise.servers.routing_gateway.server import create_server
from mcp import Client

from gatewise.config import Settings, load_settings
from store_support import sqlite_rows
from tool_support import call, error_text, ledger_rows

GUARD, JUDGE = "meta-llama/llama-guard-4-12b", "openai/gpt-4o-mini"
ASK = {"system": "The museum opens at nine in the morning.", "prompt": "When does the museum open?",
       "web_search": False, "project": "museum", "no_cache": True}


def settings_with(tmp_path: Path, sandbox: Any, limit_usd: float) -> Settings:
    return load_settings(
        {}, data_dir=tmp_path / "data", sandbox_url=sandbox.url,
        guardrails={"input_filters": {"content_safety": "enterprise", "moderation_model": GUARD},
                    "output_filters": {"hallucination_detection": 0.5, "judge_model": JUDGE}},
        budgets={"rules": [{"scope": "project:museum", "window": "daily", "limit_usd": limit_usd,
                            "on_exceed": "block"}]})


async def test_moderation_and_judge_calls_are_held_and_charged_to_the_budget(
        tmp_path: Path, sandbox, upstream) -> None:
    settings = settings_with(tmp_path, sandbox, limit_usd=5.0)
    async with Client(create_server(settings)) as client:
        out = await call(client, "routed_complete", ASK)
        [status] = (await call(client, "get_budget_status", {"scope": "project:museum"}))["budgets"]
    rows = await ledger_rows(settings)
    guard_cost = sum(r.cost_usd for r in rows if r.task == "guardrail")
    assert sorted(r.model for r in rows if r.task == "guardrail") == [GUARD, JUDGE] and guard_cost > 0
    assert {r.request_id for r in rows} == {out["request_id"]}
    # The budget was charged the checks' model calls as well as the answer.
    assert sqlite_rows(settings.ledger_path,
                       "SELECT COUNT(*) FROM budget_reservations WHERE state = 'reserved'") == [(0,)]
    assert status["spent_usd"] == pytest.approx(sum(r.cost_usd for r in rows))


async def test_a_block_budget_refuses_the_moderation_model_call(tmp_path: Path, sandbox, upstream) -> None:
    # Smaller than the worst case of any model call: nothing fits, not even the moderation check.
    settings = settings_with(tmp_path, sandbox, limit_usd=0.000001)
    async with Client(create_server(settings)) as client:
        text = await error_text(client, "routed_complete", ASK)
    assert "BUDGET_EXCEEDED" in text
    assert upstream.received() == []  # neither the moderation model nor the answer was asked
    assert sqlite_rows(settings.ledger_path, "SELECT TOTAL(cost_usd) FROM calls") == [(0.0,)]
    assert sqlite_rows(settings.ledger_path,
                       "SELECT COUNT(*) FROM budget_reservations WHERE state = 'reserved'") == [(0,)]
