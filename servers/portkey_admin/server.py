"""portkey-admin: administer a Portkey organisation from an agent, in a few task-shaped tools.

The whole Admin API sits behind fifteen tools with an ``action`` (and for some a ``resource``),
rather than one tool per endpoint, so ``tools/list`` stays small. Toolsets
(``GATEWISE_PORTKEY_TOOLSETS``) trim it further. The server only declares tools; the request
path lives in :class:`gatewise.portkey.PortkeyAdmin`.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal, TypeVar

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult, ContentBlock, ImageContent, TextContent, ToolAnnotations
from pydantic import Field

from gatewise.bounds import MAX_COUNT, FiniteJSON
from gatewise.config import Settings
from gatewise.mcpkit.annotations import read_only, writes
from gatewise.mcpkit.errors import tool_errors
from gatewise.mcpkit.server import build_server
from gatewise.mcpkit.structured import json_text, tool_result
from gatewise.portkey import PortkeyAdmin
from gatewise.portkey.actions import action_names, resource_names
from gatewise.portkey.analytics import GroupBy, Metric
from gatewise.portkey.client import MAX_PAGES, PAGE_SIZE
from gatewise.portkey.models import (
    AdminResult,
    AnalyticsFilters,
    GuardrailActions,
    GuardrailCheck,
    UsageAnalytics,
    WorkspaceStatsReport,
)
from gatewise.portkey.schema import COMPACT, OneOf
from gatewise.portkey.toolsets import ToolName, parse_toolsets
from gatewise.portkey.trial import MAX_SAMPLE_CHARS
from gatewise.strict_types import JsonObject

from .resources import add_resources

MAX_LIMIT = 1000
F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


INSTRUCTIONS = """\
Administer a Portkey organisation. Read-only: get_usage_analytics (spend, requests, latency,
errors, cache, feedback; grouped by user, model or metadata; optional PNG chart and the local
gateway's spend beside Portkey's), get_workspace_stats (members, keys, configs, cost and requests
per workspace), get_api_keys, get_logs, get_audit_logs. Changes: manage_* tools and
configure_guardrails, each with an `action`. Destructive actions (delete, rotate, reset, remove)
need confirm: true; any change can be previewed with dry_run: true (shows the request and the item
it would change). List actions fetch pages up to `limit` items (default 50) and say when more
exist. Configs and guardrails are validated locally first (action 'validate' checks without
saving). New secrets appear once, in `secret`; keys are masked everywhere else. Analytics costs
are in cents. Enterprise-gated endpoints (analytics, audit logs, org users, log exports, SCIM)
need an organisation admin key.
"""

# --- shared argument types -------------------------------------------------------------------
# Optional parameters are published as omittable (see gatewise.portkey.schema).

Str = Annotated[str | None, COMPACT]
Int = Annotated[int | None, COMPACT]
Flag = Annotated[bool | None, COMPACT]
# Request bodies go to Portkey as given: every number in them must be finite.
Obj = Annotated[JsonObject | None, COMPACT, FiniteJSON]
Csv = Annotated[list[str] | None, COMPACT]
# confirm, dry_run (a Flag) and limit mean the same on every tool; INSTRUCTIONS explains them once.
Limit = Annotated[Int, Field(ge=1, le=MAX_LIMIT)]
Fields = Annotated[Obj, Field(description="Request body fields, by Portkey API name.")]
Id = Str
WorkspaceId = Str
Timeframe = Annotated[Str, Field(description="Window ending now: 24h, 7d, 30d (default), today, this_month.")]
Start = Annotated[Str, Field(description="Or a window start, ISO-8601.")]
End = Annotated[Str, Field(description="ISO-8601; default now.")]

# Every manage tool has at least one destructive action, so the tool as a whole is flagged so.
MANAGE: dict[str, bool] = {"destructive": True, "idempotent": False, "remote": True}


@asynccontextmanager
async def _lifespan(settings: Settings, server: MCPServer[PortkeyAdmin]) -> AsyncIterator[PortkeyAdmin]:
    admin = PortkeyAdmin(settings)
    try:
        yield admin
    finally:
        await admin.aclose()


def _actions(tool: ToolName) -> OneOf:
    """The values of ``tool``'s ``action`` argument: the actions gatewise.portkey.actions defines."""
    return OneOf(action_names(tool))


def _resources(tool: ToolName) -> OneOf:
    return OneOf(resource_names(tool))


def _args(arguments: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in arguments.items() if k != "ctx"}


def create_server(settings: Settings, toolsets: str | Iterable[str] | None = None
                  ) -> MCPServer[PortkeyAdmin]:
    """The server with the tools of ``toolsets`` (default: ``settings.portkey_toolsets``)."""
    enabled = parse_toolsets(settings.portkey_toolsets if toolsets is None else toolsets)
    server = build_server("gatewise-portkey-admin", instructions=INSTRUCTIONS,
                          lifespan=lambda srv: _lifespan(settings, srv))

    def tool(name: ToolName, annotations: ToolAnnotations, description: str) -> Callable[[F], F]:
        """Register a tool of an enabled toolset; the others are never built (nor their schemas)."""
        def register(fn: F) -> F:
            if name in enabled:
                server.tool(name=name, annotations=annotations, description=description)(fn)
            return fn
        return register

    @tool(
        name=ToolName.GET_API_KEYS, annotations=read_only("Portkey API keys", remote=True),
        description=(
            "List Portkey API keys (all pages up to `limit`, optionally one workspace's) or get one "
            "by id: name, type, scopes, status, rate and usage limits, expiry. Keys are masked."),
    )
    @tool_errors
    async def get_api_keys(
        ctx: Context[PortkeyAdmin], action: Annotated[str, _actions(ToolName.GET_API_KEYS)] = "list",
        id: Id = None, workspace_id: WorkspaceId = None, limit: Limit = None,
    ) -> AdminResult:
        return await ctx.request_context.lifespan_context.run(ToolName.GET_API_KEYS, _args(locals()))

    @tool(
        name=ToolName.MANAGE_API_KEYS, annotations=writes("Manage API keys", **MANAGE),
        description=(
            "Portkey API keys: list, get, create (key_type default workspace, sub_type default "
            "service, name, scopes, workspace_id; `fields`: rate_limits, usage_limits, expires_at, "
            "defaults, alert_emails, rotation_policy), update (reset_usage reactivates), delete, "
            "rotate (the old secret lasts key_transition_period_ms). A new secret is returned "
            "once, in `secret`. delete and rotate need confirm."),
    )
    @tool_errors
    async def manage_api_keys(
        ctx: Context[PortkeyAdmin],
        action: Annotated[str, _actions(ToolName.MANAGE_API_KEYS)],
        id: Id = None, workspace_id: WorkspaceId = None,
        key_type: Annotated[Literal["organisation", "workspace"] | None, COMPACT] = None,
        sub_type: Annotated[Literal["service", "user"] | None, COMPACT] = None,
        name: Str = None, scopes: Annotated[list[str] | None, COMPACT] = None,
        key_transition_period_ms: Annotated[Int, Field(ge=1_800_000, le=MAX_COUNT * 1000)] = None,
        fields: Fields = None, confirm: Flag = None, dry_run: Flag = None, limit: Limit = None,
    ) -> AdminResult:
        return await ctx.request_context.lifespan_context.run(ToolName.MANAGE_API_KEYS, _args(locals()))

    @tool(
        name=ToolName.MANAGE_VIRTUAL_KEYS, annotations=writes("Manage virtual keys", **MANAGE),
        description=(
            "Legacy virtual keys (stored provider credentials): list, get, create (name, provider, "
            "key; `fields`: note, usage_limits, rate_limits, expires_at), update, delete, rotate "
            "(store a new provider `key`). Stored keys are never shown. delete, rotate and an "
            "update with `key` (it replaces the stored key) need confirm."),
    )
    @tool_errors
    async def manage_virtual_keys(
        ctx: Context[PortkeyAdmin],
        action: Annotated[str, _actions(ToolName.MANAGE_VIRTUAL_KEYS)],
        slug: Str = None, name: Str = None, provider: Str = None,
        key: Annotated[Str, Field(description="The provider's API key (write-only).")] = None,
        fields: Fields = None, confirm: Flag = None, dry_run: Flag = None, limit: Limit = None,
    ) -> AdminResult:
        return await ctx.request_context.lifespan_context.run(ToolName.MANAGE_VIRTUAL_KEYS, _args(locals()))

    @tool(
        name=ToolName.GET_USAGE_ANALYTICS, annotations=read_only("Portkey usage analytics", remote=True),
        description=(
            "Portkey analytics over a window: summary and data points of `metric`, optionally "
            "grouped (users, ai_models, metadata key), with a PNG chart, and with include_gateway "
            "the local routing gateway's spend beside Portkey's. Every filter given is forwarded, "
            "zeros included; cost_* in cents; list filters are JSON lists (sent comma-separated), "
            "ai_org_model a list of 'provider__model'. Needs analytics.view (Enterprise)."),
    )
    @tool_errors
    async def get_usage_analytics(
        ctx: Context[PortkeyAdmin],
        metric: Metric = "cost",
        timeframe: Timeframe = None, start: Start = None, end: End = None,
        group_by: Annotated[GroupBy | None, COMPACT] = None,
        metadata_key: Annotated[Str, Field(description="For group_by 'metadata'.")] = None,
        chart: Annotated[Flag, Field(description="Add a PNG chart.")] = None,
        include_gateway: Annotated[Flag, Field(description="Add the local gateway's spend.")] = None,
        workspace_slug: Str = None,
        filters: Annotated[AnalyticsFilters | None, COMPACT] = None,
        limit: Annotated[Limit, Field(description="Max groups.")] = None,
    ) -> Annotated[CallToolResult, UsageAnalytics]:
        report, png = await ctx.request_context.lifespan_context.usage(_args(locals()))
        content: list[ContentBlock] = []
        if png is not None:
            content.append(ImageContent(type="image", data=base64.b64encode(png).decode(),
                                        mime_type="image/png"))
        return tool_result(report, lambda data: [TextContent(type="text", text=json_text(data)), *content])

    @tool(
        name=ToolName.GET_WORKSPACE_STATS, annotations=read_only("Workspace stats", remote=True),
        description=(
            "Per workspace (all, or one): members, API keys, configs, requests and cost in cents "
            "over the window, fetched concurrently. A figure that cannot be read (e.g. analytics "
            "without Enterprise) is left out, with the reason in `errors`; a count named in "
            f"`at_least` is a lower bound (its listing had more than {PAGE_SIZE * MAX_PAGES:,} items)."),
    )
    @tool_errors
    async def get_workspace_stats(
        ctx: Context[PortkeyAdmin], workspace_id: WorkspaceId = None,
        timeframe: Timeframe = None, start: Start = None, end: End = None,
        limit: Annotated[Int, Field(ge=1, le=100, description="Max workspaces (default 20).")] = None,
    ) -> WorkspaceStatsReport:
        return await ctx.request_context.lifespan_context.workspace_stats(_args(locals()))

    @tool(
        name=ToolName.MANAGE_WORKSPACES, annotations=writes("Manage workspaces", **MANAGE),
        description=(
            "Workspaces and members: list (filters name, exact_name, status), get, create (name; "
            "`fields`: description, defaults, usage_limits, rate_limits), update, delete; "
            "list_members (filters role, email), get_member, add_members (user_id + role), "
            "update_member (role), remove_member. delete and remove_member need confirm."),
    )
    @tool_errors
    async def manage_workspaces(
        ctx: Context[PortkeyAdmin],
        action: Annotated[str, _actions(ToolName.MANAGE_WORKSPACES)],
        workspace_id: Str = None, user_id: Str = None, name: Str = None, exact_name: Str = None,
        status: Annotated[Literal["active", "archived"] | None, COMPACT] = None,
        role: Annotated[Literal["admin", "manager", "member"] | None, COMPACT] = None, email: Str = None,
        fields: Fields = None, confirm: Flag = None, dry_run: Flag = None, limit: Limit = None,
    ) -> AdminResult:
        return await ctx.request_context.lifespan_context.run(ToolName.MANAGE_WORKSPACES, _args(locals()))

    @tool(
        name=ToolName.MANAGE_USERS, annotations=writes("Manage users and invites", **MANAGE),
        description=(
            "Organisation users, invites and SCIM workspace mappings (Enterprise). list/get/update "
            "(role)/delete users; list_invites, get_invite, invite (email, role, "
            "fields.workspaces [{id, role}]), delete_invite, resend_invite; list_scim, create_scim, "
            "delete_scim. Deletes need confirm."),
    )
    @tool_errors
    async def manage_users(
        ctx: Context[PortkeyAdmin],
        action: Annotated[str, _actions(ToolName.MANAGE_USERS)],
        user_id: Str = None, invite_id: Str = None, scim_id: Str = None,
        role: Annotated[Literal["owner", "admin", "manager", "member"] | None, COMPACT] = None,
        email: Str = None,
        status: Annotated[Literal["pending", "cancelled", "accepted", "expired"] | None, COMPACT] = None,
        workspace_id: WorkspaceId = None, scim_group_id: Str = None,
        fields: Fields = None, confirm: Flag = None, dry_run: Flag = None, limit: Limit = None,
    ) -> AdminResult:
        return await ctx.request_context.lifespan_context.run(ToolName.MANAGE_USERS, _args(locals()))

    @tool(
        name=ToolName.MANAGE_CONFIGS, annotations=writes("Manage gateway configs", **MANAGE),
        description=(
            "Saved gateway configs (routing, fallbacks, retries, cache, guardrails): list, get, "
            "versions, create (name, config, workspace_id, is_default), update (name, config, "
            "status), delete (confirm), validate. `config` is checked locally first; errors name "
            "the field path."),
    )
    @tool_errors
    async def manage_configs(
        ctx: Context[PortkeyAdmin],
        action: Annotated[str, _actions(ToolName.MANAGE_CONFIGS)],
        slug: Str = None, name: Str = None,
        config: Annotated[Obj, Field(
            description="The config object: strategy, targets, retry, cache, request_timeout, …")] = None,
        status: Str = None, is_default: Flag = None, workspace_id: WorkspaceId = None,
        confirm: Flag = None, dry_run: Flag = None, limit: Limit = None,
    ) -> AdminResult:
        return await ctx.request_context.lifespan_context.run(ToolName.MANAGE_CONFIGS, _args(locals()))

    @tool(
        name=ToolName.CONFIGURE_GUARDRAILS, annotations=writes("Configure guardrails", **MANAGE),
        description=(
            "Guardrails: list, get, create (name, checks, actions, workspace_id or "
            "organisation_id), update, delete (confirm), validate. Checks are verified locally "
            "against Portkey's documented ones (e.g. default.regexMatch {rule}, default.wordCount "
            "{minWords, maxWords}, portkey.pii {redact, categories}); errors name the parameter. "
            "Org-wide: get/set_defaults (fields: input_guardrails, output_guardrails ids), "
            "get/set_exclusions per direction (fields: workspace_ids). test: run checks and actions "
            "locally on sample `text` (direction input or output) and get each check's verdict and "
            "the guardrail's outcome as Portkey would answer (200, 246 flagged, 446 denied); no "
            "API call."),
    )
    @tool_errors
    async def configure_guardrails(
        ctx: Context[PortkeyAdmin],
        action: Annotated[str, _actions(ToolName.CONFIGURE_GUARDRAILS)],
        guardrail_id: Str = None, name: Str = None,
        checks: Annotated[list[GuardrailCheck] | None, COMPACT] = None,
        actions: Annotated[GuardrailActions | None, COMPACT] = None,
        workspace_id: WorkspaceId = None, organisation_id: Str = None,
        direction: Annotated[Literal["input", "output"] | None, COMPACT] = None,
        text: Annotated[Str, Field(max_length=MAX_SAMPLE_CHARS, description="test: the sample text")] = None,
        fields: Fields = None,
        confirm: Flag = None, dry_run: Flag = None, limit: Limit = None,
    ) -> AdminResult:
        return await ctx.request_context.lifespan_context.run(ToolName.CONFIGURE_GUARDRAILS, _args(locals()))

    @tool(
        name=ToolName.MANAGE_PROMPTS, annotations=writes("Manage prompts", **MANAGE),
        description=(
            "Prompt library. prompt: list, get, create (fields: name, collection_id, string, "
            "parameters, virtual_key, model), update, delete, versions, get_version, "
            "update_version, make_default (version), render, complete (variables; complete runs "
            "the model and costs money). partial: CRUD, versions, make_default. label, "
            "collection: CRUD. delete needs confirm."),
    )
    @tool_errors
    async def manage_prompts(
        ctx: Context[PortkeyAdmin],
        action: Annotated[str, _actions(ToolName.MANAGE_PROMPTS)],
        resource: Annotated[str, _resources(ToolName.MANAGE_PROMPTS)] = "prompt",
        id: Id = None, version_id: Str = None, version: Annotated[Int, Field(ge=1, le=MAX_COUNT)] = None,
        variables: Obj = None,
        collection_id: Str = None, workspace_id: WorkspaceId = None, organisation_id: Str = None,
        search: Str = None,
        fields: Fields = None, confirm: Flag = None, dry_run: Flag = None, limit: Limit = None,
    ) -> AdminResult:
        return await ctx.request_context.lifespan_context.run(ToolName.MANAGE_PROMPTS, _args(locals()))

    @tool(
        name=ToolName.MANAGE_LIMITS, annotations=writes("Manage limit policies", **MANAGE),
        description=(
            "Usage-limit (cost or tokens) and rate-limit policies. list, get, create (fields: "
            "conditions [{key, value}], group_by [{key}], type, credit_limit | unit + value), "
            "update, delete (confirm); usage only: list_entities, reset_entity (confirm)."),
    )
    @tool_errors
    async def manage_limits(
        ctx: Context[PortkeyAdmin],
        action: Annotated[str, _actions(ToolName.MANAGE_LIMITS)],
        resource: Annotated[str, _resources(ToolName.MANAGE_LIMITS)] = "usage",
        id: Id = None, entity_id: Str = None, workspace_id: WorkspaceId = None,
        status: Annotated[Literal["active", "archived"] | None, COMPACT] = None,
        type: Annotated[Literal["cost", "tokens", "requests"] | None, COMPACT] = None,
        unit: Annotated[Literal["rpm", "rph", "rpd"] | None, COMPACT] = None,
        search: Str = None, include_usage: Flag = None,
        fields: Fields = None, confirm: Flag = None, dry_run: Flag = None, limit: Limit = None,
    ) -> AdminResult:
        return await ctx.request_context.lifespan_context.run(ToolName.MANAGE_LIMITS, _args(locals()))

    @tool(
        name=ToolName.GET_LOGS, annotations=read_only("Logs and exports", remote=True),
        description=(
            "get: one request log by id (request, response, metrics, cost). list_exports "
            "(workspace_id), get_export (status), download_export (signed URL). Exports are "
            "Enterprise-gated."),
    )
    @tool_errors
    async def get_logs(
        ctx: Context[PortkeyAdmin],
        action: Annotated[str, _actions(ToolName.GET_LOGS)],
        id: Id = None, workspace_id: WorkspaceId = None, limit: Limit = None,
    ) -> AdminResult:
        return await ctx.request_context.lifespan_context.run(ToolName.GET_LOGS, _args(locals()))

    @tool(
        name=ToolName.MANAGE_LOGS, annotations=writes("Manage logs and feedback", **MANAGE),
        description=(
            "insert custom logs (entries: [{request: {url, body}, response: {body}}]); "
            "create_export (fields: filters, requested_data), update/start/cancel_export; "
            "add_feedback (fields: trace_id, value -10..10, weight), update_feedback."),
    )
    @tool_errors
    async def manage_logs(
        ctx: Context[PortkeyAdmin],
        action: Annotated[str, _actions(ToolName.MANAGE_LOGS)],
        id: Id = None, workspace_id: WorkspaceId = None,
        entries: Annotated[list[JsonObject] | None, COMPACT, FiniteJSON] = None,
        fields: Fields = None, dry_run: Flag = None,
    ) -> AdminResult:
        return await ctx.request_context.lifespan_context.run(ToolName.MANAGE_LOGS, _args(locals()))

    @tool(
        name=ToolName.GET_AUDIT_LOGS, annotations=read_only("Audit logs", remote=True),
        description=(
            "Who changed what: audit-log entries over a window, with every filter given forwarded. "
            "organisation_id is found automatically when omitted. Enterprise-gated."),
    )
    @tool_errors
    async def get_audit_logs(
        ctx: Context[PortkeyAdmin], timeframe: Timeframe = None, start: Start = None, end: End = None,
        organisation_id: Str = None,
        method: Annotated[Literal["POST", "PUT", "DELETE"] | None, COMPACT] = None,
        uri: Str = None, request_id: Str = None, user_id: Str = None,
        user_type: Annotated[Literal["user", "api_key"] | None, COMPACT] = None,
        workspace_id: WorkspaceId = None,
        response_status_code: Annotated[Int, Field(ge=100, le=599)] = None, resource_type: Str = None,
        action: Str = None,
        client_ip: Str = None, country: Str = None, limit: Limit = None,
    ) -> AdminResult:
        return await ctx.request_context.lifespan_context.audit_logs(_args(locals()))

    @tool(
        name=ToolName.MANAGE_INTEGRATIONS, annotations=writes("Manage integrations", **MANAGE),
        description=(
            "Providers, integrations, secret references, MCP integrations and MCP servers: list, "
            "get, create, update, delete (confirm). integration: list/update/delete_models (slugs), "
            "list/update_workspaces. mcp_integration: list/update_workspaces, "
            "list/update_capabilities, metadata. mcp_server: list (id: comma-separated ids to list), test, "
            "list/update_capabilities, "
            "list/update_user_access, list/delete_connections. pricing get: id = provider, model. "
            "Credentials are write-only; an update replacing one (integration `key`, secret "
            "reference `auth_config`) needs confirm."),
    )
    @tool_errors
    async def manage_integrations(
        ctx: Context[PortkeyAdmin],
        action: Annotated[str, _actions(ToolName.MANAGE_INTEGRATIONS)],
        resource: Annotated[str, _resources(ToolName.MANAGE_INTEGRATIONS)],
        id: Id = None, model: Str = None, workspace_id: WorkspaceId = None, organisation_id: Str = None,
        type: Str = None, search: Str = None,
        manager_type: Annotated[Literal["aws_sm", "azure_kv", "hashicorp_vault"] | None, COMPACT] = None,
        tags: Str = None, user_id: Str = None, version: Str = None, slugs: Csv = None,
        fields: Fields = None, confirm: Flag = None, dry_run: Flag = None, limit: Limit = None,
    ) -> AdminResult:
        return await ctx.request_context.lifespan_context.run(ToolName.MANAGE_INTEGRATIONS, _args(locals()))

    add_resources(server, enabled)
    return server
