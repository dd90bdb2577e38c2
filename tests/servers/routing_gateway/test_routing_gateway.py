"""routing-gateway through a real in-memory MCP client (protocol-level checks in both eras)."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import re
import sqlite3
from pathlib import Path

import pytest
from mcp import Client
from PIL import Image

from gatewise.catalog import Catalog
from gatewise.config import load_settings
from repo_paths import CONTRACTS
from tool_support import call, check_contract, error_text, ledger_rows, unfence

CONTRACT = CONTRACTS / "routing_gateway_tools.json"
CATALOG = Catalog.snapshot()



@pytest.mark.both_eras
async def test_tools_list_matches_the_contract(connect) -> None:
    async with connect() as client:
        current = check_contract((await client.list_tools()).tools, CONTRACT)
        routed = current["routed_complete"]
        assert routed["annotations"] == {"title": "Routed completion", "readOnlyHint": False,
                                         "destructiveHint": False, "idempotentHint": False,
                                         "openWorldHint": True}
        assert current["explain_route"]["annotations"]["readOnlyHint"] is True
        assert "answer" in routed["outputSchema"]["properties"]


async def test_both_routing_tools_take_the_request_model_arguments(connect) -> None:
    from gatewise.servers.routing_gateway.server import ANSWER_ONLY

    from gatewise.gateway import CompletionRequest
    from gatewise.mcpkit.arguments import arguments_of

    async with connect() as client:
        tools = {t.name: t.input_schema for t in (await client.list_tools()).tools}
    routed, explain = tools["routed_complete"]["properties"], tools["explain_route"]["properties"]
    assert set(routed) == set(CompletionRequest.model_fields)
    assert set(explain) == set(routed) - set(ANSWER_ONLY)
    assert all(explain[name] == routed[name] for name in explain)  # one declaration, not two copies
    assert routed["project"]["anyOf"][0]["pattern"]  # the model's own constraints are published
    with pytest.raises(ValueError, match="no fields"):
        arguments_of(CompletionRequest, exclude=["temprature"])


async def test_routed_complete_answers_from_the_sandbox(connect, upstream, settings) -> None:
    async with connect() as client:
        result = await client.call_tool("routed_complete", {"prompt": "What is 17*23?", "project": "t1"})
        assert not result.is_error
        out = result.structured_content
        assert out["provider"] == "sandbox"
        assert "391" in out["answer"] and "[sandbox" in out["answer"]
        assert out["route"]["task"] == "math"
        assert out["tokens_in"] > 0 and out["tokens_out"] > 0 and out["cost_usd"] > 0
        assert not out["fallback_used"]
        # one successful attempt is the model above: the route's detail and the attempt only on request
        assert set(out["route"]) - {"complexity"} == {"task", "reason", "web_search"}
        assert "attempts" not in out
        explained = (await client.call_tool("routed_complete", {
            "prompt": "What is 17*23?", "project": "t1", "explain": True, "no_cache": True}
        )).structured_content
        (attempt,) = explained["attempts"]
        assert (attempt["model"], attempt["status"], attempt.get("error_code")) == (
            explained["model"], "ok", None)
        route = explained["route"]
        assert route["candidates"][0] == explained["model"] and route["language"] == "en"
        assert route["est_tokens_in"] > 0 and route["skipped"] == []
        assert json.loads(unfence(result.content[0].text))["request_id"] == out["request_id"]
        rows = await ledger_rows(settings)
        assert len(rows) == 2
        row = next(r for r in rows if r.request_id == out["request_id"])
        assert (row.request_id, row.project, row.status, row.task) == (out["request_id"], "t1", "ok", "math")
        assert row.cost_usd == pytest.approx(out["cost_usd"])
        assert row.provider == "sandbox" and row.tool == "routed_complete"


async def test_failure_falls_back_and_every_attempt_is_recorded(connect, upstream,
                                                                settings) -> None:
    async with connect() as client:
        plan = await client.call_tool("explain_route", {"prompt": "Explain why the sky is blue"})
        first, second = plan.structured_content["candidates"][:2]
        upstream.fault(first, error_rate=1.0, statuses=[503])
        result = await client.call_tool("routed_complete", {"prompt": "Explain why the sky is blue"})
        out = result.structured_content
        assert out["model"] == second and out["fallback_used"]
        assert [(a["model"], a["status"], a.get("error_code")) for a in out["attempts"]] == [
            (first, "error", "UPSTREAM_ERROR"), (second, "ok", None)]
        assert "fell back after" in out["route"]["reason"]
        rows = sorted(await ledger_rows(settings), key=lambda r: r.attempt)
        assert [(r.model, r.status, r.error_code, r.attempt) for r in rows] == [
            (first, "error", "UPSTREAM_ERROR", 0), (second, "ok", None, 1)]
        assert len({r.request_id for r in rows}) == 1
        assert upstream.stats()["models"][first]["requests"] == 1  # no retry while a fallback waits


async def test_rate_limit_then_fallback_and_total_failure(connect, upstream, settings) -> None:
    async with connect() as client:
        upstream.fault("*", error_rate=1.0, statuses=[429], retry_after=0.01)
        result = await client.call_tool("routed_complete", {"prompt": "hello there", "project": "x"})
        assert result.is_error
        text = result.content[0].text
        assert "RATE_LIMITED" in text and "every model in the route failed" in text
        rows = await ledger_rows(settings)
        assert len(rows) >= 2 and all(r.status == "error" for r in rows)


async def test_forced_model_and_explain_costs_nothing(connect, upstream) -> None:
    async with connect() as client:
        before = upstream.stats()["totals"]["requests"]
        plan = await client.call_tool("explain_route", {"prompt": "hi", "model": "gpt-4o-mini"})
        assert plan.structured_content["candidates"][0] == "openai/gpt-4o-mini"
        assert plan.structured_content["reason"] == "requested by the caller"
        assert upstream.stats()["totals"]["requests"] == before
        done = await client.call_tool("routed_complete", {"prompt": "hi", "model": "gpt-4o-mini",
                                                          "max_tokens": 5})
        assert done.structured_content["model"] == "openai/gpt-4o-mini"
        assert done.structured_content["tokens_out"] <= 5


async def test_a_route_gives_the_difficulty_where_weighed_and_explain_always(connect, upstream) -> None:
    async with connect() as client:
        plan = (await client.call_tool("explain_route", {"prompt": "hi"})).structured_content
        assert 0 <= plan["complexity"] <= 1 and plan["conversation"]["hardest_turns_ago"] == 0
        small_talk = (await client.call_tool("routed_complete", {"prompt": "hi"})).structured_content["route"]
        assert small_talk.get("complexity") is None  # an economy-tier route never weighs it
        assert "conversation" not in small_talk  # a first turn: no conversation to tell of
        premium = (await client.call_tool("routed_complete", {"prompt": "Explain why the sky is blue"})
                   ).structured_content["route"]
        assert 0 <= premium["complexity"] <= 1 and "conversation" not in premium
        follow_up = (await client.call_tool("routed_complete", {"messages": [
            {"role": "user", "content": "Explain why the sky is blue"},
            {"role": "assistant", "content": "Rayleigh."},
            {"role": "user", "content": "Why?"}]})).structured_content["route"]
        assert 0 <= follow_up["complexity"] <= 1 and follow_up["conversation"]["user_turns"] == 2
        assert follow_up["conversation"]["hardest_turns_ago"] == 1


def png_data_url(color: str = "red", size: tuple[int, int] = (64, 32)) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


async def test_messages_with_an_image_route_to_a_vision_model(connect, upstream) -> None:
    async with connect() as client:
        messages = [{"role": "user", "content": [
            {"type": "text", "text": "What is in this image?"},
            {"type": "image_url", "image_url": {"url": png_data_url()}}]}]
        result = await client.call_tool("routed_complete", {"messages": messages, "explain": True})
        out = result.structured_content
        assert out["route"]["task"] == "vision" and "image" in out["route"]["modalities"]
        assert CATALOG.get(out["model"]).supports("image")


async def test_images_argument_goes_through_the_media_pipeline(connect, upstream, settings,
                                                              tmp_path) -> None:
    picture = tmp_path / "shot.png"
    Image.new("RGB", (4000, 1000), "blue").save(picture)
    outside = tmp_path.parent / "elsewhere.png"
    Image.new("RGB", (10, 10), "blue").save(outside)
    allowed = settings.model_copy(update={"media": settings.media.model_copy(
        update={"allowed_roots": [tmp_path]})})
    from gatewise.servers.routing_gateway.server import create_server

    async with Client(create_server(allowed)) as client:
        ok = await client.call_tool("routed_complete", {"prompt": "Describe it", "images": [str(picture)]})
        assert not ok.is_error and ok.structured_content["route"]["task"] == "vision"
        for source, code in ((str(outside), "UNSAFE_PATH"), ("http://127.0.0.1/x.png", "UNSAFE_URL"),
                             ("data:image/png;base64,iVBORw0KGgo=", "UNSUPPORTED_FORMAT")):
            bad = await client.call_tool("routed_complete", {"prompt": "Describe it", "images": [source]})
            assert bad.is_error and code in bad.content[0].text, source
    assert upstream.stats()["totals"]["requests"] == 1


@pytest.mark.parametrize(("source", "message"), [
    ("javascript:alert(1)", "UNSAFE_URL: Only http(s) URLs are fetched, not 'javascript' URLs."),
    ("mailto:someone@example.com", "UNSAFE_URL: Only http(s) URLs are fetched, not 'mailto' URLs."),
    ("Gopher://example.com/_", "UNSAFE_URL: Only http(s) URLs are fetched, not 'gopher' URLs."),
    ("C:/pictures/cat.png", "UNSAFE_PATH"),  # a Windows drive, read as a path
    ("./cat:1.png", "UNSAFE_PATH"),
])
async def test_an_image_source_is_refused_by_what_it_is(connect, upstream, source: str, message: str) -> None:
    async with connect() as client:
        text = await error_text(client, "routed_complete", {"prompt": "Describe it", "images": [source]})
    assert message in text
    assert upstream.stats()["totals"]["requests"] == 0


async def test_a_requests_images_share_one_decode_budget(upstream, sandbox, tmp_path: Path) -> None:
    from gatewise.servers.routing_gateway.server import create_server

    # Each 64x32 image (2,048 pixels) fits the budget alone; two in one request do not.
    settings = load_settings({}, data_dir=tmp_path, sandbox_url=sandbox.url, media={"max_call_pixels": 3000})
    picture = {"type": "image_url", "image_url": {"url": png_data_url()}}
    one = {"messages": [{"role": "user", "content": [{"type": "text", "text": "Describe it"}, picture]}]}
    async with Client(create_server(settings)) as client:
        assert not (await client.call_tool("routed_complete", one)).is_error
        for args in ({"prompt": "Compare them", "images": [png_data_url(), png_data_url("blue")]},
                     {**one, "images": [png_data_url("blue")]}):
            refused = await client.call_tool("routed_complete", {**args, "no_cache": True})
            text = refused.content[0].text
            assert refused.is_error and "TOO_LARGE" in text and "media.max_call_pixels" in text, args
    assert upstream.stats()["totals"]["requests"] == 1
    assert len(await ledger_rows(settings)) == 1


@pytest.mark.parametrize(("args", "fragment"), [
    ({}, "exactly one of `prompt` or `messages`"),
    ({"prompt": "a", "messages": [{"role": "user", "content": "b"}]}, "exactly one"),
    ({"prompt": "   "}, "`prompt` is empty"),
    ({"prompt": "x", "temperature": 5}, "temperature"),
    ({"prompt": "x", "max_tokens": 0}, "max_tokens"),
    ({"prompt": "x", "max_tokens": 10_000_000}, "exceeds the limit"),
    ({"prompt": "x", "project": "bad tag!"}, "project"),
    ({"prompt": "x", "task": "astrology"}, "task"),
    ({"prompt": "x", "model": "gpt-4oo"}, "closest: openai/gpt-4o"),
    ({"prompt": "x", "max_cost_usd": 0}, "BUDGET_EXCEEDED"),
    ({"prompt": "x" * 500_000}, "TOO_LARGE"),
    ({"messages": [{"role": "wizard", "content": "x"}]}, "role"),
])
async def test_bad_input_is_a_clear_error(connect, upstream, settings, args, fragment) -> None:
    async with connect() as client:
        result = await client.call_tool("routed_complete", args)
        assert result.is_error
        text = result.content[0].text
        assert fragment in text
        assert "Traceback" not in text
        assert upstream.stats()["totals"]["requests"] == 0  # nothing reached the upstream
        assert await ledger_rows(settings) == []


@pytest.mark.parametrize(("args", "fragment"), [
    ({}, "exactly one of `prompt` or `messages`"),
    ({"prompt": "x", "model": "gpt-4oo"}, "closest: openai/gpt-4o"),
    ({"prompt": "x", "max_cost_usd": -1}, "max_cost_usd"),
    ({"prompt": "x" * 500_000}, "TOO_LARGE"),
])
async def test_explain_route_bad_input(connect, upstream, args, fragment) -> None:
    async with connect() as client:
        result = await client.call_tool("explain_route", args)
        assert result.is_error and fragment in result.content[0].text


@pytest.mark.parametrize(("error_type", "code"), [("content_policy_violation", "CONTENT_POLICY"),
                                                  ("context_length_exceeded", "CONTEXT_TOO_LONG")])
async def test_content_policy_and_context_errors_fall_back(connect, upstream, error_type, code) -> None:
    async with connect() as client:
        plan = await client.call_tool("explain_route", {"prompt": "Write a limerick about cats"})
        first = plan.structured_content["candidates"][0]
        upstream.fault(first, error_rate=1.0, statuses=[400 if "context" in error_type else 403],
                       error_type=error_type)
        result = await client.call_tool("routed_complete", {"prompt": "Write a limerick about cats"})
    out = result.structured_content
    assert out["attempts"][0]["error_code"] == code and out["attempts"][-1]["status"] == "ok"
    assert out["model"] != first


async def test_an_explained_answer_is_cached_with_its_whole_route(connect, upstream) -> None:
    args = {"prompt": "What is 13*13?", "model": "gpt-4o-mini"}
    async with connect() as client:
        brief = (await client.call_tool("routed_complete", args)).structured_content
        explained = (await client.call_tool("routed_complete", {**args, "explain": True})).structured_content
        again = (await client.call_tool("routed_complete", {**args, "explain": True})).structured_content
        brief_again = (await client.call_tool("routed_complete", args)).structured_content
    # a brief entry holds no candidates to explain with: an explained answer has entries of its own
    assert (brief["cache_status"], explained["cache_status"]) == ("miss", "miss")
    assert again["cache_status"] == brief_again["cache_status"] == "hit_exact"
    assert again["route"]["candidates"] == explained["route"]["candidates"] and again["attempts"] == []
    assert "candidates" not in brief_again["route"] and "attempts" not in brief_again
    assert upstream.stats()["totals"]["requests"] == 2


async def test_an_entry_stored_with_the_whole_route_revives_briefly(connect, upstream, settings) -> None:
    """Entries stored before answers were brief hold the whole route and the attempts: a brief
    call still gets them, briefly (no candidates, no empty skipped list, no conversation for a
    first turn)."""
    args = {"prompt": "What is 14*14?", "model": "gpt-4o-mini"}
    async with connect() as client:
        await client.call_tool("routed_complete", args)
        await client.call_tool("routed_complete", {**args, "explain": True})
        with sqlite3.connect(settings.data_dir / "cache.sqlite3") as db:  # the whole route as the brief one
            entries = {json.loads(value)["route"]["candidates"] is None: (key, value)
                       for key, value in db.execute("SELECT key, value FROM entries")}
            db.execute("UPDATE entries SET value = ? WHERE key = ?", (entries[False][1], entries[True][0]))
        out = (await client.call_tool("routed_complete", args)).structured_content
    assert out["cache_status"] == "hit_exact" and "attempts" not in out
    assert set(out["route"]) - {"complexity"} == {"task", "reason", "web_search"}


async def test_response_cache_hit_is_free_and_recorded(connect, upstream, settings) -> None:
    args = {"prompt": "What is 12*12?", "model": "gpt-4o-mini", "project": "cache"}
    async with connect() as client:
        first = (await client.call_tool("routed_complete", args)).structured_content
        second = (await client.call_tool("routed_complete", args)).structured_content
        fresh = (await client.call_tool("routed_complete", {**args, "max_age_s": 0})).structured_content
        bypass = (await client.call_tool("routed_complete", {**args, "no_cache": True})).structured_content
        refreshed = (await client.call_tool("routed_complete",
                                            {**args, "force_refresh": True})).structured_content
    assert first["cache_status"] == "miss" and first["cost_usd"] > 0
    assert second["cache_status"] == "hit_exact" and second["cost_usd"] == 0
    assert second["answer"] == first["answer"] and "attempts" not in second  # none made
    assert second["request_id"] != first["request_id"]
    assert "response cache" in second["warnings"][0]
    assert fresh["cache_status"] == "miss" and bypass["cache_status"] == "bypass"
    assert refreshed["cache_status"] == "refresh"
    stats = upstream.stats()["models"]["openai/gpt-4o-mini"]
    assert stats["requests"] == 4  # first, max_age 0, no_cache and force_refresh went upstream
    rows = await ledger_rows(settings)
    assert sorted(r.cache_status for r in rows) == ["bypass", "hit_exact", "miss", "miss", "refresh"]


async def test_a_sampled_request_is_answered_afresh_unless_the_caller_opts_in(connect, upstream) -> None:
    """temperature > 0 asks for a new sample: neither cache serves or keeps one, as the semantic
    cache never did, unless cache_sampled says a stored answer will do."""
    args = {"prompt": "Suggest a name for a bakery", "model": "gpt-4o-mini", "temperature": 0.9}
    async with connect() as client:
        sampled = [await call(client, "routed_complete", args) for _ in range(2)]
        opted = [await call(client, "routed_complete", {**args, "cache_sampled": True}) for _ in range(2)]
        cold = await call(client, "routed_complete", {**args, "temperature": 0})
        again = await call(client, "routed_complete", {**args, "temperature": 0})
    assert [o["cache_status"] for o in sampled] == ["bypass", "bypass"]
    assert [o["cache_status"] for o in opted] == ["miss", "hit_exact"]
    assert (cold["cache_status"], again["cache_status"]) == ("miss", "hit_exact")
    assert upstream.stats()["models"]["openai/gpt-4o-mini"]["requests"] == 4


PROOF = "Find all integer solutions of x^2 - 2y^2 = 1 and prove there are no others."
TINY = 0.00001  # below every premium model's estimate for PROOF: the route's rescue answers


async def test_a_cost_limit_keeps_its_answers_apart_in_the_response_cache(connect, upstream) -> None:
    """An answer routed under max_cost_usd is never another call's, either way round, and a hit
    says its route is the stored answer's."""
    proof = {"messages": [{"role": "user", "content": PROOF}], "max_tokens": 300}
    async with connect() as client:
        limited = await call(client, "routed_complete", {**proof, "max_cost_usd": TINY})
        free = await call(client, "routed_complete", proof)
        again = await call(client, "routed_complete", {**proof, "max_cost_usd": TINY})
        other_limit = await call(client, "routed_complete", {**proof, "max_cost_usd": 1.0})
    assert (limited["model"], limited["cache_status"]) == ("meta-llama/llama-3.1-8b-instruct", "miss")
    assert limited["route"]["reason"] == "cheapest model that fits (every routed model was skipped)"
    assert (free["model"], free["cache_status"]) == ("anthropic/claude-opus-5.5", "miss")
    assert free["route"]["reason"].startswith("primary for math") and "skipped" not in free["route"]
    assert (again["model"], again["cache_status"]) == ("meta-llama/llama-3.1-8b-instruct", "hit_exact")
    assert again["route"]["reason"] == ("served from the response cache; the stored answer's route: "
                                        "cheapest model that fits (every routed model was skipped)")
    assert again["route"]["skipped"][0] == {"model": "anthropic/claude-opus-5.5",
                                            "reason": "estimated $0.0061 exceeds the $0.00001 limit"}
    assert (other_limit["model"], other_limit["cache_status"]) == ("anthropic/claude-opus-5.5", "miss")
    assert upstream.stats()["totals"]["requests"] == 3


async def test_a_model_moved_down_for_latency_is_named_in_the_reason(upstream, sandbox,
                                                                    tmp_path: Path) -> None:
    from gatewise.servers.routing_gateway.server import create_server

    settings = load_settings({}, data_dir=tmp_path, sandbox_url=sandbox.url,
                             routing={"latency_threshold_ms": 2000})
    upstream.fault("anthropic/claude-opus-5.5", latency_ms=2600)
    async with Client(create_server(settings)) as client:
        slow = await call(client, "routed_complete",
                          {"prompt": "Prove that the square root of 2 is irrational."})
        second = await call(client, "routed_complete",
                            {"prompt": "Prove that there are infinitely many primes."})
        explained = await call(client, "explain_route", {"prompt": "Prove that 17 is not a square."})
    assert slow["model"] == "anthropic/claude-opus-5.5" and "deferred" not in slow["route"]
    assert (second["model"], second["fallback_used"]) == ("openai/gpt-5.5", False)
    moved = re.fullmatch(r"observed latency (\d+) ms > 2000 ms threshold \(routing.latency_threshold_ms\)",
                         second["route"]["deferred"][0]["reason"])
    assert moved and 2600 <= int(moved[1]) < 4000, second["route"]
    assert second["route"]["deferred"] == [{"model": "anthropic/claude-opus-5.5", "reason": moved[0]}]
    assert second["route"]["reason"] == ("same-tier fallback from another vendor (premium); tried before "
                                         f"anthropic/claude-opus-5.5, which was moved to the end: {moved[0]}")
    assert explained["reason"] == second["route"]["reason"]
    assert explained["deferred"] == second["route"]["deferred"]
    assert explained["candidates"][-1] == "anthropic/claude-opus-5.5"


async def test_a_model_moved_down_for_latency_is_tried_first_again_once_its_record_is_stale(
        upstream, sandbox, tmp_path: Path) -> None:
    """One slow answer moves the primary to the end; it gets no calls to show it is fast again,
    so after routing.health.latency_recovery_s it is tried first, and its fast answer (replacing
    the stale average, not blended into it) keeps it first."""
    from gatewise.servers.routing_gateway.server import create_server

    primary, fallback = "anthropic/claude-opus-5.5", "openai/gpt-5.5"
    settings = load_settings({}, data_dir=tmp_path, sandbox_url=sandbox.url,
                             routing={"latency_threshold_ms": 300, "health": {"latency_recovery_s": 1.5}})
    upstream.fault(primary, latency_ms=700)
    async with Client(create_server(settings)) as client:
        async def ask(n: int) -> dict:
            return await call(client, "routed_complete",
                              {"prompt": f"Prove that {n} is not a perfect square.", "no_cache": True})

        slow = await ask(2)
        upstream.reset()  # the primary is fast from now on
        moved = await ask(3)
        await asyncio.sleep(1.6)
        again, still = await ask(5), await ask(6)
    assert slow["model"] == primary
    assert moved["model"] == fallback and moved["route"]["deferred"][0]["model"] == primary
    assert (again["model"], again["fallback_used"], again["route"].get("deferred")) == (primary, False, None)
    assert (still["model"], still["route"].get("deferred")) == (primary, None)
    assert upstream.stats()["models"][primary]["requests"] == 2


async def test_exact_cache_off_sends_every_call_upstream(upstream, sandbox, tmp_path: Path) -> None:
    from gatewise.servers.routing_gateway.server import create_server

    settings = load_settings({}, data_dir=tmp_path, sandbox_url=sandbox.url,
                             caching={"response_cache": {"exact_match": False}})
    args = {"prompt": "What is 12*12?", "model": "gpt-4o-mini"}
    async with Client(create_server(settings)) as client:
        outs = [(await client.call_tool("routed_complete", args)).structured_content for _ in range(2)]
    assert [o["cache_status"] for o in outs] == ["bypass", "bypass"]
    assert upstream.stats()["models"]["openai/gpt-4o-mini"]["requests"] == 2
