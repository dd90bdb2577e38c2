"""An upstream (or a proxy before it) that sends impossible usage figures: the calls succeed, the
ledger records every one with believable figures, and the log says what was ignored."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from gatewise.servers.openrouter_multimodal.server import create_server
from mcp import Client
from PIL import Image

from gatewise.catalog import Catalog
from gatewise.config import Settings, load_settings
from gatewise.routing.analyze import estimated_tokens, message_text
from tool_support import call, ledger_rows

CATALOG = Catalog.snapshot()
CHAT_MODEL = "openai/gpt-4o-mini"
QUESTION = [{"role": "user", "content": "What is 6*7?"}]


@pytest.fixture
def mm_settings(tmp_path: Path, sandbox) -> Settings:
    return load_settings({}, data_dir=tmp_path / "data", sandbox_url=sandbox.url,
                         media={"allowed_roots": [str(tmp_path)], "output_root": str(tmp_path / "out")})


def client(settings: Settings) -> Client:
    return Client(create_server(settings))


async def chat(settings: Settings) -> dict:
    async with client(settings) as mcp:
        return await call(mcp, "chat_completion", {"model": CHAT_MODEL, "messages": QUESTION,
                                                   "no_cache": True})


async def test_a_huge_token_count_loses_no_ledger_row(upstream, mm_settings, tmp_path, caplog) -> None:
    upstream.fault("*", usage={"prompt_tokens": 10, "completion_tokens": 1e308})
    picture = tmp_path / "red.png"
    Image.new("RGB", (32, 32), (220, 20, 20)).save(picture, "PNG")
    caplog.set_level(logging.WARNING)
    async with client(mm_settings) as mcp:
        answered = await call(mcp, "chat_completion", {"model": CHAT_MODEL, "messages": QUESTION,
                                                       "no_cache": True})
        await call(mcp, "analyze_image", {"images": [str(picture)], "question": "Which colour?",
                                          "no_cache": True})
        await call(mcp, "generate_image", {"prompt": "a red cube"})
    rows = sorted(await ledger_rows(mm_settings), key=lambda r: r.ts)
    assert [(r.tool, r.status, r.tokens_in) for r in rows] == [
        ("chat_completion", "ok", 10), ("analyze_image", "ok", 10), ("generate_image", "ok", 10)]
    # The count is taken from the answer's text instead, and the cost the upstream sent stands.
    assert answered["tokens_out"] == rows[0].tokens_out == estimated_tokens(answered["content"])
    assert answered["cost_usd"] == rows[0].cost_usd > 0
    ignored = [r.getMessage() for r in caplog.records if "usage.completion_tokens" in r.getMessage()]
    assert ignored == ["sandbox sent usage.completion_tokens = 1e+308, not a whole number from 0 to "
                       "1,000,000,000; treated as unknown"] * 3


async def test_negative_figures_are_estimated_never_lowering_spend(upstream, mm_settings) -> None:
    upstream.fault(CHAT_MODEL, usage={"prompt_tokens": -1, "completion_tokens": 5, "cost": -5})
    out = await chat(mm_settings)
    [row] = await ledger_rows(mm_settings)
    tokens_in = estimated_tokens(message_text(QUESTION)[0])
    assert (out["tokens_in"], out["tokens_out"]) == (row.tokens_in, row.tokens_out) == (tokens_in, 5)
    assert out["cost_usd"] == row.cost_usd == CATALOG.get(CHAT_MODEL).cost(tokens_in, 5) > 0


@pytest.mark.parametrize("cost", [1e9, "0.5", True, {"usd": 1}])
async def test_an_absurd_or_malformed_cost_is_replaced_by_the_estimate(upstream, mm_settings, cost) -> None:
    upstream.fault(CHAT_MODEL, usage={"prompt_tokens": 12, "completion_tokens": 30, "cost": cost})
    out = await chat(mm_settings)
    [row] = await ledger_rows(mm_settings)
    assert out["cost_usd"] == row.cost_usd == CATALOG.get(CHAT_MODEL).cost(12, 30)


async def test_a_believable_cost_above_the_estimate_is_charged_as_sent(upstream, mm_settings) -> None:
    upstream.fault(CHAT_MODEL, usage={"prompt_tokens": 12, "completion_tokens": 30, "cost": 0.25})
    out = await chat(mm_settings)
    [row] = await ledger_rows(mm_settings)
    assert out["cost_usd"] == row.cost_usd == 0.25
