"""Usage analytics: spend, volume, reliability, latency and savings per group, from the ledger."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any, cast

from gatewise.analytics.results import GroupBy, UsageGroup, UsageReport
from gatewise.analytics.savings import Price, resolve_baseline
from gatewise.analytics.source import (
    IS_HIT,
    Dialect,
    LedgerSource,
    Reader,
    Row,
    count_if,
    integer_sum,
    ledger_source,
    total,
)
from gatewise.analytics.timeframe import window_label
from gatewise.bounds import format_usd, rounded_usd
from gatewise.catalog import Catalog
from gatewise.errors import ErrorCode, GatewiseError
from gatewise.ledger.guardrail_events import CheckCounts, EventFilter
from gatewise.ledger.sqlite import window_clause

Progress = Callable[[float, float, str], Awaitable[None]]

# Column expression per grouping; "day" is the UTC calendar date, "none" one group of everything.
GROUP_KEYS: dict[GroupBy, str] = {
    "model": "model",
    "provider": "provider",
    "task": "task",
    "project": "project",
    "caller": "caller",
    "day": "{day}",
    "none": "NULL",
}


def group_key(group_by: GroupBy, dialect: Dialect) -> str:
    return GROUP_KEYS[group_by].format(day=dialect.day)


# Everything that adds up, in one pass over the window. A request belongs to the group of its
# answering attempt, or of its last one if none succeeded: the row the ledger marks as its final
# attempt when it is written, so counting requests needs no sort of the window's rows.
_FIGURES_SQL = f"""
SELECT {{key}} AS key,
       COUNT(*) AS attempts,
       {count_if("status = 'error'")} AS errors,
       {total(f"CASE WHEN {IS_HIT} THEN 0 ELSE cost_usd END")} AS cost_usd,
       {integer_sum("tokens_in")} AS tokens_in,
       {integer_sum("tokens_out")} AS tokens_out,
       {total("CASE WHEN status = 'ok' THEN tokens_in END")} AS ok_tokens_in,
       {total("CASE WHEN status = 'ok' THEN tokens_out END")} AS ok_tokens_out,
       {count_if("final_attempt = 1")} AS requests,
       {count_if("final_attempt = 1 AND status = 'ok' AND attempt > 0")} AS fallbacks,
       {count_if(f"final_attempt = 1 AND {IS_HIT}")} AS cache_hits
FROM calls WHERE {{where}}
GROUP BY 1
"""

_MODELS_SQL = "SELECT DISTINCT model FROM calls WHERE {where}"

_STEPS = 3  # the figures, the latency percentiles, then pricing

Rows = dict[str | None, Row]


async def usage_analytics(
    ledger: LedgerSource | Path | str,
    catalog: Catalog,
    *,
    since: float | None,
    until: float | None,
    group_by: GroupBy = "model",
    baseline_model: str | None = None,
    progress: Progress | None = None,
) -> UsageReport:
    """Figures for calls with ``since <= ts < until`` (either bound may be open), per group.

    Savings price every successful attempt's tokens on ``baseline_model`` (by default the most
    expensive model seen in the window) and compare that with the actual spend.
    """
    if group_by not in GROUP_KEYS:
        raise GatewiseError(ErrorCode.INVALID_INPUT, f"group_by must be one of {list(GROUP_KEYS)}")

    async def report(done: int, message: str) -> None:
        if progress is not None:
            await progress(float(done), float(_STEPS), message)

    source = ledger_source(ledger)
    where, params = window_clause(since, until)
    async with source.reader() as reader:
        key = group_key(group_by, reader.dialect)
        await report(0, "reading the ledger")
        figures = await _keyed(reader, _FIGURES_SQL.format(key=key, where=where), params)
        await report(1, "counted requests, attempts, tokens and spend")
        percentiles = reader.dialect.percentiles
        latency = await _keyed(reader, percentiles.format(key=key, where=where), params)
        # Percentiles do not add up: the totals' take a query of their own.
        total_latency = latency if group_by == "none" else await _keyed(
            reader, percentiles.format(key="NULL", where=where), params)
        await report(2, "computed latency percentiles")
        models = await _models(reader, where, params)
    totals = _summed(list(figures.values()), None)
    guardrails = await source.guardrail_events.counts(EventFilter(since=since, until=until))
    priced = _priced(catalog, models, baseline_model, since=since, until=until, guardrails=guardrails)
    usage = priced(group_by, [figures, latency], [totals, total_latency])
    await report(_STEPS, "priced the calls against the baseline")
    return usage


async def usage_breakdowns(
    ledger: LedgerSource | Path | str,
    catalog: Catalog,
    *,
    since: float,
    until: float,
    group_bys: Sequence[GroupBy],
) -> dict[GroupBy, UsageReport]:
    """What :func:`usage_analytics` answers for each of ``group_bys`` (not "day" or "none"), for
    one window, in one read: what a dashboard shows side by side.

    Counts, tokens and spend add up, so they are counted in one query, grouped by every key together,
    and each grouping (and the totals) is summed here from its rows: one per combination of keys
    seen in the window crosses into Python, not one per call. Latency percentiles do not add up:
    they take one query per grouping and one for the totals.
    """
    if not group_bys or not set(group_bys) <= {"model", "provider", "task", "project", "caller"}:
        raise GatewiseError(ErrorCode.INVALID_INPUT, "group_bys: one or more of model, provider, task, "
                                                     "project, caller")
    source = ledger_source(ledger)
    where, params = window_clause(since, until)
    grouped: dict[GroupBy | None, list[Rows]] = {g: [] for g in [*group_bys, None]}
    async with source.reader() as reader:
        together = reader.dialect.pack([GROUP_KEYS[g] for g in group_bys])
        combined = await reader.rows(_FIGURES_SQL.format(key=together, where=where), params)
        for position, group_by in enumerate([*group_bys, None]):
            grouped[group_by].append(_summed(combined, position if group_by else None))
        models = await _models(reader, where, params)
        percentiles = reader.dialect.percentiles

    async def latency(group_by: GroupBy | None) -> Rows:
        # Each grouping sorts the window's latencies again: on readers of their own, side by side.
        async with source.reader() as reader:
            key = GROUP_KEYS[group_by] if group_by else "NULL"
            return await _keyed(reader, percentiles.format(key=key, where=where), params)

    for group_by, rows in zip([*group_bys, None], await asyncio.gather(*map(latency, [*group_bys, None])),
                              strict=True):
        grouped[group_by].append(rows)
    guardrails = await source.guardrail_events.counts(EventFilter(since=since, until=until))
    priced = _priced(catalog, models, None, since=since, until=until, guardrails=guardrails)
    return {g: priced(g, grouped[g], grouped[None]) for g in group_bys}


def _summed(combined: Sequence[Row], position: int | None) -> Rows:
    """Rows grouped by packed keys, summed per key at ``position`` (None: all into one, keyed None)."""
    sums: dict[str | None, dict[str, Any]] = {}
    for row in combined:
        key = None if position is None else json.loads(row["key"])[position]
        figures = sums.setdefault(key, {})
        for column in row.keys():  # noqa: SIM118 (iterating a sqlite3.Row gives its values)
            if column != "key":
                figures[column] = figures.get(column, 0) + row[column]
    return cast(Rows, sums)


async def _models(reader: Reader, where: str, params: list[Any]) -> list[str]:
    # Sorted here: PostgreSQL would order by the database's collation.
    return sorted(row["model"] for row in await reader.rows(_MODELS_SQL.format(where=where), params))


def _priced(catalog: Catalog, models: list[str], baseline_model: str | None, *, since: float | None,
            until: float | None, guardrails: list[CheckCounts]
            ) -> Callable[[GroupBy, list[Rows], list[Rows]], UsageReport]:
    """The report of one grouping from its rows and the totals' (each: figures, then latency)."""
    baseline, price = resolve_baseline(catalog, models, baseline_model)

    def report(group_by: GroupBy, group_rows: list[Rows], total_rows: list[Rows]) -> UsageReport:
        group_keys = _ordered_keys(group_rows[0], group_by)
        totals = _group(None, [rows.get(None) for rows in total_rows], price)
        groups = [_group(key, [rows.get(key) for rows in group_rows], price) for key in group_keys]
        if group_by == "day":
            groups.sort(key=lambda g: g.key or "")
        else:
            groups.sort(key=lambda g: (-g.cost_usd, -g.requests, -g.attempts, g.key is None, g.key or ""))
        return UsageReport(
            since=since,
            until=until,
            window=window_label(since, until),
            group_by=group_by,
            baseline=baseline,
            totals=totals,
            groups=groups,
            guardrails=guardrails,
            notes=_notes(catalog, models, baseline.model, baseline.source) + _overspend_note(totals),
        )

    return report


async def _keyed(reader: Reader, sql: str, params: list[Any]) -> Rows:
    return {row["key"]: row for row in await reader.rows(sql, params)}


def _ordered_keys(attempt_rows: Rows, group_by: GroupBy) -> list[str | None]:
    """Every group with an attempt; days with no calls between the first and last are kept as zeros,
    so a chart over time shows the gaps."""
    keys = list(attempt_rows)
    if group_by != "day" or not keys:
        return keys
    days = sorted(date.fromisoformat(k) for k in keys if k is not None)
    span = (days[-1] - days[0]).days
    return [(days[0] + timedelta(days=i)).isoformat() for i in range(span + 1)]


def _group(key: str | None, rows: list[Row | None], price: Price | None) -> UsageGroup:
    """``rows``: this group's figures as counted, then its latency percentiles (None: no row). A
    group whose attempts all passed their requests on to other groups counts no requests."""
    attempts, latency = rows
    requests = attempts
    figures: dict[str, Any] = {"key": key}
    ok_tokens_in = ok_tokens_out = cost = 0.0
    if attempts is not None:
        # Rounded as budgets are: a sum of float costs leaves residue (1.6e-19) where none was spent.
        cost = rounded_usd(attempts["cost_usd"])
        ok_tokens_in, ok_tokens_out = attempts["ok_tokens_in"], attempts["ok_tokens_out"]
        figures.update(
            attempts=attempts["attempts"],
            errors=attempts["errors"],
            cost_usd=cost,
            tokens_in=attempts["tokens_in"],
            tokens_out=attempts["tokens_out"],
            error_rate=attempts["errors"] / attempts["attempts"],
        )
    if requests is not None and requests["requests"] > 0:
        figures.update(
            requests=requests["requests"],
            fallback_rate=requests["fallbacks"] / requests["requests"],
            cache_hit_rate=requests["cache_hits"] / requests["requests"],
        )
    if latency is not None:
        figures.update(
            latency_p50_ms=latency["p50"], latency_p95_ms=latency["p95"], latency_p99_ms=latency["p99"]
        )
    if price is not None:
        baseline = rounded_usd(ok_tokens_in * price[0] + ok_tokens_out * price[1])
        saved = rounded_usd(baseline - cost)
        figures.update(
            baseline_cost_usd=baseline,
            savings_usd=saved,
            savings_pct=100 * saved / baseline if baseline > 0 else 0.0,
        )
    return UsageGroup(**figures)


def _overspend_note(totals: UsageGroup) -> list[str]:
    """Why the spend can exceed the baseline: a negative saving is a true figure, not a fault."""
    if totals.savings_usd is None or totals.savings_usd >= 0:
        return []
    return [f"Spend exceeds the baseline by {format_usd(-totals.savings_usd)}: the spend is what "
            "the upstream charged (including failed attempts, web search fees and prices above the "
            "catalogue's), while the baseline prices only the answered calls' tokens at the "
            "baseline model's catalogue price."]


def _notes(catalog: Catalog, models: list[str], baseline: str | None, source: str) -> list[str]:
    notes = []
    if source == "given":
        notes.append(f"Savings compare the actual spend with sending every call to {baseline}.")
    elif source == "most_expensive_in_window":
        notes.append(
            f"Savings compare the actual spend with sending every call to {baseline}, the most "
            "expensive model used in this window."
        )
    elif models:
        notes.append("No model used in this window has a known price, so savings are not computed.")
    unpriced = [m for m in models if catalog.price_of(m) is None]
    if unpriced:
        notes.append(
            f"No catalogue price for {', '.join(unpriced)}: their spend is as recorded and they "
            "cannot be the default baseline."
        )
    return notes
