"""portkey-admin through a real in-memory MCP client, in both protocol eras, against the sandbox's
Portkey Admin API stand-in (plus unit tests of the core it is built on)."""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from gatewise.servers.portkey_admin.server import ToolName, create_server, parse_toolsets
from mcp import Client, StdioServerParameters
from mcp.server.mcpserver import MCPServer
from mcp.types import INVALID_PARAMS
from pydantic import SecretStr

from gatewise.config import Settings, load_settings
from gatewise.errors import ErrorCode, GatewiseError
from gatewise.portkey import PortkeyAdmin, resolve_target, validate_config, validate_guardrail
from gatewise.portkey.actions import ACTIONS
from gatewise.portkey.endpoints import ENDPOINTS
from gatewise.portkey.errors import parse_error_body
from gatewise.portkey.models import GuardrailCheck
from gatewise_sandbox import SandboxServer
from spec_support import PORTKEY_SPEC, load_spec
from tool_support import call, check_contract, error_text

CONTRACT = Path(__file__).parent / "contract" / "portkey_admin_tools.json"
MAX_TOOLS_LIST_BYTES = 30 * 1024
WORKSPACE_KEY = "pk-ws-0123456789abcdef"


# --- fixtures and helpers ----------------------------------------------------------------------


@pytest.fixture(params=["auto", "legacy"])
def connect(request: pytest.FixtureRequest, settings: Settings):
    """An in-memory client factory in both protocol eras; tests open it with ``async with``."""

    def factory(custom: Settings | None = None, toolsets: str | None = None) -> Client:
        return Client(create_server(custom or settings, toolsets or "all"), mode=request.param)

    return factory


def portkey_key(settings: Settings, sandbox: SandboxServer, key: str) -> Settings:
    """Settings that send ``key`` to the sandbox's Portkey stand-in as if it were Portkey."""
    return settings.model_copy(
        update={"portkey_api_key": SecretStr(key), "portkey_base_url": sandbox.root_url + "/v1"}
    )


def last_request(sandbox: SandboxServer, path: str) -> dict[str, Any]:
    reply = httpx.get(f"{sandbox.root_url}/_sandbox/portkey/last-request", params={"path": path}, timeout=10)
    reply.raise_for_status()
    return reply.json()



async def ok(client: Client, tool: str, **args: Any) -> dict[str, Any]:
    return await call(client, tool, args)


async def fails(client: Client, tool: str, **args: Any) -> str:
    text = await error_text(client, tool, args)
    assert "Error executing tool" in text
    return text


# --- contract, size, toolsets ------------------------------------------------------------------


async def test_tools_list_matches_the_contract_and_stays_small(connect) -> None:
    async with connect() as client:
        listed = await client.list_tools()
    size = len(listed.model_dump_json(by_alias=True, exclude_none=True).encode())
    print(f"\ntools/list: {len(listed.tools)} tools, {size} bytes, ~{size // 4} tokens")
    assert size <= MAX_TOOLS_LIST_BYTES
    current = check_contract(listed.tools, CONTRACT)
    assert set(current) == {t.value for t in ToolName}
    for name, tool in current.items():
        hints = tool["annotations"]
        assert hints["openWorldHint"] is True
        if name.startswith("get_"):
            assert (hints["readOnlyHint"], hints["destructiveHint"], hints["idempotentHint"]) == (
                True,
                False,
                True,
            )
        else:
            assert (hints["readOnlyHint"], hints["destructiveHint"], hints["idempotentHint"]) == (
                False,
                True,
                False,
            )
        assert tool["outputSchema"]["type"] == "object"


async def test_toolsets_select_what_a_client_loads(connect) -> None:
    async with connect(toolsets="keys, analytics") as client:
        names = {t.name for t in (await client.list_tools()).tools}
    assert names == {"get_api_keys", "manage_api_keys", "manage_virtual_keys", "get_usage_analytics"}
    server = create_server(load_settings({"GATEWISE_PORTKEY_TOOLSETS": "guardrails"}))
    assert {t.name for t in await server.list_tools()} == {"configure_guardrails"}
    assert parse_toolsets("all") == parse_toolsets("") == frozenset(ToolName)
    with pytest.raises(GatewiseError, match="unknown toolset 'billing'"):
        parse_toolsets("keys,billing")


def test_tools_of_disabled_toolsets_are_never_registered(monkeypatch) -> None:
    """Filtered before registration: a disabled tool's argument model is never built."""
    registered: list[str | None] = []
    add_tool = MCPServer.add_tool

    def spy(self: MCPServer[Any], fn: Any, name: str | None = None, *args: Any, **kwargs: Any) -> None:
        registered.append(name)
        add_tool(self, fn, name, *args, **kwargs)

    monkeypatch.setattr(MCPServer, "add_tool", spy)
    create_server(load_settings({}), "guardrails")
    assert registered == ["configure_guardrails"]


async def test_action_and_resource_choices_are_the_catalogues() -> None:
    """Each tool's `action` (and `resource`) accepts exactly what gatewise.portkey.actions defines."""
    server = create_server(load_settings({}))
    tools = {t.name: t.input_schema["properties"] for t in await server.list_tools()}
    for name, resources in ACTIONS.items():
        actions = list(dict.fromkeys(a for by_action in resources.values() for a in by_action))
        assert tools[name]["action"]["enum"] == actions, name
        if "" not in resources:
            assert tools[name]["resource"]["enum"] == list(resources), name
        else:
            assert "resource" not in tools[name], name


def test_main_rejects_an_unknown_toolset_before_serving(monkeypatch, capsys) -> None:
    from gatewise.servers.portkey_admin.__main__ import main

    monkeypatch.setenv("GATEWISE_PORTKEY_TOOLSETS", "keys,billing")
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2
    assert "unknown toolset 'billing'" in capsys.readouterr().err


async def test_unknown_tool_is_a_protocol_error(connect) -> None:
    from mcp import MCPError

    async with connect() as client:
        with pytest.raises(MCPError) as info:
            await client.call_tool("list_everything", {})
    assert info.value.code == INVALID_PARAMS


# --- which upstream answers --------------------------------------------------------------------


def test_target_a_key_means_portkey_and_no_key_means_the_sandbox(tmp_path) -> None:
    real = load_settings(
        {}, data_dir=tmp_path, portkey_api_key="pk-live-abcdefgh1234", openrouter_api_key="sk-or-x"
    )
    assert resolve_target(real).provider == "portkey"
    assert resolve_target(real).base_url == "https://api.portkey.ai/v1"
    boxed = load_settings({}, data_dir=tmp_path, sandbox_url="http://127.0.0.1:9/api/v1")
    assert resolve_target(boxed).provider == "sandbox"
    assert resolve_target(boxed).base_url == "http://127.0.0.1:9/v1"
    assert resolve_target(load_settings({}, data_dir=tmp_path)).base_url is None  # embedded sandbox
    assert resolve_target(load_settings({}, data_dir=tmp_path, openrouter_api_key="sk-or-x")) is None


async def test_without_any_key_tools_list_and_calls_say_what_is_missing(connect, tmp_path) -> None:
    keyless = load_settings({}, data_dir=tmp_path, openrouter_api_key="sk-or-only")
    async with connect(keyless) as client:
        assert len((await client.list_tools()).tools) == len(ToolName)
        text = await fails(client, "get_api_keys")
        assert "UNAUTHORIZED" in text and "PORTKEY_API_KEY" in text
        # Local validation needs no key at all.
        checked = await ok(client, "manage_configs", action="validate", config={"retry": {"attempts": 2}})
        assert checked["item"]["valid"] is True and checked["provider"] == "local"


async def test_embedded_sandbox_starts_on_first_use(tmp_path) -> None:
    admin = PortkeyAdmin(load_settings({}, data_dir=tmp_path))
    try:
        result = await admin.run("get_api_keys", {"action": "list", "limit": 2})
        assert result.provider == "sandbox" and len(result.items) == 2
    finally:
        await admin.aclose()


# --- every tool, every action, against the sandbox ---------------------------------------------


async def test_api_keys_lifecycle_shows_each_secret_once(connect, upstream, sandbox, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    async with connect() as client:
        listed = await ok(client, "get_api_keys", limit=100)
        assert listed["provider"] == "sandbox" and listed["total"] == len(listed["items"])
        workspace_id = next(k["workspace_id"] for k in listed["items"] if k.get("workspace_id"))
        made = await ok(
            client,
            "manage_api_keys",
            action="create",
            name="ci bot",
            scopes=["logs.view"],
            workspace_id=workspace_id,
            fields={"rate_limits": [{"type": "requests", "unit": "rpm", "value": 60}]},
        )
        secret, key_id = made["secret"], made["item"]["id"]
        assert secret and made["applied"] and "shown only" in made["notes"][0]
        assert secret not in json.dumps(made["item"])
        seen = [
            await ok(client, "get_api_keys", action="get", id=key_id),
            await ok(client, "manage_api_keys", action="get", id=key_id),
            await ok(client, "manage_api_keys", action="list", workspace_id=workspace_id),
            await ok(client, "manage_api_keys", action="update", id=key_id, name="ci bot 2"),
        ]
        assert seen[0]["item"]["name"] == "ci bot" and seen[3]["applied"]
        assert key_id in [k["id"] for k in seen[2]["items"]]
        assert last_request(sandbox, "/v1/api-keys")["query"]["workspace_id"] == workspace_id
        refused = await fails(client, "manage_api_keys", action="rotate", id=key_id)
        assert "confirm" in refused and "nothing was changed" in refused
        preview = await ok(client, "manage_api_keys", action="rotate", id=key_id, dry_run=True)
        assert not preview["applied"] and preview["item"]["current"]["id"] == key_id
        assert preview["item"]["request"] == {
            "method": "POST",
            "path": f"/api-keys/{key_id}/rotate",
            "body": {},
        }
        rotated = await ok(
            client,
            "manage_api_keys",
            action="rotate",
            id=key_id,
            confirm=True,
            key_transition_period_ms=1_800_000,
        )
        assert rotated["secret"] and rotated["secret"] != secret
        later = [
            await ok(client, "get_api_keys", limit=100),
            await ok(client, "get_api_keys", action="get", id=key_id),
        ]
        for output in [*seen, preview, *later]:
            assert secret not in json.dumps(output) and rotated["secret"] not in json.dumps(output)
        assert secret not in caplog.text and rotated["secret"] not in caplog.text
        await ok(client, "manage_api_keys", action="delete", id=key_id, confirm=True)
        gone = await fails(client, "get_api_keys", action="get", id=key_id)
        assert "NOT_FOUND" in gone


async def test_virtual_keys_never_echo_the_provider_key(connect, upstream) -> None:
    provider_key = "sk-provider-secret-0123456789"
    async with connect() as client:
        made = await ok(
            client,
            "manage_virtual_keys",
            action="create",
            name="openai main",
            provider="openai",
            key=provider_key,
            fields={"note": "ci"},
        )
        slug = made["item"]["slug"]
        outputs = [
            made,
            await ok(client, "manage_virtual_keys", action="list", limit=100),
            await ok(client, "manage_virtual_keys", action="get", slug=slug),
            await ok(client, "manage_virtual_keys", action="update", slug=slug, fields={"note": "x"}),
            await ok(
                client,
                "manage_virtual_keys",
                action="rotate",
                slug=slug,
                key=provider_key + "2",
                dry_run=True,
            ),
            await ok(
                client,
                "manage_virtual_keys",
                action="rotate",
                slug=slug,
                key=provider_key + "2",
                confirm=True,
            ),
        ]
        assert slug in [v["slug"] for v in outputs[1]["items"]]
        assert all(provider_key not in json.dumps(o) for o in outputs)
        assert outputs[4]["item"]["request"]["body"]["key"] != provider_key + "2"  # masked in previews
        assert "`key` is required" in await fails(
            client, "manage_virtual_keys", action="rotate", slug=slug, confirm=True
        )
        await ok(client, "manage_virtual_keys", action="delete", slug=slug, confirm=True)
        assert "NOT_FOUND" in await fails(client, "manage_virtual_keys", action="get", slug=slug)


async def test_workspaces_and_members(connect, upstream) -> None:
    async with connect() as client:
        users = (await ok(client, "manage_users", action="list", limit=3))["items"]
        made = await ok(
            client,
            "manage_workspaces",
            action="create",
            name="Payments",
            fields={"description": "card flows"},
        )
        ws = made["item"]["id"]
        assert (await ok(client, "manage_workspaces", action="get", workspace_id=ws))["item"][
            "name"
        ] == "Payments"
        found = await ok(client, "manage_workspaces", action="list", name="Pay", status="active")
        assert [w["id"] for w in found["items"]] == [ws]
        await ok(client, "manage_workspaces", action="update", workspace_id=ws, name="Payments EU")
        await ok(
            client,
            "manage_workspaces",
            action="add_members",
            workspace_id=ws,
            user_id=users[0]["id"],
            role="manager",
        )
        members = await ok(
            client, "manage_workspaces", action="list_members", workspace_id=ws, role="manager"
        )
        assert [m["id"] for m in members["items"]] == [users[0]["id"]]
        member = {"workspace_id": ws, "user_id": users[0]["id"]}
        assert (await ok(client, "manage_workspaces", action="get_member", **member))["item"][
            "role"
        ] == "manager"
        await ok(client, "manage_workspaces", action="update_member", role="admin", **member)
        await ok(client, "manage_workspaces", action="remove_member", confirm=True, **member)
        assert (await ok(client, "manage_workspaces", action="list_members", workspace_id=ws))["items"] == []
        preview = await ok(client, "manage_workspaces", action="delete", workspace_id=ws, dry_run=True)
        assert preview["item"]["current"]["name"] == "Payments EU" and not preview["applied"]
        await ok(client, "manage_workspaces", action="get", workspace_id=ws)  # the dry run changed nothing
        await ok(client, "manage_workspaces", action="delete", workspace_id=ws, confirm=True)


async def test_users_invites_and_scim(connect, upstream) -> None:
    async with connect() as client:
        users = (await ok(client, "manage_users", action="list", role="member"))["items"]
        assert users and all(u["role"] == "member" for u in users)
        user = users[0]["id"]
        assert (await ok(client, "manage_users", action="get", user_id=user))["item"]["id"] == user
        await ok(client, "manage_users", action="update", user_id=user, role="admin")
        assert (await ok(client, "manage_users", action="get", user_id=user))["item"]["role"] == "admin"
        await ok(client, "manage_users", action="delete", user_id=user, confirm=True)
        workspace = (await ok(client, "manage_workspaces", action="list", limit=1))["items"][0]["id"]
        invite = await ok(
            client,
            "manage_users",
            action="invite",
            email="new@example.com",
            role="member",
            fields={"workspaces": [{"id": workspace, "role": "member"}]},
        )
        invite_id = invite["item"]["id"]
        pending = await ok(
            client, "manage_users", action="list_invites", status="pending", email="new@example.com"
        )
        assert [i["id"] for i in pending["items"]] == [invite_id]
        await ok(client, "manage_users", action="get_invite", invite_id=invite_id)
        await ok(client, "manage_users", action="resend_invite", invite_id=invite_id)
        await ok(client, "manage_users", action="delete_invite", invite_id=invite_id, confirm=True)
        scim = await ok(
            client,
            "manage_users",
            action="create_scim",
            workspace_id=workspace,
            role="member",
            fields={"scim_group_name": "Engineering"},
        )
        listed = await ok(client, "manage_users", action="list_scim", workspace_id=workspace)
        assert scim["item"]["id"] in [m["id"] for m in listed["items"]]
        await ok(client, "manage_users", action="delete_scim", scim_id=scim["item"]["id"], confirm=True)


FALLBACK = {
    "strategy": {"mode": "fallback", "on_status_codes": [429, 503]},
    "retry": {"attempts": 2},
    "targets": [
        {"provider": "openai", "api_key": "sk-target-secret-123456", "override_params": {"model": "gpt-4o"}},
        {"provider": "groq", "override_params": {"model": "llama-3.1-70b"}},
    ],
}


async def test_configs_are_validated_before_saving(connect, upstream, sandbox) -> None:
    async with connect() as client:
        before = await ok(client, "manage_configs", action="list", limit=100)
        bad = {
            **FALLBACK,
            "targets": [FALLBACK["targets"][0], {"provider": "groq", "retyr": {"attempts": 1}}],
        }
        text = await fails(client, "manage_configs", action="create", name="broken", config=bad)
        assert "targets[1].retyr: unknown field (did you mean 'retry'?)" in text
        assert "stratgy" in await fails(
            client, "manage_configs", action="create", name="x", config={"stratgy": {"mode": "fallback"}}
        )
        assert len((await ok(client, "manage_configs", action="list", limit=100))["items"]) == len(
            before["items"]
        )
        checked = await ok(
            client,
            "manage_configs",
            action="validate",
            config={"strategy": {"mode": "fallbak"}, "targets": [{"provider": "x"}]},
        )
        assert not checked["item"]["valid"] and checked["item"]["errors"][0].startswith("strategy.mode")
        made = await ok(client, "manage_configs", action="create", name="fallback", config=FALLBACK)
        slug = made["item"]["slug"] if "slug" in made["item"] else made["item"]["id"]
        got = await ok(client, "manage_configs", action="get", slug=slug)
        assert "sk-target-secret-123456" not in json.dumps(got)  # provider keys inside configs are masked
        assert got["item"]["config"]["strategy"]["mode"] == "fallback"
        await ok(
            client,
            "manage_configs",
            action="update",
            slug=slug,
            config={**FALLBACK, "cache": {"mode": "simple"}},
        )
        versions = await ok(client, "manage_configs", action="versions", slug=slug)
        assert len(versions["items"]) == 2 and isinstance(versions["items"][0]["config"], dict)
        assert "cache.mode" in await fails(
            client, "manage_configs", action="update", slug=slug, config={"cache": {"mode": "fuzzy"}}
        )
        await ok(client, "manage_configs", action="delete", slug=slug, confirm=True)


async def test_guardrails_checked_against_portkeys_documented_checks(connect, upstream) -> None:
    checks = [
        {"id": "default.regexMatch", "parameters": {"rule": r"\d{3}-\d{2}-\d{4}", "not": True}},
        {"id": "portkey.pii", "parameters": {"redact": True, "categories": ["SSN", "EMAIL_ADDRESS"]}},
    ]
    actions = {"deny": True, "async": False, "on_fail": {"feedback": {"value": -5, "weight": 1}}}
    async with connect() as client:
        valid = await ok(client, "configure_guardrails", action="validate", checks=checks, actions=actions)
        assert valid["item"] == {"valid": True, "errors": [], "warnings": []}
        wrong = [{"id": "default.wordCount", "parameters": {"minWord": 3}}, {"id": "regexMatch"}]
        report = (await ok(client, "configure_guardrails", action="validate", checks=wrong))["item"]
        assert report["errors"] == [
            "checks[0].parameters.minWord: not a parameter of default.wordCount (did you mean 'minWords'?)",
            "checks[1].id: 'regexMatch' needs its plugin prefix; did you mean 'default.regexMatch'?",
        ]
        text = await fails(
            client, "configure_guardrails", action="create", name="x", checks=wrong, actions=actions
        )
        assert "checks[0].parameters.minWord" in text
        listed = await ok(client, "configure_guardrails", action="list", limit=100)
        made = await ok(
            client, "configure_guardrails", action="create", name="No SSNs", checks=checks, actions=actions
        )
        guard = made["item"]["id"]
        got = await ok(client, "configure_guardrails", action="get", guardrail_id=guard)
        assert got["item"]["name"] == "No SSNs"
        await ok(client, "configure_guardrails", action="update", guardrail_id=guard, name="No SSN")
        assert "checks[0].parameters.rule: required" in await fails(
            client,
            "configure_guardrails",
            action="update",
            guardrail_id=guard,
            checks=[{"id": "default.regexMatch"}],
        )
        after = await ok(client, "configure_guardrails", action="list", limit=100)
        assert len(after["items"]) == len(listed["items"]) + 1
        await ok(client, "configure_guardrails", action="delete", guardrail_id=guard, confirm=True)


async def test_prompts_partials_labels_and_collections(connect, upstream) -> None:
    async with connect() as client:
        workspace = (await ok(client, "manage_workspaces", action="list", limit=1))["items"][0]["id"]
        vk = (await ok(client, "manage_virtual_keys", action="list", limit=1))["items"][0]["slug"]
        coll = (
            await ok(
                client,
                "manage_prompts",
                resource="collection",
                action="create",
                fields={"name": "Support", "workspace_id": workspace},
            )
        )["item"]["id"]
        assert coll in [
            c["id"]
            for c in (
                await ok(
                    client, "manage_prompts", resource="collection", action="list", workspace_id=workspace
                )
            )["items"]
        ]
        await ok(client, "manage_prompts", resource="collection", action="get", id=coll)
        await ok(
            client,
            "manage_prompts",
            resource="collection",
            action="update",
            id=coll,
            fields={"name": "Support EU"},
        )
        prompt = (
            await ok(
                client,
                "manage_prompts",
                action="create",
                fields={
                    "name": "greeter",
                    "collection_id": coll,
                    "string": "{{#user}}Hello {{name}}{{/user}}",
                    "parameters": {"model": "gpt-4o-mini"},
                    "virtual_key": vk,
                },
            )
        )["item"]["id"]
        listed = await ok(client, "manage_prompts", action="list", collection_id=coll, search="greet")
        assert [p["id"] for p in listed["items"]] == [prompt]
        assert (await ok(client, "manage_prompts", action="get", id=prompt))["item"]["name"] == "greeter"
        await ok(
            client,
            "manage_prompts",
            action="update",
            id=prompt,
            fields={"string": "{{#user}}Hi {{name}}{{/user}}"},
        )
        versions = (await ok(client, "manage_prompts", action="versions", id=prompt))["items"]
        assert len(versions) == 2
        newest = versions[0]
        await ok(client, "manage_prompts", action="get_version", id=prompt, version_id=newest["id"])
        label = (
            await ok(
                client,
                "manage_prompts",
                resource="label",
                action="create",
                fields={"name": "ci-canary", "workspace_id": workspace},
            )
        )["item"]["id"]
        await ok(
            client,
            "manage_prompts",
            action="update_version",
            id=prompt,
            version_id=newest["id"],
            fields={"label_id": label},
        )
        await ok(client, "manage_prompts", action="make_default", id=prompt, version=newest["prompt_version"])
        rendered = await ok(client, "manage_prompts", action="render", id=prompt, variables={"name": "Ada"})
        assert "Hi Ada" in json.dumps(rendered["item"])
        answered = await ok(client, "manage_prompts", action="complete", id=prompt, variables={"name": "Ada"})
        assert answered["applied"] and "Sandbox answer" in json.dumps(answered["item"])
        await ok(
            client, "manage_prompts", resource="label", action="list", workspace_id=workspace, search="canary"
        )
        await ok(client, "manage_prompts", resource="label", action="get", id=label)
        await ok(
            client,
            "manage_prompts",
            resource="label",
            action="update",
            id=label,
            fields={"name": "ci-canary-2"},
        )
        partial = (
            await ok(
                client,
                "manage_prompts",
                resource="partial",
                action="create",
                fields={"name": "footer", "string": "Thanks!", "workspace_id": workspace},
            )
        )["item"]
        partial_id = partial.get("id") or partial["slug"]
        await ok(client, "manage_prompts", resource="partial", action="list")
        await ok(client, "manage_prompts", resource="partial", action="get", id=partial_id)
        await ok(
            client,
            "manage_prompts",
            resource="partial",
            action="update",
            id=partial_id,
            fields={"string": "Thank you!"},
        )
        partial_versions = (
            await ok(client, "manage_prompts", resource="partial", action="versions", id=partial_id)
        )["items"]
        await ok(
            client,
            "manage_prompts",
            resource="partial",
            action="make_default",
            id=partial_id,
            version=int(partial_versions[0]["version"]),
        )
        for resource, item in (
            ("prompt", prompt),
            ("partial", partial_id),
            ("label", label),
            ("collection", coll),
        ):
            await ok(client, "manage_prompts", resource=resource, action="delete", id=item, confirm=True)
        assert "NOT_FOUND" in await fails(client, "manage_prompts", action="get", id=prompt)


async def test_usage_and_rate_limit_policies(connect, upstream) -> None:
    conditions = [{"key": "workspace_id", "value": "*"}]
    async with connect() as client:
        usage = (
            await ok(
                client,
                "manage_limits",
                action="create",
                fields={
                    "name": "monthly cap",
                    "conditions": conditions,
                    "group_by": [{"key": "api_key"}],
                    "type": "cost",
                    "credit_limit": 100,
                    "periodic_reset": "monthly",
                },
            )
        )["item"]["id"]
        assert usage in [
            p["id"]
            for p in (await ok(client, "manage_limits", action="list", type="cost", status="active"))["items"]
        ]
        await ok(client, "manage_limits", action="get", id=usage, include_usage=True)
        await ok(client, "manage_limits", action="update", id=usage, fields={"credit_limit": 200})
        seeded = next(
            p["id"] for p in (await ok(client, "manage_limits", action="list"))["items"] if p["id"] != usage
        )
        entities = (await ok(client, "manage_limits", action="list_entities", id=seeded, status="active"))[
            "items"
        ]
        busy = next(e for e in entities if e["current_usage"] > 0)
        preview = await ok(
            client, "manage_limits", action="reset_entity", id=seeded, entity_id=busy["id"], dry_run=True
        )
        assert not preview["applied"] and preview["item"]["current"]["id"] == seeded
        await ok(
            client, "manage_limits", action="reset_entity", id=seeded, entity_id=busy["id"], confirm=True
        )
        after = (await ok(client, "manage_limits", action="list_entities", id=seeded))["items"]
        assert next(e for e in after if e["id"] == busy["id"])["current_usage"] == 0
        assert "type: Input should be 'cost' or 'tokens'" in await fails(
            client,
            "manage_limits",
            action="create",
            fields={
                "conditions": conditions,
                "group_by": [{"key": "api_key"}],
                "type": "money",
                "credit_limit": 1,
            },
        )
        await ok(client, "manage_limits", action="delete", id=usage, confirm=True)
        rate = (
            await ok(
                client,
                "manage_limits",
                resource="rate",
                action="create",
                fields={
                    "name": "burst",
                    "conditions": conditions,
                    "group_by": [{"key": "api_key"}],
                    "type": "requests",
                    "unit": "rpm",
                    "value": 60,
                },
            )
        )["item"]["id"]
        assert rate in [
            p["id"]
            for p in (await ok(client, "manage_limits", resource="rate", action="list", unit="rpm"))["items"]
        ]
        await ok(client, "manage_limits", resource="rate", action="get", id=rate)
        await ok(client, "manage_limits", resource="rate", action="update", id=rate, fields={"value": 120})
        await ok(client, "manage_limits", resource="rate", action="delete", id=rate, confirm=True)


async def test_logs_exports_and_feedback(connect, upstream) -> None:
    entry = {
        "request": {
            "url": "https://api.openai.com/v1/chat/completions",
            "method": "POST",
            "body": {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
        },
        "response": {"status": 200, "body": {"choices": []}},
        "metadata": {"trace_id": "trace-ci-1"},
    }
    async with connect() as client:
        inserted = await ok(client, "manage_logs", action="insert", entries=[entry, entry])
        log_ids = inserted["item"]["log_ids"]
        assert len(log_ids) == 2
        log = await ok(client, "get_logs", action="get", id=log_ids[0])
        assert log["item"]["request"]["url"].endswith("/chat/completions")
        assert "entries[0].request: Field required" in await fails(
            client, "manage_logs", action="insert", entries=[{"response": {"body": {}}}]
        )
        feedback = await ok(
            client,
            "manage_logs",
            action="add_feedback",
            fields={"trace_id": "trace-ci-1", "value": 5, "weight": 0.5},
        )
        await ok(
            client,
            "manage_logs",
            action="update_feedback",
            id=feedback["item"]["feedback_ids"][0],
            fields={"value": -3},
        )
        assert "value" in await fails(
            client, "manage_logs", action="add_feedback", fields={"trace_id": "t", "value": 11}
        )
        export = await ok(
            client,
            "manage_logs",
            action="create_export",
            fields={
                "filters": {"time_of_generation_min": "2026-01-01T00:00:00Z"},
                "requested_data": ["id", "cost"],
            },
        )
        export_id = export["item"]["id"]
        await ok(
            client,
            "manage_logs",
            action="update_export",
            id=export_id,
            fields={"requested_data": ["id", "cost", "ai_model"]},
        )
        assert export_id in [e["id"] for e in (await ok(client, "get_logs", action="list_exports"))["items"]]
        await ok(client, "manage_logs", action="start_export", id=export_id)
        await ok(client, "manage_logs", action="cancel_export", id=export_id)
        assert (await ok(client, "get_logs", action="get_export", id=export_id))["item"][
            "status"
        ] == "stopped"
        await ok(client, "manage_logs", action="start_export", id=export_id)
        for _ in range(2):
            status = (await ok(client, "get_logs", action="get_export", id=export_id))["item"]["status"]
        assert status == "success"
        link = await ok(client, "get_logs", action="download_export", id=export_id)
        assert link["item"]["signed_url"].startswith("http")


async def test_audit_logs_find_the_organisation_and_forward_filters(connect, upstream, sandbox) -> None:
    async with connect() as client:
        await ok(client, "manage_prompts", resource="label", action="create", fields={"name": "audited-ci"})
        found = await ok(
            client, "get_audit_logs", timeframe="1h", method="POST", response_status_code=200, limit=5
        )
        assert found["items"] and all(r["method"] == "POST" for r in found["items"])
        query = last_request(sandbox, "/v1/audit-logs")["query"]
        assert (
            query["organisation_id"] and query["method"] == "POST" and query["response_status_code"] == "200"
        )
        assert {"start_time", "end_time", "current_page", "page_size"} <= set(query)


async def test_providers_integrations_secrets_and_mcp(connect, upstream) -> None:
    async with connect() as client:
        integ = (
            await ok(
                client,
                "manage_integrations",
                resource="integration",
                action="create",
                fields={
                    "name": "OpenAI CI",
                    "ai_provider_id": "openai",
                    "key": "sk-integration-secret-9876543210",
                },
            )
        )["item"]
        slug = integ.get("slug") or integ["id"]
        listed = await ok(client, "manage_integrations", resource="integration", action="list", type="all")
        assert "sk-integration-secret-9876543210" not in json.dumps(listed)
        await ok(client, "manage_integrations", resource="integration", action="get", id=slug)
        await ok(
            client,
            "manage_integrations",
            resource="integration",
            action="update",
            id=slug,
            fields={"name": "OpenAI CI 2"},
        )
        await ok(
            client,
            "manage_integrations",
            resource="integration",
            action="update_models",
            id=slug,
            fields={
                "models": [{"slug": "gpt-4o", "enabled": True}, {"slug": "gpt-4o-mini", "enabled": True}]
            },
        )
        models = await ok(
            client, "manage_integrations", resource="integration", action="list_models", id=slug
        )
        assert {"gpt-4o", "gpt-4o-mini"} <= {m["slug"] for m in models["items"]}
        await ok(
            client,
            "manage_integrations",
            resource="integration",
            action="delete_models",
            id=slug,
            slugs=["gpt-4o-mini"],
            confirm=True,
        )
        workspace = (await ok(client, "manage_workspaces", action="list", limit=1))["items"][0]["id"]
        await ok(
            client,
            "manage_integrations",
            resource="integration",
            action="update_workspaces",
            id=slug,
            fields={"workspaces": [{"id": workspace, "enabled": True}]},
        )
        await ok(client, "manage_integrations", resource="integration", action="list_workspaces", id=slug)
        provider = (
            await ok(
                client,
                "manage_integrations",
                resource="provider",
                action="create",
                workspace_id=workspace,
                fields={"name": "openai-ci", "integration_id": slug},
            )
        )["item"]
        provider_slug = provider.get("slug") or provider["id"]
        assert provider_slug in [
            p.get("slug")
            for p in (
                await ok(
                    client, "manage_integrations", resource="provider", action="list", workspace_id=workspace
                )
            )["items"]
        ]
        await ok(
            client,
            "manage_integrations",
            resource="provider",
            action="get",
            id=provider_slug,
            workspace_id=workspace,
        )
        await ok(
            client,
            "manage_integrations",
            resource="provider",
            action="update",
            id=provider_slug,
            workspace_id=workspace,
            fields={"note": "ci"},
        )
        await ok(
            client,
            "manage_integrations",
            resource="provider",
            action="delete",
            id=provider_slug,
            workspace_id=workspace,
            confirm=True,
        )
        secret = (
            await ok(
                client,
                "manage_integrations",
                resource="secret_reference",
                action="create",
                fields={
                    "name": "vault ci",
                    "manager_type": "hashicorp_vault",
                    "secret_path": "kv/openai",
                    "auth_config": {
                        "vault_auth_type": "token",
                        "vault_addr": "https://vault.example",
                        "vault_token": "hvs-super-secret-token",
                    },
                },
            )
        )["item"]
        got = await ok(
            client, "manage_integrations", resource="secret_reference", action="get", id=secret["id"]
        )
        assert "hvs-super-secret-token" not in json.dumps(got)
        await ok(
            client,
            "manage_integrations",
            resource="secret_reference",
            action="list",
            manager_type="hashicorp_vault",
            search="vault",
        )
        await ok(
            client,
            "manage_integrations",
            resource="secret_reference",
            action="update",
            id=secret["id"],
            fields={"name": "vault ci 2"},
        )
        await ok(
            client,
            "manage_integrations",
            resource="secret_reference",
            action="delete",
            id=secret["id"],
            confirm=True,
        )
        mcp = (
            await ok(
                client,
                "manage_integrations",
                resource="mcp_integration",
                action="create",
                fields={
                    "name": "Docs MCP",
                    "url": "https://mcp.example.com/mcp",
                    "auth_type": "none",
                    "transport": "http",
                },
            )
        )["item"]["id"]
        for action in ("get", "metadata", "list_capabilities", "list_workspaces"):
            await ok(client, "manage_integrations", resource="mcp_integration", action=action, id=mcp)
        await ok(client, "manage_integrations", resource="mcp_integration", action="list", search="Docs")
        await ok(
            client,
            "manage_integrations",
            resource="mcp_integration",
            action="update",
            id=mcp,
            fields={"name": "Docs MCP 2"},
        )
        seeded = (await ok(client, "manage_integrations", resource="mcp_integration", action="list"))[
            "items"
        ][-1]
        caps = (
            await ok(
                client,
                "manage_integrations",
                resource="mcp_integration",
                action="list_capabilities",
                id=seeded["id"],
                type="tool",
            )
        )["items"]
        off = {"capabilities": [{"name": caps[0]["name"], "type": "tool", "enabled": False}]}
        await ok(
            client,
            "manage_integrations",
            resource="mcp_integration",
            action="update_capabilities",
            id=seeded["id"],
            fields=off,
        )
        await ok(
            client,
            "manage_integrations",
            resource="mcp_integration",
            action="update_workspaces",
            id=mcp,
            fields={"workspaces": [{"id": workspace, "enabled": True}]},
        )
        server = (
            await ok(
                client,
                "manage_integrations",
                resource="mcp_server",
                action="create",
                fields={"name": "docs", "mcp_integration_id": mcp, "workspace_id": workspace},
            )
        )["item"]
        server_id = server["id"]
        for action in ("get", "test", "list_capabilities", "list_user_access", "list_connections"):
            await ok(client, "manage_integrations", resource="mcp_server", action=action, id=server_id)
        await ok(client, "manage_integrations", resource="mcp_server", action="list", workspace_id=workspace)
        await ok(
            client,
            "manage_integrations",
            resource="mcp_server",
            action="update",
            id=server_id,
            fields={"name": "docs-2"},
        )
        users = (await ok(client, "manage_users", action="list", limit=1))["items"]
        await ok(
            client,
            "manage_integrations",
            resource="mcp_server",
            action="update_user_access",
            id=server_id,
            fields={"user_access": [{"user_id": users[0]["id"], "enabled": True}]},
        )
        busy = (await ok(client, "manage_integrations", resource="mcp_server", action="list"))["items"][-1][
            "id"
        ]
        await ok(
            client,
            "manage_integrations",
            resource="mcp_server",
            action="update_capabilities",
            id=busy,
            fields={
                "capabilities": [
                    {"name": c["name"], "type": "tool", "enabled": True}
                    for c in (
                        await ok(
                            client,
                            "manage_integrations",
                            resource="mcp_server",
                            action="list_capabilities",
                            id=busy,
                        )
                    )["items"][:1]
                ]
            },
        )
        connections = (
            await ok(client, "manage_integrations", resource="mcp_server", action="list_connections", id=busy)
        )["items"]
        who = connections[0]["user_id"]
        preview = await ok(
            client,
            "manage_integrations",
            resource="mcp_server",
            action="delete_connections",
            id=busy,
            user_id=who,
            dry_run=True,
        )
        assert preview["item"]["request"]["query"] == {"user_id": who}
        await ok(
            client,
            "manage_integrations",
            resource="mcp_server",
            action="delete_connections",
            id=busy,
            user_id=who,
            confirm=True,
        )
        left = (
            await ok(client, "manage_integrations", resource="mcp_server", action="list_connections", id=busy)
        )["items"]
        assert who not in [c["user_id"] for c in left]
        await ok(
            client, "manage_integrations", resource="mcp_server", action="delete", id=server_id, confirm=True
        )
        await ok(
            client, "manage_integrations", resource="mcp_integration", action="delete", id=mcp, confirm=True
        )
        await ok(
            client, "manage_integrations", resource="integration", action="delete", id=slug, confirm=True
        )
        price = await ok(
            client, "manage_integrations", resource="pricing", action="get", id="openai", model="gpt-4o"
        )
        assert price["item"]


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
    from gatewise.ledger import CallRecord, open_ledger

    ledger = open_ledger(settings.ledger_path)
    try:
        await ledger.record(
            CallRecord(
                server="routing_gateway",
                tool="routed_complete",
                provider="sandbox",
                model="openai/gpt-4o-mini",
                tokens_in=1000,
                tokens_out=500,
                cost_usd=0.25,
                latency_ms=80.0,
                status="ok",
                cache_status="miss",
                route_reason="test",
                request_id="r1",
                attempt=0,
            )
        )
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
        assert stats["requests"] is None and stats["cost_cents"] is None
        assert (
            stats["errors"]["requests"].startswith("FORBIDDEN_SCOPE")
            and "analytics.view" in stats["errors"]["cost_cents"]
        )
        assert stats["api_keys"] is not None


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
        schema = tool.input_schema["$defs"]["AnalyticsFilters"]["properties"]
        filters = {name: probe_value(prop) for name, prop in schema.items()}
        filters["ai_org_model"] = ["openai__gpt-4o", "anthropic__claude-sonnet-4"]
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
            for name, value in {**filters, "workspace_slug": "probe"}.items():
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


# --- bad input and destructive actions ----------------------------------------------------------

BAD_INPUT = [
    ("get_api_keys", {"action": "get"}, "`id` is required for action 'get'"),
    ("get_api_keys", {"action": "list", "id": "x"}, "`id` does not apply to action 'list'"),
    ("get_api_keys", {"limit": 0}, "limit"),
    ("manage_api_keys", {"action": "create"}, "INVALID_INPUT: name: Field required"),
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


@pytest.mark.parametrize(
    ("tool", "args", "fragment"), BAD_INPUT, ids=[f"{t}-{i}" for i, (t, _, _) in enumerate(BAD_INPUT)]
)
async def test_bad_input_is_a_clear_error(connect, upstream, tool, args, fragment) -> None:
    async with connect() as client:
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
    assert (
        httpx.get(f"{sandbox.root_url}/_sandbox/portkey/last-request", params={"path": path}).status_code
        == 404
    )


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


# --- endpoint coverage --------------------------------------------------------------------------

DATA_PLANE = (
    "/chat/",
    "/completions",
    "/realtime",
    "/images/",
    "/embeddings",
    "/rerank",
    "/audio/",
    "/files",
    "/fine_tuning/",
    "/models",
    "/moderations",
    "/assistants",
    "/responses",
    "/threads",
    "/vector_stores",
    "/batches",
)


def normalise(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path.rstrip("/"))


def test_the_catalogue_covers_the_admin_api_and_every_entry_is_used() -> None:
    spec = load_spec(PORTKEY_SPEC)
    admin = {
        (method.upper(), normalise(path))
        for path, ops in spec["paths"].items()
        for method in ops
        if method in ("get", "post", "put", "delete", "patch")
        if not path.startswith(DATA_PLANE)
    }
    ours = {(e.method, normalise(e.path)) for e in ENDPOINTS.values()}
    covered = admin & ours
    share = len(covered) / len(admin)
    print(
        f"\nPortkey Admin API coverage: {len(covered)}/{len(admin)} operations ({share:.1%}); "
        f"missing: {sorted(admin - ours)}"
    )
    assert share >= 0.9
    from gatewise.portkey.analytics import GROUP_OPS, METRIC_OPS

    used = {
        spec.op
        for resources in ACTIONS.values()
        for actions in resources.values()
        for spec in actions.values()
    } | {s.preview for r in ACTIONS.values() for a in r.values() for s in a.values() if s.preview}
    used |= set(METRIC_OPS.values()) | set(GROUP_OPS.values()) | {"audit.list", "workspaces.get"}
    assert set(ENDPOINTS) - used == set()


# --- the console script over stdio --------------------------------------------------------------


async def test_console_script_serves_over_stdio(sandbox, tmp_path, upstream) -> None:
    script = Path(sys.executable).parent / "gatewise-portkey-admin"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "GATEWISE_DATA_DIR": str(tmp_path),
        "GATEWISE_SANDBOX_URL": sandbox.url,
        "GATEWISE_PORTKEY_TOOLSETS": "keys,analytics",
    }
    async with Client(StdioServerParameters(command=str(script), args=[], env=env)) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert names == {"get_api_keys", "manage_api_keys", "manage_virtual_keys", "get_usage_analytics"}
        listed = await ok(client, "get_api_keys", limit=2)
    assert listed["provider"] == "sandbox" and len(listed["items"]) == 2


async def test_organisation_guardrail_defaults_and_workspace_exclusions(
        connect, upstream, settings, sandbox) -> None:
    checks = [{"id": "default.wordCount", "parameters": {"minWords": 1, "maxWords": 500}}]
    async with connect() as client:
        made = await ok(client, "configure_guardrails", action="create", name="Length", checks=checks,
                        actions={"deny": False})
        guard = made["item"]["id"]
        before = await ok(client, "configure_guardrails", action="get_defaults")
        preview = await ok(client, "configure_guardrails", action="set_defaults", dry_run=True,
                           fields={"input_guardrails": [guard]})
        assert not preview["applied"] and preview["item"]["current"] == before["item"]
        done = await ok(client, "configure_guardrails", action="set_defaults",
                        fields={"input_guardrails": [guard], "output_guardrails": []})
        assert done["applied"] and len(done["item"]["input_guardrails"]) == 1  # stored by slug
        workspace = (await ok(client, "manage_workspaces", action="list", limit=1))["items"][0]["id"]
        await ok(client, "configure_guardrails", action="set_exclusions", direction="output",
                 fields={"workspace_ids": [workspace]})
        excluded = await ok(client, "configure_guardrails", action="get_exclusions", direction="output")
        assert excluded["item"]["workspace_ids"] == [workspace]
        assert "`direction` is required" in await fails(client, "configure_guardrails",
                                                        action="get_exclusions")
    async with connect(portkey_key(settings, sandbox, WORKSPACE_KEY)) as client:
        denied = await fails(client, "configure_guardrails", action="get_defaults")
        assert "FORBIDDEN_SCOPE" in denied and "organisation admin key" in denied
