"""The Portkey Admin API as data: every control-plane operation, its pagination and its gate.

Paths are the live ones (``/admin/workspaces``, ``/prompts/{id}/makeDefault``, ``/logs/exports``),
which is also what the OpenAPI spec uses. Keeping the catalogue as data lets a test measure
coverage against the spec and lets a 403 name what the endpoint needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Literal

Method = Literal["GET", "POST", "PUT", "DELETE"]


@dataclass(frozen=True)
class Paging:
    """One of the API's three pagination styles; pages count from ``first``."""

    page: str
    size: str
    first: int


class Style(Enum):
    SNAKE = Paging("current_page", "page_size", 0)
    CAMEL = Paging("currentPage", "pageSize", 0)
    PAGE = Paging("page", "page_size", 1)


# What a key must have for each gated family of endpoints, in the words a 403 should use.
ANALYTICS = "the analytics.view scope on an organisation admin key (analytics are Enterprise-gated)"
AUDIT = "an organisation admin key on the Enterprise plan (audit logs are Enterprise-gated)"
ORG_USERS = "an organisation admin key on the Enterprise plan (org users and invites are Enterprise-gated)"
EXPORTS = "log-export access on the Enterprise plan (log exports are Enterprise-gated)"
SCIM = "an organisation admin key on the Enterprise plan with SCIM enabled"
ORG = "an organisation admin key (workspace keys cannot manage organisation-level resources)"


@dataclass(frozen=True)
class Endpoint:
    method: Method
    path: str
    paging: Style | None = None
    gate: str | None = None


def _crud(base: str, item: str, paging: Style | None = Style.SNAKE, gate: str | None = None,
          ) -> dict[str, Endpoint]:
    return {
        "list": Endpoint("GET", base, paging, gate),
        "create": Endpoint("POST", base, None, gate),
        "get": Endpoint("GET", f"{base}/{{{item}}}", None, gate),
        "update": Endpoint("PUT", f"{base}/{{{item}}}", None, gate),
        "delete": Endpoint("DELETE", f"{base}/{{{item}}}", None, gate),
    }


def _prefixed(prefix: str, ops: dict[str, Endpoint]) -> dict[str, Endpoint]:
    return {f"{prefix}.{op}": endpoint for op, endpoint in ops.items()}


_GRAPHS = ("requests", "cost", "latency", "tokens", "users", "users/requests", "errors", "errors/rate",
           "errors/stacks", "errors/status-codes", "requests/rescued", "cache/hit-rate",
           "cache/latency", "feedbacks", "feedbacks/scores", "feedbacks/weighted",
           "feedbacks/ai-models")

ENDPOINTS: dict[str, Endpoint] = {
    **_prefixed("api_keys", {
        **_crud("/api-keys", "id"),
        "create": Endpoint("POST", "/api-keys/{type}/{sub_type}"),
        "rotate": Endpoint("POST", "/api-keys/{id}/rotate"),
    }),
    **_prefixed("virtual_keys", _crud("/virtual-keys", "slug")),
    **_prefixed("providers", _crud("/providers", "slug")),
    **_prefixed("integrations", {
        **_crud("/integrations", "slug"),
        "list_models": Endpoint("GET", "/integrations/{slug}/models"),
        "update_models": Endpoint("PUT", "/integrations/{slug}/models"),
        "delete_models": Endpoint("DELETE", "/integrations/{slug}/models"),
        "list_workspaces": Endpoint("GET", "/integrations/{slug}/workspaces"),
        "update_workspaces": Endpoint("PUT", "/integrations/{slug}/workspaces"),
    }),
    **_prefixed("secret_references", _crud("/secret-references", "id")),
    "pricing.get": Endpoint("GET", "/model-configs/pricing/{provider}/{model}"),
    **_prefixed("configs", {
        **_crud("/configs", "slug", paging=None),
        "versions": Endpoint("GET", "/configs/{slug}/versions"),
    }),
    **_prefixed("prompts", {
        **_crud("/prompts", "id"),
        "versions": Endpoint("GET", "/prompts/{id}/versions"),
        "get_version": Endpoint("GET", "/prompts/{id}/versions/{version_id}"),
        "update_version": Endpoint("PUT", "/prompts/{id}/versions/{version_id}"),
        "make_default": Endpoint("PUT", "/prompts/{id}/makeDefault"),
        "render": Endpoint("POST", "/prompts/{id}/render"),
        "complete": Endpoint("POST", "/prompts/{id}/completions"),
    }),
    **_prefixed("partials", {
        **_crud("/prompts/partials", "id", paging=None),
        "versions": Endpoint("GET", "/prompts/partials/{id}/versions"),
        "make_default": Endpoint("PUT", "/prompts/partials/{id}/makeDefault"),
    }),
    **_prefixed("labels", _crud("/labels", "id")),
    **_prefixed("collections", _crud("/collections", "id")),
    **_prefixed("guardrails", _crud("/guardrails", "id")),
    # Live-only paths (not in the public spec): organisation-wide defaults and per-workspace opt-outs.
    "guardrail_defaults.get": Endpoint("GET", "/admin/organisation/defaults", gate=ORG),
    "guardrail_defaults.update": Endpoint("PUT", "/admin/organisation/defaults", gate=ORG),
    "guardrail_exclusions.get": Endpoint("GET", "/workspace-exclusions/{direction}-guardrails", gate=ORG),
    "guardrail_exclusions.update": Endpoint("PUT", "/workspace-exclusions/{direction}-guardrails",
                                            gate=ORG),
    **_prefixed("usage_limits", {
        **_crud("/policies/usage-limits", "id"),
        "list_entities": Endpoint("GET", "/policies/usage-limits/{id}/entities", Style.SNAKE),
        "reset_entity": Endpoint("PUT", "/policies/usage-limits/{id}/entities/{entity_id}/reset"),
    }),
    **_prefixed("rate_limits", _crud("/policies/rate-limits", "id")),
    **{f"analytics.{graph}": Endpoint("GET", f"/analytics/graphs/{graph}", gate=ANALYTICS)
       for graph in _GRAPHS},
    "analytics.summary/cache": Endpoint("GET", "/analytics/summary/cache", gate=ANALYTICS),
    "analytics.groups/users": Endpoint("GET", "/analytics/groups/users", Style.SNAKE, ANALYTICS),
    "analytics.groups/ai-models": Endpoint("GET", "/analytics/groups/ai-models", Style.SNAKE, ANALYTICS),
    "analytics.groups/metadata": Endpoint("GET", "/analytics/groups/metadata/{key}", Style.SNAKE,
                                          ANALYTICS),
    "logs.insert": Endpoint("POST", "/logs"),
    "logs.get": Endpoint("GET", "/logs/{id}"),
    **_prefixed("log_exports", {
        **{op: Endpoint(e.method, e.path, None, EXPORTS)
           for op, e in _crud("/logs/exports", "id", paging=None).items() if op != "delete"},
        "start": Endpoint("POST", "/logs/exports/{id}/start", gate=EXPORTS),
        "cancel": Endpoint("POST", "/logs/exports/{id}/cancel", gate=EXPORTS),
        "download": Endpoint("GET", "/logs/exports/{id}/download", gate=EXPORTS),
    }),
    "feedback.create": Endpoint("POST", "/feedback"),
    "feedback.update": Endpoint("PUT", "/feedback/{id}"),
    "audit.list": Endpoint("GET", "/audit-logs", Style.SNAKE, AUDIT),
    **_prefixed("users", {op: e for op, e in _crud("/admin/users", "id", Style.CAMEL, ORG_USERS).items()
                          if op != "create"}),
    **_prefixed("invites", {
        **{op: e for op, e in _crud("/admin/users/invites", "id", Style.CAMEL, ORG_USERS).items()
           if op != "update"},
        "resend": Endpoint("POST", "/admin/users/invites/{id}/resend", gate=ORG_USERS),
    }),
    **_prefixed("workspaces", _crud("/admin/workspaces", "workspace_id", gate=ORG)),
    **_prefixed("members", _crud("/admin/workspaces/{workspace_id}/users", "user_id")),
    **_prefixed("scim", {
        "list": Endpoint("GET", "/scim/workspaces", gate=SCIM),
        "create": Endpoint("POST", "/scim/workspaces", gate=SCIM),
        "delete": Endpoint("DELETE", "/scim/workspaces/{id}", gate=SCIM),
    }),
    **_prefixed("mcp_integrations", {
        **_crud("/mcp-integrations", "id"),
        "list_workspaces": Endpoint("GET", "/mcp-integrations/{id}/workspaces"),
        "update_workspaces": Endpoint("PUT", "/mcp-integrations/{id}/workspaces"),
        "list_capabilities": Endpoint("GET", "/mcp-integrations/{id}/capabilities", Style.PAGE),
        "update_capabilities": Endpoint("PUT", "/mcp-integrations/{id}/capabilities"),
        "metadata": Endpoint("GET", "/mcp-integrations/{id}/metadata"),
    }),
    **_prefixed("mcp_servers", {
        **_crud("/mcp-servers", "id"),
        "test": Endpoint("POST", "/mcp-servers/{id}/test"),
        "list_capabilities": Endpoint("GET", "/mcp-servers/{id}/capabilities", Style.PAGE),
        "update_capabilities": Endpoint("PUT", "/mcp-servers/{id}/capabilities"),
        "list_user_access": Endpoint("GET", "/mcp-servers/{id}/user-access", Style.PAGE),
        "update_user_access": Endpoint("PUT", "/mcp-servers/{id}/user-access"),
        "list_connections": Endpoint("GET", "/mcp-servers/{id}/connections", Style.SNAKE),
        "delete_connections": Endpoint("DELETE", "/mcp-servers/{id}/connections"),
    }),
}
