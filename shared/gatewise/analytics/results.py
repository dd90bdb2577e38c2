"""Result types of the analytics, shaped to be returned as MCP structured output as they are."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from gatewise.ledger.guardrail_events import CheckCounts

GroupBy = Literal["model", "provider", "task", "project", "caller", "day", "none"]
Metric = Literal["cost", "requests", "latency_p95", "error_rate"]
BaselineSource = Literal["given", "most_expensive_in_window", "none"]
RecommendationKind = Literal[
    "switch_model", "failing_model", "error_codes", "latency_outlier", "cost_concentration", "cache_repeats"
]


class Baseline(BaseModel):
    """The model every call is priced against to measure what routing saved."""

    model: str | None = Field(description="Catalogue id; null when no model in the window has a price")
    source: BaselineSource
    usd_per_million_in: float = 0.0
    usd_per_million_out: float = 0.0


class UsageGroup(BaseModel):
    """Figures for one group (or the totals, whose key is null).

    ``requests`` are tool calls, each counted in the group of the attempt that answered it (or its
    last attempt when every one failed), so groups add up to the totals. ``attempts`` are upstream
    calls, fallbacks included.
    """

    key: str | None
    requests: int = 0
    attempts: int = 0
    errors: int = 0
    cost_usd: float = Field(0.0, description="Actual spend; cache hits count as free")
    tokens_in: int = 0
    tokens_out: int = 0
    latency_p50_ms: float = Field(0.0, description="Nearest-rank, over successful attempts")
    latency_p95_ms: float = 0.0
    latency_p99_ms: float = 0.0
    error_rate: float = Field(0.0, description="Failed attempts / attempts")
    fallback_rate: float = Field(0.0, description="Share of requests answered by a fallback model")
    cache_hit_rate: float = Field(0.0, description="Share of requests answered from a cache")
    baseline_cost_usd: float | None = Field(
        None, description="What the successful attempts would have cost on the baseline model"
    )
    savings_usd: float | None = Field(None, description=(
        "baseline_cost_usd - cost_usd, to a billionth of a dollar; negative when the spend exceeded "
        "the baseline (failed attempts, search fees, upstream prices above the catalogue's)"))
    savings_pct: float | None = Field(None, description="savings_usd as a percentage of baseline_cost_usd")


class UsageReport(BaseModel):
    since: float | None = Field(description="Window start, epoch seconds (inclusive)")
    until: float | None = Field(description="Window end, epoch seconds (exclusive)")
    window: str = Field(description="The window in readable UTC")
    group_by: GroupBy
    baseline: Baseline
    totals: UsageGroup
    groups: list[UsageGroup]
    guardrails: list[CheckCounts] = Field(
        default_factory=list, description="Requests and answers each guardrail check blocked or flagged "
                                          "in the window, most blocks first")
    notes: list[str] = Field(default_factory=list)


class CostShare(BaseModel):
    key: str | None
    cost_usd: float
    share: float = Field(description="Fraction of the window's total spend")


class Recommendation(BaseModel):
    kind: RecommendationKind
    title: str
    detail: str
    estimated_monthly_saving_usd: float | None = Field(
        None, description="Extrapolated from the window to 30 days; null when not about spend"
    )
    evidence: dict[str, float | int | str | None] = Field(default_factory=dict)


class CacheOpportunity(BaseModel):
    """What caching would have saved in the window, from the ledger's request hashes."""

    requests_with_text: int = Field(description="Requests whose text was hashed (the ones counted)")
    exact_ttl_s: float = Field(description="The exact cache's TTL the replay used")
    tool_ttl_s: dict[str, float] = Field(default_factory=dict, description=(
        "The TTL used instead for a tool whose answers another cache keeps (web_search: the search "
        "cache's)"))
    exact_repeats: int = Field(0, description=(
        "Measured: requests repeating the text (case and whitespace folded) of one answered by the "
        "same tool less than its TTL (exact_ttl_s, or tool_ttl_s's) earlier; an upper bound, the "
        "cache also keys on model and parameters"))
    exact_repeats_served: int = Field(0, description="Of those, answered from a cache (exact or semantic)")
    exact_repeats_refreshed: int = Field(0, description=(
        "Of those, force_refresh calls: paid for on purpose, and left out of the paid ones"))
    exact_repeats_paid: int = Field(0, description="Of those, the rest: sent upstream and paid for")
    exact_repeats_bypassed: int = Field(0, description=(
        "Of the paid ones, calls that skipped the cache (no_cache, temperature > 0 without "
        "cache_sampled, or caching off); the others looked it up and missed"))
    exact_saving_usd: float = Field(0.0, description="Measured: what the paid repeats cost")
    semantic_hits: int = Field(0, description="Measured: calls the semantic cache answered")
    semantic_hit_rate: float | None = Field(None, description=(
        "Measured: semantic hits / calls that reached the semantic cache (missed the exact cache), "
        "the rate the estimates below apply; get_cache_stats' hit_rate_semantic divides by every "
        "call that read a cache, exact hits included (null: no semantic hits)"))
    semantic_threshold: float | None = Field(None, description="The configured similarity threshold")
    semantic_estimated_calls: float | None = Field(None, description=(
        "Estimate: the paid calls that were not exact repeats, times semantic_hit_rate"))
    semantic_estimated_saving_usd: float | None = Field(None, description=(
        "Estimate: their cost times semantic_hit_rate"))


class OptimizationReport(BaseModel):
    since: float | None
    until: float | None
    window: str
    window_days: float = Field(description="Days the monthly estimates extrapolate from")
    requests: int
    attempts: int
    cost_usd: float
    top_costs: dict[str, list[CostShare]] = Field(
        description="Biggest spenders by model, task and project"
    )
    recommendations: list[Recommendation]
    cache: CacheOpportunity = Field(description="What exact and semantic caching would have saved")
    notes: list[str] = Field(default_factory=list, description="Analyses skipped, and why")
