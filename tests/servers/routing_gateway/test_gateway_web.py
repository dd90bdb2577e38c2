"""routed_complete's web branch: queries that need fresh information are answered by web search."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from gatewise.catalog import Catalog
from gatewise.config import load_settings
from gatewise.gateway import CompletionRequest, RoutingGateway
from gatewise.ledger import open_ledger
from gatewise.runtime import Runtime
from gatewise.search.pricing import search_fee

CATALOG = Catalog.snapshot()
FRESH = "What is the latest news on coral reef bleaching today?"
TIMELESS = "Explain how SQLite WAL mode handles concurrent readers"


async def routed(client, **args) -> dict:
    result = await client.call_tool("routed_complete", args)
    assert not result.is_error, result.content
    return result.structured_content


async def test_a_query_needing_fresh_information_is_answered_with_citations(
        connect, upstream, settings) -> None:
    async with connect() as client:
        explained = await client.call_tool("explain_route", {"prompt": FRESH})
        assert upstream.stats()["totals"]["requests"] == 0  # explaining calls nothing
        out = await routed(client, prompt=FRESH)
    assert explained.structured_content["web_search"] is explained.structured_content["needs_web"] is True
    assert out["route"]["web_search"] is True
    assert "searched the web (server tool)" in out["route"]["reason"]
    assert {urlsplit(c["url"]).hostname for c in out["citations"]} == {"greenmotion.org", "sciencedesk.org"}
    for cite in out["citations"]:
        span = cite["spans"][0]
        assert out["answer"][span["start"]:span["end"]].endswith(f"({cite['url']})")
    info = CATALOG.get(out["model"])
    fee = search_fee(out["model"], "auto", results=len(out["citations"]))
    assert out["cost_usd"] == pytest.approx(info.cost(out["tokens_in"], out["tokens_out"]) + fee, abs=1e-9)
    ledger = open_ledger(settings.ledger_path)
    try:
        rows = await ledger.recent(10)
    finally:
        await ledger.close()
    assert [r.cost_usd for r in rows] == [pytest.approx(out["cost_usd"])]


async def test_the_caller_decides_when_to_search(connect, upstream) -> None:
    async with connect() as client:
        plain = await routed(client, prompt=TIMELESS)
        forced = await routed(client, prompt=TIMELESS, web_search=True)
        never = await routed(client, prompt=FRESH, web_search=False)
    assert plain["route"]["web_search"] is False and plain["citations"] == []
    assert forced["route"]["web_search"] is True
    assert {"techdigest.news", "docs.dbinternals.org"} <= {
        urlsplit(c["url"]).hostname for c in forced["citations"]}
    assert never["route"]["web_search"] is False and never["citations"] == []
    assert forced["cost_usd"] > plain["cost_usd"]  # the search fee


async def test_web_route_falls_back_to_the_plugin_and_across_models(connect, upstream) -> None:
    upstream.reject_server_tool("*")
    async with connect() as client:
        plugin = await routed(client, prompt=FRESH, no_cache=True)
        assert "searched the web (web plugin)" in plugin["route"]["reason"] and plugin["citations"]
        first = plugin["model"]  # no fallback: the first candidate answered
        upstream.fault(first, error_rate=1.0, statuses=[503])
        moved = await routed(client, prompt=FRESH, no_cache=True)
    assert moved["fallback_used"] is True and moved["model"] != first
    assert [a["status"] for a in moved["attempts"]] == ["error", "ok"] and moved["citations"]


async def test_web_answers_are_cached_with_their_citations(connect, upstream) -> None:
    async with connect() as client:
        first = await routed(client, prompt=FRESH)
        second = await routed(client, prompt=FRESH)
        other = await routed(client, prompt=FRESH, web_search=False)
    assert second["cache_status"] == "hit_exact" and second["cost_usd"] == 0
    assert second["citations"] == first["citations"]
    assert other["cache_status"] == "miss" and other["citations"] == []


async def test_budget_hold_covers_the_search_fee(tmp_path, sandbox, upstream) -> None:
    settings = load_settings({}, data_dir=tmp_path, sandbox_url=sandbox.url)
    runtime = await Runtime.open(settings)
    try:
        gateway = RoutingGateway.from_runtime(runtime)
        request = CompletionRequest(prompt=FRESH, max_tokens=100)
        plan = gateway.plan(request, request.chat_messages())
        plain = gateway.plan(request.model_copy(update={"web_search": False}), request.chat_messages())
        model = plan.chosen.model
        assert plan.web_search and not plain.web_search
        extra = gateway.budget.worst_case(model, plan, 100) - gateway.budget.worst_case(model, plain, 100)
        assert extra >= 3 * search_fee(model, "auto", results=5, context_size="high")  # max_uses 3
    finally:
        await runtime.close()


async def test_automatic_web_search_can_be_switched_off(sandbox, upstream, tmp_path) -> None:
    from gatewise.servers.routing_gateway.server import create_server
    from mcp import Client

    settings = load_settings({}, data_dir=tmp_path, sandbox_url=sandbox.url, search={"gateway_auto": False})
    async with Client(create_server(settings)) as client:
        quiet = await routed(client, prompt=FRESH, explain=True)
        asked = await routed(client, prompt=FRESH, web_search=True)
    assert quiet["route"]["needs_web"] is True and quiet["route"]["web_search"] is False
    assert quiet["citations"] == [] and asked["citations"]


async def test_questions_about_the_askers_own_things_pay_no_search_fee(connect, upstream) -> None:
    async with connect() as client:
        for prompt in ("How can I update my billing address?", "Can I cancel my subscription online?",
                       "What's the latest version of my invoice?"):
            explained = (await client.call_tool("explain_route", {"prompt": prompt})).structured_content
            assert explained["needs_web"] is explained["web_search"] is False, prompt
            assert explained["task"] == "simple_query", prompt
        given = await routed(client, prompt="Please summarise the latest message from my boss: "
                                            "'The review moved to 3pm today, bring the Q3 deck.'")
        fresh = await routed(client, prompt="What's the current version of Python?")
    assert given["route"]["web_search"] is False and given["citations"] == []
    info = CATALOG.get(given["model"])
    assert given["cost_usd"] == pytest.approx(info.cost(given["tokens_in"], given["tokens_out"]), abs=1e-9)
    assert fresh["route"]["task"] == "web_search" and fresh["route"]["web_search"] is True
