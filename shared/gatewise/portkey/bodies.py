"""Request bodies checked before anything is sent: types of known fields, required fields, typos.

Bodies stay open to fields this module does not model (the API grows), but a field that is
misspelt (close to a known one) or has the wrong type is refused with its exact path.
"""

from __future__ import annotations

import difflib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gatewise.bounds import Amount, Fraction
from gatewise.errors import ErrorCode, GatewiseError


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class RateLimit(_Open):
    type: Literal["requests", "tokens"]
    unit: Literal["rps", "rpm", "rph", "rpd", "rpw"]
    value: Amount


class UsageLimits(_Open):
    credit_limit: Amount | None = None
    type: Literal["cost", "tokens"] | None = None
    alert_threshold: Amount | None = None
    periodic_reset: Literal["monthly", "weekly"] | None = None


class _Limited(_Open):
    rate_limits: list[RateLimit] | None = None
    usage_limits: UsageLimits | None = None
    expires_at: str | None = None
    workspace_id: str | None = None


class ApiKeyBody(_Limited):
    name: str = Field(min_length=1)
    description: str | None = None
    user_id: str | None = None
    scopes: list[str] = Field(min_length=1)  # the API requires them on create
    defaults: dict[str, Any] | None = None
    alert_emails: list[str] | None = None
    rotation_policy: dict[str, Any] | None = None
    reset_usage: bool | None = None


class VirtualKeyBody(_Limited):
    name: str = Field(min_length=1)
    provider: str = Field(min_length=1)
    key: str | None = None
    note: str | None = None


class ProviderBody(_Limited):
    name: str = Field(min_length=1)
    integration_id: str = Field(min_length=1)
    slug: str | None = None
    note: str | None = None


class IntegrationBody(_Open):
    name: str = Field(min_length=1)
    ai_provider_id: str = Field(min_length=1)
    key: str | None = None
    configurations: dict[str, Any] | None = None
    workspace_id: str | None = None


class SecretReferenceBody(_Open):
    name: str = Field(min_length=1)
    manager_type: Literal["aws_sm", "azure_kv", "hashicorp_vault"]
    auth_config: dict[str, Any]
    secret_path: str = Field(min_length=1)
    secret_key: str | None = None
    allow_all_workspaces: bool | None = None
    allowed_workspaces: list[str] | None = None


class PromptBody(_Open):
    name: str = Field(min_length=1)
    collection_id: str = Field(min_length=1)
    string: str = Field(min_length=1)
    parameters: dict[str, Any]
    virtual_key: str = Field(min_length=1)
    model: str | None = None
    version_description: str | None = None


class PartialBody(_Open):
    name: str = Field(min_length=1)
    string: str
    version_description: str | None = None
    workspace_id: str | None = None


class ConfigBody(_Open):
    name: str = Field(min_length=1)
    config: dict[str, Any]
    workspace_id: str | None = None


class NamedBody(_Open):
    name: str = Field(min_length=1)
    workspace_id: str | None = None


class GuardrailBody(_Open):
    name: str = Field(min_length=1)
    checks: list[dict[str, Any]] = Field(min_length=1)
    actions: dict[str, Any]
    workspace_id: str | None = None
    organisation_id: str | None = None


class Condition(_Open):
    key: str
    value: Any


class GroupKey(_Open):
    key: str


class UsageLimitBody(_Open):
    name: str | None = None
    conditions: list[Condition]
    group_by: list[GroupKey]
    type: Literal["cost", "tokens"]
    credit_limit: Amount
    alert_threshold: Amount | None = None
    periodic_reset: Literal["monthly", "weekly"] | None = None
    workspace_id: str | None = None


class RateLimitBody(_Open):
    name: str | None = None
    conditions: list[Condition]
    group_by: list[GroupKey]
    type: Literal["requests", "tokens"]
    unit: Literal["rpm", "rph", "rpd"]
    value: Amount
    workspace_id: str | None = None


class Membership(_Open):
    id: str
    role: Literal["admin", "manager", "member"]


class MembersBody(_Open):
    users: list[Membership] = Field(min_length=1)


class InviteBody(_Open):
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    role: Literal["admin", "member"]
    workspaces: list[Membership]
    first_name: str | None = None
    last_name: str | None = None
    workspace_api_key_details: dict[str, Any] | None = None


class ScimBody(_Open):
    workspace_id: str = Field(min_length=1)
    role: Literal["admin", "manager", "member"]
    scim_group_id: str | None = None
    scim_group_name: str | None = None


class UserBody(_Open):
    role: Literal["admin", "member"]


class McpIntegrationBody(_Open):
    name: str = Field(min_length=1)
    url: str = Field(pattern=r"^https?://")
    auth_type: Literal["oauth_auto", "headers", "none"]
    transport: Literal["http", "sse"]
    configurations: dict[str, Any] | None = None


class McpServerBody(_Open):
    name: str = Field(min_length=1)
    mcp_integration_id: str = Field(min_length=1)
    workspace_id: str | None = None


class ExportBody(_Open):
    filters: dict[str, Any]
    requested_data: list[str] = Field(min_length=1)
    workspace_id: str | None = None
    description: str | None = None


class FeedbackBody(_Open):
    trace_id: str = Field(min_length=1)
    value: int = Field(ge=-10, le=10)
    weight: Fraction | None = None
    metadata: dict[str, Any] | None = None


class LogRequest(_Open):
    url: str
    body: Any
    method: str | None = None


class LogResponse(_Open):
    body: Any
    status: int | None = None


class LogEntry(_Open):
    request: LogRequest
    response: LogResponse
    metadata: dict[str, Any] | None = None


class AnyBody(_Open):
    pass


def check_body(model: type[BaseModel], fields: dict[str, Any], *, partial: bool,
               typed: tuple[str, ...] = ()) -> dict[str, Any]:
    """``fields`` checked against the model and returned as given (no defaults injected).

    ``partial`` (updates): top-level fields may be left out, but those given keep their types.
    Problems are reported as ``fields.<path>``, or as the bare name for the tool's own ``typed``
    arguments.
    """
    known = set(model.model_fields)
    for name in fields:
        if name not in known:
            near = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
            if near:
                raise _invalid(f"fields.{name}", f"unknown field (did you mean {near[0]!r}?)")
    problems = []
    try:
        model.model_validate(fields)
    except ValidationError as exc:
        problems = [e for e in exc.errors()
                    if not (partial and e["type"] == "missing" and len(e["loc"]) == 1)]
    if problems:
        first = problems[0]
        where = "fields" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"])
        if first["loc"] and first["loc"][0] in typed:
            where = where.removeprefix("fields.")
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise _invalid(where, str(first["msg"]).removeprefix("Value error, ") + more)
    return fields


def _invalid(where: str, problem: str) -> GatewiseError:
    return GatewiseError(ErrorCode.INVALID_INPUT, f"{where}: {problem}")
