"""The CRUD-shaped part of the Admin API, declared as resources for the generic engine.

Each entry names its table, path, create and update fields, list shape, paging and filters;
the small functions here only build records and shape answers where the spec differs.
"""

from __future__ import annotations

import json
import re
from typing import Any

from gatewise.redact import mask
from gatewise_sandbox.portkey import seed
from gatewise_sandbox.portkey.engine import Ctx, Resource, each, may, merge, need, validate
from gatewise_sandbox.portkey.errors import AdminError, invalid
from gatewise_sandbox.portkey.store import CAMEL, Paging, Record, public

USAGE = {"credit_limit": may("number"), "type": may("str", "cost", "tokens"),
         "alert_threshold": may("number"), "periodic_reset": may("str", "monthly", "weekly")}
RATE = {"type": need("str", "requests", "tokens"),
        "unit": need("str", "rpd", "rph", "rpm", "rps", "rpw"), "value": need("number")}
_LABEL_NAME = re.compile(r"(?!latest$)(?!default$)(?!\d+$)[a-zA-Z0-9_-]*[^@\s]?[a-zA-Z0-9_-]*")
_CHECK_ID = re.compile(r"[\w-]+\.[\w-]+")


def _limits(body: dict[str, Any]) -> None:
    """Check the usage and rate limits a key, workspace or provider body may carry."""
    usage = body.get("usage_limits")
    for item in usage if isinstance(usage, list) else [usage] if isinstance(usage, dict) else []:
        validate(item, USAGE, "usage_limits.")
    rates = body.get("rate_limits")
    if isinstance(rates, dict):
        rates = [rates]
    for i, item in enumerate(rates or []):
        if not isinstance(item, dict):
            raise invalid(f"rate_limits[{i}]", "expected an object")
        validate(item, RATE, f"rate_limits[{i}].")


def _workspace_id(ctx: Ctx, body: dict[str, Any]) -> str:
    """The id of the workspace a body names by id or slug (AB08 if unknown), else the default."""
    return str(ctx.org.workspace(body.get("workspace_id"))["id"])


def _scoped_to_workspace(ctx: Ctx, rows: list[Record]) -> list[Record]:
    """``workspace_id`` filters may name the workspace by id or by slug."""
    ref = ctx.query.get("workspace_id")
    if not ref:
        return rows
    ws = ctx.org.table("workspaces").find(ref)
    wanted = ws["id"] if ws else ref
    return [r for r in rows if r.get("workspace_id") == wanted]


# -- organisation: users, invites, workspaces, SCIM -------------------------------------------

def user_view(ctx: Ctx, row: Record) -> Record:
    ids = [m["workspace_id"] for m in ctx.org.table("members").all() if m["user_id"] == row["id"]]
    return {**public(row), "workspace_ids": ids}


def _delete_user(ctx: Ctx, row: Record) -> None:
    if row["role"] == "owner":
        raise invalid("userId", "the organisation owner cannot be removed")
    members = ctx.org.table("members")
    for m in [m for m in members.all() if m["user_id"] == row["id"]]:
        members.remove(m["key"])


def _update_user(ctx: Ctx, row: Record, body: dict[str, Any]) -> Any:
    if row["role"] == "owner" and body.get("role"):
        raise invalid("role", "the organisation owner's role cannot be changed")
    merge(ctx, row, body, ("role",))
    return {}


def _build_invite(ctx: Ctx, body: dict[str, Any]) -> Record:
    email = body["email"].strip()
    if "@" not in email:
        raise invalid("email", "expected an email address")
    if ctx.org.table("users").taken("email", email) or any(
            i["status"] == "pending" and i["email"].lower() == email.lower()
            for i in ctx.org.table("invites").all()):
        raise AdminError("AB07", "A user or pending invite with this email already exists",
                         param="email")
    for item in each(body, "workspaces", {"id": need("str"),
                                          "role": need("str", "admin", "member", "manager")}):
        item["id"] = ctx.org.workspace(item["id"])["id"]
    details = body.get("workspace_api_key_details")
    if details is not None:
        validate(details if isinstance(details, dict) else {}, {"scopes": need("list")},
                 "workspace_api_key_details.")
    return seed.invite_record(ctx.org, {**body, "email": email}, ctx.org.stamp())


def invite_link(row: Record) -> str:
    return f"https://app.portkey.ai/invite/{row['_token']}"


def workspace_view(ctx: Ctx, row: Record) -> Record:
    return {**public(row), "users": [member_view(ctx, m) for m in members_of(ctx, row["id"])]}


def _workspace_item(ctx: Ctx, row: Record) -> Record:
    out = public(row)
    out["defaults"] = {k: v for k, v in row["defaults"].items()
                       if k in ("metadata", "is_default", "object")}
    return out


def members_of(ctx: Ctx, workspace_id: str) -> list[Record]:
    return [m for m in ctx.org.table("members").all() if m["workspace_id"] == workspace_id]


def member_view(ctx: Ctx, member: Record) -> Record:
    user = ctx.org.table("users").get(member["user_id"])
    return {"object": "workspace-user", "id": user["id"], "first_name": user["first_name"],
            "last_name": user["last_name"], "org_role": user["role"], "role": member["role"],
            "created_at": member["created_at"], "last_updated_at": member["last_updated_at"],
            "status": member["status"], "workspace_id": member["workspace_id"],
            "email": user["email"], "scopes": member["scopes"], "settings": member["settings"]}


def _build_workspace(ctx: Ctx, body: dict[str, Any]) -> Record:
    _limits(body)
    now = ctx.org.stamp()
    defaults = body.get("defaults") or {}
    row = {"id": ctx.org.ids.uuid(), "slug": f"ws-{ctx.org.ids.slug(body['name'])}",
           "name": body["name"], "description": body.get("description"), "status": "active",
           "created_at": now, "last_updated_at": now,
           "usage_limits": body.get("usage_limits") or [], "rate_limits": body.get("rate_limits") or [],
           "defaults": {"metadata": defaults.get("metadata") or {}, "is_default": 0,
                        "input_guardrails": [], "output_guardrails": [], "object": "workspace"},
           "object": "workspace"}
    users = ctx.org.table("users")
    for user_id in body.get("users") or []:
        seed.add_member(ctx.org, row, users.get(str(user_id)), "member", now)
    return row


def _update_workspace(ctx: Ctx, row: Record, body: dict[str, Any]) -> Any:
    _limits(body)
    defaults = body.pop("defaults", None)
    if defaults is not None:
        if not isinstance(defaults, dict):
            raise invalid("defaults", "expected an object")
        for side in ("input_guardrails", "output_guardrails"):
            for ref in defaults.get(side) or []:
                ctx.org.table("guardrails").get(str(ref))
        row["defaults"] = {**row["defaults"], **defaults}
    merge(ctx, row, body, WORKSPACE_UPDATE)
    return workspace_view(ctx, row)


def _delete_workspace(ctx: Ctx, row: Record) -> None:
    if row["id"] == ctx.org.default_workspace_id:
        raise invalid("workspaceId", "the default workspace cannot be deleted")
    for member in members_of(ctx, row["id"]):
        ctx.org.table("members").remove(member["key"])


def _workspace_filters(ctx: Ctx, rows: list[Record]) -> list[Record]:
    name, exact = ctx.query.get("name"), ctx.query.get("exact_name")
    if name:
        rows = [r for r in rows if name.lower() in r["name"].lower()]
    if exact:
        rows = [r for r in rows if r["name"] == exact]
    return rows


def _build_scim(ctx: Ctx, body: dict[str, Any]) -> Record:
    group_id, group_name = body.get("scim_group_id"), body.get("scim_group_name")
    if not group_id and not group_name:
        raise invalid("scim_group_id", "scim_group_id or scim_group_name is required")
    known = {m["scim_group_id"]: m["scim_group"] for m in ctx.org.table("scim").all()}
    if group_id and group_id not in known:
        raise AdminError("AB08", f"SCIM group not found: {str(group_id)[:80]}")
    return {"id": ctx.org.ids.uuid(), "workspace_id": _workspace_id(ctx, body),
            "scim_group": known.get(group_id) or group_name,
            "scim_group_id": group_id or ctx.org.ids.uuid(), "role": body["role"]}


WORKSPACE_UPDATE = {"name": may("str"), "description": may("str"), "defaults": may("dict"),
                    "usage_limits": may("list"), "rate_limits": may("list")}

ORGANISATION = [
    Resource("users", "/admin/users", "userId", ops="LRUD", gated="LRUD", paging=CAMEL,
             filters=("role", "email"), view=user_view, apply=_update_user,
             update_fields={"role": may("str", "admin", "member")}, on_delete=_delete_user),
    Resource("invites", "/admin/users/invites", "inviteId", ops="LCRD", gated="LCRD",
             paging=CAMEL, filters=("role", "email", "status"), build=_build_invite,
             fields={"email": need("str"), "role": need("str", "admin", "member"),
                     "workspaces": need("list"), "first_name": may("str"),
                     "last_name": may("str"), "workspace_api_key_details": may("dict")},
             created=lambda ctx, row: {"id": row["id"], "invite_link": invite_link(row)}),
    Resource("workspaces", "/admin/workspaces", "workspaceId", filters=("status",),
             scope=_workspace_filters, build=_build_workspace, unique=("name",),
             fields={"name": need("str"), "description": may("str"), "defaults": may("dict"),
                     "users": may("list"), "usage_limits": may("list"), "rate_limits": may("list")},
             update_fields=WORKSPACE_UPDATE, created=workspace_view, view=workspace_view,
             item=_workspace_item, apply=_update_workspace, on_delete=_delete_workspace),
    Resource("scim", "/scim/workspaces", "scimWorkspaceGroupId", ops="LCD", gated="LCD",
             listing="mappings", paging=None, filters=("scim_group_id", "role"),
             scope=_scoped_to_workspace, build=_build_scim, created=lambda ctx, row: public(row),
             fields={"workspace_id": need("str"), "role": need("str", "admin", "member", "manager"),
                     "scim_group_id": may("str"), "scim_group_name": may("str")},
             deleted=lambda ctx, row: {"success": True}),
]


# -- keys, providers, integrations, secret references -----------------------------------------

def _update_api_key(ctx: Ctx, row: Record, body: dict[str, Any]) -> Any:
    _limits(body)
    if body.get("reset_usage") is True:
        row["status"] = "active"
    merge(ctx, row, {k: v for k, v in body.items() if k != "reset_usage"}, API_KEY_UPDATE)
    return {}


API_KEY_UPDATE = {"name": may("str"), "description": may("str"), "rate_limits": may("list"),
                  "usage_limits": may("dict"), "reset_usage": may("bool"), "scopes": may("list"),
                  "defaults": may("dict"), "alert_emails": may("list"), "expires_at": may("str"),
                  "rotation_policy": may("dict")}


def _build_virtual_key(ctx: Ctx, body: dict[str, Any]) -> Record:
    _limits(body)
    if not body.get("key") and not body.get("secret_mappings"):
        raise invalid("key", "required unless secret_mappings supply it")
    return seed.virtual_key_record(ctx.org, {**body, "workspace_id": _workspace_id(ctx, body)},
                                   ctx.org.stamp())


def _update_secret_holder(ctx: Ctx, row: Record, body: dict[str, Any], fields: dict[str, Any]
                          ) -> None:
    """Apply an update whose ``key`` replaces a stored provider key, never shown again."""
    _limits(body)
    if body.get("key"):
        row["_key"] = body["key"]
        if "masked_key" in row:
            row["masked_key"] = mask(body["key"])
    if body.get("reset_usage") is True:
        row["status"] = "active"
    merge(ctx, row, {k: v for k, v in body.items() if k not in ("key", "reset_usage")}, fields)
    if isinstance(row.get("rate_limits"), dict):
        row["rate_limits"] = [row["rate_limits"]]


def _update_virtual_key(ctx: Ctx, row: Record, body: dict[str, Any]) -> Any:
    _update_secret_holder(ctx, row, body, VIRTUAL_KEY_UPDATE)
    return {"success": True, "data": {"slug": row["slug"]}}


VIRTUAL_KEY_UPDATE = {"name": may("str"), "key": may("str"), "note": may("str"),
                      "deploymentConfig": may("list"), "usage_limits": may("dict"),
                      "secret_mappings": may("list"), "rate_limits": may("any"),
                      "expires_at": may("str"), "reset_usage": may("bool")}


def _build_provider(ctx: Ctx, body: dict[str, Any]) -> Record:
    _limits(body)
    integration = ctx.org.table("integrations").find(body["integration_id"])
    if integration is None:
        raise invalid("integration_id", "no such integration")
    return seed.provider_record(ctx.org, {**body, "integration_id": integration["slug"],
                                          "workspace_id": _workspace_id(ctx, body)},
                                ctx.org.stamp())


def _update_provider(ctx: Ctx, row: Record, body: dict[str, Any]) -> Any:
    _update_secret_holder(ctx, row, body, PROVIDER_UPDATE)
    return {"id": row["id"], "slug": row["slug"]}


PROVIDER_UPDATE = {"name": may("str"), "note": may("str"), "usage_limits": may("dict"),
                   "rate_limits": may("any"), "expires_at": may("str"), "reset_usage": may("bool")}


def _build_integration(ctx: Ctx, body: dict[str, Any]) -> Record:
    if body.get("workspace_id"):
        body = {**body, "workspace_id": _workspace_id(ctx, body)}
    row = seed.integration_record(ctx.org, body, ctx.org.stamp())
    if body.get("create_default_provider"):
        provider = seed.provider_record(ctx.org, {
            "name": row["name"], "slug": body.get("default_provider_slug"),
            "integration_id": row["slug"], "workspace_id": body.get("workspace_id")},
            row["created_at"])
        ctx.org.table("providers").add(provider)
    return row


def integration_item(ctx: Ctx, row: Record) -> Record:
    keep = ("id", "organisation_id", "ai_provider_id", "name", "status", "created_at",
            "last_updated_at", "slug", "description", "object", "workspace_id")
    return {k: row[k] for k in keep if k in row}


def _integration_view(ctx: Ctx, row: Record) -> Record:
    return {**public(row), "workspace_count": sum(w["enabled"] for w in row["_workspaces"])}


def _integration_scope(ctx: Ctx, rows: list[Record]) -> list[Record]:
    kind = ctx.query.get("type", "all")
    if kind not in ("workspace", "organisation", "all"):
        raise invalid("type", "expected one of workspace, organisation, all")
    if kind != "all":
        rows = [r for r in rows if ("workspace_id" in r) == (kind == "workspace")]
    return _scoped_to_workspace(ctx, rows)


def _update_integration(ctx: Ctx, row: Record, body: dict[str, Any]) -> Any:
    _update_secret_holder(ctx, row, body, INTEGRATION_UPDATE)
    return {}


INTEGRATION_UPDATE = {"name": may("str"), "key": may("str"), "description": may("str"),
                      "configurations": may("dict"), "secret_mappings": may("list"),
                      "pricing_adjustments": may("dict")}


def _build_secret_reference(ctx: Ctx, body: dict[str, Any]) -> Record:
    return seed.secret_reference_record(ctx.org, body, ctx.org.stamp())


def _secret_reference_item(ctx: Ctx, row: Record) -> Record:
    keep = ("id", "name", "slug", "manager_type", "status", "created_at", "last_updated_at",
            "object")
    return {k: row[k] for k in keep}


def _secret_reference_tags(ctx: Ctx, rows: list[Record]) -> list[Record]:
    raw = ctx.query.get("tags")
    if not raw:
        return rows
    try:
        wanted = json.loads(raw)
    except ValueError:
        wanted = dict(part.split(":", 1) for part in raw.split(",") if ":" in part)
    if not isinstance(wanted, dict) or not wanted:
        raise invalid("tags", "expected a JSON object or key:value pairs")
    return [r for r in rows
            if all(str((r.get("tags") or {}).get(k)) == str(v) for k, v in wanted.items())]


def _update_secret_reference(ctx: Ctx, row: Record, body: dict[str, Any]) -> Any:
    auth = body.get("auth_config")
    if auth is not None:
        row["_auth"] = dict(auth)
        row["auth_config"] = seed.masked_auth(auth)
    merge(ctx, row, {k: v for k, v in body.items() if k != "auth_config"}, SECRET_REFERENCE_UPDATE)
    return {}


SECRET_REFERENCE_UPDATE = {"name": may("str"), "description": may("str"),
                           "auth_config": may("dict"), "secret_path": may("str"),
                           "secret_key": may("str"), "allow_all_workspaces": may("bool"),
                           "allowed_workspaces": may("list"), "tags": may("dict")}

KEYS = [
    Resource("api_keys", "/api-keys", "id", ops="LRUD",
             scope=_scoped_to_workspace, update_fields=API_KEY_UPDATE, apply=_update_api_key),
    Resource("virtual_keys", "/virtual-keys", "slug", legacy=True,
             paging=Paging(required=True), build=_build_virtual_key,
             fields={"name": need("str"), "provider": need("str"), "key": may("str"),
                     "note": may("str"), "workspace_id": may("str"), "usage_limits": may("dict"),
                     "rate_limits": may("any"), "expires_at": may("str"),
                     "secret_mappings": may("list"), "deploymentConfig": may("list")},
             created=lambda ctx, row: {"success": True, "data": {"slug": row["slug"]}},
             update_fields=VIRTUAL_KEY_UPDATE, apply=_update_virtual_key,
             deleted=lambda ctx, row: {"success": True, "data": {}}),
    Resource("providers", "/providers", "slug", scope=_scoped_to_workspace,
             build=_build_provider, unique=("slug",),
             fields={"name": need("str"), "integration_id": need("str"), "workspace_id": may("str"),
                     "slug": may("str"), "note": may("str"), "usage_limits": may("dict"),
                     "rate_limits": may("any"), "expires_at": may("str")},
             created=lambda ctx, row: {"id": row["id"], "slug": row["slug"]},
             update_fields=PROVIDER_UPDATE, apply=_update_provider),
    Resource("integrations", "/integrations", "slug", gated="CUD", paging=Paging(default_size=100),
             scope=_integration_scope, build=_build_integration, unique=("slug",),
             fields={"name": need("str"), "ai_provider_id": need("str"), "key": may("str"),
                     "slug": may("str"), "description": may("str"), "workspace_id": may("str"),
                     "configurations": may("dict"), "create_default_provider": may("bool"),
                     "default_provider_slug": may("str"), "secret_mappings": may("list"),
                     "pricing_adjustments": may("dict")},
             created=lambda ctx, row: {"id": row["id"], "slug": row["slug"]},
             item=integration_item, view=_integration_view, update_fields=INTEGRATION_UPDATE,
             apply=_update_integration),
    Resource("secret_references", "/secret-references", "secretReferenceId",
             paging=Paging(default_size=20), filters=("manager_type",), search=("name", "slug"),
             scope=_secret_reference_tags, build=_build_secret_reference, unique=("slug",),
             fields={"name": need("str"), "manager_type": need("str", "aws_sm", "azure_kv",
                                                                 "hashicorp_vault"),
                     "auth_config": need("dict"), "secret_path": need("str"), "slug": may("str"),
                     "description": may("str"), "secret_key": may("str"),
                     "allow_all_workspaces": may("bool"), "allowed_workspaces": may("list"),
                     "tags": may("dict"), "organisation_id": may("str")},
             created=lambda ctx, row: {"id": row["id"], "slug": row["slug"],
                                       "object": "secret-reference"},
             item=_secret_reference_item, update_fields=SECRET_REFERENCE_UPDATE,
             apply=_update_secret_reference),
]


# -- configs, prompts, partials, labels, collections, guardrails ------------------------------

def _config_view(ctx: Ctx, row: Record) -> Record:
    return {"success": True, "data": {**public(row), "config": row["_versions"][-1]["config"],
                                      "version_id": row["_versions"][-1]["version_id"]}}


def _build_config(ctx: Ctx, body: dict[str, Any]) -> Record:
    if body.get("isDefault") not in (None, 0, 1):
        raise invalid("isDefault", "expected 0 or 1")
    return seed.config_record(ctx.org, {**body, "workspace_id": _workspace_id(ctx, body)},
                              ctx.org.stamp())


def _update_config(ctx: Ctx, row: Record, body: dict[str, Any]) -> Any:
    """Every update is a new version, even one that only renames."""
    config = body.get("config", row["_versions"][-1]["config"])
    merge(ctx, row, {k: v for k, v in body.items() if k != "config"},
          ("name", "status"))
    version = seed.add_config_version(ctx.org, row, config, row["last_updated_at"])
    return {"success": True, "data": {"version_id": version["version_id"]}}


def _build_prompt(ctx: Ctx, body: dict[str, Any]) -> Record:
    collection = ctx.org.table("collections").find(body["collection_id"])
    if collection is None:
        raise invalid("collection_id", "no such collection")
    return seed.prompt_record(ctx.org, {**body, "collection_id": collection["id"]},
                              collection["workspace_id"], ctx.org.stamp())


def prompt_view(ctx: Ctx, row: Record, version: Record | None = None) -> Record:
    version = version or default_version(row, "prompt_version")
    out = {k: row[k] for k in ("id", "slug", "name", "collection_id", "status", "created_at",
                               "last_updated_at")}
    out.update({"string": version["string"], "parameters": version["parameters"],
                "prompt_version": version["prompt_version"], "prompt_version_id": version["id"],
                "prompt_version_status": version["status"],
                "prompt_version_description": version["description"],
                "virtual_key": version["virtual_key"], "model": version["model"],
                "functions": version["functions"], "tools": version["tools"],
                "template_metadata": version["template_metadata"],
                "is_raw_template": version["is_raw_template"]})
    if version["tool_choice"] is not None:
        out["tool_choice"] = version["tool_choice"]
    if version["label_id"]:
        out["prompt_version_label_id"] = version["label_id"]
    return out


def default_version(row: Record, number: str) -> Record:
    return next(v for v in row["_versions"] if v[number] == row["_default"])


def _prompt_item(ctx: Ctx, row: Record) -> Record:
    return {**{k: row[k] for k in ("id", "slug", "name", "collection_id", "status", "created_at",
                                   "last_updated_at", "object")},
            "model": default_version(row, "prompt_version")["model"]}


_TEMPLATE_FIELDS = ("string", "parameters", "model", "virtual_key", "functions", "tools",
                    "tool_choice", "is_raw_template", "prompt_metadata", "version_description")


def _update_prompt(ctx: Ctx, row: Record, body: dict[str, Any]) -> Any:
    """Renames apply in place; template changes add a version (made default with makeDefault)."""
    if "collection_id" in body:
        body = {**body, "collection_id": ctx.org.table("collections").get(body["collection_id"])["id"]}
    merge(ctx, row, body, ("name", "collection_id"))
    version = row["_versions"][-1]
    if any(k in body for k in _TEMPLATE_FIELDS):
        if not body.get("patch") and "string" not in body:
            raise invalid("string", "required unless patch is true")
        fields = {**version, **{k: v for k, v in body.items() if k in _TEMPLATE_FIELDS}}
        if "prompt_metadata" in body:
            fields["template_metadata"] = body["prompt_metadata"]
        if "is_raw_template" in body:
            fields["is_raw_template"] = bool(body["is_raw_template"])
        version = seed.add_prompt_version(ctx.org, row, fields, row["last_updated_at"])
    return {"id": row["id"], "slug": row["slug"], "prompt_version_id": version["id"]}


def _build_partial(ctx: Ctx, body: dict[str, Any]) -> Record:
    ws = _workspace_id(ctx, body)
    collection = next((c for c in ctx.org.table("collections").all()
                       if c["workspace_id"] == ws and c["is_default"]), None)
    collection_id = collection["id"] if collection else ctx.org.table("collections").all()[0]["id"]
    return seed.partial_record(ctx.org, body, ws, collection_id, ctx.org.stamp())


def partial_view(ctx: Ctx, row: Record) -> Record:
    version = default_version(row, "version")
    return {**{k: row[k] for k in ("id", "slug", "name", "collection_id", "created_at",
                                   "last_updated_at")},
            "string": version["string"], "version": version["version"],
            "version_description": version["description"],
            "prompt_partial_version_id": version["id"], "status": "active"}


def _update_partial(ctx: Ctx, row: Record, body: dict[str, Any]) -> Any:
    merge(ctx, row, body, ("name", "status"))
    version = row["_versions"][-1]
    if "string" in body:
        version = seed.add_partial_version(ctx.org, row, body["string"],
                                           body.get("description") or "", row["last_updated_at"])
    return {"prompt_partial_version_id": version["id"]}


def _check_label_name(body: dict[str, Any]) -> None:
    if "name" in body and not _LABEL_NAME.fullmatch(body["name"]):
        raise invalid("name", "not a valid label name (reserved, numeric or bad characters)")


def _build_label(ctx: Ctx, body: dict[str, Any]) -> Record:
    _check_label_name(body)
    now = ctx.org.stamp()
    return {"id": ctx.org.ids.uuid(), "name": body["name"],
            "description": body.get("description") or "",
            "color_code": body.get("color_code") or "#64748b", "organisation_id": ctx.org.id,
            "is_universal": False, "created_at": now, "last_updated_at": now, "status": "active",
            "workspace_id": _workspace_id(ctx, body)}


def _update_label(ctx: Ctx, row: Record, body: dict[str, Any]) -> Any:
    _check_label_name(body)
    merge(ctx, row, body, LABEL_UPDATE)
    return {}


LABEL_UPDATE = {"name": may("str"), "description": may("str"), "color_code": may("str")}


def _build_collection(ctx: Ctx, body: dict[str, Any]) -> Record:
    parent = body.get("parent_collection_id")
    if parent:
        parent = ctx.org.table("collections").get(parent)["id"]
    now = ctx.org.stamp()
    return {"id": ctx.org.ids.uuid(), "name": body["name"], "workspace_id": _workspace_id(ctx, body),
            "slug": ctx.org.ids.slug(body["name"]), "parent_collection_id": parent,
            "is_default": False, "status": "active", "created_at": now, "last_updated_at": now}


def _collection_details(ctx: Ctx, row: Record) -> Record:
    children = [c for c in ctx.org.table("collections").all()
                if c["parent_collection_id"] == row["id"]]
    prompts = [p for p in ctx.org.table("prompts").all() if p["collection_id"] == row["id"]]
    return {"child_collections_count": len(children), "prompts_count": len(prompts),
            "child_collections_last_updated_at": max((c["last_updated_at"] for c in children),
                                                     default=None),
            "prompts_last_updated_at": max((p["last_updated_at"] for p in prompts), default=None)}


def _collection_item(ctx: Ctx, row: Record) -> Record:
    return {**public(row), "collection_details": _collection_details(ctx, row)}


def _collection_view(ctx: Ctx, row: Record) -> Record:
    children = [{"id": c["id"], "name": c["name"], "last_updated_at": c["last_updated_at"],
                 "collection_details": _collection_details(ctx, c)}
                for c in ctx.org.table("collections").all() if c["parent_collection_id"] == row["id"]]
    return {**public(row), "child_collections": children}


def _delete_collection(ctx: Ctx, row: Record) -> None:
    if row["is_default"]:
        raise invalid("collectionId", "the default collection cannot be deleted")


def _check_guardrail(body: dict[str, Any]) -> None:
    for i, check in enumerate(each(body, "checks", {"id": need("str"), "parameters": may("dict"),
                                                    "name": may("str"), "is_enabled": may("bool")})):
        if not _CHECK_ID.fullmatch(check["id"]):
            raise invalid(f"checks[{i}].id", "expected a check id such as default.regexMatch")
    if "actions" in body:
        validate(body["actions"], {"deny": may("bool"), "async": may("bool"),
                                   "on_success": may("dict"), "on_fail": may("dict")}, "actions.")


def _build_guardrail(ctx: Ctx, body: dict[str, Any]) -> Record:
    _check_guardrail(body)
    if body.get("workspace_id"):
        body = {**body, "workspace_id": _workspace_id(ctx, body)}
    return seed.guardrail_record(ctx.org, body, ctx.org.stamp())


def _guardrail_item(ctx: Ctx, row: Record) -> Record:
    return {k: v for k, v in public(row).items() if k not in ("checks", "actions")}


def _guardrail_created(ctx: Ctx, row: Record) -> Record:
    return {"id": row["id"], "slug": row["slug"], "version_id": row["_version_id"]}


def _update_guardrail(ctx: Ctx, row: Record, body: dict[str, Any]) -> Any:
    _check_guardrail(body)
    merge(ctx, row, body, ("name", "checks", "actions"))
    row["_version_id"] = ctx.org.ids.uuid()
    row["updated_by"] = ctx.org.owner_id
    return _guardrail_created(ctx, row)


CONTENT = [
    Resource("configs", "/configs", "slug", legacy=True, listing="success", paging=None,
             build=_build_config, fields={"name": need("str"), "config": need("dict"),
                                          "isDefault": may("int"), "workspace_id": may("str")},
             created=lambda ctx, row: {"success": True, "data": {
                 "id": row["id"], "version_id": row["_versions"][-1]["version_id"]}},
             item=lambda ctx, row: public(row), view=_config_view, apply=_update_config,
             update_fields={"name": may("str"), "config": may("dict"), "status": may("str")},
             deleted=lambda ctx, row: {"success": True, "data": {}}),
    Resource("partials", "/prompts/partials", "promptPartialId", listing="bare", paging=None,
             filters=("collection_id",), build=_build_partial,
             fields={"name": need("str"), "string": need("str"), "workspace_id": may("str"),
                     "version_description": may("str")},
             created=lambda ctx, row: {"id": row["id"], "slug": row["slug"],
                                       "version_id": row["_versions"][-1]["id"]},
             view=partial_view, item=lambda ctx, row: public(row),
             update_fields={"name": may("str"), "string": may("str"), "description": may("str"),
                            "status": may("str")}, apply=_update_partial),
    Resource("prompts", "/prompts", "promptId", listing="total", filters=("collection_id",),
             scope=_scoped_to_workspace, build=_build_prompt,
             fields={"name": need("str"), "collection_id": need("str"), "string": need("str"),
                     "parameters": need("dict"), "virtual_key": need("str"),
                     "functions": may("list"), "tools": may("list"), "tool_choice": may("any"),
                     "model": may("str"), "version_description": may("str"),
                     "template_metadata": may("dict")},
             created=lambda ctx, row: {"id": row["id"], "slug": row["slug"],
                                       "version_id": row["_versions"][0]["id"], "object": "prompt"},
             view=prompt_view, item=_prompt_item, apply=_update_prompt,
             update_fields={"patch": may("bool"), "name": may("str"), "collection_id": may("str"),
                            "string": may("str"), "parameters": may("dict"), "model": may("str"),
                            "virtual_key": may("str"), "version_description": may("str"),
                            "functions": may("list"), "tools": may("list"),
                            "tool_choice": may("any"), "is_raw_template": may("int", 0, 1),
                            "prompt_metadata": may("dict")}),
    Resource("labels", "/labels", "labelId", listing="total",
             filters=("organisation_id",), scope=_scoped_to_workspace, build=_build_label,
             unique=("name",),
             fields={"name": need("str"), "organisation_id": may("str"), "workspace_id": may("str"),
                     "description": may("str"), "color_code": may("str")},
             created=lambda ctx, row: {"id": row["id"]}, update_fields=LABEL_UPDATE,
             apply=_update_label),
    Resource("collections", "/collections", "collectionId", listing="total",
             required_query=("workspace_id",), scope=_scoped_to_workspace,
             build=_build_collection, unique=("slug",),
             fields={"name": need("str"), "workspace_id": may("str"),
                     "parent_collection_id": may("str")},
             created=lambda ctx, row: {"id": row["id"], "slug": row["slug"]},
             item=_collection_item, view=_collection_view, update_fields={"name": need("str")},
             on_delete=_delete_collection),
    Resource("guardrails", "/guardrails", "guardrailId", listing="total",
             paging=Paging(default_size=100, max_size=1000), filters=("organisation_id",),
             scope=_scoped_to_workspace, build=_build_guardrail,
             fields={"name": need("str"), "checks": need("list"), "actions": need("dict"),
                     "workspace_id": may("str"), "organisation_id": may("str")},
             created=_guardrail_created, item=_guardrail_item, apply=_update_guardrail,
             update_fields={"name": may("str"), "checks": may("list"), "actions": may("dict")}),
]


# -- policies, exports, MCP -------------------------------------------------------------------

def _conditions(body: dict[str, Any]) -> None:
    each(body, "conditions", {"key": need("str"), "value": need("str")})
    each(body, "group_by", {"key": need("str")})


def _build_usage_policy(ctx: Ctx, body: dict[str, Any]) -> Record:
    _conditions(body)
    return seed.usage_policy_record(ctx.org, {**body, "workspace_id": _workspace_id(ctx, body)},
                                    ctx.org.stamp())


def _usage_policy_view(ctx: Ctx, row: Record) -> Record:
    out = {**public(row), "object": "policy_usage_limits"}
    if ctx.query.get("include_usage", "").lower() == "true":
        out["value_key_usage_map"] = {e["value_key"]: e["current_usage"] for e in row["_entities"]}
    return out


def _update_usage_policy(ctx: Ctx, row: Record, body: dict[str, Any]) -> Any:
    value = body.get("reset_usage_for_value")
    if value is not None:
        entity = next((e for e in row["_entities"] if e["value_key"] == value), None)
        if entity is None:
            raise AdminError("AB08", f"No usage recorded for {str(value)[:80]}")
        entity["current_usage"] = 0
    merge(ctx, row, {k: v for k, v in body.items() if k != "reset_usage_for_value"},
          USAGE_POLICY_UPDATE)
    return {}


USAGE_POLICY_UPDATE = {"name": may("str"), "credit_limit": may("number"),
                       "alert_threshold": may("number"),
                       "periodic_reset": may("str", "monthly", "weekly"),
                       "reset_usage_for_value": may("str")}
_POLICY_BASE = {"name": may("str"), "conditions": need("list"), "group_by": need("list"),
                "workspace_id": may("str"), "organisation_id": may("str")}


def _build_rate_policy(ctx: Ctx, body: dict[str, Any]) -> Record:
    _conditions(body)
    return seed.rate_policy_record(ctx.org, {**body, "workspace_id": _workspace_id(ctx, body)},
                                   ctx.org.stamp())


def _check_url(body: dict[str, Any]) -> None:
    if "url" in body and not re.match(r"https?://[^\s/]+", body["url"]):
        raise invalid("url", "expected an http(s) URL")


def _build_mcp_integration(ctx: Ctx, body: dict[str, Any]) -> Record:
    _check_url(body)
    if body.get("workspace_id"):
        body = {**body, "workspace_id": _workspace_id(ctx, body)}
    return seed.mcp_integration_record(ctx.org, body, ctx.org.stamp())


def _mcp_integration_item(ctx: Ctx, row: Record) -> Record:
    return {**public(row), "workspaces_count": sum(w["enabled"] for w in row["_workspaces"])}


def _update_mcp_integration(ctx: Ctx, row: Record, body: dict[str, Any]) -> Any:
    _check_url(body)
    merge(ctx, row, body, MCP_INTEGRATION_UPDATE)
    return {}


MCP_INTEGRATION_UPDATE = {"name": may("str"), "description": may("str"),
                          "configurations": may("dict"), "url": may("str"),
                          "auth_type": may("str", "oauth_auto", "headers", "none"),
                          "transport": may("str", "http", "sse"), "secret_mappings": may("list")}


def _build_mcp_server(ctx: Ctx, body: dict[str, Any]) -> Record:
    integration = ctx.org.table("mcp_integrations").find(body["mcp_integration_id"])
    if integration is None:
        raise invalid("mcp_integration_id", "no such MCP integration")
    return seed.mcp_server_record(ctx.org, {**body, "mcp_integration_id": integration["id"],
                                            "workspace_id": _workspace_id(ctx, body)},
                                  ctx.org.stamp())


def _mcp_server_item(ctx: Ctx, row: Record) -> Record:
    integration = ctx.org.table("mcp_integrations").find(row["mcp_integration_id"]) or {}
    ws = ctx.org.table("workspaces").find(row["workspace_id"]) or {}
    return {**public(row), "mcp_integration_slug": integration.get("slug"),
            "mcp_integration_url": integration.get("url"), "url": integration.get("url"),
            "auth_type": integration.get("auth_type", "none"),
            "workspace_name": ws.get("name"), "workspace_slug": ws.get("slug")}


def _mcp_server_view(ctx: Ctx, row: Record) -> Record:
    integration = ctx.org.table("mcp_integrations").find(row["mcp_integration_id"])
    details = None if integration is None else {
        k: integration[k] for k in ("id", "slug", "status", "configurations", "url", "transport",
                                    "auth_type")}
    keep = ("id", "slug", "name", "status", "description", "created_at", "mcp_integration_id",
            "workspace_id")
    return {**{k: row[k] for k in keep}, "mcp_integration_details": details}


def _mcp_server_filters(ctx: Ctx, rows: list[Record]) -> list[Record]:
    wanted = {part.strip() for part in ctx.query.get("id", "").split(",") if part.strip()}
    return _scoped_to_workspace(ctx, [r for r in rows if not wanted or r["id"] in wanted])


POLICIES_AND_MCP = [
    Resource("usage_limits", "/policies/usage-limits", "policyUsageLimitsId",
             filters=("status", "type"), scope=_scoped_to_workspace, build=_build_usage_policy,
             fields={**_POLICY_BASE, "type": need("str", "cost", "tokens"),
                     "credit_limit": need("number"), "alert_threshold": may("number"),
                     "periodic_reset": may("str", "monthly", "weekly")},
             created=lambda ctx, row: {"id": row["id"], "object": "policy_usage_limits"},
             view=_usage_policy_view, update_fields=USAGE_POLICY_UPDATE, apply=_update_usage_policy),
    Resource("rate_limits", "/policies/rate-limits", "rateLimitsPolicyId",
             filters=("status", "type", "unit"), scope=_scoped_to_workspace,
             build=_build_rate_policy,
             fields={**_POLICY_BASE, "type": need("str", "requests", "tokens"),
                     "unit": need("str", "rpm", "rph", "rpd"), "value": need("number")},
             created=lambda ctx, row: {"id": row["id"], "object": "policy_rate_limits"},
             view=lambda ctx, row: {**public(row), "object": "policy_rate_limits"},
             update_fields={"name": may("str"), "unit": may("str", "rpm", "rph", "rpd"),
                            "value": may("number")}),
    Resource("mcp_integrations", "/mcp-integrations", "mcpIntegrationId", listing="more",
             paging=Paging(default_size=100, max_size=1000), filters=("type",),
             scope=_scoped_to_workspace, build=_build_mcp_integration, unique=("slug",),
             fields={"name": need("str"), "url": need("str"),
                     "auth_type": need("str", "oauth_auto", "headers", "none"),
                     "transport": need("str", "http", "sse"), "slug": may("str"),
                     "description": may("str"), "workspace_id": may("str"),
                     "organisation_id": may("str"), "configurations": may("dict"),
                     "secret_mappings": may("list")},
             created=lambda ctx, row: {"id": row["id"], "slug": row["slug"]},
             item=_mcp_integration_item, update_fields=MCP_INTEGRATION_UPDATE,
             apply=_update_mcp_integration),
    Resource("mcp_servers", "/mcp-servers", "mcpServerId", listing="more",
             paging=Paging(default_size=100), scope=_mcp_server_filters,
             build=_build_mcp_server, unique=("slug",),
             fields={"name": need("str"), "mcp_integration_id": need("str"),
                     "workspace_id": may("str"), "slug": may("str"), "description": may("str")},
             created=lambda ctx, row: {"id": row["id"], "slug": row["slug"]},
             item=_mcp_server_item, view=_mcp_server_view,
             update_fields={"name": may("str"), "description": may("str")}),
]

RESOURCES = ORGANISATION + KEYS + CONTENT + POLICIES_AND_MCP
