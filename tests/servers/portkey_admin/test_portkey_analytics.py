"""portkey-admin's analytics: every metric and grouping, charts beside the gateway's own ledger,
composed workspace stats, and every filter of every tool reaching Portkey."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from gatewise.servers.portkey_admin.server import create_server
from portkey_support import WORKSPACE_KEY, fails, last_request, ok, portkey_key
from pydantic import SecretStr

from gatewise.config import load_settings
from gatewise.portkey.actions import ACTIONS
from gatewise.portkey.endpoints import ENDPOINTS
from store_support import call_record

# --- analytics and workspace stats -------------------------------------------------------------

METRICS = [
    "requests",
    "cost",
    "latency",
    "tokens",
    "users",
    "user_requests",
    "errors",
    "error_rate",
    "error_stacks",
    "error_status_codes",
    "rescued_requests",
    "cache_hit_rate",
    "cache_latency",
    "feedback",
    "feedback_scores",
    "feedback_weighted",
    "feedback_models",
    "cache_summary",
]


async def test_every_analytics_metric_and_grouping(connect, upstream) -> None:
    async with connect() as client:
        for metric in METRICS:
            out = await ok(client, "get_usage_analytics", metric=metric, timeframe="30d")
            assert out["metric"] == metric and out["provider"] == "sandbox"
            assert out["summary"] or out["data_points"], metric
        cost = await ok(client, "get_usage_analytics", timeframe="30d")
        assert cost["summary"]["total"] > 0 and cost["portkey_cost_usd"] == pytest.approx(
            cost["summary"]["total"] / 100, rel=1e-6
        )
        users = await ok(client, "get_usage_analytics", metric="requests", group_by="users", limit=3)
        assert len(users["groups"]) == 3 and users["groups_total"] > 3
        assert all(isinstance(g["requests"], int) for g in users["groups"])  # Portkey sends strings
        models = await ok(client, "get_usage_analytics", group_by="ai_models")
        assert models["groups"] and "ai_model" in models["groups"][0]
        envs = await ok(
            client, "get_usage_analytics", group_by="metadata", metadata_key="env", timeframe="90d"
        )
        assert {g["metadata_value"] for g in envs["groups"]} <= {"prod", "staging"}


async def test_charts_and_the_gateway_side_by_side(connect, upstream, settings) -> None:
    from gatewise.ledger import open_ledger

    ledger = open_ledger(settings.ledger_path)
    try:
        await ledger.record(call_record(model="openai/gpt-4o-mini", tokens_in=1000, tokens_out=500,
                                        cost_usd=0.25, latency_ms=80.0, route_reason="test",
                                        request_id="r1"))
    finally:
        await ledger.close()
    async with connect() as client:
        for args in (
            {"chart": True},
            {"metric": "requests", "chart": True},
            {"group_by": "ai_models", "chart": True},
            {"include_gateway": True, "chart": True},
        ):
            result = await client.call_tool("get_usage_analytics", args)
            assert not result.is_error, result.content[0].text
            text, image = result.content
            assert image.type == "image" and image.mime_type == "image/png"
            assert base64.b64decode(image.data).startswith(b"\x89PNG")
            assert json.loads(text.text) == result.structured_content
        both = result.structured_content
        assert both["gateway"]["requests"] == 1 and both["gateway"]["cost_usd"] == pytest.approx(0.25)
        assert both["combined_cost_usd"] == pytest.approx(both["portkey_cost_usd"] + 0.25)
        latency = await ok(client, "get_usage_analytics", metric="latency", include_gateway=True)
        assert latency["portkey_cost_usd"] > 0  # the cost graph is fetched for the comparison
        assert "no chart for metric 'latency'" in await fails(
            client, "get_usage_analytics", metric="latency", chart=True
        )


async def test_the_gateway_side_reads_the_shared_database(connect, upstream, settings) -> None:
    from gatewise.storage.backends import open_stores
    from pg_support import throwaway_database

    with throwaway_database() as url:
        shared = settings.model_copy(update={"storage": settings.storage.model_copy(
            update={"url": SecretStr(url)})})
        # Another instance's call, in the database only: this process's data_dir has no ledger.
        stores = await open_stores(shared)
        try:
            await stores.ledger.record(call_record(cost_usd=0.25, request_id="elsewhere"))
        finally:
            await stores.budgets.close()
            await stores.ledger.close()
            assert stores.database is not None
            await stores.database.close()
        async with connect(shared) as client:
            both = await ok(client, "get_usage_analytics", include_gateway=True)
    assert both["gateway"]["requests"] == 1 and both["gateway"]["cost_usd"] == pytest.approx(0.25)
    assert not shared.ledger_path.exists()


async def test_workspace_stats_compose_several_endpoints(connect, upstream, sandbox, settings) -> None:
    async with connect() as client:
        report = await ok(client, "get_workspace_stats", timeframe="30d")
        assert report["workspaces"] and not report["truncated"]
        for ws in report["workspaces"]:
            assert ws["errors"] == {}
            assert min(ws["members"], ws["api_keys"], ws["configs"], ws["requests"]) >= 0
        busiest = max(report["workspaces"], key=lambda w: w["requests"])
        assert busiest["requests"] > 0 and busiest["cost_cents"] > 0
        one = await ok(client, "get_workspace_stats", workspace_id=busiest["id"], timeframe="30d")
        assert [w["id"] for w in one["workspaces"]] == [busiest["id"]]
        assert one["workspaces"][0]["requests"] == busiest["requests"]
    # A workspace key may read its workspace but not Enterprise analytics: those fields say why.
    async with connect(portkey_key(settings, sandbox, WORKSPACE_KEY)) as client:
        partial = await ok(client, "get_workspace_stats", workspace_id=busiest["id"])
        stats = partial["workspaces"][0]
        assert stats.get("requests") is None and stats.get("cost_cents") is None
        assert (
            stats["errors"]["requests"].startswith("FORBIDDEN_SCOPE")
            and "analytics.view" in stats["errors"]["cost_cents"]
        )
        assert stats["api_keys"] is not None


# --- every filter reaches Portkey ---------------------------------------------------------------


def probe_value(schema: dict[str, Any]) -> Any:
    """A value for a filter of this schema; numbers are 0 (or their minimum, if above 0) and flags
    false, to prove zeros travel."""
    if "enum" in schema:
        return schema["enum"][0]
    items = schema.get("items", {})
    numbers = [items.get("minimum", 0), items.get("maximum", 1)]
    return {
        "string": "probe",
        "integer": max(schema.get("minimum", 0), 0),
        "number": max(schema.get("minimum", 0), 0),
        "boolean": False,
        "array": numbers if items.get("type") == "integer" else ["a", "b"],
        "object": {"env": "prod"},
    }[schema["type"]]


def expected(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


async def test_every_analytics_filter_is_sent_zeros_included(connect, upstream, sandbox) -> None:
    async with connect() as client:
        tool = next(t for t in (await client.list_tools()).tools if t.name == "get_usage_analytics")
        schema = tool.input_schema["properties"]["filters"]["properties"]  # inlined (inline_schema)
        filters = {name: probe_value(prop) for name, prop in schema.items()}
        filters["ai_org_model"] = ["openai__gpt-4o", "anthropic__claude-sonnet-4"]
        filters["metadata"] = [{"key": "env", "value": "prod"}]  # {key, value} pairs, sent as an object
        assert filters["cost_min"] == 0 and filters["weighted_feedback_min"] == 0
        for args, path in (
            ({}, "/v1/analytics/graphs/cost"),
            ({"group_by": "users"}, "/v1/analytics/groups/users"),
            ({"group_by": "metadata", "metadata_key": "env"}, "/v1/analytics/groups/metadata/env"),
        ):
            result = await ok(
                client,
                "get_usage_analytics",
                workspace_slug="probe",
                filters=filters,
                start="2026-01-01T00:00:00Z",
                end="2026-01-02",
                **args,
            )
            sent = last_request(sandbox, path)["query"]
            for name, value in {**filters, "workspace_slug": "probe", "metadata": {"env": "prod"}}.items():
                assert sent.get(name) == expected(value), f"{name} was not forwarded to {path}"
                assert result["query"][name] == expected(value)
            assert sent["time_of_generation_min"].startswith("2026-01-01T00:00:00")
            assert sent["time_of_generation_max"].startswith("2026-01-03T00:00:00")


async def test_every_list_filter_of_every_tool_is_sent(connect, upstream, sandbox) -> None:
    async with connect() as client:
        schemas = {t.name: t.input_schema["properties"] for t in (await client.list_tools()).tools}
        checked = 0
        for tool, resources in ACTIONS.items():
            for resource, actions in resources.items():
                for action, spec in actions.items():
                    if spec.kind != "list" or not spec.query:
                        continue
                    args = {name: probe_value(schemas[tool][name]) for name in spec.query}
                    ids = {arg: "probe" for arg in spec.path.values()}
                    extra = {"resource": resource} if resource else {}
                    await client.call_tool(tool, {"action": action, **extra, **ids, **args})
                    path = "/v1" + ENDPOINTS[spec.op].path
                    for placeholder in spec.path:
                        path = path.replace("{" + placeholder + "}", "probe")
                    sent = last_request(sandbox, path)["query"]
                    for name, value in args.items():
                        assert sent.get(name) == expected(value), f"{tool}/{resource}/{action}: {name}"
                        checked += 1
        audit = {
            name: probe_value(prop)
            for name, prop in schemas["get_audit_logs"].items()
            if name not in ("timeframe", "start", "end", "limit")
        }
        await client.call_tool("get_audit_logs", audit)
        sent = last_request(sandbox, "/v1/audit-logs")["query"]
        assert all(sent.get(name) == expected(value) for name, value in audit.items()), sent
    assert checked >= 40


async def test_no_tool_argument_is_silently_ignored() -> None:
    """Every argument a tool declares is used by at least one of its actions (or its own code)."""
    server = create_server(load_settings({}))
    composed = {"get_usage_analytics", "get_workspace_stats", "get_audit_logs"}
    common = {"action", "resource", "confirm", "dry_run", "limit"}
    for tool in await server.list_tools():
        if tool.name in composed:
            continue
        used = set().union(
            *(spec.arguments for actions in ACTIONS[tool.name].values() for spec in actions.values())
        )
        unused = set(tool.input_schema["properties"]) - used - common
        assert not unused, f"{tool.name} declares {unused} but no action uses them"

