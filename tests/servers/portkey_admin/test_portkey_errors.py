"""portkey-admin's errors: missing scopes, Portkey's error bodies mapped to the taxonomy, safe
retries, pagination, bad input, destructive actions and dry runs, and local validation."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from gatewise.servers.portkey_admin.server import create_server
from mcp import Client
from mcp.server.mcpserver import MCPServer
from portkey_support import FALLBACK, WORKSPACE_KEY, fails, last_request, last_request_reply, ok, portkey_key

from gatewise.config import load_settings
from gatewise.errors import ErrorCode, GatewiseError
from gatewise.portkey import PortkeyAdmin, validate_config, validate_guardrail
from gatewise.portkey.actions import ACTIONS
from gatewise.portkey.endpoints import ENDPOINTS
from gatewise.portkey.errors import parse_error_body
from gatewise.portkey.models import GuardrailCheck
from gatewise.portkey.toolsets import ToolName
from gatewise_sandbox import SandboxServer
from tool_support import free_port

# --- errors and permissions --------------------------------------------------------------------


async def test_workspace_keys_get_forbidden_scope_naming_what_is_missing(
    connect, sandbox, settings, upstream
) -> None:
    async with connect(portkey_key(settings, sandbox, WORKSPACE_KEY)) as client:
        for tool, args, needs in [
            ("get_usage_analytics", {}, "analytics.view"),
            ("get_audit_logs", {}, "audit logs are Enterprise-gated"),
            ("manage_users", {"action": "list"}, "org users and invites are Enterprise-gated"),
            ("manage_users", {"action": "list_scim"}, "SCIM"),
            ("get_logs", {"action": "list_exports"}, "log exports are Enterprise-gated"),
        ]:
            text = await fails(client, tool, **args)
            assert "FORBIDDEN_SCOPE" in text and "AB03" in text and needs in text, text
            assert "portkey answered HTTP 403" in text and WORKSPACE_KEY not in text
        assert (await ok(client, "get_api_keys"))["provider"] == "portkey"  # workspace-scoped reads work
    async with connect(portkey_key(settings, sandbox, "pk-bad-0123456789abcdef")) as client:
        text = await fails(client, "get_api_keys")
        assert "UNAUTHORIZED" in text and "AB05" in text and "pk-bad-0123456789abcdef" not in text


async def test_an_admin_api_that_does_not_answer_gets_a_hint_that_fits(connect, sandbox, settings) -> None:
    """No answer from PORTKEY_BASE_URL: the hint says to check it, not to pick another model (a
    routed call's hint), which an Admin API call has none of."""
    down = portkey_key(settings, sandbox, "pk-live-0123456789abcdef").model_copy(
        update={"portkey_base_url": f"http://127.0.0.1:{free_port()}/v1"})
    async with connect(down) as client:
        text = await fails(client, "get_api_keys")
    message, hint = text.split(" Hint: ")
    assert message.endswith("UPSTREAM_ERROR: could not reach portkey: All connection attempts failed"), text
    assert "check PORTKEY_BASE_URL" in hint and "model" not in hint, text


def test_both_error_body_shapes_and_every_admin_code() -> None:
    assert parse_error_body(
        {
            "error": {
                "code": "AB01",
                "message": "name: required",
                "param": "name",
                "type": "invalid_request_error",
            }
        }
    ) == ("AB01", "name: required", "name")
    assert parse_error_body({"success": False, "data": {"message": "Resource not found"}}) == (
        None,
        "Resource not found",
        None,
    )
    assert parse_error_body("<html>bad gateway</html>") == (None, "<html>bad gateway</html>", None)


@pytest.mark.parametrize(
    ("status", "body", "code", "fragment"),
    [
        (
            409,
            {"success": False, "data": {"message": "A config with this name exists"}},
            "INVALID_INPUT",
            "(AB07): already exists",
        ),
        (
            402,
            {"success": False, "data": {"message": "Subscription exhausted", "code": "AB09"}},
            "INSUFFICIENT_CREDITS",
            "Subscription exhausted",
        ),
        (
            400,
            {"error": {"code": "AB01", "message": "bad value", "param": "scopes"}},
            "INVALID_INPUT",
            "(field: scopes)",
        ),
        (404, {"error": {"code": "AB08", "message": "API key not found"}}, "NOT_FOUND", "API key not found"),
        (429, {"error": {"message": "Too many requests"}}, "RATE_LIMITED", "Admin API requests per key"),
        (500, {"error": {"message": "boom"}}, "UPSTREAM_ERROR", "Portkey's Admin API failed"),
        (
            403,
            {"error": {"code": "AB03", "message": "You do not have enough permissions"}},
            "FORBIDDEN_SCOPE",
            "needs a key whose scopes allow this operation",
        ),
        (
            401,
            {"error": {"code": "AB05", "message": "Unauthorized access"}},
            "UNAUTHORIZED",
            "lacks that scope",
        ),
    ],
)
async def test_admin_errors_map_to_the_taxonomy(status, body, code, fragment) -> None:
    from gatewise.config import Limits
    from gatewise.portkey import PortkeyAdminClient

    transport = httpx.MockTransport(lambda request: httpx.Response(status, json=body))
    client = PortkeyAdminClient(
        "https://portkey.test/v1", "pk-live-secret-key-123", transport=transport, limits=Limits(max_retries=0)
    )
    try:
        with pytest.raises(GatewiseError) as info:
            await client.call("configs.create", body={"name": "x"})
    finally:
        await client.aclose()
    assert info.value.code == ErrorCode(code) and fragment in str(info.value), str(info.value)
    assert "pk-live-secret-key-123" not in str(info.value)
    assert "model" not in info.value.hint  # an Admin API call has no model to route to


async def test_writes_are_retried_only_when_nothing_was_applied() -> None:
    from gatewise.config import Limits
    from gatewise.portkey import PortkeyAdminClient

    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        if len(seen) == 1:
            return httpx.Response(429, headers={"Retry-After": "0"}, json={"error": {"code": "AB06"}})
        return httpx.Response(502, json={"error": {"message": "bad gateway"}})

    client = PortkeyAdminClient(
        "https://portkey.test/v1",
        "pk-x",
        transport=httpx.MockTransport(answer),
        limits=Limits(max_retries=3, backoff_base_s=0),
    )
    try:
        with pytest.raises(GatewiseError) as info:
            await client.call("labels.create", body={"name": "x"})
    finally:
        await client.aclose()
    assert seen == ["POST", "POST"] and info.value.code is ErrorCode.UPSTREAM_ERROR


async def test_an_oversized_or_malformed_answer_is_an_error_not_data() -> None:
    from gatewise.config import Limits
    from gatewise.portkey import PortkeyAdminClient

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/k1"):
            return httpx.Response(200, json={"data": "A" * (9 << 20)})  # past the 8 MiB an answer may take
        return httpx.Response(200, json={"data": "not a list"})

    client = PortkeyAdminClient("https://portkey.test/v1", "pk-x", transport=httpx.MockTransport(answer),
                                limits=Limits(max_retries=0))
    try:
        with pytest.raises(GatewiseError) as big:
            await client.call("api_keys.get", {"id": "k1"})
        with pytest.raises(GatewiseError) as odd:
            await client.list_all("api_keys.list")
    finally:
        await client.aclose()
    assert big.value.code is ErrorCode.UPSTREAM_ERROR and "over 8,388,608 bytes" in big.value.message
    assert odd.value.code is ErrorCode.UPSTREAM_ERROR and "holds no list" in odd.value.message


# --- pagination ---------------------------------------------------------------------------------


async def test_pagination_walks_every_style_and_stops_at_the_cap(upstream, sandbox, settings) -> None:
    admin = PortkeyAdmin(settings, page_size=10)
    try:
        every = await admin.run("get_api_keys", {"action": "list", "limit": 1000})
        assert len(every.items) == every.total == 25 and not every.truncated
        assert last_request(sandbox, "/v1/api-keys")["query"] == {"current_page": "2", "page_size": "10"}
        some = await admin.run("get_api_keys", {"action": "list", "limit": 12})
        assert len(some.items) == 12 and some.truncated and some.total == 25
        ids = [k["id"] for k in every.items]
        assert len(set(ids)) == 25  # no page fetched twice
        users = await admin.run("manage_users", {"action": "list", "limit": 1000})
        assert users.total == len(users.items) > 10
        assert set(last_request(sandbox, "/v1/admin/users")["query"]) == {"currentPage", "pageSize"}
        server = (await admin.run("manage_integrations", {"resource": "mcp_server", "action": "list"})).items[
            0
        ]
        client = await admin.client()
        client.page_size = 1
        caps = await admin.run(
            "manage_integrations",
            {"resource": "mcp_server", "action": "list_capabilities", "id": server["id"], "limit": 1000},
        )
        assert len(caps.items) > 1 and not caps.truncated
        path = f"/v1/mcp-servers/{server['id']}/capabilities"
        assert last_request(sandbox, path)["query"] == {"page": str(len(caps.items)), "page_size": "1"}
        client.page_size, client.max_pages = 5, 2
        capped = await admin.run("get_api_keys", {"action": "list", "limit": 1000})
        assert len(capped.items) == 10 and capped.truncated
    finally:
        await admin.aclose()


# --- bad input and destructive actions ----------------------------------------------------------

BAD_INPUT = [
    ("get_api_keys", {"action": "get"}, "`id` is required for action 'get'"),
    ("get_api_keys", {"action": "list", "id": "x"}, "`id` does not apply to action 'list'"),
    ("get_api_keys", {"limit": 0}, "limit"),
    ("manage_api_keys", {"action": "create"}, "INVALID_INPUT: name: Field required"),
    ("manage_api_keys", {"action": "create", "name": "x"}, "INVALID_INPUT: scopes: Field required"),
    ("manage_api_keys", {"action": "create", "name": "x", "fields": {"scopse": []}}, "did you mean 'scopes'"),
    ("manage_api_keys", {"action": "rotate", "id": "x", "key_transition_period_ms": 5}, "1800000"),
    (
        "manage_api_keys",
        {"action": "update", "id": "x", "fields": {"rate_limits": [{"type": "requests"}]}},
        "fields.rate_limits[0].unit: Field required",
    ),
    ("manage_virtual_keys", {"action": "create", "name": "x"}, "INVALID_INPUT: provider: Field required"),
    ("manage_virtual_keys", {"action": "explode"}, "action"),
    ("get_usage_analytics", {"metric": "profit"}, "metric"),
    ("get_usage_analytics", {"timeframe": "7y"}, "unknown unit 'y'"),
    ("get_usage_analytics", {"group_by": "metadata"}, "needs `metadata_key`"),
    ("get_usage_analytics", {"metadata_key": "env"}, "applies only to group_by 'metadata'"),
    ("get_usage_analytics", {"filters": {"cost_mn": 1}}, "cost_mn"),
    ("get_usage_analytics", {"filters": {"ai_org_model": ["gpt-4o"]}}, "ai_org_model"),
    ("get_usage_analytics", {"filters": {"status_code": [42]}}, "status_code"),
    ("get_usage_analytics", {"filters": {"weighted_feedback_min": -11}}, "weighted_feedback_min"),
    ("get_usage_analytics", {"start": "2026-02-01", "end": "2026-01-01"}, "the end must be after the start"),
    ("get_usage_analytics", {"start": "0001-01-01T00:00:00+23:59", "end": "0001-01-02"},
     "INVALID_INPUT: the start '0001-01-01T00:00:00+23:59' is outside the instants that can be read"),
    ("get_workspace_stats", {"start": "9999-12-30", "end": "9999-12-31T23:59:59-23:59"},
     "INVALID_INPUT: the end '9999-12-31T23:59:59-23:59' is outside the instants that can be read"),
    ("get_audit_logs", {"start": "0001-01-01T00:00:00+00:01", "end": "0001-01-01T12:00Z"},
     "is outside the instants that can be read"),
    ("get_workspace_stats", {"timeframe": "soon"}, "cannot read the timeframe"),
    ("get_workspace_stats", {"limit": 500}, "limit"),
    ("manage_workspaces", {"action": "get"}, "`workspace_id` is required"),
    (
        "manage_workspaces",
        {"action": "add_members", "workspace_id": "w", "user_id": "u", "role": "boss"},
        "role",
    ),
    (
        "manage_users",
        {"action": "invite", "email": "nobody", "role": "member", "fields": {"workspaces": []}},
        "email: String should match pattern",
    ),
    ("manage_users", {"action": "list", "invite_id": "x"}, "`invite_id` does not apply to action 'list'"),
    ("manage_users", {"action": "create_scim", "workspace_id": "w", "role": "member"}, "scim_group_name"),
    (
        "manage_configs",
        {"action": "create", "name": "x", "config": {"strategy": {"mode": "fallback"}}},
        "needs a non-empty 'targets' list",
    ),
    ("manage_configs", {"action": "update"}, "`slug` is required"),
    ("manage_configs", {"action": "create", "name": "x"}, "INVALID_INPUT: config: Field required"),
    ("manage_configs", {"action": "validate"}, "`config` is required"),
    (
        "configure_guardrails",
        {"action": "create", "name": "x", "checks": [{"id": "default.nope"}], "actions": {"deny": True}},
        "unknown check 'default.nope'",
    ),
    (
        "configure_guardrails",
        {"action": "validate", "checks": [{"id": "default.regexMatch", "params": {}}]},
        "params",
    ),
    (
        "configure_guardrails",
        {
            "action": "create",
            "name": "x",
            "checks": [{"id": "default.containsCode", "parameters": {"format": "COBOL"}}],
            "actions": {},
        },
        "'COBOL' is not one of",
    ),
    (
        "manage_prompts",
        {"resource": "label", "action": "render", "id": "x"},
        "action 'render' is not available for resource 'label'",
    ),
    ("manage_prompts", {"action": "create", "fields": {"name": "x"}}, "fields.collection_id: Field required"),
    ("manage_limits", {"resource": "rate", "action": "list_entities", "id": "x"}, "not available"),
    (
        "manage_limits",
        {
            "resource": "rate",
            "action": "create",
            "fields": {"conditions": [], "group_by": [], "type": "requests", "unit": "rpy", "value": 1},
        },
        "fields.unit",
    ),
    ("get_logs", {"action": "get"}, "`id` is required"),
    ("manage_logs", {"action": "insert"}, "`entries` needs at least one log entry"),
    ("manage_logs", {"action": "add_feedback", "fields": {"trace_id": "t", "value": "high"}}, "fields.value"),
    ("get_audit_logs", {"user_type": "robot"}, "user_type"),
    ("get_audit_logs", {"timeframe": "0h"}, "is empty"),
    (
        "manage_integrations",
        {"resource": "pricing", "action": "list"},
        "not available for resource 'pricing'",
    ),
    (
        "manage_integrations",
        {
            "resource": "secret_reference",
            "action": "create",
            "fields": {"name": "x", "manager_type": "1password", "auth_config": {}, "secret_path": "p"},
        },
        "fields.manager_type",
    ),
    (
        "manage_integrations",
        {
            "resource": "mcp_integration",
            "action": "create",
            "fields": {"name": "x", "url": "ftp://x", "auth_type": "none", "transport": "http"},
        },
        "fields.url",
    ),
]


@pytest.fixture(scope="module")
def refusing_server(sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> MCPServer[Any]:
    """One server for every bad-input case: each is refused before it changes anything, and building
    portkey-admin's tools (their argument models and schemas) takes a quarter of a second."""
    folder = tmp_path_factory.mktemp("portkey-bad-input")
    return create_server(load_settings({}, data_dir=folder, sandbox_url=sandbox.url), "all")


@pytest.mark.parametrize(
    ("tool", "args", "fragment"), BAD_INPUT, ids=[f"{t}-{i}" for i, (t, _, _) in enumerate(BAD_INPUT)]
)
async def test_bad_input_is_a_clear_error(refusing_server: MCPServer[Any], tool, args, fragment) -> None:
    async with Client(refusing_server) as client:
        text = await fails(client, tool, **args)
    assert fragment in text, text


def test_every_tool_has_bad_input_cases() -> None:
    assert {tool for tool, _, _ in BAD_INPUT} == {t.value for t in ToolName}


DESTRUCTIVE = [
    (tool, resource, action, spec)
    for tool, resources in ACTIONS.items()
    for resource, actions in resources.items()
    for action, spec in actions.items()
    if spec.kind == "destructive"
]


@pytest.mark.parametrize(
    ("tool", "resource", "action", "spec"),
    DESTRUCTIVE,
    ids=[f"{t}-{r or 'item'}-{a}" for t, r, a, _ in DESTRUCTIVE],
)
async def test_destructive_actions_refuse_without_confirm(
    upstream, sandbox, settings, tool, resource, action, spec
) -> None:
    admin = PortkeyAdmin(settings)
    args = {
        "action": action,
        **({"resource": resource} if resource else {}),
        **{arg: "probe" for arg in spec.path.values()},
    }
    if "key" in spec.body_args:
        args["key"] = "sk-new-provider-key"
    try:
        with pytest.raises(GatewiseError, match="confirm: true") as info:
            await admin.run(tool, args)
    finally:
        await admin.aclose()
    assert info.value.code is ErrorCode.INVALID_INPUT and "nothing was changed" in info.value.message
    path = "/v1" + ENDPOINTS[spec.op].path
    for placeholder in spec.path:
        path = path.replace("{" + placeholder + "}", "probe")
    assert last_request_reply(sandbox, path).status_code == 404


async def test_dry_run_previews_and_changes_nothing(connect, upstream) -> None:
    async with connect() as client:
        label = (
            await ok(client, "manage_prompts", resource="label", action="create", fields={"name": "keep-me"})
        )["item"]["id"]
        for action, extra in (("update", {"fields": {"name": "renamed"}}), ("delete", {"confirm": False})):
            preview = await ok(
                client, "manage_prompts", resource="label", action=action, id=label, dry_run=True, **extra
            )
            assert not preview["applied"] and preview["item"]["current"]["name"] == "keep-me"
            assert preview["item"]["request"]["path"] == f"/labels/{label}"
            assert "dry run: nothing was changed" in preview["notes"][0]
        made = await ok(
            client, "manage_prompts", resource="label", action="create", fields={"name": "x-y"}, dry_run=True
        )
        assert made["item"] == {
            "current": None,
            "request": {"method": "POST", "path": "/labels", "body": {"name": "x-y"}},
        }
        assert (await ok(client, "manage_prompts", resource="label", action="get", id=label))["item"][
            "name"
        ] == "keep-me"
        names = [
            lb["name"]
            for lb in (await ok(client, "manage_prompts", resource="label", action="list", limit=1000))[
                "items"
            ]
        ]
        assert "x-y" not in names and "keep-me" in names


# --- local validation units ---------------------------------------------------------------------


def test_config_validation_names_the_exact_field() -> None:
    assert validate_config(FALLBACK).valid  # any provider's own model names are fine for Portkey
    conditional = {
        "strategy": {
            "mode": "conditional",
            "conditions": [{"query": {"metadata.tier": {"$eq": "free"}}, "then": "cheap"}],
            "default": "strong",
        },
        "targets": [{"name": "cheap", "virtual_key": "vk-1"}, {"name": "strong", "virtual_key": "vk-2"}],
    }
    assert validate_config(conditional).valid
    broken = {**conditional, "strategy": {**conditional["strategy"], "default": "premium"}}
    assert validate_config(broken).errors == [
        "strategy.default: names no target: 'premium' (targets: 'cheap', 'strong')"
    ]
    assert validate_config({"cb_config": {"failure_threshold": 0, "cooldown_interval": 10}}).errors == [
        "cb_config.failure_threshold: must be a number ≥ 1",
        "cb_config.cooldown_interval: must be ≥ 30000 (milliseconds)",
    ]
    assert validate_config('{"retry": ').errors[0].startswith("config: not valid JSON")
    assert validate_config({"retry": {"attempts": 9}}).warnings == ["retry.attempts: 9 capped at 5"]


def test_guardrail_validation_knows_portkeys_checks() -> None:
    def errors(*checks: dict[str, Any]) -> list[str]:
        return validate_guardrail([GuardrailCheck(**c) for c in checks]).errors

    assert errors({"id": "default.jsonKeys", "parameters": {"keys": ["a"], "operator": "any"}}) == []
    assert errors({"id": "azure.contentSafety", "parameters": {"anything": 1}}) == []  # partner-defined
    assert errors({"id": "default.wordCount", "parameters": {"minWords": 10, "maxWords": 2}}) == [
        "checks[0].parameters.minWords: is greater than maxWords"
    ]
    assert errors({"id": "portkey.piii"}) == [
        "checks[0].id: unknown check 'portkey.piii'; did you mean 'portkey.pii'?"
    ]
    assert errors({"id": "default.jwt", "parameters": {"jwksUri": "https://x"}}) == [
        "checks[0].parameters.headerKey: required by default.jwt"
    ]
    assert errors({"id": "default.regexMatch", "parameters": {"rule": "x", "not": "yes"}}) == [
        "checks[0].parameters.not: must be true or false"
    ]
    mixed = validate_guardrail(
        [
            GuardrailCheck(id="default.modelWhitelist", parameters={"models": ["a"]}),
            GuardrailCheck(id="default.jsonSchema", parameters={"schema": {}}),
        ]
    )
    assert mixed.valid and any("request-only and response-only" in w for w in mixed.warnings)

