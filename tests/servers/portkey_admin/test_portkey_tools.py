"""portkey-admin's tool surface: the tools/list contract, toolsets, where calls go without a key,
and the catalogue of Portkey endpoints against the Admin API spec."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from gatewise.servers.portkey_admin.server import create_server
from mcp import Client, StdioServerParameters
from mcp.server.mcpserver import MCPServer
from portkey_support import fails, ok

from gatewise.config import load_settings
from gatewise.errors import GatewiseError
from gatewise.portkey import PortkeyAdmin, resolve_target
from gatewise.portkey.actions import ACTIONS
from gatewise.portkey.endpoints import ENDPOINTS
from gatewise.portkey.toolsets import ToolName, parse_toolsets
from repo_paths import CONTRACTS
from spec_support import PORTKEY_SPEC, load_spec
from tool_support import check_contract

CONTRACT = CONTRACTS / "portkey_admin_tools.json"
# Output schemas spell "any JSON value" and nullable fields one type per branch (portable to
# single-type dialects, nothing for the Inspector's --strict to flag): about 4 KB of the budget.
MAX_TOOLS_LIST_BYTES = 36 * 1024


# --- contract, size, toolsets ------------------------------------------------------------------


@pytest.mark.both_eras
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

