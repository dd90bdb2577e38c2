"""get_guardrail_events, the retention purge at start-up and the guardrail counts of
get_gateway_analytics, through the MCP client on a real ledger file."""

from __future__ import annotations

import time
from typing import Any

import pytest
from gatewise.servers.routing_gateway.server import create_server
from mcp import Client

from gatewise.config import GuardrailsConfig
from gatewise.ledger.guardrail_events import DAY_S, GuardrailEvent, GuardrailEvents
from tool_support import call, error_text


def event(ts: float, **overrides: Any) -> GuardrailEvent:
    fields: dict[str, Any] = {"ts": ts, "request_id": "r", "server": "routing-gateway",
                              "tool": "routed_complete", "direction": "input", "check_id": "pii",
                              "verdict": "flag", "action": "redact",
                              "reason": "found 1 EMAIL (redacted)", "entities": {"EMAIL": 1},
                              "value_hashes": ["ab" * 16]}
    fields.update(overrides)
    return GuardrailEvent(**fields)


async def test_events_are_filtered_paged_and_counted(connect, settings) -> None:
    now = time.time()
    async with connect() as client:  # the server migrates the ledger it opens
        await GuardrailEvents(settings.ledger_path).record(
            [event(now - 60 * i, request_id=f"r{i}", check_id="pii" if i % 2 else "custom_blocklist",
                   verdict="block" if i < 3 else "flag", direction="output" if i == 4 else "input",
                   project="alpha" if i < 5 else None) for i in range(7)]
            + [event(now - 3 * DAY_S, request_id="old", check_id="custom_blocklist")])
        first = await call(client, "get_guardrail_events", {"timeframe": "24h", "limit": 3})
        second = await call(client, "get_guardrail_events", {"timeframe": "24h", "limit": 3,
                                                             "offset": first["next_offset"]})
        pii_input = await call(client, "get_guardrail_events", {"check": "pii", "direction": "input"})
        blocks = await call(client, "get_guardrail_events", {"verdict": "block", "project": "alpha"})
        old = await call(client, "get_guardrail_events", {"request_id": "old"})
        week = await call(client, "get_guardrail_events", {"timeframe": "7d", "check": "custom_blocklist"})
    assert [e["request_id"] for e in first["events"]] == ["r0", "r1", "r2"]
    assert [e["request_id"] for e in second["events"]] == ["r3", "r4", "r5"]
    assert (first["total"], first["next_offset"], second["next_offset"]) == (7, 3, 6)
    assert {c["check_id"]: (c["blocked"], c["flagged"]) for c in first["by_check"]} == {
        "custom_blocklist": (2, 2), "pii": (1, 2)}
    assert [e["request_id"] for e in pii_input["events"]] == ["r1", "r3", "r5"]
    assert [e["request_id"] for e in blocks["events"]] == ["r0", "r1", "r2"]
    assert [e["request_id"] for e in old["events"]] == ["old"] and old.get("since") is None
    assert week["total"] == 5
    assert first["events"][0]["value_hashes"] == ["ab" * 16] and "value" not in first["events"][0]


@pytest.mark.parametrize(("args", "fragment"), [
    ({"limit": 0}, "limit"),
    ({"limit": 201}, "limit"),
    ({"offset": -1}, "offset"),
    ({"direction": "sideways"}, "direction"),
    ({"verdict": "pass"}, "verdict"),
    ({"timeframe": "3 fortnights"}, "INVALID_INPUT"),
    ({"timeframe": "7d", "start": "2026-01-01"}, "either a timeframe or start/end"),
    ({"check": ""}, "check"),
    ({"request_id": "r" * 200}, "request_id"),
])
async def test_get_guardrail_events_bad_input(connect, args: dict[str, Any], fragment: str) -> None:
    async with connect() as client:
        text = await error_text(client, "get_guardrail_events", args)
    assert "INVALID_INPUT: " in text and fragment in text


async def test_start_up_purges_rows_past_the_retention_period(settings) -> None:
    kept = settings.model_copy(update={"guardrails": GuardrailsConfig(audit_retention_days=30)})
    now = time.time()
    async with Client(create_server(kept)) as client:
        # A tool call waits until the stores have opened (and purged), so the rows below are
        # written after the start-up purge, not raced by it.
        assert (await call(client, "get_guardrail_events", {"timeframe": "60d"}))["total"] == 0
        await GuardrailEvents(settings.ledger_path).record(
            [event(now - 31 * DAY_S, request_id="expired"), event(now - 29 * DAY_S, request_id="kept")])
        assert (await call(client, "get_guardrail_events", {"timeframe": "60d"}))["total"] == 2
    async with Client(create_server(kept)) as client:
        after = await call(client, "get_guardrail_events", {"timeframe": "60d"})
    assert [e["request_id"] for e in after["events"]] == ["kept"]


async def test_usage_analytics_counts_blocks_and_flags_per_check(connect, settings) -> None:
    now = time.time()
    async with connect() as client:
        await call(client, "routed_complete", {"prompt": "What is 2+2?"})
        await GuardrailEvents(settings.ledger_path).record(
            [event(now, check_id="pii", verdict="block")] * 2 + [event(now, check_id="pii")]
            + [event(now, check_id="prompt_injection")] * 3
            + [event(now - 3 * DAY_S, check_id="pii", verdict="block")])
        day = await call(client, "get_gateway_analytics", {"timeframe": "24h"})
        week = await call(client, "get_gateway_analytics", {"timeframe": "7d"})
    assert day["guardrails"] == [{"check_id": "pii", "blocked": 2, "flagged": 1},
                                 {"check_id": "prompt_injection", "blocked": 0, "flagged": 3}]
    assert week["guardrails"][0] == {"check_id": "pii", "blocked": 3, "flagged": 1}
