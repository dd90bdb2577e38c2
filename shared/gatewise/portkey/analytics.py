"""Portkey analytics: the metric catalogue, the query every filter reaches, and charts.

Filters are forwarded whenever they are given, zeros included (an existing client dropped falsy
values, so ``weighted_feedback_min=0`` silently vanished). Lists become the comma-separated forms
Portkey expects and ``metadata`` becomes a JSON string.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from gatewise.analytics import Baseline, UsageGroup, UsageReport, render_chart
from gatewise.analytics.timeframe import Window, window_label
from gatewise.bounds import MAX_AMOUNT
from gatewise.errors import ErrorCode, GatewiseError, json_type_phrase, quoted
from gatewise.portkey.endpoints import ENDPOINTS
from gatewise.portkey.models import AnalyticsFilters

Metric = Literal[
    "requests", "cost", "latency", "tokens", "users", "user_requests", "errors", "error_rate",
    "error_stacks", "error_status_codes", "rescued_requests", "cache_hit_rate", "cache_latency",
    "feedback", "feedback_scores", "feedback_weighted", "feedback_models", "cache_summary",
]
GroupBy = Literal["users", "ai_models", "metadata"]

# metric → catalogue operation
METRIC_OPS: dict[str, str] = {
    "requests": "analytics.requests", "cost": "analytics.cost", "latency": "analytics.latency",
    "tokens": "analytics.tokens", "users": "analytics.users", "user_requests": "analytics.users/requests",
    "errors": "analytics.errors", "error_rate": "analytics.errors/rate",
    "error_stacks": "analytics.errors/stacks", "error_status_codes": "analytics.errors/status-codes",
    "rescued_requests": "analytics.requests/rescued", "cache_hit_rate": "analytics.cache/hit-rate",
    "cache_latency": "analytics.cache/latency", "feedback": "analytics.feedbacks",
    "feedback_scores": "analytics.feedbacks/scores", "feedback_weighted": "analytics.feedbacks/weighted",
    "feedback_models": "analytics.feedbacks/ai-models", "cache_summary": "analytics.summary/cache",
}
GROUP_OPS: dict[str, str] = {"users": "analytics.groups/users", "ai_models": "analytics.groups/ai-models",
                             "metadata": "analytics.groups/metadata"}

CHART_METRICS = ("cost", "requests")


def iso(ts: float, *, end: bool = False) -> str:
    """ISO-8601 in UTC to the millisecond; an ``end`` bound rounds up, so nothing just before it is cut."""
    ms = math.ceil(ts * 1000) if end else math.floor(ts * 1000)
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


def encode(value: Any) -> str:
    """One query value as Portkey expects it: CSV lists, JSON objects, plain numbers."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple):
        return ",".join(encode(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def encode_query(values: Mapping[str, Any]) -> dict[str, str]:
    """Every value that is not None, encoded; 0, false and empty strings are kept."""
    return {name: encode(value) for name, value in values.items() if value is not None}


def analytics_query(window: Window, workspace_slug: str | None,
                    filters: AnalyticsFilters | None) -> dict[str, str]:
    """The query of every graph, summary and group endpoint; filters keep their API names."""
    given = filters.model_dump(exclude_none=True) if filters is not None else {}
    return {"time_of_generation_min": iso(window.since),
            "time_of_generation_max": iso(window.until, end=True),
            **encode_query({"workspace_slug": workspace_slug, **given})}


def figure(value: Any) -> int | float | None:
    """A figure as a number (numeric text read as Portkey sends counts), or None when it is not a
    finite number within ±MAX_AMOUNT: ``1e999``, a 400-digit integer or "lots" reports nothing."""
    text = isinstance(value, str)
    if text:
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if (isinstance(value, float) and not math.isfinite(value)) or abs(value) > MAX_AMOUNT:
        return None
    return int(value) if text and float(value).is_integer() else value


def upstream_fault(operation: str, problem: str) -> GatewiseError:
    """UPSTREAM_ERROR for an answer of the wrong shape, naming the part that is wrong."""
    endpoint = ENDPOINTS[operation]
    return GatewiseError(ErrorCode.UPSTREAM_ERROR, f"Portkey's answer to {endpoint.method} {endpoint.path} "
                         f"{problem}", hint="Portkey sent data of the wrong shape; try again later.")


def graph_parts(body: Any, operation: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The ``summary`` and ``data_points`` of an analytics answer (empty when missing)."""
    if body is None:
        return {}, []
    if not isinstance(body, dict):
        raise upstream_fault(operation, "is not a JSON object")
    summary = body.get("summary")
    if not isinstance(summary, dict | None):
        raise upstream_fault(operation, f"has `summary` as {json_type_phrase(summary)}, not an object")
    return summary or {}, objects(body.get("data_points") or [], "data_points", operation)


def objects(items: Any, field: str, operation: str) -> list[dict[str, Any]]:
    """``items`` checked to be a list of objects; UPSTREAM_ERROR naming the first that is not."""
    if not isinstance(items, list):
        raise upstream_fault(operation, f"has `{field}` as {json_type_phrase(items)}, not an array")
    wrong = next((i for i, item in enumerate(items) if not isinstance(item, dict)), None)
    if wrong is not None:
        raise upstream_fault(operation, f"has `{field}[{wrong}]` as {json_type_phrase(items[wrong])}, "
                                        "not an object")
    return items


# Fields of Portkey's analytics rows Portkey may send as numeric text ("12", "3.5").
_FIGURE_FIELDS = frozenset({"total", "requests", "cost", "avg_tokens", "avg_weighted_feedback",
                            "requests_with_feedback"})
_DROP = object()
SHOWN_PROBLEMS = 5


def fit_figures(value: Any, where: str, problems: list[str]) -> Any:
    """Portkey's figures (a summary, data points, group rows) fit to report: numeric text in a
    figure field becomes a number; a number that :func:`figure` rejects, figure text that is no
    number and a ``timestamp`` that is no ISO-8601 time are left out, each named in ``problems``."""
    if isinstance(value, dict):
        out = {key: _fit(item, str(key), f"{where}.{key}", problems) for key, item in value.items()}
        return {key: item for key, item in out.items() if item is not _DROP}
    if isinstance(value, list):
        kept = [_fit(item, "", f"{where}[{index}]", problems) for index, item in enumerate(value)]
        return [item for item in kept if item is not _DROP]
    return value


def _fit(value: Any, key: str, where: str, problems: list[str]) -> Any:
    as_text = isinstance(value, str) and key in _FIGURE_FIELDS
    if as_text or (isinstance(value, int | float) and not isinstance(value, bool)):
        number = figure(value)
        if number is None:
            problems.append(f"{where} ({_shown(value)})")
            return _DROP
        return number
    if key == "timestamp" and isinstance(value, str):
        try:
            _utc_day(value)
        except (ValueError, OverflowError):  # a date past year 1 or 9999 once its offset applies
            problems.append(f"{where} ({quoted(value)})")
            return _DROP
    return fit_figures(value, where, problems)


def _shown(value: Any) -> str:
    if isinstance(value, int) and abs(value) > MAX_AMOUNT:
        return f"an integer beyond ±{MAX_AMOUNT:g}"  # its digits may be too many to write
    return quoted(value) if isinstance(value, str) else repr(value)


def problems_note(problems: list[str]) -> str:
    """One note listing the figures :func:`fit_figures` left out."""
    more = len(problems) - SHOWN_PROBLEMS
    return ("left out what Portkey sent that is not a finite number in range or an ISO-8601 time: "
            + ", ".join(problems[:SHOWN_PROBLEMS]) + (f" and {more} more" if more > 0 else ""))


def chart_png(metric: str, window: Window, data_points: list[dict[str, Any]],
              groups: list[dict[str, Any]] | None, group_by: str | None,
              spend_usd: Mapping[str, float] | None) -> bytes:
    """A PNG drawn by the gateway's own chart renderer, from Portkey's figures.

    Model groups become one bar per model; with the gateway merged, spend becomes one bar per
    provider; otherwise the metric's series is summed per UTC day.
    """
    if group_by == "ai_models" and groups:
        rows = [UsageGroup(key=str(g.get("ai_model")), requests=int(figure(g.get("requests")) or 0))
                for g in groups]
        return render_chart(_report(window, "model", rows), "requests")
    if spend_usd is not None:
        rows = [UsageGroup(key=name, cost_usd=value) for name, value in spend_usd.items()]
        return render_chart(_report(window, "provider", rows), "cost")
    if metric not in CHART_METRICS:
        raise GatewiseError(ErrorCode.INVALID_INPUT,
                            f"no chart for metric {quoted(metric)}: charts show cost or requests per day, "
                            "requests per model (group_by ai_models), or Portkey against gateway "
                            "spend (include_gateway)")
    days: dict[str, float] = defaultdict(float)
    for point in data_points:
        stamp, total = point.get("timestamp"), point.get("total")
        if isinstance(stamp, str) and isinstance(total, int | float):
            days[_utc_day(stamp)] += total
    if metric == "cost":
        rows = [UsageGroup(key=day, cost_usd=cents / 100) for day, cents in sorted(days.items())]
    else:
        rows = [UsageGroup(key=day, requests=int(count)) for day, count in sorted(days.items())]
    return render_chart(_report(window, "day", rows), "cost" if metric == "cost" else "requests")


def _utc_day(stamp: str) -> str:
    moment = datetime.fromisoformat(stamp)
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.date().isoformat()


def _report(window: Window, group_by: Any, groups: list[UsageGroup]) -> UsageReport:
    return UsageReport(since=window.since, until=window.until, window=window_label(*window),
                       group_by=group_by, baseline=Baseline(model=None, source="none"),
                       totals=UsageGroup(key=None), groups=groups)
