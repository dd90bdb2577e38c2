"""What each tool action does, as data: the endpoint, which arguments fill the path, the query and
the body, how the body is checked, and whether the action is destructive.

Arguments keep the API's own names (``workspace_id``, ``search``, ``status``), so a filter given to
a tool is the filter Portkey receives; pages are walked by the client. An argument that does not
apply to the chosen action is refused rather than silently dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

from gatewise.errors import ErrorCode, GatewiseError
from gatewise.portkey import bodies as b
from gatewise.portkey.models import GuardrailActions, GuardrailCheck
from gatewise.portkey.trial import try_guardrail
from gatewise.portkey.validate import raise_if_invalid, validate_config, validate_guardrail

Kind = Literal["list", "read", "write", "destructive", "local"]
Args = Mapping[str, Any]
Check = Callable[[dict[str, Any]], None]
Builder = Callable[[Args, dict[str, Any]], Any]


@dataclass(frozen=True)
class Action:
    op: str
    kind: Kind = "read"
    path: Mapping[str, str] = field(default_factory=dict)  # placeholder → argument
    query: tuple[str, ...] = ()
    body: type[BaseModel] | None = None  # checks `fields` merged with `body_args`
    body_args: tuple[str, ...] = ()
    create: bool = False  # every required body field must be present
    build: Builder | None = None
    check: Check | None = None
    path_defaults: Mapping[str, str] = field(default_factory=dict)
    local: Callable[[Args], BaseModel] | None = None  # answers a "local" action: no API call
    preview: str | None = None  # operation fetched to show a dry run
    secret: str | None = None  # answer field holding a secret shown once
    # Body fields that overwrite a stored credential: a write sending one cannot be undone, so it
    # needs confirm like a destructive action.
    replaces: tuple[str, ...] = ()

    @property
    def arguments(self) -> set[str]:
        named = set(self.path.values()) | set(self.query) | set(self.body_args)
        return named | ({"fields"} if self.body is not None else set())


def _crud(resource: str, id_arg: str, placeholder: str, body: type[BaseModel], *,
          query: tuple[str, ...] = (), item_query: tuple[str, ...] = (),
          create_args: tuple[str, ...] = (), update_args: tuple[str, ...] | None = None,
          update_body: type[BaseModel] | None = None, build: Builder | None = None,
          check: Check | None = None, replaces: tuple[str, ...] = ()) -> dict[str, Action]:
    """list, get, create, update and delete of one resource; updates check ``body`` partially
    and need confirm when they send a field of ``replaces``."""
    path = {placeholder: id_arg}
    return {
        "list": Action(f"{resource}.list", "list", query=query),
        "get": Action(f"{resource}.get", path=path, query=item_query),
        "create": Action(f"{resource}.create", "write", body=body, body_args=create_args, create=True,
                         build=build, check=check),
        "update": Action(f"{resource}.update", "write", path=path, query=item_query,
                         body=update_body or body,
                         body_args=create_args if update_args is None else update_args,
                         build=build, check=check, preview=f"{resource}.get", replaces=replaces),
        "delete": Action(f"{resource}.delete", "destructive", path=path, query=item_query,
                         preview=f"{resource}.get"),
    }


# --- body builders and checks ---------------------------------------------------------------


def _config_body(args: Args, body: dict[str, Any]) -> dict[str, Any]:
    if args.get("is_default") is not None:
        body["isDefault"] = 1 if args["is_default"] else 0
    return body


def _check_config(body: dict[str, Any]) -> None:
    if "config" in body:
        raise_if_invalid(validate_config(body["config"]), "config")


def _check_guardrail(body: dict[str, Any]) -> None:
    if "checks" not in body:
        return
    checks = [GuardrailCheck.model_validate(c) for c in body["checks"] or []]
    actions = GuardrailActions.model_validate(body["actions"]) if body.get("actions") else None
    raise_if_invalid(validate_guardrail(checks, actions), "guardrail")


def _required(values: Args, name: str, what: str) -> Any:
    if not values.get(name):
        raise GatewiseError(ErrorCode.INVALID_INPUT, f"`{name}` is required: {what}")
    return values[name]


def _check_entries(entries: Any) -> None:
    if not entries:
        raise GatewiseError(ErrorCode.INVALID_INPUT, "`entries` needs at least one log entry")
    for index, entry in enumerate(entries):
        try:
            b.check_body(b.LogEntry, entry, partial=False)
        except GatewiseError as exc:
            exc.message = exc.message.replace("fields", f"entries[{index}]", 1)
            raise


def _scim_group(body: dict[str, Any]) -> None:
    if not (body.get("scim_group_id") or body.get("scim_group_name")):
        raise GatewiseError(ErrorCode.INVALID_INPUT,
                            "fields.scim_group_id or fields.scim_group_name is required")


def _members_body(args: Args, body: dict[str, Any]) -> dict[str, Any]:
    """One member from ``user_id`` + ``role``, unless ``fields.users`` lists them."""
    user, role = body.pop("user_id", None), body.pop("role", None)
    if user and "users" not in body:
        body["users"] = [{"id": user, "role": role or "member"}]
    return body


# --- the tools ------------------------------------------------------------------------------

_API_KEYS = {
    **_crud("api_keys", "id", "id", b.ApiKeyBody, query=("workspace_id",),
            create_args=("name", "scopes", "workspace_id")),
    # Creation names the key's type and sub-type in the path.
    "create": Action("api_keys.create", "write", path={"type": "key_type", "sub_type": "sub_type"},
                     body=b.ApiKeyBody, body_args=("name", "scopes", "workspace_id"), create=True,
                     secret="key", path_defaults={"type": "workspace", "sub_type": "service"}),
    "rotate": Action("api_keys.rotate", "destructive", path={"id": "id"},
                     body=b.AnyBody, body_args=("key_transition_period_ms",), preview="api_keys.get",
                     secret="key"),
}

_VIRTUAL_KEYS = {
    **_crud("virtual_keys", "slug", "slug", b.VirtualKeyBody, create_args=("name", "provider", "key"),
            replaces=("key",)),
    # A virtual key's "rotation" is replacing the provider key it stores (as an update with `key`).
    "rotate": Action("virtual_keys.update", "destructive", path={"slug": "slug"}, body=b.AnyBody,
                     body_args=("key",), preview="virtual_keys.get",
                     check=lambda body: _required(body, "key", "the new provider key")),
}


_WORKSPACES = {
    **_crud("workspaces", "workspace_id", "workspace_id", b.NamedBody, create_args=("name",),
            query=("name", "exact_name", "status")),
    "list_members": Action("members.list", "list", path={"workspace_id": "workspace_id"},
                           query=("role", "email")),
    "get_member": Action("members.get", path={"workspace_id": "workspace_id", "user_id": "user_id"}),
    "add_members": Action("members.create", "write", path={"workspace_id": "workspace_id"},
                          body=b.MembersBody, body_args=("user_id", "role"), create=True,
                          build=_members_body),
    "update_member": Action("members.update", "write",
                            path={"workspace_id": "workspace_id", "user_id": "user_id"},
                            body=b.AnyBody, body_args=("role",), preview="members.get"),
    "remove_member": Action("members.delete", "destructive",
                            path={"workspace_id": "workspace_id", "user_id": "user_id"},
                            preview="members.get"),
}

_USERS = {
    "list": Action("users.list", "list", query=("role", "email")),
    "get": Action("users.get", path={"id": "user_id"}),
    "update": Action("users.update", "write", path={"id": "user_id"}, body=b.UserBody,
                     body_args=("role",), preview="users.get"),
    "delete": Action("users.delete", "destructive", path={"id": "user_id"}, preview="users.get"),
    "list_invites": Action("invites.list", "list", query=("role", "email", "status")),
    "get_invite": Action("invites.get", path={"id": "invite_id"}),
    "invite": Action("invites.create", "write", body=b.InviteBody, body_args=("email", "role"),
                     create=True),
    "delete_invite": Action("invites.delete", "destructive", path={"id": "invite_id"},
                            preview="invites.get"),
    "resend_invite": Action("invites.resend", "write", path={"id": "invite_id"}),
    "list_scim": Action("scim.list", "list", query=("workspace_id", "scim_group_id", "role")),
    "create_scim": Action("scim.create", "write", body=b.ScimBody, body_args=("workspace_id", "role"),
                          create=True, check=_scim_group),
    "delete_scim": Action("scim.delete", "destructive", path={"id": "scim_id"}),
}

_CONFIGS = {
    **_crud("configs", "slug", "slug", b.ConfigBody, update_body=b.AnyBody,
            create_args=("name", "config", "workspace_id", "is_default"),
            update_args=("name", "config", "status"), build=_config_body, check=_check_config),
    "versions": Action("configs.versions", "list", path={"slug": "slug"}),
    "validate": Action("", "local", body_args=("config",), local=lambda args: validate_config(
        _required(args, "config", "the config object to check"))),
}

_GUARDRAILS = {
    **_crud("guardrails", "guardrail_id", "id", b.GuardrailBody, update_body=b.AnyBody,
            query=("workspace_id", "organisation_id"),
            create_args=("name", "checks", "actions", "workspace_id", "organisation_id"),
            update_args=("name", "checks", "actions"), check=_check_guardrail),
    "validate": Action("", "local", body_args=("checks", "actions"),
                       local=lambda args: validate_guardrail(args.get("checks"), args.get("actions"))),
    "test": Action("", "local", body_args=("checks", "actions", "text", "direction"), local=try_guardrail),
    "get_defaults": Action("guardrail_defaults.get"),
    "set_defaults": Action("guardrail_defaults.update", "write", body=b.AnyBody,
                           preview="guardrail_defaults.get"),
    "get_exclusions": Action("guardrail_exclusions.get", path={"direction": "direction"}),
    "set_exclusions": Action("guardrail_exclusions.update", "write", path={"direction": "direction"},
                             body=b.AnyBody, preview="guardrail_exclusions.get"),
}

_PROMPT_ITEM = {"id": "id"}
_PROMPTS = {
    "prompt": {
        **_crud("prompts", "id", "id", b.PromptBody, query=("collection_id", "workspace_id", "search")),
        "versions": Action("prompts.versions", "list", path=_PROMPT_ITEM),
        "get_version": Action("prompts.get_version", path={"id": "id", "version_id": "version_id"}),
        "update_version": Action("prompts.update_version", "write",
                                 path={"id": "id", "version_id": "version_id"}, body=b.AnyBody,
                                 preview="prompts.get_version"),
        "make_default": Action("prompts.make_default", "write", path=_PROMPT_ITEM, body=b.AnyBody,
                               body_args=("version",), preview="prompts.get"),
        "render": Action("prompts.render", "read", path=_PROMPT_ITEM, body=b.AnyBody,
                         body_args=("variables",)),
        "complete": Action("prompts.complete", "write", path=_PROMPT_ITEM, body=b.AnyBody,
                           body_args=("variables",)),
    },
    "partial": {
        **_crud("partials", "id", "id", b.PartialBody, query=("collection_id",)),
        "versions": Action("partials.versions", "list", path=_PROMPT_ITEM),
        "make_default": Action("partials.make_default", "write", path=_PROMPT_ITEM, body=b.AnyBody,
                               body_args=("version",), preview="partials.get"),
    },
    "label": {
        **_crud("labels", "id", "id", b.NamedBody, query=("organisation_id", "workspace_id", "search")),
        "get": Action("labels.get", path=_PROMPT_ITEM, query=("organisation_id", "workspace_id")),
    },
    "collection": _crud("collections", "id", "id", b.NamedBody, query=("workspace_id", "search")),
}

_LIMITS = {
    "usage": {
        **_crud("usage_limits", "id", "id", b.UsageLimitBody, query=("workspace_id", "status", "type")),
        "get": Action("usage_limits.get", path={"id": "id"}, query=("status", "include_usage")),
        "list_entities": Action("usage_limits.list_entities", "list", path={"id": "id"},
                                query=("status", "search")),
        "reset_entity": Action("usage_limits.reset_entity", "destructive",
                               path={"id": "id", "entity_id": "entity_id"}, preview="usage_limits.get"),
    },
    "rate": {
        **_crud("rate_limits", "id", "id", b.RateLimitBody,
                query=("workspace_id", "status", "type", "unit")),
        "get": Action("rate_limits.get", path={"id": "id"}, query=("status",)),
    },
}

_GET_LOGS = {
    "get": Action("logs.get", path={"id": "id"}),
    "list_exports": Action("log_exports.list", "list", query=("workspace_id",)),
    "get_export": Action("log_exports.get", path={"id": "id"}),
    "download_export": Action("log_exports.download", path={"id": "id"}),
}

_MANAGE_LOGS = {
    "insert": Action("logs.insert", "write", body_args=("entries",),
                     build=lambda args, body: body.get("entries"), check=_check_entries),
    "create_export": Action("log_exports.create", "write", body=b.ExportBody,
                            body_args=("workspace_id",), create=True),
    "update_export": Action("log_exports.update", "write", path={"id": "id"}, body=b.ExportBody,
                            preview="log_exports.get"),
    "start_export": Action("log_exports.start", "write", path={"id": "id"}),
    "cancel_export": Action("log_exports.cancel", "write", path={"id": "id"}),
    "add_feedback": Action("feedback.create", "write", body=b.FeedbackBody, create=True),
    "update_feedback": Action("feedback.update", "write", path={"id": "id"}, body=b.AnyBody),
}

_SLUG = {"slug": "id"}
_MCP = {"id": "id"}
_INTEGRATIONS = {
    "provider": {
        **_crud("providers", "id", "slug", b.ProviderBody, query=("workspace_id",),
                item_query=("workspace_id",)),
        # The workspace is a query parameter on a provider's own paths but a body field on create.
        "create": Action("providers.create", "write", body=b.ProviderBody, body_args=("workspace_id",),
                         create=True),
    },
    "integration": {
        **_crud("integrations", "id", "slug", b.IntegrationBody, query=("workspace_id", "type"),
                replaces=("key",)),
        "list_models": Action("integrations.list_models", "list", path=_SLUG),
        "update_models": Action("integrations.update_models", "write", path=_SLUG, body=b.AnyBody,
                                preview="integrations.list_models"),
        "delete_models": Action("integrations.delete_models", "destructive", path=_SLUG,
                                query=("slugs",), preview="integrations.list_models"),
        "list_workspaces": Action("integrations.list_workspaces", "list", path=_SLUG),
        "update_workspaces": Action("integrations.update_workspaces", "write", path=_SLUG,
                                    body=b.AnyBody, preview="integrations.list_workspaces"),
    },
    "secret_reference": _crud("secret_references", "id", "id", b.SecretReferenceBody,
                              query=("manager_type", "tags", "search"), replaces=("auth_config",)),
    "mcp_integration": {
        **_crud("mcp_integrations", "id", "id", b.McpIntegrationBody,
                query=("organisation_id", "workspace_id", "type", "search")),
        "list_workspaces": Action("mcp_integrations.list_workspaces", "list", path=_MCP,
                                  query=("version",)),
        "update_workspaces": Action("mcp_integrations.update_workspaces", "write", path=_MCP,
                                    body=b.AnyBody, preview="mcp_integrations.list_workspaces"),
        "list_capabilities": Action("mcp_integrations.list_capabilities", "list", path=_MCP,
                                    query=("type",)),
        "update_capabilities": Action("mcp_integrations.update_capabilities", "write", path=_MCP,
                                      body=b.AnyBody, preview="mcp_integrations.list_capabilities"),
        "metadata": Action("mcp_integrations.metadata", path=_MCP),
    },
    "mcp_server": {
        # list's `id`: the servers to list, comma-separated (the API's filter)
        **_crud("mcp_servers", "id", "id", b.McpServerBody, query=("workspace_id", "search", "id")),
        "test": Action("mcp_servers.test", "read", path=_MCP),
        "list_capabilities": Action("mcp_servers.list_capabilities", "list", path=_MCP, query=("type",)),
        "update_capabilities": Action("mcp_servers.update_capabilities", "write", path=_MCP,
                                      body=b.AnyBody, preview="mcp_servers.list_capabilities"),
        "list_user_access": Action("mcp_servers.list_user_access", "list", path=_MCP, query=("search",)),
        "update_user_access": Action("mcp_servers.update_user_access", "write", path=_MCP,
                                     body=b.AnyBody, preview="mcp_servers.list_user_access"),
        "list_connections": Action("mcp_servers.list_connections", "list", path=_MCP,
                                   query=("user_id", "workspace_id")),
        "delete_connections": Action("mcp_servers.delete_connections", "destructive", path=_MCP,
                                     query=("user_id", "workspace_id"),
                                     preview="mcp_servers.list_connections"),
    },
    "pricing": {"get": Action("pricing.get", path={"provider": "id", "model": "model"})},
}

# tool → resource ("" when the tool has one) → action → what it does
ACTIONS: dict[str, dict[str, dict[str, Action]]] = {
    "get_api_keys": {"": {"list": _API_KEYS["list"], "get": _API_KEYS["get"]}},
    "manage_api_keys": {"": _API_KEYS},
    "manage_virtual_keys": {"": _VIRTUAL_KEYS},
    "manage_workspaces": {"": _WORKSPACES},
    "manage_users": {"": _USERS},
    "manage_configs": {"": _CONFIGS},
    "configure_guardrails": {"": _GUARDRAILS},
    "manage_prompts": _PROMPTS,
    "manage_limits": _LIMITS,
    "get_logs": {"": _GET_LOGS},
    "manage_logs": {"": _MANAGE_LOGS},
    "manage_integrations": _INTEGRATIONS,
}


def action_names(tool: str) -> tuple[str, ...]:
    """The actions ``tool`` offers (over all its resources), in the order they are declared here:
    the tool's ``action`` argument accepts exactly these."""
    return tuple(dict.fromkeys(name for actions in ACTIONS[tool].values() for name in actions))


def resource_names(tool: str) -> tuple[str, ...]:
    """The resources ``tool`` works on; empty for a tool of one resource."""
    return tuple(resource for resource in ACTIONS[tool] if resource)
