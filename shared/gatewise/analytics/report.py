"""Optimisation advice from the ledger: where money goes, what fails, what a switch would save."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from gatewise.analytics.cache_opportunity import cache_opportunity, cache_recommendation
from gatewise.analytics.results import CostShare, OptimizationReport, Recommendation, UsageGroup
from gatewise.analytics.savings import cheapest_model, is_premium
from gatewise.analytics.source import (
    IS_HIT,
    LedgerSource,
    Row,
    count_if,
    integer_sum,
    ledger_source,
    total,
)
from gatewise.analytics.timeframe import window_label
from gatewise.analytics.usage import usage_analytics
from gatewise.bounds import format_usd
from gatewise.catalog import Catalog
from gatewise.config import ResponseCacheConfig, SearchConfig, TaskType
from gatewise.ledger.sqlite import window_clause
from gatewise.routing.policy import TASK_TIER

ERROR_RATE_THRESHOLD = 0.10  # a model failing more often than this is flagged
MIN_ATTEMPTS = 5  # fewer calls than this say too little about a model
PREMIUM_SHARE = 0.5  # "mostly premium": more than half of a task's spend
LATENCY_FACTOR = 3.0  # a model whose p95 exceeds this multiple of the overall median is slow
TOP_N = 5
DAYS_PER_MONTH = 30
# Extrapolating a few hours to a month multiplies noise; shorter windows count as one day.
MIN_WINDOW_DAYS = 1.0

_ADVICE = {
    "RATE_LIMITED": "spread the load over more vendors or lower the concurrency",
    "UPSTREAM_TIMEOUT": "raise the timeout for long answers, or route latency-sensitive calls elsewhere",
    "UPSTREAM_ERROR": "keep a fallback from another vendor in every route",
    "CONTEXT_TOO_LONG": "send long prompts to models with a larger context, or trim them",
    "INSUFFICIENT_CREDITS": "top up the account before the routes run dry",
    "BUDGET_EXCEEDED": "raise the budget or allow downgrades to cheaper models",
}
_PREMIUM_TASKS = frozenset(task.value for task, tier in TASK_TIER.items() if tier == "premium")
# Order of the recommendations that carry no saving, after those that do.
_KIND_ORDER = ["switch_model", "cache_repeats", "failing_model",
               "latency_outlier", "error_codes", "cost_concentration"]

_SPAN_SQL = "SELECT MIN(ts) AS first, MAX(ts) AS last FROM calls WHERE {where}"
_SPENT = total(f"CASE WHEN {IS_HIT} THEN 0 ELSE cost_usd END")
_COST_SQL = f"""
SELECT {{column}} AS key, {_SPENT} AS cost
FROM calls WHERE {{where}}
GROUP BY 1 HAVING {_SPENT} > 0
ORDER BY cost DESC, key NULLS FIRST
LIMIT {TOP_N}
"""
# Failed attempts per model; one followed by a later attempt of the same request caused a fallback.
_LATER_ATTEMPT = ("EXISTS (SELECT 1 FROM calls AS later"
                  " WHERE later.request_id = calls.request_id AND later.attempt > calls.attempt)")
_FAILURES_SQL = f"""
SELECT model, COALESCE(error_code, 'UNKNOWN') AS code, COUNT(*) AS failures,
       {total("cost_usd")} AS cost, {total("latency_ms")} AS latency_ms,
       {count_if(_LATER_ATTEMPT)} AS fallbacks
FROM calls WHERE status = 'error' AND {{where}}
GROUP BY 1, 2
ORDER BY failures DESC, code
"""
# Cache hits cost nothing whatever the model, so they are no part of what a switch could save.
_PAID = f"status = 'ok' AND NOT {IS_HIT}"
_TASK_MODEL_SQL = f"""
SELECT task, model, {_SPENT} AS cost, {count_if(_PAID)} AS answered,
       {integer_sum(f"CASE WHEN {_PAID} THEN tokens_in END")} AS tokens_in,
       {integer_sum(f"CASE WHEN {_PAID} THEN tokens_out END")} AS tokens_out
FROM calls WHERE task IS NOT NULL AND {{where}}
GROUP BY 1, 2
"""


async def optimization_report(
    ledger: LedgerSource | Path | str, catalog: Catalog, *, since: float | None, until: float | None,
    cache_ttl_s: float = ResponseCacheConfig().ttl_seconds,
    search_cache_ttl_s: float = SearchConfig().cache_ttl_seconds, semantic_threshold: float | None = None,
) -> OptimizationReport:
    """Quantified recommendations for calls with ``since <= ts < until``; repeats count as an
    exact cache's hits within ``cache_ttl_s`` (web_search's as the search cache's within
    ``search_cache_ttl_s``), and ``semantic_threshold`` is reported beside the semantic estimate.

    Monthly savings scale the window's figures to 30 days, so a quiet or busy week skews them.
    """
    source = ledger_source(ledger)
    usage = await usage_analytics(source, catalog, since=since, until=until, group_by="model")
    where, params = window_clause(since, until)
    async with source.reader() as reader:
        span = await reader.rows(_SPAN_SQL.format(where=where), params)
        costs = {
            column: await reader.rows(_COST_SQL.format(column=column, where=where), params)
            for column in ("task", "project")
        }
        failures = await reader.rows(_FAILURES_SQL.format(where=where), params)
        task_models = await reader.rows(_TASK_MODEL_SQL.format(where=where), params)
        cache = await cache_opportunity(reader, where, params, ttl_s=cache_ttl_s,
                                        tool_ttl_s={"web_search": search_cache_ttl_s},
                                        threshold=semantic_threshold)

    days = _window_days(since, until, span[0] if span else None)
    per_month = DAYS_PER_MONTH / days
    total = usage.totals.cost_usd
    top_costs = {
        "model": [_share(g.key, g.cost_usd, total) for g in usage.groups if g.cost_usd > 0][:TOP_N],
        **{column: [_share(r["key"], r["cost"], total) for r in rows] for column, rows in costs.items()},
    }
    recommendations = [
        *_switches(catalog, task_models, per_month),
        *cache_recommendation(cache, per_month),
        *_failing_models(usage.groups, failures, per_month),
        *_slow_models(usage.groups, usage.totals),
        *_error_codes(failures),
        *_concentration(top_costs, total),
    ]
    recommendations.sort(key=lambda r: (-(r.estimated_monthly_saving_usd or 0.0),
                                        _KIND_ORDER.index(r.kind)))
    notes = [f"{usage.totals.cache_hit_rate:.1%} of requests in this window were answered from a cache."]
    if cache.requests_with_text < usage.totals.requests:
        notes.append(f"{usage.totals.requests - cache.requests_with_text} requests carry no request hash "
                     "(recorded before hashes were kept, or without text): the cache figures leave them out.")
    if cache.semantic_hit_rate is None:
        notes.append("Semantic cache opportunity not estimated: it answered no call in this window.")
    if since is not None and until is not None and until - since < MIN_WINDOW_DAYS * 86_400:
        notes.append("The window is shorter than a day; monthly estimates treat it as one day.")
    return OptimizationReport(
        since=since,
        until=until,
        window=window_label(since, until),
        window_days=days,
        requests=usage.totals.requests,
        attempts=usage.totals.attempts,
        cost_usd=total,
        top_costs=top_costs,
        recommendations=recommendations,
        cache=cache,
        notes=notes,
    )


def _window_days(since: float | None, until: float | None, span: Row | None) -> float:
    """The window's length, or for an open window the stretch the calls actually cover."""
    first = since if since is not None else (span["first"] if span else None)
    last = until if until is not None else (span["last"] if span else None)
    if first is None or last is None:
        return MIN_WINDOW_DAYS
    return max(MIN_WINDOW_DAYS, (last - first) / 86_400)


def _share(key: str | None, cost: float, total: float) -> CostShare:
    return CostShare(key=key, cost_usd=cost, share=cost / total if total > 0 else 0.0)


def _switches(catalog: Catalog, rows: Sequence[Row], per_month: float) -> list[Recommendation]:
    """Tasks whose spend is mostly on premium models, repriced on the cheapest model that fits."""
    by_task: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        by_task[row["task"]].append(row)
    found = []
    for task, models in sorted(by_task.items()):
        premium = [r for r in models if is_premium(catalog.price_of(r["model"]))]
        spent = sum(r["cost"] for r in models)
        premium_cost = sum(r["cost"] for r in premium)
        if not premium or premium_cost <= PREMIUM_SHARE * spent:
            continue
        target = cheapest_model(catalog, "image" if task == TaskType.VISION else "text")
        if target is None:
            continue
        tokens_in = sum(r["tokens_in"] for r in premium)
        tokens_out = sum(r["tokens_out"] for r in premium)
        answered = sum(r["answered"] for r in premium)
        repriced = (answered * target.request_price + tokens_in * target.prompt_price
                    + tokens_out * target.completion_price)
        saving = premium_cost - repriced
        if saving <= 0:
            continue
        caveat = ""
        if task in _PREMIUM_TASKS:
            caveat = f" The router's default tier for {task} is premium, so check answer quality first."
        names = ", ".join(r["model"] for r in sorted(premium, key=lambda r: -r["cost"]))
        found.append(Recommendation(
            kind="switch_model",
            title=f"Move {task} off premium models to {target.id}",
            detail=(
                f"{premium_cost / spent:.0%} of the {task} spend ({format_usd(premium_cost)} of "
                f"{format_usd(spent)}) went to premium models ({names}). The same "
                f"{tokens_in:,.0f} input and {tokens_out:,.0f} output tokens on {target.id} would "
                f"have cost {format_usd(repriced)}: an estimated {format_usd(saving)} saved in this "
                f"window, about {format_usd(saving * per_month)} a month. Tokenizers differ between "
                f"models, so this is an estimate.{caveat}"
            ),
            estimated_monthly_saving_usd=saving * per_month,
            evidence={
                "task": task,
                "task_cost_usd": spent,
                "premium_cost_usd": premium_cost,
                "premium_share": premium_cost / spent,
                "premium_models": names,
                "target_model": target.id,
                "tokens_in": tokens_in,
                "tokens_out": tokens_out,
                "repriced_cost_usd": repriced,
                "window_saving_usd": saving,
            },
        ))
    return found


def _failing_models(groups: list[UsageGroup], failures: Sequence[Row],
                    per_month: float) -> list[Recommendation]:
    by_model: dict[str, list[Row]] = defaultdict(list)
    for row in failures:  # most frequent code first
        by_model[row["model"]].append(row)
    found = []
    for group in groups:
        if group.key is None or group.attempts < MIN_ATTEMPTS or group.error_rate <= ERROR_RATE_THRESHOLD:
            continue
        rows = by_model[group.key]
        fallbacks = sum(r["fallbacks"] for r in rows)
        wasted_usd = sum(r["cost"] for r in rows)
        wasted_ms = sum(r["latency_ms"] for r in rows)
        top_code = rows[0]["code"] if rows else "UNKNOWN"
        found.append(Recommendation(
            kind="failing_model",
            title=f"{group.key} fails {group.error_rate:.0%} of its attempts",
            detail=(
                f"{group.errors} of {group.attempts} attempts failed, mostly with {top_code}; "
                f"{fallbacks} sent the request on to a fallback model and "
                f"{group.errors - fallbacks} left it unanswered. Each failure cost "
                f"{wasted_ms / group.errors:,.0f} ms on average before anything else was tried. "
                "Move it down the fallback chain, or out of the routes, until it recovers."
            ),
            estimated_monthly_saving_usd=wasted_usd * per_month if wasted_usd > 0 else None,
            evidence={
                "model": group.key,
                "attempts": group.attempts,
                "errors": group.errors,
                "error_rate": group.error_rate,
                "fallbacks_caused": fallbacks,
                "unanswered": group.errors - fallbacks,
                "top_error_code": top_code,
                "wasted_cost_usd": wasted_usd,
                "wasted_latency_ms": wasted_ms,
            },
        ))
    return found


def _slow_models(groups: list[UsageGroup], totals: UsageGroup) -> list[Recommendation]:
    typical = totals.latency_p50_ms
    found = []
    for group in groups:
        answered = group.attempts - group.errors
        if group.key is None or answered < MIN_ATTEMPTS or typical <= 0:
            continue
        ratio = group.latency_p95_ms / typical
        if ratio < LATENCY_FACTOR:
            continue
        found.append(Recommendation(
            kind="latency_outlier",
            title=f"{group.key} is slow: p95 {group.latency_p95_ms:,.0f} ms",
            detail=(
                f"Over its {answered} successful calls the p95 latency is {group.latency_p95_ms:,.0f} ms, "
                f"{ratio:.1f}× the median of all successful calls ({typical:,.0f} ms). Set a "
                "latency threshold in the routing config or prefer a faster model for interactive work."
            ),
            evidence={
                "model": group.key,
                "successful_attempts": answered,
                "p50_ms": group.latency_p50_ms,
                "p95_ms": group.latency_p95_ms,
                "p99_ms": group.latency_p99_ms,
                "overall_p50_ms": typical,
                "ratio": ratio,
            },
        ))
    return found


def _error_codes(failures: Sequence[Row]) -> list[Recommendation]:
    counts: dict[str, int] = defaultdict(int)
    for row in failures:
        counts[row["code"]] += row["failures"]
    if not counts:
        return []
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:TOP_N]
    errors = sum(counts.values())
    code, count = ranked[0]
    advice = "; ".join(f"{c}: {_ADVICE[c]}" for c, _ in ranked if c in _ADVICE)
    listing = ", ".join(f"{c} ({n})" for c, n in ranked)
    return [Recommendation(
        kind="error_codes",
        title=f"{code} causes {count / errors:.0%} of failed attempts",
        detail=f"Failed attempts by error code: {listing}." + (f" Advice: {advice}." if advice else ""),
        evidence={"failed_attempts": errors, **dict(ranked)},
    )]


def _concentration(top_costs: dict[str, list[CostShare]], total: float) -> list[Recommendation]:
    if total <= 0 or not top_costs["model"]:
        return []
    lead = top_costs["model"][0]
    parts = []
    for dimension, shares in top_costs.items():
        listed = ", ".join(f"{s.key or '(unset)'} {s.share:.0%}" for s in shares)
        if listed:
            parts.append(f"by {dimension}: {listed}")
    evidence: dict[str, float | int | str | None] = {"total_cost_usd": total}
    for dimension, shares in top_costs.items():
        if shares:
            evidence[f"top_{dimension}"] = shares[0].key
            evidence[f"top_{dimension}_share"] = shares[0].share
    return [Recommendation(
        kind="cost_concentration",
        title=f"{lead.key} takes {lead.share:.0%} of the {format_usd(total)} spent",
        detail="Where the money goes, " + "; ".join(parts) + ".",
        evidence=evidence,
    )]
