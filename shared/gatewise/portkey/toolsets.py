"""portkey-admin's tools by name, and the toolsets (``GATEWISE_PORTKEY_TOOLSETS``) that select
them: checked here, once, for the server before it serves and for ``gatewise doctor``."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from gatewise.errors import ErrorCode, GatewiseError

TOOLSETS_ENV = "GATEWISE_PORTKEY_TOOLSETS"


class ToolName(StrEnum):
    GET_API_KEYS = "get_api_keys"
    MANAGE_API_KEYS = "manage_api_keys"
    MANAGE_VIRTUAL_KEYS = "manage_virtual_keys"
    GET_USAGE_ANALYTICS = "get_usage_analytics"
    GET_WORKSPACE_STATS = "get_workspace_stats"
    MANAGE_WORKSPACES = "manage_workspaces"
    MANAGE_USERS = "manage_users"
    MANAGE_CONFIGS = "manage_configs"
    CONFIGURE_GUARDRAILS = "configure_guardrails"
    MANAGE_PROMPTS = "manage_prompts"
    MANAGE_LIMITS = "manage_limits"
    GET_LOGS = "get_logs"
    MANAGE_LOGS = "manage_logs"
    GET_AUDIT_LOGS = "get_audit_logs"
    MANAGE_INTEGRATIONS = "manage_integrations"


TOOLSETS: dict[str, tuple[ToolName, ...]] = {
    "keys": (ToolName.GET_API_KEYS, ToolName.MANAGE_API_KEYS, ToolName.MANAGE_VIRTUAL_KEYS),
    "analytics": (ToolName.GET_USAGE_ANALYTICS,),
    "workspaces": (ToolName.GET_WORKSPACE_STATS, ToolName.MANAGE_WORKSPACES),
    "users": (ToolName.MANAGE_USERS,),
    "config": (ToolName.MANAGE_CONFIGS,),
    "guardrails": (ToolName.CONFIGURE_GUARDRAILS,),
    "prompts": (ToolName.MANAGE_PROMPTS,),
    "limits": (ToolName.MANAGE_LIMITS,),
    "logs": (ToolName.GET_LOGS, ToolName.MANAGE_LOGS, ToolName.GET_AUDIT_LOGS),
    "integrations": (ToolName.MANAGE_INTEGRATIONS,),
}


def parse_toolsets(value: str | Iterable[str] | None) -> frozenset[ToolName]:
    """The tools of the named toolsets (comma-separated); empty or 'all' means every tool."""
    names = value.split(",") if isinstance(value, str) else list(value or [])
    wanted = {n.strip().lower() for n in names if n.strip()}
    if not wanted or "all" in wanted:
        return frozenset(ToolName)
    unknown = sorted(wanted - set(TOOLSETS))
    if unknown:
        raise GatewiseError(ErrorCode.CONFIG_ERROR,
                            f"unknown toolset {unknown[0]!r} in {TOOLSETS_ENV} "
                            f"(known: {', '.join(TOOLSETS)}, all)")
    return frozenset(tool for name in wanted for tool in TOOLSETS[name])
