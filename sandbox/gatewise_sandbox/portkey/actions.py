"""Endpoints that are not plain CRUD: members, key creation and rotation, integration models and
workspaces, versions, prompt rendering, pricing, defaults, policy entities and MCP extras."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from typing import Any

from starlette.responses import Response

from gatewise.redact import mask
from gatewise_sandbox.portkey import seed
from gatewise_sandbox.portkey.analytics import Call
from gatewise_sandbox.portkey.engine import Ctx, Op, each, listing, may, need, page_of, validate
from gatewise_sandbox.portkey.errors import AdminError, invalid, not_found
from gatewise_sandbox.portkey.resources import (
    default_version,
    invite_link,
    member_view,
    members_of,
    prompt_view,
)
from gatewise_sandbox.portkey.store import PAGES, SNAKE, Paging, Record, iso, matching, public
from gatewise_sandbox.wire import json_response

ROLES = ("admin", "member", "manager")


# -- workspace members ------------------------------------------------------------------------

def list_members(ctx: Ctx) -> Any:
    ws = ctx.org.workspace(ctx.arg("workspaceId"))
    rows = [member_view(ctx, m) for m in members_of(ctx, ws["id"])]
    role, email = ctx.query.get("role"), ctx.query.get("email")
    if role:
        rows = [r for r in rows if r["role"] == role]
    if email:
        rows = [r for r in rows if r["email"].lower() == email.lower()]
    page, _ = page_of(ctx, rows, SNAKE)
    return listing("list", len(rows), page)


def add_members(ctx: Ctx) -> Any:
    ws = ctx.org.workspace(ctx.arg("workspaceId"))
    body = ctx.obj()
    validate(body, {"users": need("list")})
    items = each(body, "users", {"id": need("str"), "role": need("str", *ROLES)})
    members, now = ctx.org.table("members"), ctx.org.stamp()
    for item in items:
        user = ctx.org.table("users").get(item["id"])
        if members.find(f"{ws['id']}:{user['id']}") is not None:
            raise AdminError("AB07", "The user is already a member of this workspace", param="users")
    for item in items:
        seed.add_member(ctx.org, ws, ctx.org.table("users").get(item["id"]), item["role"], now)
    return {}


def _member(ctx: Ctx) -> Record:
    ws = ctx.org.workspace(ctx.arg("workspaceId"))
    user = ctx.org.table("users").get(ctx.arg("userId"))
    return ctx.org.table("members").get(f"{ws['id']}:{user['id']}")


def get_member(ctx: Ctx) -> Any:
    return member_view(ctx, _member(ctx))


def update_member(ctx: Ctx) -> Any:
    member = _member(ctx)
    body = ctx.obj()
    validate(body, {"role": need("str", *ROLES)})
    member["role"], member["last_updated_at"] = body["role"], ctx.org.stamp()
    return {}


def remove_member(ctx: Ctx) -> Any:
    ctx.org.table("members").remove(_member(ctx)["key"])
    return {}


def scim_groups(ctx: Ctx) -> Any:
    groups: dict[str, Record] = {}
    for mapping in ctx.org.table("scim").all():
        group = groups.setdefault(mapping["scim_group_id"], {
            "id": mapping["scim_group_id"], "displayName": mapping["scim_group"], "workspaces": []})
        group["workspaces"].append({"workspace_id": mapping["workspace_id"], "role": mapping["role"]})
    data = list(groups.values())
    return {"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": len(data), "Resources": data}


def resend_invite(ctx: Ctx) -> Any:
    row = ctx.org.table("invites").get(ctx.arg("inviteId"))
    if row["status"] != "pending":
        raise invalid("inviteId", f"only pending invites can be resent (status: {row['status']})")
    row["_token"] = ctx.org.ids.token(20)
    return {"inviteLink": invite_link(row)}


# -- API keys ---------------------------------------------------------------------------------

_KEY_FIELDS = {"name": need("str"), "scopes": need("list"), "description": may("str"),
               "organisation_id": may("str"), "workspace_id": may("str"), "user_id": may("str"),
               "rate_limits": may("list"), "usage_limits": may("dict"), "defaults": may("dict"),
               "alert_emails": may("list"), "expires_at": may("str"), "rotation_policy": may("dict")}


def create_api_key(ctx: Ctx) -> Any:
    kind, sub = ctx.arg("type"), ctx.arg("sub_type")
    if kind not in ("organisation", "workspace"):
        raise invalid("type", "expected organisation or workspace")
    if sub not in ("user", "service"):
        raise invalid("sub-type", "expected user or service")
    if kind == "organisation" and sub == "user":
        raise invalid("sub-type", "organisation keys are service keys")
    if kind == "organisation":
        ctx.require_organisation()
    body = ctx.obj()
    validate(body, _KEY_FIELDS)
    if kind == "workspace":
        if not body.get("workspace_id") and not ctx.workspace_key:
            raise invalid("workspace_id", "required for workspace keys")
        body = {**body, "workspace_id": ctx.org.workspace(body.get("workspace_id"))["id"]}
    if sub == "user":
        if not body.get("user_id"):
            raise invalid("user_id", "required for user keys")
        body = {**body, "user_id": ctx.org.table("users").get(body["user_id"])["id"]}
    row = ctx.org.table("api_keys").add(
        seed.api_key_record(ctx.org, f"{kind}-{sub}", body, ctx.org.stamp()))
    return {"id": row["id"], "key": row["_key"], "object": "api-key"}


def rotate_api_key(ctx: Ctx) -> Any:
    row = ctx.org.table("api_keys").get(ctx.arg("id"))
    body = ctx.obj()
    validate(body, {"key_transition_period_ms": may("int")})
    period = body.get("key_transition_period_ms", 1_800_000)
    if period < 1_800_000:
        raise invalid("key_transition_period_ms", "must be at least 1800000 (30 minutes)")
    row["_key"] = seed.new_key_secret(ctx.org, row["type"] != "organisation-service")
    row["key"], row["last_updated_at"] = mask(row["_key"]), ctx.org.stamp()
    expires = ctx.org.now() + timedelta(milliseconds=period)
    return {"id": row["id"], "key": row["_key"], "key_transition_expires_at": iso(expires)}


# -- integrations: models and workspaces ------------------------------------------------------

def _integration(ctx: Ctx) -> Record:
    return ctx.org.table("integrations").get(ctx.arg("slug"))


def integration_models(ctx: Ctx) -> Any:
    models = _integration(ctx)["_models"]
    return {"total": len(models), "models": models}


def put_integration_models(ctx: Ctx) -> Any:
    row, body = _integration(ctx), ctx.obj()
    validate(body, {"models": need("list"), "allow_all_models": may("bool")})
    items = each(body, "models", {"slug": need("str"), "enabled": need("bool"),
                                  "is_custom": may("bool"), "is_finetune": may("bool"),
                                  "base_model_slug": may("str"), "configurations": may("dict"),
                                  "pricing_config": may("dict")})
    known = {m["slug"]: m for m in row["_models"]}
    for item in items:
        if item["slug"] in known:
            known[item["slug"]].update(item)
        else:
            fresh = seed.model_entry(item["slug"], item["enabled"])
            fresh.update(item)
            row["_models"].append(fresh)
    if "allow_all_models" in body:
        row["allow_all_models"] = body["allow_all_models"]
    row["last_updated_at"] = ctx.org.stamp()
    return {}


def delete_integration_models(ctx: Ctx) -> Any:
    row = _integration(ctx)
    slugs = {s.strip() for s in ctx.query.get("slugs", "").split(",") if s.strip()}
    if not slugs:
        raise invalid("slugs", "required")
    missing = slugs - {m["slug"] for m in row["_models"]}
    if missing:
        raise not_found("Model", ", ".join(sorted(missing)))
    row["_models"] = [m for m in row["_models"] if m["slug"] not in slugs]
    return {}


def integration_workspaces(ctx: Ctx) -> Any:
    rows = _integration(ctx)["_workspaces"]
    return {"total": len(rows), "workspaces": rows}


def put_integration_workspaces(ctx: Ctx) -> Any:
    row, body = _integration(ctx), ctx.obj()
    validate(body, {"workspaces": may("list"), "global_workspace_access": may("dict"),
                    "override_existing_workspace_access": may("bool")})
    items = each(body, "workspaces", {"id": need("str"), "enabled": need("bool"),
                                      "usage_limits": may("list"), "rate_limits": may("list")})
    _upsert_workspaces(ctx, row["_workspaces"], items, ("usage_limits", "rate_limits"))
    access = body.get("global_workspace_access")
    if access is not None:
        validate(access, {"enabled": need("bool")}, "global_workspace_access.")
        row["global_workspace_access_settings"] = access
    return {}


def _upsert_workspaces(ctx: Ctx, rows: list[Record], items: list[dict[str, Any]],
                       extra: tuple[str, ...] = (), stamped: bool = False) -> None:
    by_id = {r["id"]: r for r in rows}
    now = ctx.org.stamp()
    for item in items:
        ws_id = ctx.org.workspace(item["id"])["id"]
        entry = by_id.get(ws_id)
        if entry is None:
            entry = {"id": ws_id, "enabled": item["enabled"]}
            if stamped:
                entry.update({"status": "active", "created_at": now})
            rows.append(entry)
            by_id[ws_id] = entry
        entry["enabled"] = item["enabled"]
        entry.update({k: item[k] for k in extra if k in item})
        if stamped:
            entry["last_updated_at"] = now


# -- pricing ----------------------------------------------------------------------------------

_VENDORS = {"mistral-ai": "mistralai", "vertex-ai": "google", "azure-openai": "openai",
            "together-ai": "meta-llama", "x-ai": "x-ai"}


def model_pricing(ctx: Ctx) -> Any:
    """Cents per token, from the sandbox catalogue (USD per token there) or the seeded models."""
    provider, model = ctx.arg("provider"), ctx.arg("model")
    info = ctx.request.app.state.sandbox.model(f"{_VENDORS.get(provider, provider)}/{model}")
    if info is not None:
        prices = (info.prompt_price * 100, info.completion_price * 100)
    else:
        known = {(p, m): (i, o) for p, m, i, o, _ in seed.MODELS}
        if (provider, model) not in known:
            return json_response({"error": "Model not found"}, 404)
        prices = known[(provider, model)]
    operands = [{"operation": "multiply", "operands": [{"value": "input_tokens"},
                                                       {"value": "rates.request_token"}]}]
    return {"pay_as_you_go": {"request_token": {"price": prices[0]},
                              "response_token": {"price": prices[1]}},
            "calculate": {"request": {"operation": "sum", "operands": operands},
                          "response": {"operation": "multiply",
                                       "operands": [{"value": "output_tokens"},
                                                    {"value": "rates.response_token"}]}},
            "currency": "USD"}


# -- versions ---------------------------------------------------------------------------------

def config_versions(ctx: Ctx) -> Any:
    row = ctx.org.table("configs").get(ctx.arg("slug"))
    summary = public(row)
    data = [{**summary, "id": v["id"], "version_id": v["version_id"],
             "config": seed.dumps_config(v["config"]), "format": "json", "type": "ORG_CONFIG",
             "status": v["status"], "created_at": v["created_at"],
             "last_updated_at": v["created_at"], "object": "config"}
            for v in reversed(row["_versions"])]
    return listing("list", len(data), data)


def _prompt(ctx: Ctx) -> Record:
    return ctx.org.table("prompts").get(ctx.arg("promptId"))


def _version(row: Record, ref: str) -> Record:
    found: Record | None = next((v for v in row["_versions"] if v["id"] == ref), None)
    if found is None:
        raise not_found("Prompt version", ref)
    return found


def prompt_versions(ctx: Ctx) -> Any:
    row = _prompt(ctx)
    out = []
    for v in reversed(row["_versions"]):
        item = {"id": v["id"], "prompt_id": row["id"],
                "prompt_template": {"string": v["string"], "parameters": v["parameters"]},
                "prompt_version": v["prompt_version"], "prompt_description": v["description"],
                "created_at": v["created_at"], "status": v["status"], "object": "prompt"}
        if v["label_id"]:
            item["label_id"] = v["label_id"]
        out.append(item)
    return out


def prompt_version(ctx: Ctx) -> Any:
    row = _prompt(ctx)
    return prompt_view(ctx, row, _version(row, ctx.arg("versionId")))


def label_prompt_version(ctx: Ctx) -> Any:
    row = _prompt(ctx)
    version = _version(row, ctx.arg("versionId"))
    body = ctx.obj()
    validate(body, {"label_id": may("str")})
    if body.get("label_id"):
        label = ctx.org.table("labels").get(body["label_id"])
        for other in row["_versions"]:  # a label marks one version of a prompt at a time
            if other["label_id"] == label["id"]:
                other["label_id"] = None
        version["label_id"] = label["id"]
    else:
        version["label_id"] = None
    return {}


def _make_default(ctx: Ctx, row: Record, number: str) -> Any:
    body = ctx.obj()
    validate(body, {"version": need("number")})
    wanted = body["version"]
    if not any(v[number] == wanted for v in row["_versions"]):
        raise not_found("Version", str(wanted))
    row["_default"], row["last_updated_at"] = int(wanted), ctx.org.stamp()
    return {}


def prompt_make_default(ctx: Ctx) -> Any:
    return _make_default(ctx, _prompt(ctx), "prompt_version")


def partial_versions(ctx: Ctx) -> Any:
    row = ctx.org.table("partials").get(ctx.arg("promptPartialId"))
    return [{"prompt_partial_id": row["id"], "prompt_partial_version_id": v["id"],
             "slug": row["slug"], "version": str(v["version"]), "string": v["string"],
             "description": v["description"], "created_at": v["created_at"],
             "prompt_version_status": v["status"], "object": "partial"}
            for v in reversed(row["_versions"])]


def partial_make_default(ctx: Ctx) -> Any:
    return _make_default(ctx, ctx.org.table("partials").get(ctx.arg("promptPartialId")), "version")


# -- rendering and completions ----------------------------------------------------------------

_BLOCK = re.compile(r"\{\{#(system|developer|user|assistant)\}\}(.*?)\{\{/\1\}\}", re.S)
_VARIABLE = re.compile(r"\{\{\s*([\w.-]+)\s*\}\}")
_PARTIAL = re.compile(r"\{\{>\s*([\w.-]+)\s*\}\}")


def _render(ctx: Ctx) -> tuple[Record, Record, dict[str, Any]]:
    """(prompt, its default version, the rendered chat request) for a render or completion."""
    row = _prompt(ctx)
    body = ctx.obj()
    validate(body, {"variables": need("dict"), "hyperparameters": may("dict"),
                    "stream": may("bool")})
    version = default_version(row, "prompt_version")
    variables = body["variables"]

    def partial(match: re.Match[str]) -> str:
        found = ctx.org.table("partials").find(match.group(1))
        return default_version(found, "version")["string"] if found else ""

    def fill(text: str) -> str:
        return _VARIABLE.sub(lambda m: str(variables.get(m.group(1), "")), text).strip()

    template = _PARTIAL.sub(partial, version["string"])
    blocks = _BLOCK.findall(template)
    messages = ([{"role": role, "content": fill(text)} for role, text in blocks] if blocks
                else [{"role": "user", "content": fill(template)}])
    request = {**version["parameters"], "model": version["model"] or "gpt-4o-mini",
               "messages": messages, **(body.get("hyperparameters") or {})}
    return row, version, request


def render_prompt(ctx: Ctx) -> Any:
    return {"success": True, "data": _render(ctx)[2]}


def prompt_completion(ctx: Ctx) -> Any:
    row, version, request = _render(ctx)
    asked = next((m["content"] for m in reversed(request["messages"]) if m["role"] == "user"), "")
    text = f"Sandbox answer from {request['model']} to: {str(asked)[:200]}"
    prompt_tokens = max(1, sum(len(str(m["content"])) for m in request["messages"]) // 4)
    completion_tokens = max(1, len(text) // 4)
    completion_id = f"chatcmpl-{ctx.org.ids.hex(24)}"
    virtual_key = ctx.org.table("virtual_keys").find(version["virtual_key"])
    ctx.org.traffic.append(Call(  # a completion is traffic: analytics see it
        id=ctx.org.ids.uuid(), at=ctx.org.now(), workspace=ctx.org.workspace(row["workspace_id"])["slug"],
        provider=virtual_key["provider"] if virtual_key else "openai", model=request["model"],
        user="prompt-completions", api_key_id="", virtual_key=version["virtual_key"] or None,
        config=None, prompt_slug=row["slug"], trace_id=f"trace-{ctx.org.ids.hex(12)}",
        span_id=f"span-{ctx.org.ids.hex(8)}", metadata={}, prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens, cost=0.0, latency_ms=120, status=200,
        cache_status="DISABLED"))
    created = int(time.time())
    usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
             "total_tokens": prompt_tokens + completion_tokens}
    if ctx.obj().get("stream"):
        chunk = {"id": completion_id, "object": "chat.completion.chunk", "created": created,
                 "model": request["model"], "choices": [{"index": 0, "finish_reason": "stop",
                                                         "delta": {"role": "assistant",
                                                                   "content": text}}]}
        payload = f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n"
        return Response(payload, media_type="text/event-stream")
    answer = {"id": completion_id, "object": "chat.completion", "created": created,
              "model": request["model"], "usage": usage,
              "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                           "message": {"role": "assistant", "content": text}}]}
    return {"status": "success", "headers": {}, "body": answer}


# -- organisation defaults and workspace exclusions (live-only endpoints) ---------------------

def get_defaults(ctx: Ctx) -> Any:
    return {"object": "organisation-defaults", **ctx.org.defaults}


def put_defaults(ctx: Ctx) -> Any:
    body = ctx.obj()
    validate(body, {"input_guardrails": may("list"), "output_guardrails": may("list"),
                    "metadata": may("dict")})
    for side in ("input_guardrails", "output_guardrails"):
        if side in body:
            ctx.org.defaults[side] = [ctx.org.table("guardrails").get(str(ref))["slug"]
                                      for ref in body[side]]
    if "metadata" in body:
        ctx.org.defaults["metadata"] = body["metadata"]
    return get_defaults(ctx)


def exclusions(side: str) -> tuple[Op, Op]:
    def read(ctx: Ctx) -> Any:
        return {"object": "workspace-exclusions", "type": f"{side}_guardrails",
                "workspace_ids": list(ctx.org.exclusions[side])}

    def write(ctx: Ctx) -> Any:
        body = ctx.obj()
        validate(body, {"workspace_ids": need("list")})
        ctx.org.exclusions[side] = [ctx.org.workspace(str(ref))["id"] for ref in body["workspace_ids"]]
        return read(ctx)

    path = f"/workspace-exclusions/{side}-guardrails"
    return Op("GET", path, read, gated=True), Op("PUT", path, write, gated=True)


# -- usage-limit entities ---------------------------------------------------------------------

def _entity_view(policy: Record, entity: Record) -> Record:
    status = "exhausted" if entity["current_usage"] >= policy["credit_limit"] else "active"
    return {**entity, "status": status}


def policy_entities(ctx: Ctx) -> Any:
    policy = ctx.org.table("usage_limits").get(ctx.arg("policyUsageLimitsId"))
    rows = [_entity_view(policy, e) for e in policy["_entities"]]
    rows = matching(rows, ctx.query, ("status",))
    term = ctx.query.get("search")
    if term:
        rows = [r for r in rows if term.lower() in r["value_key"].lower()]
    page, _ = page_of(ctx, rows, SNAKE)
    return {"object": "list", "data": page, "total": len(rows)}


def reset_entity(ctx: Ctx) -> Any:
    policy = ctx.org.table("usage_limits").get(ctx.arg("policyUsageLimitsId"))
    entity = next((e for e in policy["_entities"] if e["id"] == ctx.arg("entityId")), None)
    if entity is None:
        raise not_found("Entity", ctx.arg("entityId"))
    entity["current_usage"] = 0
    return {}


# -- MCP extras -------------------------------------------------------------------------------

_CAPABILITY_TYPES = ("tool", "prompt", "resource", "resource_template")


def _mcp_integration(ctx: Ctx) -> Record:
    return ctx.org.table("mcp_integrations").get(ctx.arg("mcpIntegrationId"))


def _mcp_server(ctx: Ctx) -> Record:
    return ctx.org.table("mcp_servers").get(ctx.arg("mcpServerId"))


def _capability_page(ctx: Ctx, items: list[Record]) -> Any:
    kind = ctx.query.get("type")
    if kind and kind not in _CAPABILITY_TYPES:
        raise invalid("type", f"expected one of {', '.join(_CAPABILITY_TYPES)}")
    counts = {f"{t}s": {"total": sum(c["type"] == t for c in items),
                        "enabled": sum(c["type"] == t and c["enabled"] for c in items)}
              for t in _CAPABILITY_TYPES}
    chosen = [c for c in items if not kind or c["type"] == kind]
    page, more = page_of(ctx, chosen, PAGES)
    return {"data": page, "counts": counts, "total": len(chosen), "has_more": more}


_CAPABILITY_UPDATE = {"name": need("str"), "type": need("str", "tool", "prompt", "resource"),
                      "enabled": need("bool")}


def _capability_changes(ctx: Ctx, known: list[Record]) -> list[tuple[Record, bool]]:
    body = ctx.obj()
    validate(body, {"capabilities": need("list")})
    changes = []
    for item in each(body, "capabilities", _CAPABILITY_UPDATE):
        found = next((c for c in known if c["name"] == item["name"] and c["type"] == item["type"]),
                     None)
        if found is None:
            raise not_found("Capability", f"{item['type']}:{item['name']}")
        changes.append((found, item["enabled"]))
    return changes


def mcp_metadata(ctx: Ctx) -> Any:
    row = _mcp_integration(ctx)
    kinds = {c["type"] for c in row["_capabilities"]}
    return {"server_name": row["name"], "server_version": "1.0.0", "protocol_version": "2025-06-18",
            "capability_flags": {"tools": "tool" in kinds, "prompts": "prompt" in kinds,
                                 "resources": "resource" in kinds},
            "sync_status": "synced", "last_synced_at": row["last_updated_at"], "sync_error": None}


def mcp_integration_capabilities(ctx: Ctx) -> Any:
    return _capability_page(ctx, _mcp_integration(ctx)["_capabilities"])


def put_mcp_integration_capabilities(ctx: Ctx) -> Any:
    row = _mcp_integration(ctx)
    now = ctx.org.stamp()
    for capability, enabled in _capability_changes(ctx, row["_capabilities"]):
        capability["enabled"], capability["last_updated_at"] = enabled, now
    return {"success": True}


def mcp_integration_workspaces(ctx: Ctx) -> Any:
    row = _mcp_integration(ctx)
    return {"data": row["_workspaces"], "global_workspace_access": row["global_workspace_access"],
            "total": len(row["_workspaces"])}


def put_mcp_integration_workspaces(ctx: Ctx) -> Any:
    row, body = _mcp_integration(ctx), ctx.obj()
    validate(body, {"workspaces": need("list"), "global_workspace_access": may("dict"),
                    "override_existing_workspace_access": may("bool")})
    items = each(body, "workspaces", {"id": need("str"), "enabled": need("bool")})
    _upsert_workspaces(ctx, row["_workspaces"], items, stamped=True)
    if body.get("global_workspace_access") is not None:
        row["global_workspace_access"] = body["global_workspace_access"]
    return {}


def test_mcp_server(ctx: Ctx) -> Any:
    row = _mcp_server(ctx)
    integration = ctx.org.table("mcp_integrations").get(row["mcp_integration_id"])
    return {"success": True, "status_code": 200, "response_time_ms": 40 + len(row["name"]),
            "url": integration["url"], "server_name": integration["name"], "error": None}


def _server_capabilities(ctx: Ctx, row: Record) -> list[Record]:
    integration = ctx.org.table("mcp_integrations").get(row["mcp_integration_id"])
    out = []
    for capability in integration["_capabilities"]:
        item = {k: v for k, v in capability.items() if k not in ("created_at", "last_updated_at")}
        item["integration_enabled"] = capability["enabled"]
        item["enabled"] = row["_overrides"].get(capability["name"], capability["enabled"])
        out.append(item)
    return out


def mcp_server_capabilities(ctx: Ctx) -> Any:
    return _capability_page(ctx, _server_capabilities(ctx, _mcp_server(ctx)))


def put_mcp_server_capabilities(ctx: Ctx) -> Any:
    row = _mcp_server(ctx)
    for capability, enabled in _capability_changes(ctx, _server_capabilities(ctx, row)):
        row["_overrides"][capability["name"]] = enabled
    return {"success": True}


def mcp_user_access(ctx: Ctx) -> Any:
    row = _mcp_server(ctx)
    allow = row["_default_access"] == "allow"
    term = (ctx.query.get("search") or "").lower()
    items = []
    for user in ctx.org.table("users").all():
        name = f"{user['first_name']} {user['last_name']} {user['email']}".lower()
        if term and term not in name:
            continue
        connection = row["_connections"].get(user["id"])
        items.append({"user_id": user["id"], "first_name": user["first_name"],
                      "last_name": user["last_name"],
                      "enabled": row["_user_access"].get(user["id"], allow),
                      "has_override": user["id"] in row["_user_access"],
                      "connection_status": "connected" if connection and connection["connected"]
                      else "not_connected"})
    page, more = page_of(ctx, items, PAGES)
    return {"data": page, "default_user_access": row["_default_access"], "total": len(items),
            "has_more": more}


def put_mcp_user_access(ctx: Ctx) -> Any:
    row, body = _mcp_server(ctx), ctx.obj()
    validate(body, {"user_access": may("list"), "default_user_access": may("str", "allow", "deny")})
    for item in each(body, "user_access", {"user_id": need("str"), "enabled": need("bool")}):
        row["_user_access"][ctx.org.table("users").get(item["user_id"])["id"]] = item["enabled"]
    if body.get("default_user_access"):
        row["_default_access"] = body["default_user_access"]
    return {"success": True}


_CONNECTIONS = Paging(default_size=100, max_size=500)


def mcp_connections(ctx: Ctx) -> Any:
    row = _mcp_server(ctx)
    wanted = ctx.query.get("user_id")
    items = [{"user_id": uid, **c} for uid, c in row["_connections"].items()
             if not wanted or uid == wanted]
    page, more = page_of(ctx, items, _CONNECTIONS)
    return {"data": page, "total": len(items), "has_more": more}


def delete_mcp_connections(ctx: Ctx) -> Any:
    row = _mcp_server(ctx)
    wanted = ctx.query.get("user_id")
    if wanted:
        if wanted not in row["_connections"]:
            raise not_found("Connection", wanted)
        del row["_connections"][wanted]
    else:
        row["_connections"].clear()
    return {"success": True}


OPS = [
    Op("GET", "/admin/workspaces/{workspaceId}/users", list_members),
    Op("POST", "/admin/workspaces/{workspaceId}/users", add_members),
    Op("GET", "/admin/workspaces/{workspaceId}/users/{userId}", get_member),
    Op("PUT", "/admin/workspaces/{workspaceId}/users/{userId}", update_member),
    Op("DELETE", "/admin/workspaces/{workspaceId}/users/{userId}", remove_member),
    Op("POST", "/admin/users/invites/{inviteId}/resend", resend_invite, gated=True),
    Op("GET", "/scim/groups", scim_groups, gated=True),
    Op("POST", "/api-keys/{id}/rotate", rotate_api_key),
    Op("POST", "/api-keys/{type}/{sub_type}", create_api_key),
    Op("GET", "/integrations/{slug}/models", integration_models),
    Op("PUT", "/integrations/{slug}/models", put_integration_models, gated=True),
    Op("DELETE", "/integrations/{slug}/models", delete_integration_models, gated=True),
    Op("GET", "/integrations/{slug}/workspaces", integration_workspaces, gated=True),
    Op("PUT", "/integrations/{slug}/workspaces", put_integration_workspaces, gated=True),
    Op("GET", "/model-configs/pricing/{provider}/{model:path}", model_pricing, public=True),
    Op("GET", "/configs/{slug}/versions", config_versions, legacy=True),
    Op("GET", "/prompts/partials/{promptPartialId}/versions", partial_versions),
    Op("PUT", "/prompts/partials/{promptPartialId}/makeDefault", partial_make_default),
    Op("GET", "/prompts/{promptId}/versions", prompt_versions),
    Op("GET", "/prompts/{promptId}/versions/{versionId}", prompt_version),
    Op("PUT", "/prompts/{promptId}/versions/{versionId}", label_prompt_version),
    Op("PUT", "/prompts/{promptId}/makeDefault", prompt_make_default),
    Op("POST", "/prompts/{promptId}/render", render_prompt),
    Op("POST", "/prompts/{promptId}/completions", prompt_completion),
    Op("GET", "/admin/organisation/defaults", get_defaults, gated=True),
    Op("PUT", "/admin/organisation/defaults", put_defaults, gated=True),
    *exclusions("input"), *exclusions("output"),
    Op("GET", "/policies/usage-limits/{policyUsageLimitsId}/entities", policy_entities),
    Op("PUT", "/policies/usage-limits/{policyUsageLimitsId}/entities/{entityId}/reset",
       reset_entity),
    Op("GET", "/mcp-integrations/{mcpIntegrationId}/metadata", mcp_metadata),
    Op("GET", "/mcp-integrations/{mcpIntegrationId}/capabilities", mcp_integration_capabilities),
    Op("PUT", "/mcp-integrations/{mcpIntegrationId}/capabilities",
       put_mcp_integration_capabilities),
    Op("GET", "/mcp-integrations/{mcpIntegrationId}/workspaces", mcp_integration_workspaces),
    Op("PUT", "/mcp-integrations/{mcpIntegrationId}/workspaces", put_mcp_integration_workspaces),
    Op("POST", "/mcp-servers/{mcpServerId}/test", test_mcp_server),
    Op("GET", "/mcp-servers/{mcpServerId}/capabilities", mcp_server_capabilities),
    Op("PUT", "/mcp-servers/{mcpServerId}/capabilities", put_mcp_server_capabilities),
    Op("GET", "/mcp-servers/{mcpServerId}/user-access", mcp_user_access),
    Op("PUT", "/mcp-servers/{mcpServerId}/user-access", put_mcp_user_access),
    Op("GET", "/mcp-servers/{mcpServerId}/connections", mcp_connections),
    Op("DELETE", "/mcp-servers/{mcpServerId}/connections", delete_mcp_connections),
]
