"""get_gateway_analytics and get_optimization_report through the MCP client, over real routed calls."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image


async def make_traffic(client, upstream) -> None:
    for prompt in ("What is 2+2?", "hello there", "Write a Python function to add numbers"):
        result = await client.call_tool("routed_complete", {"prompt": prompt, "project": "alpha"})
        assert not result.is_error
    plan = await client.call_tool("explain_route", {"prompt": "hi again"})
    upstream.fault(plan.structured_content["candidates"][0], error_rate=1.0, statuses=[502])
    await client.call_tool("routed_complete", {"prompt": "hi again", "project": "beta"})


@pytest.mark.both_eras
async def test_usage_analytics_with_chart_and_progress(connect, upstream) -> None:
    async with connect() as client:
        await make_traffic(client, upstream)
        seen: list[tuple[float, float | None, str | None]] = []

        async def progress(done: float, total: float | None, message: str | None) -> None:
            seen.append((done, total, message))

        result = await client.call_tool(
            "get_gateway_analytics", {"timeframe": "24h", "group_by": "project", "chart": "cost"},
            progress_callback=progress)
    assert not result.is_error
    report = result.structured_content
    assert report["totals"]["requests"] == 4 and report["totals"]["attempts"] == 5
    assert {g["key"] for g in report["groups"]} == {"alpha", "beta"}
    assert report["totals"]["fallback_rate"] == pytest.approx(0.25)
    assert report["totals"]["savings_usd"] is not None and report["baseline"]["model"]
    image = next(c for c in result.content if c.type == "image")
    assert image.mime_type == "image/png"
    assert Image.open(io.BytesIO(base64.b64decode(image.data))).size == (800, 420)
    if seen:  # progress is delivered when the client asked for it (both eras)
        assert [s[0] for s in seen] == sorted(s[0] for s in seen)


async def test_usage_analytics_by_caller_puts_in_process_calls_in_the_group_without_one(
        connect, upstream) -> None:
    async with connect() as client:
        await make_traffic(client, upstream)
        result = await client.call_tool("get_gateway_analytics", {"group_by": "caller", "chart": "requests"})
    assert not result.is_error, result.content
    report = result.structured_content
    assert report["group_by"] == "caller"
    assert [(g.get("key"), g["requests"]) for g in report["groups"]] == [(None, 4)]  # no HTTP caller here


async def test_optimization_report(connect, upstream) -> None:
    async with connect() as client:
        await make_traffic(client, upstream)
        result = await client.call_tool("get_optimization_report", {"timeframe": "7d"})
    report = result.structured_content
    assert report["requests"] == 4 and report["cost_usd"] > 0
    assert report["top_costs"]["model"]


@pytest.mark.parametrize(("tool", "args", "fragment"), [
    ("get_gateway_analytics", {"timeframe": "3 fortnights"}, "INVALID_INPUT"),
    ("get_gateway_analytics", {"start": "2026-02-01", "end": "2026-01-01"}, "INVALID_INPUT"),
    ("get_gateway_analytics", {"group_by": "colour"}, "group_by"),
    ("get_gateway_analytics", {"chart": "pie"}, "chart"),
    ("get_gateway_analytics", {"baseline_model": "gpt-9000"}, "INVALID_INPUT"),
    ("get_optimization_report", {"timeframe": "-1d"}, "INVALID_INPUT"),
])
async def test_analytics_bad_input(connect, upstream, tool, args, fragment) -> None:
    async with connect() as client:
        result = await client.call_tool(tool, args)
    assert result.is_error and fragment in result.content[0].text


# An offset moves an instant up to a day past the dates a report can show (years 1 to 9999, UTC).
PAST_THE_DATES = [{"start": "0001-01-01T00:00:00+23:59", "end": "0001-01-02"},
                  {"start": "9999-12-30", "end": "9999-12-31T23:59:59-23:59"}]


@pytest.mark.parametrize("window", PAST_THE_DATES)
async def test_every_dated_tool_refuses_an_instant_past_the_dates_it_can_show(connect, upstream,
                                                                              window) -> None:
    async with connect() as client:
        for tool, args in (("get_gateway_analytics", window), ("get_optimization_report", window),
                           ("get_cache_stats", window), ("get_guardrail_events", window)):
            result = await client.call_tool(tool, args)
            text = result.content[0].text
            assert result.is_error and "INVALID_INPUT: the " in text, (tool, text)
            assert "is outside the instants that can be read, 0001-01-01T00:00:00+00:00 to " \
                   "9999-12-31T23:59:59+00:00" in text, (tool, text)
