"""get_cache_stats and clear_cache through the MCP client, over real routed calls and real files."""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing

import pytest
from mcp import Client

from gatewise.config import Settings, load_settings
from gatewise.ledger import open_ledger
from gatewise.runtime import offline_catalog
from store_support import sqlite_rows
from tool_support import call, error_text

ROUTED = "routing-gateway:routed_complete"
QUESTION = "What is the capital of France?"
# Each project asks its own question (the exact cache keeps projects apart too).
ASKS = {"support": QUESTION, "sales": "How many legs does a spider have?"}


def cached_keys(settings: Settings) -> list[tuple[str, str | None]]:
    return sqlite_rows(settings.data_dir / "cache.sqlite3",
                       "SELECT namespace, project FROM entries ORDER BY project")


async def test_stats_after_a_miss_and_an_exact_hit_match_the_ledger(connect, upstream, settings) -> None:
    async with connect() as client:
        first = await call(client, "routed_complete", {"prompt": QUESTION, "project": "support"})
        again = await call(client, "routed_complete", {"prompt": QUESTION, "project": "support"})
        stats = await call(client, "get_cache_stats", {"timeframe": "1h"})
    assert (first["cache_status"], again["cache_status"]) == ("miss", "hit_exact")
    paid = sqlite_rows(settings.ledger_path, "SELECT cost_usd FROM calls WHERE cache_status = 'miss'")
    assert len(paid) == 1 and paid[0][0] == first["cost_usd"] > 0
    # Both rows carry the request's hash, which links the hit to the answer it reused.
    hashes = sqlite_rows(settings.ledger_path, "SELECT DISTINCT request_hash FROM calls")
    assert len(hashes) == 1 and hashes[0][0]
    totals = stats["totals"]
    assert (totals["lookups"], totals["hits_exact"], totals["hits_semantic"]) == (2, 1, 0)
    assert totals["calls_saved"] == 1
    assert totals["hit_rate_exact"] == 0.5 and totals["hit_rate_semantic"] == 0.0
    assert totals["saved_usd"] == pytest.approx(paid[0][0], rel=1e-9)
    assert (stats["saved_from_ledger"], stats["saved_from_catalog"], stats["unpriced_hits"]) == (1, 0, 0)
    assert [(g["key"], g["calls_saved"]) for g in stats["by_server"]] == [("routing-gateway", 1)]
    assert [(g["key"], g["lookups"]) for g in stats["by_project"]] == [("support", 2)]
    exact, semantic = stats["stores"]
    assert (exact["store"], exact["entries"], semantic["entries"]) == ("exact", 1, 0)
    assert [(o["namespace"], o["project"], o["entries"]) for o in exact["owners"]] == [(ROUTED, "support", 1)]
    stored = sqlite_rows(settings.data_dir / "cache.sqlite3", "SELECT SUM(size) FROM entries")
    assert exact["bytes"] == stored[0][0] > 0


def insert_calls(settings: Settings, rows: list[tuple], tool: str = "routed_complete") -> None:
    """Ledger rows as the pipeline writes them, with request hashes chosen by the test."""
    with closing(sqlite3.connect(settings.ledger_path)) as conn:
        conn.executemany(
            "INSERT INTO calls (ts, server, tool, provider, model, tokens_in, tokens_out, cost_usd,"
            " latency_ms, status, cache_status, route_reason, project, request_id, attempt, request_hash)"
            f" VALUES (?, ?, '{tool}', 'sandbox', ?, ?, ?, ?, 5, 'ok', ?, 'r', ?, ?, 0, ?)", rows)
        conn.commit()


async def test_a_hit_is_worth_what_its_original_answer_cost(connect, upstream, settings) -> None:
    await open_ledger(settings.ledger_path).close()  # migrated, as a running server leaves it
    now = time.time()
    gw, model, cheap = "routing-gateway", "openai/gpt-4o-mini", "openai/gpt-5-nano"
    insert_calls(settings, [
        # Paid once, then served twice from the exact cache; the later, pricier answer of another
        # model to the same text is not the one that was stored.
        (now - 50, gw, model, 100, 50, 0.0123, "miss", "a", "r1", "h1"),
        (now - 40, gw, cheap, 100, 50, 0.0009, "miss", "a", "r2", "h1"),
        (now - 30, gw, model, 100, 50, 0.0, "hit_exact", "a", "r3", "h1"),
        (now - 20, gw, model, 100, 50, 0.0, "hit_exact", "b", "r4", "h1"),
        # Other wording answered from the semantic cache: priced from its tokens.
        (now - 10, gw, model, 1000, 200, 0.0, "hit_semantic", "b", "r5", "h2"),
        # A model priced nowhere saves an unknown amount.
        (now - 5, "openrouter-search", "acme/unknown-9", 10, 10, 0.0, "hit_exact", None, "r6", "h3"),
    ])
    async with connect() as client:
        stats = await call(client, "get_cache_stats", {"timeframe": "1h"})
    semantic_usd = offline_catalog(settings).cost_of(model, 1000, 200)  # the catalogue the server read
    assert semantic_usd > 0
    totals = stats["totals"]
    assert (totals["lookups"], totals["hits_exact"], totals["hits_semantic"]) == (6, 3, 1)
    assert (stats["saved_from_ledger"], stats["saved_from_catalog"], stats["unpriced_hits"]) == (2, 1, 1)
    assert totals["saved_usd"] == pytest.approx(2 * 0.0123 + semantic_usd)
    by_project = {g.get("key"): g for g in stats["by_project"]}
    assert by_project["a"]["saved_usd"] == pytest.approx(0.0123)
    assert by_project["b"]["saved_usd"] == pytest.approx(0.0123 + semantic_usd)
    assert by_project["b"]["hit_rate_semantic"] == 0.5
    assert {g["key"]: g["calls_saved"] for g in stats["by_server"]} == {gw: 3, "openrouter-search": 1}


async def test_a_hit_in_the_window_is_priced_at_an_original_paid_before_it(
    connect, upstream, settings
) -> None:
    await open_ledger(settings.ledger_path).close()
    now = time.time()
    gw, model = "routing-gateway", "openai/gpt-4o-mini"
    insert_calls(settings, [
        (now - 7200, gw, model, 100, 50, 0.0123, "miss", "a", "r1", "h1"),  # paid, before the window
        (now - 5400, gw, model, 100, 50, 0.0, "hit_exact", "a", "r2", "h1"),  # served, before it too
        (now - 60, gw, model, 100, 50, 0.0, "hit_exact", "a", "r3", "h1"),  # served inside the window
    ])
    async with connect() as client:
        stats = await call(client, "get_cache_stats", {"timeframe": "1h"})
    totals = stats["totals"]
    assert (totals["lookups"], totals["hits_exact"], totals["calls_saved"]) == (1, 1, 1)
    assert totals["saved_usd"] == pytest.approx(0.0123)
    assert (stats["saved_from_ledger"], stats["saved_from_catalog"], stats["unpriced_hits"]) == (1, 0, 0)


async def test_clear_cache_previews_refuses_then_clears_for_every_server(settings, upstream) -> None:
    from gatewise.servers.routing_gateway.server import create_server

    # Two servers on one data dir, each with its own connections, as two processes would be.
    async with Client(create_server(settings)) as one, Client(create_server(settings)) as other:
        for project, prompt in ASKS.items():
            await call(one, "routed_complete", {"prompt": prompt, "project": project})
        text = await error_text(other, "clear_cache", {"scope": "all", "project": "support"})
        assert text.startswith("Error executing tool clear_cache: INVALID_INPUT: ") and "Hint:" in text
        preview = await call(other, "clear_cache", {"scope": "all", "project": "support", "dry_run": True})
        assert (preview["applied"], preview["entries"]) == (False, 1)
        assert cached_keys(settings) == [(ROUTED, "sales"), (ROUTED, "support")]
        done = await call(other, "clear_cache", {"scope": "all", "project": "support", "confirm": True})
        assert (done["applied"], done["entries"], done["bytes"]) == (True, 1, preview["bytes"])
        assert [(s["store"], [o["project"] for o in s["owners"]]) for s in done["stores"]] == [
            ("exact", ["support"]), ("semantic", [])]
        assert cached_keys(settings) == [(ROUTED, "sales")]
        support, sales = [await call(one, "routed_complete", {"prompt": prompt, "project": project})
                          for project, prompt in ASKS.items()]
        assert (support["cache_status"], sales["cache_status"]) == ("miss", "hit_exact")
        aged = await call(other, "clear_cache", {"scope": "exact", "older_than_s": 3600, "confirm": True})
        everything = await call(other, "clear_cache", {"scope": "exact", "namespace": "routing-gateway",
                                                       "confirm": True})
    assert (aged["entries"], everything["entries"]) == (0, 2)
    assert "note" not in aged and "note" not in everything  # a null field is left out
    assert cached_keys(settings) == []


async def test_a_namespace_that_matches_nothing_says_which_servers_hold_entries(connect, upstream,
                                                                                 settings) -> None:
    async with connect() as client:
        await call(client, "routed_complete", {"prompt": QUESTION, "project": "support"})
        typo = await call(client, "clear_cache", {"scope": "all", "namespace": "routing-gatewy",
                                                  "confirm": True})
        assert (typo["applied"], typo["entries"]) == (True, 0)
        assert typo["note"] == "no stored entry has this namespace; entries are held for: routing-gateway"
        assert "support" not in typo["note"]  # project names are not listed
        assert len(cached_keys(settings)) == 1
        await call(client, "clear_cache", {"scope": "all", "confirm": True})
        empty = await call(client, "clear_cache", {"scope": "exact", "namespace": "routing-gateway",
                                                   "dry_run": True})
    assert empty["note"] == "no stored entry has this namespace; the stores hold no entries"


@pytest.mark.parametrize(("tool", "args", "where"), [
    ("get_cache_stats", {"timeframe": "3 fortnights"}, ""),
    ("get_cache_stats", {"start": "2026-02-01", "end": "2026-01-01"}, ""),
    ("clear_cache", {}, "scope"),
    ("clear_cache", {"scope": "everything", "confirm": True}, "scope"),
    ("clear_cache", {"scope": "all", "namespace": "../../etc", "confirm": True}, "namespace"),
    ("clear_cache", {"scope": "all", "namespace": "routing-gateway:%", "confirm": True}, "namespace"),
    ("clear_cache", {"scope": "all", "project": "x" * 65, "confirm": True}, "project"),
    ("clear_cache", {"scope": "all", "older_than_s": 0, "confirm": True}, "older_than_s"),
    ("clear_cache", {"scope": "all", "older_than_s": -5, "confirm": True}, "older_than_s"),
    ("clear_cache", {"scope": "all", "confirm": "yes please"}, "confirm"),
    # a destructive decision is JSON true, never a truthy string or number read laxly
    ("clear_cache", {"scope": "all", "confirm": "yes"}, "confirm"),
    ("clear_cache", {"scope": "all", "confirm": 1}, "confirm"),
    ("clear_cache", {"scope": "all", "confirm": True, "dry_run": "false"}, "dry_run"),
    # a far-future window and a long timeframe: clear errors, the argument quoted cut short
    ("get_cache_stats", {"start": "9999-12-30", "end": "9999-12-31"}, ""),
    ("get_cache_stats", {"timeframe": "y" * 5000}, ""),
])
async def test_bad_input_is_refused_clearly(connect, upstream, settings, tool, args, where) -> None:
    async with connect() as client:
        await call(client, "routed_complete", {"prompt": QUESTION})
        text = await error_text(client, tool, args)
    assert text.startswith(f"Error executing tool {tool}: INVALID_INPUT: {where}"), text
    assert str(settings.data_dir) not in text and "sqlite" not in text.lower()
    assert "y" * 61 not in text and len(text) < 400
    assert len(cached_keys(settings)) == 1  # nothing was cleared


async def test_optimization_report_counts_repeats_within_the_cache_ttl(connect, upstream, settings) -> None:
    await open_ledger(settings.ledger_path).close()
    t0 = time.time() - 3000
    gw, model = "routing-gateway", "openai/gpt-4o-mini"
    insert_calls(settings, [
        (t0, gw, model, 10, 10, 0.01, "miss", None, "r1", "h1"),
        (t0 + 10, gw, model, 10, 10, 0.02, "miss", None, "r2", "h2"),
        (t0 + 100, gw, model, 10, 10, 0.01, "miss", None, "r3", "h1"),  # paid, though cacheable
        (t0 + 200, gw, model, 10, 10, 0.0, "hit_exact", None, "r4", "h1"),  # served
        (t0 + 2000, gw, model, 10, 10, 0.01, "miss", None, "r5", "h1"),  # past the 1800 s TTL
        (t0 + 2100, gw, model, 10, 10, 0.0, "hit_semantic", None, "r6", "h3"),
        (t0 + 300, gw, model, 10, 10, 0.0, "hit_semantic", None, "r8", "h1"),  # a repeat, served free
        (t0 + 400, gw, model, 10, 10, 0.01, "bypass", None, "r9", "h4"),  # paid, no cache asked
    ])
    insert_calls(settings, [(t0 + 50, gw, model, 10, 10, 0.01, "miss", None, "r7", "h1")], tool="other")
    async with connect() as client:
        report = await call(client, "get_optimization_report", {"timeframe": "24h"})
    cache = report["cache"]
    assert (cache["requests_with_text"], cache["exact_ttl_s"]) == (9, 1800)
    # r3 paid, r4 and r8 served (a semantic hit on the same text is no paid repeat)
    assert (cache["exact_repeats"], cache["exact_repeats_served"], cache["exact_repeats_paid"]) == (3, 2, 1)
    assert cache["exact_saving_usd"] == pytest.approx(0.01)
    # Estimated: 2 semantic hits of the 7 calls that missed the exact cache, applied to the paid
    # calls that were not exact repeats, counted and priced over the same calls (5 of them, $0.06).
    assert cache["semantic_hits"] == 2 and cache["semantic_hit_rate"] == pytest.approx(2 / 7)
    assert cache["semantic_estimated_calls"] == pytest.approx(round(5 * 2 / 7, 1))
    assert cache["semantic_estimated_saving_usd"] == pytest.approx(0.06 * 2 / 7)
    advice = next(r for r in report["recommendations"] if r["kind"] == "cache_repeats")
    assert advice["evidence"]["paid_repeats"] == 1
    assert advice["estimated_monthly_saving_usd"] == pytest.approx(0.01 * 30)  # a day, scaled to 30


async def test_optimization_report_names_why_paid_repeats_were_not_served(connect, upstream,
                                                                          settings) -> None:
    """Deliberate refreshes are no missed saving; a skip and a miss ask for different changes."""
    await open_ledger(settings.ledger_path).close()
    t0, gw, model = time.time() - 3000, "routing-gateway", "openai/gpt-4o-mini"
    insert_calls(settings, [
        (t0, gw, model, 10, 10, 0.01, "miss", None, "r1", "h1"),
        (t0 + 10, gw, model, 10, 10, 0.01, "refresh", None, "r2", "h1"),  # force_refresh: on purpose
        (t0 + 20, gw, model, 10, 10, 0.01, "refresh", None, "r3", "h1"),
        (t0 + 30, gw, model, 10, 10, 0.02, "miss", None, "r4", "h1"),  # e.g. max_age_s 5
    ])
    async with connect() as client:
        only_refreshed = await call(client, "get_optimization_report", {"timeframe": "24h"})
        insert_calls(settings, [(t0 + 40, gw, model, 10, 10, 0.04, "bypass", None, "r5", "h1")])  # no_cache
        report = await call(client, "get_optimization_report", {"timeframe": "24h"})
    cache = report["cache"]
    assert (cache["exact_repeats"], cache["exact_repeats_refreshed"], cache["exact_repeats_paid"],
            cache["exact_repeats_bypassed"]) == (4, 2, 2, 1)
    assert cache["exact_saving_usd"] == pytest.approx(0.06)
    [advice] = [r for r in report["recommendations"] if r["kind"] == "cache_repeats"]
    assert ("1 skipped the cache (no_cache, temperature > 0 without cache_sampled, or caching off)"
            in advice["detail"])
    assert "1 looked it up and missed (a max_age_s younger than the stored answer" in advice["detail"]
    assert "2 force_refresh calls asked for a fresh answer and are left out." in advice["detail"]
    assert advice["estimated_monthly_saving_usd"] == pytest.approx(0.06 * 30)
    before = only_refreshed["cache"]
    assert (before["exact_repeats_paid"], before["exact_repeats_refreshed"]) == (1, 2)
    [advice] = [r for r in only_refreshed["recommendations"] if r["kind"] == "cache_repeats"]
    assert "skipped the cache" not in advice["detail"] and "Turn on" not in advice["detail"]


async def test_both_semantic_hit_rates_say_their_denominators(connect, upstream, settings) -> None:
    """get_cache_stats divides by every lookup, get_optimization_report by the calls that reached
    the semantic cache: for the same calls, 1/4 and 1/3, each as its description says."""
    await open_ledger(settings.ledger_path).close()
    now, gw, model = time.time() - 60, "routing-gateway", "openai/gpt-4o-mini"
    insert_calls(settings, [(now, gw, model, 10, 10, 0.01, "miss", None, "r1", "h1"),
                            (now + 1, gw, model, 10, 10, 0.01, "miss", None, "r2", "h2"),
                            (now + 2, gw, model, 10, 10, 0.0, "hit_exact", None, "r3", "h1"),
                            (now + 3, gw, model, 10, 10, 0.0, "hit_semantic", None, "r4", "h3")])
    async with connect() as client:
        stats = await call(client, "get_cache_stats", {"timeframe": "1h"})
        report = await call(client, "get_optimization_report", {"timeframe": "1h"})
        tools = {t.name: t for t in (await client.list_tools()).tools}
    totals = stats["totals"]
    assert (totals["lookups"], totals["hit_rate_exact"], totals["hit_rate_semantic"]) == (4, 0.25, 0.25)
    assert report["cache"]["semantic_hit_rate"] == pytest.approx(1 / 3)
    figures = tools["get_cache_stats"].output_schema["properties"]["totals"]["properties"]
    assert figures["hit_rate_semantic"]["description"].startswith(
        "hits_semantic / lookups: over every call that read a cache, exact hits included")
    opportunity = tools["get_optimization_report"].output_schema["properties"]["cache"]["properties"]
    assert opportunity["semantic_hit_rate"]["description"].startswith(
        "Measured: semantic hits / calls that reached the semantic cache (missed the exact cache)")


async def test_optimization_report_replays_web_search_with_the_search_caches_ttl(connect, upstream,
                                                                                 settings) -> None:
    await open_ledger(settings.ledger_path).close()
    t0, model = time.time() - 3000, "perplexity/sonar"
    # The same gap after each first answer: past the exact cache's 1,800 s, within the search cache's 3,600 s.
    insert_calls(settings, [(t0, "routing-gateway", model, 10, 10, 0.01, "miss", None, "r1", "h1"),
                            (t0 + 2500, "routing-gateway", model, 10, 10, 0.01, "miss", None, "r2", "h1")])
    insert_calls(settings, [(t0, "openrouter-search", model, 10, 10, 0.02, "miss", None, "s1", "h2"),
                            (t0 + 2500, "openrouter-search", model, 10, 10, 0.02, "miss", None, "s2", "h2")],
                 tool="web_search")
    async with connect() as client:
        report = await call(client, "get_optimization_report", {"timeframe": "24h"})
    cache = report["cache"]
    assert (cache["exact_ttl_s"], cache["tool_ttl_s"]) == (1800, {"web_search": 3600})
    assert (cache["exact_repeats"], cache["exact_repeats_paid"]) == (1, 1)  # the search, not the completion
    assert cache["exact_saving_usd"] == pytest.approx(0.02)
    advice = next(r for r in report["recommendations"] if r["kind"] == "cache_repeats")
    assert "less than 1,800 s (web_search: 3,600 s) earlier" in advice["detail"]


async def test_semantic_hits_counted_and_a_clear_reaches_every_server(sandbox, upstream, tmp_path) -> None:
    from gatewise.servers.routing_gateway.server import create_server

    settings = load_settings({}, data_dir=tmp_path / "data", sandbox_url=sandbox.url,
                             caching={"semantic_cache": {"enabled": True}})
    ask = {"system": "You are a support agent.", "project": "support"}
    async with Client(create_server(settings)) as one, Client(create_server(settings)) as other:
        first = await call(one, "routed_complete", {**ask, "prompt": "How do I reset my password?"})
        again = await call(one, "routed_complete", {**ask, "prompt": "How can I reset my password?"})
        assert (first["cache_status"], again["cache_status"]) == ("miss", "hit_semantic")
        stats = await call(other, "get_cache_stats", {"timeframe": "1h"})
        assert (stats["totals"]["hits_semantic"], stats["totals"]["hit_rate_semantic"]) == (1, 0.5)
        # Other wording, so another request hash: priced from its tokens at catalogue prices.
        assert (stats["saved_from_ledger"], stats["saved_from_catalog"]) == (0, 1)
        assert stats["totals"]["saved_usd"] > 0
        semantic = stats["stores"][1]
        assert [(o["namespace"], o["project"], o["entries"]) for o in semantic["owners"]] == [
            (ROUTED, "support", 1)]
        done = await call(other, "clear_cache", {"scope": "semantic", "confirm": True})
        assert (done["entries"], [s["entries"] for s in done["stores"]]) == (1, [1])
        # The first server's in-memory index drops the entry another server deleted: this wording
        # is otherwise answered from it.
        steps = "What are the steps to reset my password?"
        later = await call(one, "routed_complete", {**ask, "prompt": steps})
    assert later["cache_status"] == "miss"


async def test_a_caller_bound_to_a_project_keeps_to_its_own(settings, upstream) -> None:
    from gatewise.servers.routing_gateway.server import create_server

    from gatewise.caller import CALLER, Caller

    async with Client(create_server(settings)) as operator:  # no project bound: the whole gateway
        await call(operator, "routed_complete", {"prompt": QUESTION, "project": "alpha"})
        await call(operator, "set_budget", {"scope": "project:alpha", "limit_usd": 5})
        await call(operator, "set_budget", {"scope": "project:beta", "limit_usd": 7})
    bound = CALLER.set(Caller("bob", "beta"))  # as the HTTP auth layer sets it for bob's token
    try:
        async with Client(create_server(settings)) as bob:
            same = await call(bob, "routed_complete", {"prompt": QUESTION})
            assert same["cache_status"] == "miss"  # alpha's answer to the same text is not beta's
            for tool, args in [("get_cache_stats", {}), ("get_gateway_analytics", {}),
                               ("get_optimization_report", {}), ("get_guardrail_events", {}),
                               ("set_budget", {"scope": "project:beta", "limit_usd": 1000}),
                               ("delete_budget", {"scope": "project:beta", "window": "monthly",
                                                  "confirm": True}),
                               ("get_budget_status", {"scope": "project:alpha"}),
                               ("get_budget_status", {"scope": "global"}),
                               ("clear_cache", {"scope": "all", "project": "alpha", "confirm": True})]:
                text = await error_text(bob, tool, args)
                assert text.startswith(f"Error executing tool {tool}: FORBIDDEN_SCOPE: "), text
                assert "alpha" not in text.partition("not ")[0]  # names its own project, not others'
            own = await call(bob, "get_budget_status", {})
            assert [(b["scope"], b["limit_usd"]) for b in own["budgets"]] == [("project:beta", 7)]
            cleared = await call(bob, "clear_cache", {"scope": "all", "confirm": True})
            assert cleared["entries"] == 1
    finally:
        CALLER.reset(bound)
    assert cached_keys(settings) == [(ROUTED, "alpha")]  # only beta's own entry went
