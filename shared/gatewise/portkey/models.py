"""Typed arguments and results of the portkey-admin tools, shaped for MCP structured output."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from gatewise.bounds import Amount, Count, Fraction
from gatewise.portkey.schema import compact_model, result_model
from gatewise.strict_types import JsonObject, StringMap


class _Compact(BaseModel):
    model_config = ConfigDict(json_schema_extra=result_model)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, json_schema_extra=compact_model)


# --- guardrails ----------------------------------------------------------------------------


class GuardrailCheck(_Strict):
    id: str = Field(description="e.g. 'default.regexMatch', 'portkey.pii', 'azure.contentSafety'")
    parameters: JsonObject = Field(default_factory=dict)
    name: str | None = None
    is_enabled: bool | None = None


class Feedback(_Strict):
    value: int = Field(ge=-10, le=10)
    weight: Fraction = 1.0
    metadata: JsonObject | None = None


class FeedbackAction(_Strict):
    feedback: Feedback


class GuardrailActions(_Strict):
    deny: bool | None = Field(None, description="Block (HTTP 446) on failure instead of flagging (246)")
    async_: bool | None = Field(None, alias="async", description="Run without holding the request")
    sequential: bool | None = None
    on_success: FeedbackAction | None = None
    on_fail: FeedbackAction | None = None


# --- analytics -----------------------------------------------------------------------------


class AnalyticsFilters(_Strict):
    """Forwarded as given, zeros included. Costs in cents; lists are sent comma-separated."""

    total_units_min: Count | None = None
    total_units_max: Count | None = None
    cost_min: Amount | None = None
    cost_max: Amount | None = None
    prompt_token_min: Count | None = None
    prompt_token_max: Count | None = None
    completion_token_min: Count | None = None
    completion_token_max: Count | None = None
    weighted_feedback_min: float | None = Field(None, ge=-10, le=10, allow_inf_nan=False)
    weighted_feedback_max: float | None = Field(None, ge=-10, le=10, allow_inf_nan=False)
    status_code: list[Annotated[int, Field(ge=100, le=599)]] | None = None
    virtual_keys: list[str] | None = None
    configs: list[str] | None = None
    api_key_ids: list[str] | None = None
    trace_id: list[str] | None = None
    span_id: list[str] | None = None
    prompt_slug: list[str] | None = None
    metadata: StringMap | None = None
    ai_org_model: list[Annotated[str, Field(pattern=r"^[^_\s]+__\S+$")]] | None = Field(
        None, description="'provider__model' pairs")


# --- results -------------------------------------------------------------------------------


class Validation(_Compact):
    valid: bool
    errors: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


# What one admin action returned: an item (or a validation, or a dry run's preview), or a page of
# items. `provider` is "portkey", or "sandbox" for the local stand-in; `applied` is false when
# nothing changed; `truncated` when more items exist than were fetched.
class AdminResult(_Compact):
    provider: str
    applied: bool = True
    item: Any = None
    items: list[Any] | None = None
    total: int | None = None
    truncated: bool = False
    secret: str | None = Field(None, description="new secret, shown only once")
    notes: list[str] = Field(default_factory=list)


# The local routing gateway's own ledger over the same window.
class GatewaySpend(_Compact):
    requests: int
    cost_usd: float
    tokens_in: int
    tokens_out: int
    error_rate: float


class UsageAnalytics(_Compact):
    provider: str
    metric: str
    time_of_generation_min: str
    time_of_generation_max: str
    summary: dict[str, Any] = Field(default_factory=dict)
    data_points: list[dict[str, Any]] = Field(default_factory=list)
    group_by: str | None = None
    groups: list[dict[str, Any]] | None = None
    groups_total: int | None = None
    portkey_cost_usd: float | None = None
    gateway: GatewaySpend | None = None
    combined_cost_usd: float | None = None
    query: dict[str, str]  # exactly what was sent upstream
    notes: list[str] = Field(default_factory=list)


class WorkspaceStats(_Compact):
    id: str
    slug: str | None = None
    name: str | None = None
    members: int | None = None
    api_keys: int | None = None
    configs: int | None = None
    requests: int | None = None
    cost_cents: float | None = None
    errors: dict[str, str] = Field(default_factory=dict)  # field → why it is null
    # Counts that are lower bounds: the listing had more pages than are fetched (20 of 100 items).
    at_least: list[str] = Field(default_factory=list)


class WorkspaceStatsReport(_Compact):
    provider: str
    time_of_generation_min: str
    time_of_generation_max: str
    workspaces: list[WorkspaceStats]
    truncated: bool = False
