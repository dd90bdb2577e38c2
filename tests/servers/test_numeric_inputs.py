"""Numbers in: every tool argument finite and in range, as the wire really delivers them; and a
budget report that survives whatever an older version stored."""

from __future__ import annotations

import math
import sqlite3
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from gatewise.bounds import MAX_USD
from gatewise.config import Settings, load_settings
from tool_support import RawArgsTransport, ledger_rows

INF, NAN = math.inf, math.nan


class WireClient:
    """An in-memory client whose calls reach the server with their arguments as given: NaN and
    infinities (a JSON frame's 1e309) included, which the SDK client would turn into null."""

    def __init__(self, server: MCPServer[Any]) -> None:
        self._transport = RawArgsTransport(server)
        self._client = Client(self._transport)

    async def __aenter__(self) -> WireClient:
        await self._client.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self._client.__aexit__(*exc)

    async def call_tool(self, tool: str, args: dict[str, Any]) -> Any:
        self._transport.pending = args
        return await self._client.call_tool(tool, {})


def gateway(settings: Settings) -> MCPServer[Any]:
    from gatewise.servers.routing_gateway.server import create_server

    return create_server(settings)


async def refused(client: WireClient, tool: str, args: dict[str, Any], field: str) -> str:
    result = await client.call_tool(tool, args)
    assert result.is_error, (tool, args, result.structured_content)
    text = result.content[0].text
    assert "INVALID_INPUT" in text and field in text and "Traceback" not in text, text
    return text


async def test_set_budget_refuses_non_finite_and_absurd_limits(settings: Settings) -> None:
    async with WireClient(gateway(settings)) as client:
        for limit in (INF, NAN, -INF, -1, 0, 5e-324, 2e9):
            await refused(client, "set_budget", {"limit_usd": limit, "scope": "project:x"}, "limit_usd")
        status = await client.call_tool("get_budget_status", {})
    assert not status.is_error and status.structured_content["budgets"] == []


async def test_set_budget_takes_the_ends_of_its_range(settings: Settings) -> None:
    async with WireClient(gateway(settings)) as client:
        for scope, limit in (("project:big", 1e9), ("project:small", 0.000001)):
            result = await client.call_tool("set_budget", {"limit_usd": limit, "scope": scope})
            assert not result.is_error, result.content
        status = (await client.call_tool("get_budget_status", {})).structured_content
    assert sorted(b["limit_usd"] for b in status["budgets"]) == [0.000001, MAX_USD]


async def _status(settings: Settings) -> dict[str, Any]:
    async with Client(gateway(settings)) as client:
        result = await client.call_tool("get_budget_status", {})
    assert not result.is_error, result.content
    return result.structured_content


async def test_budget_status_survives_what_older_versions_stored(settings: Settings) -> None:
    async with Client(gateway(settings)) as client:
        for scope in ("project:inf", "project:tiny", "project:ok"):
            assert not (await client.call_tool("set_budget", {"limit_usd": 5, "scope": scope})).is_error
    db = sqlite3.connect(settings.ledger_path)
    with db:
        db.execute("UPDATE budgets SET limit_usd = ? WHERE scope = 'project:inf'", (math.inf,))
        db.execute("UPDATE budgets SET limit_usd = ? WHERE scope = 'project:tiny'", (5e-324,))
        day, month = db.execute("SELECT strftime('%Y-%m-%d', 'now'), strftime('%Y-%m', 'now')").fetchone()
        db.execute("INSERT INTO budget_reservations (request_id, scope, day_key, month_key, reserved_usd,"
                   " cost_usd, state, created_at) VALUES ('r1', 'project:tiny', ?, ?, 1, ?, 'committed',"
                   " strftime('%s', 'now'))", (day, month, math.inf))
        db.execute("INSERT INTO alerts (ts, scope, window, window_key, threshold, spent_usd, limit_usd,"
                   " message, delivered) VALUES (strftime('%s', 'now'), 'project:inf', 'monthly', ?, 1, ?, ?,"
                   " 'old alert', 'not_configured')", (month, math.inf, math.inf))
    db.close()
    status = await _status(settings)
    infinite, tiny, ok = (next(b for b in status["budgets"] if b["scope"] == f"project:{name}")
                          for name in ("inf", "tiny", "ok"))
    assert infinite["limit_usd"] == MAX_USD and "limit_usd inf" in infinite["warning"]
    assert tiny["spent_usd"] == MAX_USD and math.isfinite(tiny["fraction"])
    assert "spent_usd inf" in tiny["warning"]
    assert ok.get("warning") is None and ok["limit_usd"] == 5
    assert [(a["spent_usd"], a["limit_usd"]) for a in status["alerts"]] == [(MAX_USD, MAX_USD)]
    async with Client(gateway(settings)) as client:  # and the budget can be set right again
        fixed = await client.call_tool("set_budget", {"limit_usd": 7, "scope": "project:inf"})
    assert not fixed.is_error and fixed.structured_content["before"]["limit_usd"] == MAX_USD
    assert "warning" not in fixed.structured_content["after"]


# Every numeric argument of every server, with values no check may let through.
CASES = [
    ("routing_gateway", "routed_complete", {"prompt": "hi", "max_cost_usd": INF}, "max_cost_usd"),
    ("routing_gateway", "routed_complete", {"prompt": "hi", "temperature": NAN}, "temperature"),
    ("routing_gateway", "routed_complete", {"prompt": "hi", "max_tokens": INF}, "max_tokens"),
    ("routing_gateway", "routed_complete", {"prompt": "hi", "max_age_s": INF}, "max_age_s"),
    ("routing_gateway", "routed_complete", {"prompt": "hi", "max_age_s": 5e-324}, "max_age_s"),
    ("routing_gateway", "routed_complete",
     {"messages": [{"role": "user", "content": [{"type": "text", "text": "x", "w": NAN}]}]},
     "messages"),
    ("routing_gateway", "explain_route", {"prompt": "hi", "max_cost_usd": 1e12}, "max_cost_usd"),
    ("openrouter_multimodal", "chat_completion",
     {"model": "openai/gpt-5-nano", "messages": [{"role": "user", "content": "hi"}],
      "provider": {"max_price": {"prompt": INF}}}, "max_price.prompt"),
    ("openrouter_multimodal", "chat_completion",
     {"model": "openai/gpt-5-nano", "messages": [{"role": "user", "content": "hi"}],
      "max_tokens": 10**12}, "max_tokens"),
    ("openrouter_multimodal", "analyze_audio", {"audio": "x.wav", "temperature": -INF},
     "temperature"),
    ("openrouter_multimodal", "search_models", {"max_price_per_million": INF},
     "max_price_per_million"),
    ("openrouter_multimodal", "search_models", {"min_context": 10**15}, "min_context"),
    ("openrouter_search", "web_search", {"query": "q", "max_age": INF}, "max_age"),
    ("openrouter_search", "web_search", {"query": "q", "max_tokens": 10**12}, "max_tokens"),
    ("openrouter_search", "research", {"question": "q", "max_age": NAN}, "max_age"),
    ("portkey_admin", "get_usage_analytics", {"filters": {"cost_min": INF}}, "cost_min"),
    ("portkey_admin", "get_usage_analytics", {"filters": {"prompt_token_max": -5}}, "prompt_token_max"),
    ("portkey_admin", "manage_api_keys",
     {"action": "rotate", "id": "k", "key_transition_period_ms": 10**20}, "key_transition_period_ms"),
    ("portkey_admin", "manage_logs", {"action": "add_feedback", "fields": {"weight": NAN}}, "weight"),
    ("portkey_admin", "get_audit_logs", {"response_status_code": 10**6}, "response_status_code"),
]


@pytest.mark.parametrize("server", sorted({case[0] for case in CASES}))
async def test_every_numeric_argument_is_checked(settings: Settings, upstream, server: str) -> None:
    module = __import__(f"gatewise.servers.{server}.server", fromlist=["create_server"])
    async with WireClient(module.create_server(settings)) as client:
        for _, tool, args, field in (case for case in CASES if case[0] == server):
            await refused(client, tool, args, field)
    assert upstream.stats()["totals"]["requests"] == 0
    assert await ledger_rows(settings) == []


@pytest.mark.parametrize(("section", "values"), [
    ("limits", {"deadline_s": math.inf}),
    ("limits", {"read_timeout_s": math.nan}),
    ("limits", {"max_output_tokens": 10**12}),
    ("routing", {"cost_threshold": 1e300}),
    ("routing", {"health": {"cooldown_s": 5e-324}}),
    ("budgets", {"rules": [{"limit_usd": math.inf}]}),
    ("budgets", {"alert_thresholds": [math.nan]}),
    ("caching", {"response_cache": {"max_size": "9" * 400 + "GB"}}),
    ("routing", {"config": {"strategy": {"mode": "loadbalance"},
                            "targets": [{"provider": "openai", "weight": math.inf}]}}),
])
def test_config_refuses_non_finite_and_absurd_numbers(tmp_path, section: str, values: dict[str, Any]) -> None:
    from gatewise.errors import GatewiseError

    with pytest.raises(GatewiseError) as caught:
        load_settings({}, data_dir=tmp_path, **{section: values})
    assert caught.value.code.value == "CONFIG_ERROR" and section in caught.value.message
