"""portkey-admin's integrations, providers, secret references, MCP integrations and servers, and
pricing: one table of calls per resource, run against the sandbox's Portkey stand-in."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from portkey_support import ok

from gatewise.portkey.actions import ACTIONS

# --- integrations, providers, secret references and MCP: one table of calls per resource ---------

INTEGRATION_KEY = "sk-integration-secret-9876543210"
VAULT_TOKEN = "hvs-super-secret-token"
Answer = dict[str, Any]


def item_id(out: Answer) -> str:
    return out["item"].get("slug") or out["item"]["id"]


def first_id(out: Answer) -> str:
    return out["items"][0]["id"]


def last_id(out: Answer) -> str:
    return out["items"][-1]["id"]


@dataclass(frozen=True)
class Step:
    """One tool call. A string argument ``"{name}"`` is replaced by the value an earlier step kept
    under ``name``; ``keep`` reads that value off the answer; ``check`` must hold for the answer
    (with the kept values); ``secret`` must not appear anywhere in it."""

    action: str
    args: dict[str, Any] = field(default_factory=dict)
    resource: str | None = None
    tool: str = "manage_integrations"
    keep: tuple[str, Callable[[Answer], Any]] | None = None
    check: Callable[[Answer, dict[str, Any]], bool] | None = None
    secret: str | None = None


def on(resource: str, action: str, **kw: Any) -> Step:
    """A manage_integrations call on ``resource``; ``args`` and the Step options in ``kw``."""
    options = {k: kw.pop(k) for k in ("keep", "check", "secret") if k in kw}
    return Step(action, kw, resource=resource, **options)


WORKSPACE = Step("list", {"limit": 1}, tool="manage_workspaces", keep=("workspace", first_id))
INTEGRATION = on("integration", "create", keep=("slug", item_id), fields={
    "name": "OpenAI CI", "ai_provider_id": "openai", "key": INTEGRATION_KEY})
MCP_INTEGRATION = on("mcp_integration", "create", keep=("mcp", item_id), fields={
    "name": "Docs MCP", "url": "https://mcp.example.com/mcp", "auth_type": "none", "transport": "http"})

LIFECYCLES: dict[str, list[Step]] = {
    "integration": [
        INTEGRATION,
        on("integration", "list", type="all", secret=INTEGRATION_KEY),
        on("integration", "get", id="{slug}", secret=INTEGRATION_KEY),
        on("integration", "update", id="{slug}", fields={"name": "OpenAI CI 2"}),
        on("integration", "update_models", id="{slug}", fields={"models": [
            {"slug": "gpt-4o", "enabled": True}, {"slug": "gpt-4o-mini", "enabled": True}]}),
        on("integration", "list_models", id="{slug}",
           check=lambda out, _: {"gpt-4o", "gpt-4o-mini"} <= {m["slug"] for m in out["items"]}),
        on("integration", "delete_models", id="{slug}", slugs=["gpt-4o-mini"], confirm=True),
        WORKSPACE,
        on("integration", "update_workspaces", id="{slug}",
           fields={"workspaces": [{"id": "{workspace}", "enabled": True}]}),
        on("integration", "list_workspaces", id="{slug}"),
        on("integration", "delete", id="{slug}", confirm=True),
    ],
    "provider": [
        INTEGRATION,
        WORKSPACE,
        on("provider", "create", workspace_id="{workspace}", keep=("provider", item_id),
           fields={"name": "openai-ci", "integration_id": "{slug}"}),
        on("provider", "list", workspace_id="{workspace}",
           check=lambda out, kept: kept["provider"] in [p.get("slug") for p in out["items"]]),
        on("provider", "get", id="{provider}", workspace_id="{workspace}"),
        on("provider", "update", id="{provider}", workspace_id="{workspace}", fields={"note": "ci"}),
        on("provider", "delete", id="{provider}", workspace_id="{workspace}", confirm=True),
    ],
    "secret_reference": [
        on("secret_reference", "create", keep=("secret", item_id), secret=VAULT_TOKEN, fields={
            "name": "vault ci", "manager_type": "hashicorp_vault", "secret_path": "kv/openai",
            "auth_config": {"vault_auth_type": "token", "vault_addr": "https://vault.example",
                            "vault_token": VAULT_TOKEN}}),
        on("secret_reference", "get", id="{secret}", secret=VAULT_TOKEN),
        on("secret_reference", "list", manager_type="hashicorp_vault", search="vault", secret=VAULT_TOKEN),
        on("secret_reference", "update", id="{secret}", fields={"name": "vault ci 2"}),
        on("secret_reference", "delete", id="{secret}", confirm=True),
    ],
    "mcp_integration": [
        MCP_INTEGRATION,
        *(on("mcp_integration", action, id="{mcp}")
          for action in ("get", "metadata", "list_capabilities", "list_workspaces")),
        on("mcp_integration", "list", search="Docs"),
        on("mcp_integration", "update", id="{mcp}", fields={"name": "Docs MCP 2"}),
        on("mcp_integration", "list", keep=("seeded", last_id)),
        on("mcp_integration", "list_capabilities", id="{seeded}", type="tool",
           keep=("capability", lambda out: out["items"][0]["name"])),
        on("mcp_integration", "update_capabilities", id="{seeded}", fields={
            "capabilities": [{"name": "{capability}", "type": "tool", "enabled": False}]}),
        WORKSPACE,
        on("mcp_integration", "update_workspaces", id="{mcp}",
           fields={"workspaces": [{"id": "{workspace}", "enabled": True}]}),
        on("mcp_integration", "delete", id="{mcp}", confirm=True),
    ],
    "mcp_server": [
        MCP_INTEGRATION,
        WORKSPACE,
        on("mcp_server", "create", keep=("server", item_id),
           fields={"name": "docs", "mcp_integration_id": "{mcp}", "workspace_id": "{workspace}"}),
        *(on("mcp_server", action, id="{server}")
          for action in ("get", "test", "list_capabilities", "list_user_access", "list_connections")),
        on("mcp_server", "list", workspace_id="{workspace}"),
        on("mcp_server", "update", id="{server}", fields={"name": "docs-2"}),
        Step("list", {"limit": 1}, tool="manage_users", keep=("user", first_id)),
        on("mcp_server", "update_user_access", id="{server}",
           fields={"user_access": [{"user_id": "{user}", "enabled": True}]}),
        on("mcp_server", "list", keep=("busy", last_id)),
        on("mcp_server", "list",
           keep=("two", lambda out: f"{out['items'][0]['id']},{out['items'][-1]['id']}")),
        on("mcp_server", "list", id="{two}",  # the API's filter: ids, comma-separated
           check=lambda out, kept: {s["id"] for s in out["items"]} == set(kept["two"].split(","))
           and len(out["items"]) == 2),
        on("mcp_server", "list_capabilities", id="{busy}",
           keep=("capability", lambda out: out["items"][0]["name"])),
        on("mcp_server", "update_capabilities", id="{busy}", fields={
            "capabilities": [{"name": "{capability}", "type": "tool", "enabled": True}]}),
        on("mcp_server", "list_connections", id="{busy}",
           keep=("who", lambda out: out["items"][0]["user_id"])),
        on("mcp_server", "delete_connections", id="{busy}", user_id="{who}", dry_run=True,
           check=lambda out, kept: out["item"]["request"]["query"] == {"user_id": kept["who"]}),
        on("mcp_server", "delete_connections", id="{busy}", user_id="{who}", confirm=True),
        on("mcp_server", "list_connections", id="{busy}",
           check=lambda out, kept: kept["who"] not in [c["user_id"] for c in out["items"]]),
        on("mcp_server", "delete", id="{server}", confirm=True),
        on("mcp_integration", "delete", id="{mcp}", confirm=True),
    ],
    "pricing": [
        on("pricing", "get", id="openai", model="gpt-4o", check=lambda out, _: bool(out["item"])),
    ],
}


def fill(value: Any, kept: dict[str, Any]) -> Any:
    """``value`` with every ``"{name}"`` string, at any depth, replaced by ``kept[name]``."""
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return kept[value[1:-1]]
    if isinstance(value, dict):
        return {k: fill(v, kept) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, kept) for v in value]
    return value


def test_every_integration_action_has_a_step() -> None:
    covered = {(s.resource, s.action) for steps in LIFECYCLES.values() for s in steps
               if s.tool == "manage_integrations"}
    declared = {(resource, action) for resource, actions in ACTIONS["manage_integrations"].items()
                for action in actions}
    assert declared - covered == set()


@pytest.mark.parametrize("resource", LIFECYCLES)
async def test_integration_resources_lifecycle(connect, upstream, resource: str) -> None:
    kept: dict[str, Any] = {}
    async with connect() as client:
        for step in LIFECYCLES[resource]:
            extra = {"resource": step.resource} if step.resource else {}
            out = await ok(client, step.tool, action=step.action, **extra, **fill(step.args, kept))
            if step.secret:
                assert step.secret not in json.dumps(out), step
            if step.check:
                assert step.check(out, kept), (step, out)
            if step.keep:
                name, read = step.keep
                kept[name] = read(out)
