"""Identical requests asked at the same time: one goes upstream, the others wait for its answer."""

from __future__ import annotations

import asyncio

from gatewise.servers.openrouter_search.server import create_server as create_search_server
from gatewise.servers.routing_gateway.server import create_server
from mcp import Client

from tool_support import ledger_rows

MODEL = "openai/gpt-4o-mini"


async def test_identical_calls_in_flight_pay_once(settings, upstream) -> None:
    upstream.fault(MODEL, latency_ms=600)  # the first answer takes long enough for the others to ask
    ask = {"prompt": "What is the boiling point of water at sea level?", "model": MODEL}
    async with Client(create_server(settings)) as client:
        results = await asyncio.gather(*(client.call_tool("routed_complete", ask) for _ in range(6)))
        other = await client.call_tool("routed_complete", {**ask, "prompt": "And at the top of Everest?"})
    outs = [r.structured_content for r in results]
    assert not any(r.is_error for r in results) and not other.is_error
    assert sorted(o["cache_status"] for o in outs) == ["hit_exact"] * 5 + ["miss"]
    assert len({o["answer"] for o in outs}) == 1
    (paid_once,) = [o["cost_usd"] for o in outs if o["cache_status"] == "miss"]
    assert sum(o["cost_usd"] for o in outs) == paid_once > 0
    paid = [r for r in await ledger_rows(settings) if r.cost_usd > 0]
    assert len(paid) == 2  # the six identical calls once, and the other question


async def test_a_failed_first_call_leaves_the_waiting_ones_to_go_ahead(settings, upstream) -> None:
    upstream.fault("*", latency_ms=400, error_rate=1.0, statuses=[503])  # every model fails
    ask = {"prompt": "Name three prime numbers.", "model": MODEL, "max_tokens": 30}
    async with Client(create_server(settings)) as client:
        results = await asyncio.gather(*(client.call_tool("routed_complete", ask) for _ in range(3)))
    assert all(r.is_error for r in results), [r.content[0].text[:300] for r in results]
    rows = await ledger_rows(settings)
    # each call tried the upstream itself: none was handed the first one's failure
    assert len({r.request_id for r in rows if r.status == "error"}) == 3


async def test_web_searches_in_flight_pay_once(settings, upstream) -> None:
    async with Client(create_search_server(settings)) as client:
        results = await asyncio.gather(*(client.call_tool("web_search", {"query": "rust async runtimes"})
                                         for _ in range(4)))
    outs = [r.structured_content for r in results]
    assert sorted(o["cache_status"] for o in outs) == ["hit_exact"] * 3 + ["miss"], outs
    assert len([o for o in outs if o["cost_usd"] > 0]) == 1
