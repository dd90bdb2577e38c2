"""Upstream faults that look like answers, against a real hostile upstream on loopback.

Answers that come back as HTTP 200 with a choice but hold no whole answer (null or non-text
content, a provider that broke off with finish_reason "error", nothing before max_tokens) are
failed attempts: the route moves on to its next model, and none is ever cached. An answer that
drips in a byte at a time, each read in time, is cut off while another model waits."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from gatewise.config import Settings, load_settings
from hostile_upstream import BROKEN_ANSWER_MODES, DRIP_INTERVAL_S, HostileUpstream
from tool_support import call, ledger_rows

KEY = "sk-or-v1-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
BILLED_USD = 0.00001  # the usage.cost of every hostile answer, broken or not


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileUpstream]:
    with HostileUpstream() as server:
        yield server


def hostile_settings(hostile: HostileUpstream, data_dir: Path, *, limits: dict[str, Any] | None = None,
                     **config: Any) -> Settings:
    return load_settings({}, data_dir=data_dir, openrouter_api_key=KEY,
                         openrouter_base_url=f"{hostile.root_url}/api/v1",
                         limits={"max_retries": 0, **(limits or {})},
                         search={"default_model": "hostile/answer"}, **config)


def _create(server: str, settings: Settings) -> Any:
    module = __import__(f"gatewise.servers.{server}.server", fromlist=["create_server"])
    return module.create_server(settings)


@pytest.mark.parametrize("mode", BROKEN_ANSWER_MODES)
async def test_a_broken_answer_falls_through_to_the_next_model(hostile: HostileUpstream, tmp_path: Path,
                                                              mode: str) -> None:
    broken = f"hostile/{mode}"
    settings = hostile_settings(hostile, tmp_path, routing={
        "primary_models": {"simple_queries": broken}, "fallback_chain": ["hostile/answer"]})
    async with Client(_create("routing_gateway", settings)) as client:
        out = await call(client, "routed_complete", {"prompt": "say hello"})
        again = await call(client, "routed_complete", {"prompt": "say hello"})
    assert (out["model"], out["fallback_used"]) == ("hostile/answer", True)
    assert [(a["model"], a["status"], a.get("error_code")) for a in out["attempts"]] == [
        (broken, "error", "UPSTREAM_ERROR"), ("hostile/answer", "ok", None)]
    assert out["answer"].startswith("Your key is")
    rows = sorted((r for r in await ledger_rows(settings) if r.request_id == out["request_id"]),
                  key=lambda r: r.attempt)
    assert [(r.model, r.status, r.error_code) for r in rows] == [
        (broken, "error", "UPSTREAM_ERROR"), ("hostile/answer", "ok", None)]
    # The unusable answer came with usage (tokens and $0.00001, as billed): it is what the call
    # cost too, in the ledger and in the result.
    assert [(r.tokens_in, r.tokens_out, r.cost_usd) for r in rows] == [(5, 7, BILLED_USD)] * 2
    assert out["cost_usd"] == pytest.approx(2 * BILLED_USD)
    # What is cached is the fallback's answer, never the broken one.
    assert (again["cache_status"], again["answer"]) == ("hit_exact", out["answer"])


@pytest.mark.parametrize(("server", "tool", "args"), [
    ("routing_gateway", "routed_complete", {"prompt": "say hello"}),
    ("openrouter_multimodal", "chat_completion", {"messages": [{"role": "user", "content": "say hello"}]}),
    ("openrouter_search", "web_search", {"query": "latest news about hello"}),
])
@pytest.mark.parametrize("mode", BROKEN_ANSWER_MODES)
async def test_a_broken_answer_is_an_error_and_never_cached(hostile: HostileUpstream, tmp_path: Path,
                                                           server: str, tool: str, args: dict[str, Any],
                                                           mode: str) -> None:
    settings = hostile_settings(hostile, tmp_path)
    args = {**args, "model": f"hostile/{mode}"}
    async with Client(_create(server, settings)) as client:
        before = hostile.requests
        results = [await client.call_tool(tool, args) for _ in range(2)]
    texts = [r.content[0].text for r in results]
    assert all(r.is_error for r in results), texts
    assert all(": UPSTREAM_ERROR: hostile/" in t for t in texts), texts
    assert hostile.requests - before == 2  # the second call went upstream again: nothing was stored
    assert "half an answer" not in texts[0] and KEY[10:30] not in texts[0]


async def test_a_route_of_unusable_answers_is_charged_to_the_budget(hostile: HostileUpstream,
                                                                    tmp_path: Path) -> None:
    """A route whose every answer was unusable failed, yet each answer was billed: the spend is
    in the ledger and charged to the budget, not released as if nothing had been paid."""
    broken = [f"hostile/{mode}" for mode in BROKEN_ANSWER_MODES]
    settings = hostile_settings(
        hostile, tmp_path,
        routing={"primary_models": {"simple_queries": broken[0]}, "fallback_chain": broken[1:]},
        budgets={"rules": [{"scope": "project:paid", "window": "daily", "limit_usd": 1.0,
                            "on_exceed": "block"}]})
    async with Client(_create("routing_gateway", settings)) as client:
        failed = await client.call_tool("routed_complete", {"prompt": "say hello", "project": "paid"})
        status = (await client.call_tool("get_budget_status", {"scope": "project:paid"})).structured_content
    assert failed.is_error and "every model in the route failed" in failed.content[0].text
    rows = [r for r in await ledger_rows(settings) if r.project == "paid"]
    assert f"The unusable answers cost $0.00004 (request {rows[0].request_id})." in failed.content[0].text
    assert sorted(r.model for r in rows) == sorted(broken)
    assert all((r.status, r.cost_usd) == ("error", BILLED_USD) for r in rows)
    (budget,) = status["budgets"]
    assert budget["spent_usd"] == pytest.approx(len(broken) * BILLED_USD)
    assert budget["reserved_usd"] == 0


async def test_a_block_budget_stops_a_route_whose_unusable_answers_would_pass_it(
        hostile: HostileUpstream, tmp_path: Path) -> None:
    """The call's hold covers one answer. Before another model is tried after a billed unusable
    answer, the budget holds that answer's cost too; a block budget with no room for it ends the
    route there, so the spend never passes the limit."""
    limit = 1.5 * BILLED_USD  # room for the call's hold (under $0.00001 at 20 tokens), not for both
    settings = hostile_settings(
        hostile, tmp_path,
        routing={"primary_models": {"simple_queries": "hostile/null_content"},
                 "fallback_chain": ["hostile/object_content", "hostile/answer"]},
        budgets={"rules": [{"scope": "global", "window": "daily", "limit_usd": limit, "on_exceed": "block"}],
                 "spend_lease_calls": 0})
    async with Client(_create("routing_gateway", settings)) as client:
        before = hostile.requests
        stopped = await client.call_tool("routed_complete", {"prompt": "say hello", "max_tokens": 20})
        status = (await client.call_tool("get_budget_status", {})).structured_content
    text = stopped.content[0].text
    assert stopped.is_error, text
    assert ": BUDGET_EXCEEDED: the route stopped after hostile/null_content " in text, text
    assert hostile.requests - before == 1  # no other model was asked
    (budget,) = status["budgets"]
    assert budget["spent_usd"] == pytest.approx(BILLED_USD) and budget["spent_usd"] <= limit
    assert budget["reserved_usd"] == 0


async def test_a_dripping_answer_is_cut_off_while_a_fallback_waits(hostile: HostileUpstream,
                                                                  tmp_path: Path) -> None:
    deadline_s, read_timeout_s = 4.0, 1.0
    assert read_timeout_s > DRIP_INTERVAL_S  # every read of the drip comes in time
    settings = hostile_settings(
        hostile, tmp_path, limits={"deadline_s": deadline_s, "read_timeout_s": read_timeout_s},
        routing={"primary_models": {"simple_queries": "hostile/drip"}, "fallback_chain": ["hostile/answer"]})
    async with Client(_create("routing_gateway", settings)) as client:
        started = time.monotonic()
        out = await call(client, "routed_complete", {"prompt": "say hello"})
        took = time.monotonic() - started
    assert (out["model"], out["fallback_used"]) == ("hostile/answer", True)
    dripped, answered = out["attempts"]
    assert (dripped["model"], dripped["status"], dripped["error_code"]) == (
        "hostile/drip", "error", "UPSTREAM_TIMEOUT")
    assert (answered["model"], answered["status"]) == ("hostile/answer", "ok")
    # Cut at its share (half) of the deadline, not the whole of it.
    assert deadline_s / 2 <= dripped["latency_ms"] / 1000 < deadline_s / 2 + 0.5
    assert took < deadline_s
