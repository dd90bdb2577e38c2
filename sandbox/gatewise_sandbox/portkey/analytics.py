"""Analytics over the seeded traffic: the shared filters, the 17 graphs, the cache summary, groups.

Every number is computed from the request list, so a filter or a time window that selects fewer
requests changes the answer, as it does upstream. Costs are in cents, latencies in milliseconds,
and values the spec types as integers are rounded.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from gatewise_sandbox.portkey.errors import invalid
from gatewise_sandbox.portkey.store import SNAKE, integer, iso, paginate, parse_time

HITS = frozenset({"HIT", "SEMANTIC HIT"})
MAX_BUCKETS = 1000


@dataclass(slots=True)
class Call:
    """One request through the gateway, as analytics and the log endpoints see it."""

    id: str
    at: datetime
    workspace: str  # slug
    provider: str
    model: str
    user: str
    api_key_id: str
    virtual_key: str | None
    config: str | None
    prompt_slug: str | None
    trace_id: str
    span_id: str
    metadata: dict[str, str]
    prompt_tokens: int
    completion_tokens: int
    cost: float  # cents
    latency_ms: int
    status: int
    cache_status: str  # MISS | HIT | SEMANTIC HIT | DISABLED
    retries: int = 0  # retry_success_count
    fallback: bool = False
    feedback: float | None = None  # -10 … 10
    weight: float = 1.0
    saved: float = 0.0  # cents a cache hit saved
    raw: dict[str, Any] | None = field(default=None, repr=False)  # an inserted custom log

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def weighted(self) -> float | None:
        return None if self.feedback is None else self.feedback * self.weight

    @property
    def failed(self) -> bool:
        return self.status >= 400


@dataclass(frozen=True)
class Selection:
    """The shared query parameters, parsed: a time window and predicates over calls."""

    start: datetime | None
    end: datetime | None
    tests: tuple[Callable[[Call], bool], ...]

    def __call__(self, calls: list[Call]) -> list[Call]:
        return [c for c in calls if self.keeps(c)]

    def keeps(self, call: Call) -> bool:
        if self.start is not None and call.at < self.start:
            return False
        if self.end is not None and call.at > self.end:
            return False
        return all(test(call) for test in self.tests)


_RANGES: dict[str, Callable[[Call], float]] = {
    "total_units": lambda c: c.tokens, "cost": lambda c: c.cost,
    "prompt_token": lambda c: c.prompt_tokens, "completion_token": lambda c: c.completion_tokens,
}
_LISTS: dict[str, Callable[[Call], Any]] = {
    "virtual_keys": lambda c: c.virtual_key, "configs": lambda c: c.config,
    "api_key_ids": lambda c: c.api_key_id, "trace_id": lambda c: c.trace_id,
    "span_id": lambda c: c.span_id, "prompt_slug": lambda c: c.prompt_slug,
}


def selection(query: Mapping[str, Any], *, window_required: bool,
              workspace: str | None) -> Selection:
    """Parse the filters of a graph, summary, group or export request (AB01 on a bad value).

    ``workspace`` is the slug the request is about; None means every workspace.
    """
    params = {k: str(v) for k, v in query.items() if v is not None and str(v) != ""}
    bounds: list[datetime | None] = []
    for name in ("time_of_generation_min", "time_of_generation_max"):
        if name in params:
            bounds.append(parse_time(params[name], name))
        elif window_required:
            raise invalid(name, "required")
        else:
            bounds.append(None)
    start, end = bounds
    if start is not None and end is not None and start > end:
        raise invalid("time_of_generation_min", "must not be after time_of_generation_max")
    tests: list[Callable[[Call], bool]] = []
    if workspace is not None:
        tests.append(lambda c: c.workspace == workspace)
    for name, value_of in _RANGES.items():
        tests.extend(_range(params, name, value_of))
    tests.extend(_range(params, "weighted_feedback", lambda c: c.weighted, -10, 10))
    for name, value_of in _LISTS.items():
        if name in params:
            tests.append(_member(value_of, _csv(params[name])))
    if "status_code" in params:
        codes = {integer(v, "status_code", 100) for v in _csv(params["status_code"])}
        tests.append(lambda c: c.status in codes)
    if "ai_org_model" in params:
        pairs = set()
        for pair in _csv(params["ai_org_model"]):
            provider, sep, model = pair.partition("__")
            if not sep or not provider or not model:
                raise invalid("ai_org_model", "expected comma-separated provider__model pairs")
            pairs.add((provider, model))
        tests.append(lambda c: (c.provider, c.model) in pairs)
    if "ai_model" in params:  # log-export filters only
        tests.append(_member(lambda c: c.model, _csv(params["ai_model"])))
    if "metadata" in params:
        tests.append(_metadata(params["metadata"]))
    return Selection(start, end, tuple(tests))


def _csv(value: str) -> set[str]:
    return {part.strip() for part in value.split(",") if part.strip()}


def _member(value_of: Callable[[Call], Any], allowed: set[str]) -> Callable[[Call], bool]:
    return lambda c: value_of(c) in allowed


def _range(params: Mapping[str, str], name: str, value_of: Callable[[Call], float | None],
           low: float | None = None, high: float | None = None) -> list[Callable[[Call], bool]]:
    limits: dict[str, float] = {}
    for end in ("min", "max"):
        param = f"{name}_{end}"
        if param not in params:
            continue
        try:
            number = float(params[param])
        except ValueError:
            raise invalid(param, "expected a number") from None
        if not math.isfinite(number) or (low is not None and number < low) or (
                high is not None and number > high):
            raise invalid(param, "out of range" if math.isfinite(number) else "expected a number")
        limits[end] = number
    if not limits:
        return []
    if limits.get("min", -math.inf) > limits.get("max", math.inf):
        raise invalid(f"{name}_min", f"must not exceed {name}_max")
    lo, hi = limits.get("min", -math.inf), limits.get("max", math.inf)

    def test(call: Call) -> bool:
        value = value_of(call)
        return value is not None and lo <= value <= hi
    return [test]


def _metadata(raw: str) -> Callable[[Call], bool]:
    try:
        wanted = json.loads(raw)
    except ValueError:
        wanted = None
    if not isinstance(wanted, dict):
        raise invalid("metadata", "expected a stringified JSON object")
    pairs = {str(k): str(v) for k, v in wanted.items()}
    return lambda c: all(c.metadata.get(k) == v for k, v in pairs.items())


# -- time buckets -----------------------------------------------------------------------------

def buckets(start: datetime, end: datetime) -> tuple[list[datetime], timedelta]:
    """Aligned bucket starts covering the window: hourly up to two days, then daily, then weekly."""
    span = end - start
    step = (timedelta(hours=1) if span <= timedelta(days=2)
            else timedelta(days=1) if span <= timedelta(days=92) else timedelta(days=7))
    first = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if step >= timedelta(days=1):
        first = first.replace(hour=0)
    count = max(1, math.ceil((end - first) / step))
    if count > MAX_BUCKETS:
        raise invalid("time_of_generation_min", "the time range is too large")
    return [first + i * step for i in range(count)], step


def _series(calls: list[Call], starts: list[datetime], step: timedelta) -> list[list[Call]]:
    out: list[list[Call]] = [[] for _ in starts]
    for call in calls:
        index = int((call.at - starts[0]) // step)
        if 0 <= index < len(out):
            out[index].append(call)
    return out


# -- graphs -----------------------------------------------------------------------------------

Point = dict[str, Any]
Graph = Callable[[list[Call], list[list[Call]]], tuple[dict[str, Any], list[Point]]]


def _avg(values: Sequence[float]) -> int:
    return round(sum(values) / len(values)) if values else 0


def _pct(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole else 0


def _percentile(values: list[int], q: float) -> int:
    if not values:
        return 0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def _latency(calls: list[Call]) -> Point:
    values = [c.latency_ms for c in calls]
    return {"avg": _avg(values), "p50": _percentile(values, 0.5), "p90": _percentile(values, 0.9),
            "p99": _percentile(values, 0.99)}


def _users(calls: list[Call]) -> int:
    return len({c.user for c in calls})


def _errors(calls: list[Call]) -> list[Call]:
    return [c for c in calls if c.failed]


def _with_feedback(calls: list[Call]) -> list[Call]:
    return [c for c in calls if c.feedback is not None]


def _weighted_avg(calls: list[Call]) -> int:
    return _avg([c.weighted for c in _with_feedback(calls) if c.weighted is not None])


def _requests(calls: list[Call], series: list[list[Call]]) -> tuple[dict[str, Any], list[Point]]:
    return {"total": len(calls)}, [{"total": len(b)} for b in series]


def _cost(calls: list[Call], series: list[list[Call]]) -> tuple[dict[str, Any], list[Point]]:
    def of(group: list[Call]) -> Point:
        return {"total": round(sum(c.cost for c in group)), "avg": _avg([c.cost for c in group])}
    return of(calls), [of(b) for b in series]


def _tokens(calls: list[Call], series: list[list[Call]]) -> tuple[dict[str, Any], list[Point]]:
    def of(group: list[Call]) -> Point:
        return {"total": sum(c.tokens for c in group), "avg": _avg([c.tokens for c in group])}
    return of(calls), [of(b) for b in series]


def _users_graph(calls: list[Call], series: list[list[Call]]) -> tuple[dict[str, Any], list[Point]]:
    return {"total": _users(calls)}, [{"total": _users(b)} for b in series]


def _users_requests(calls: list[Call], series: list[list[Call]]
                    ) -> tuple[dict[str, Any], list[Point]]:
    unique = _users(calls)
    summary = {"total": len(calls), "unique": unique, "avg": round(len(calls) / unique) if unique else 0}
    return summary, [{"avg": round(len(b) / _users(b)) if b else 0} for b in series]


def _errors_graph(calls: list[Call], series: list[list[Call]]) -> tuple[dict[str, Any], list[Point]]:
    return {"total": len(_errors(calls))}, [{"total": len(_errors(b))} for b in series]


def _error_rate(calls: list[Call], series: list[list[Call]]) -> tuple[dict[str, Any], list[Point]]:
    return ({"rate": _pct(len(_errors(calls)), len(calls))},
            [{"rate": _pct(len(_errors(b)), len(b))} for b in series])


def _error_stacks(calls: list[Call], series: list[list[Call]]) -> tuple[dict[str, Any], list[Point]]:
    def stats(group: list[Call]) -> list[Point]:
        counts = Counter(c.status for c in _errors(group))
        return [{"response_status_code": code, "count": n} for code, n in sorted(counts.items())]
    return {"total": len(_errors(calls))}, [{"stats": stats(b)} for b in series]


def _status_codes(calls: list[Call], series: list[list[Call]]) -> tuple[dict[str, Any], list[Point]]:
    counts = Counter(c.status for c in _errors(calls))
    points = [{"status_code": code, "count": n} for code, n in counts.most_common()]
    return {"total_errors": sum(counts.values()), "unique_error_codes": len(counts)}, points


def _rescued(calls: list[Call], series: list[list[Call]]) -> tuple[dict[str, Any], list[Point]]:
    def retry(group: list[Call]) -> list[Point]:
        counts = Counter(c.retries for c in group if c.retries)
        return [{"retry_success_count": k, "count": n} for k, n in sorted(counts.items())]
    summary = {"retry": sum(1 for c in calls if c.retries), "fallback": sum(c.fallback for c in calls)}
    return summary, [{"retry": retry(b), "fallback": sum(c.fallback for c in b)} for b in series]


def _hit_rate(calls: list[Call], series: list[list[Call]]) -> tuple[dict[str, Any], list[Point]]:
    hits = sum(c.cache_status in HITS for c in calls)
    points, simple_saved, semantic_saved = [], 0.0, 0.0
    for group in series:
        simple = [c for c in group if c.cache_status == "HIT"]
        semantic = [c for c in group if c.cache_status == "SEMANTIC HIT"]
        simple_saved += sum(c.saved for c in simple)
        semantic_saved += sum(c.saved for c in semantic)
        points.append({"simple_hits": len(simple), "semantic_hits": len(semantic),
                       "rate": _pct(len(simple) + len(semantic), len(group)),
                       "cumulative_simple_cache_savings": round(simple_saved),
                       "cumulative_semantic_cache_savings": round(semantic_saved)})
    return {"total": hits, "rate": _pct(hits, len(calls))}, points


def _cache_latency(calls: list[Call], series: list[list[Call]]) -> tuple[dict[str, Any], list[Point]]:
    def hit_avg(group: list[Call]) -> int:
        return _avg([c.latency_ms for c in group if c.cache_status in HITS])
    misses = [c.latency_ms for c in calls if c.cache_status not in HITS]
    return {"avg": hit_avg(calls), "miss_avg": _avg(misses)}, [{"avg": hit_avg(b)} for b in series]


def _feedbacks(calls: list[Call], series: list[list[Call]]) -> tuple[dict[str, Any], list[Point]]:
    return ({"total": len(_with_feedback(calls))},
            [{"total": len(_with_feedback(b))} for b in series])


def _scores(calls: list[Call], series: list[list[Call]]) -> tuple[dict[str, Any], list[Point]]:
    counts = Counter(round(c.feedback) for c in _with_feedback(calls) if c.feedback is not None)
    points = [{"score": score, "total": n} for score, n in sorted(counts.items())]
    return {"total": sum(counts.values())}, points


def _weighted(calls: list[Call], series: list[list[Call]]) -> tuple[dict[str, Any], list[Point]]:
    return {"avg": _weighted_avg(calls)}, [{"avg": _weighted_avg(b)} for b in series]


def _feedback_models(calls: list[Call], series: list[list[Call]]
                     ) -> tuple[dict[str, Any], list[Point]]:
    by_model: dict[str, list[Call]] = defaultdict(list)
    for call in _with_feedback(calls):
        by_model[call.model].append(call)
    points = [{"ai_model": model, "total": len(group), "avg_weighted_feedback": _weighted_avg(group)}
              for model, group in sorted(by_model.items(), key=lambda kv: (-len(kv[1]), kv[0]))]
    return {"total": len(_with_feedback(calls)), "ai_models": len(points)}, points


def _latency_graph(calls: list[Call], series: list[list[Call]]) -> tuple[dict[str, Any], list[Point]]:
    return _latency(calls), [_latency(b) for b in series]


# name → (computation, whether its points are time buckets)
GRAPHS: dict[str, tuple[Graph, bool]] = {
    "requests": (_requests, True), "cost": (_cost, True), "latency": (_latency_graph, True),
    "tokens": (_tokens, True), "users": (_users_graph, True),
    "users/requests": (_users_requests, True), "errors": (_errors_graph, True),
    "errors/rate": (_error_rate, True), "errors/stacks": (_error_stacks, True),
    "errors/status-codes": (_status_codes, False), "requests/rescued": (_rescued, True),
    "cache/hit-rate": (_hit_rate, True), "cache/latency": (_cache_latency, True),
    "feedbacks": (_feedbacks, True), "feedbacks/scores": (_scores, False),
    "feedbacks/weighted": (_weighted, True), "feedbacks/ai-models": (_feedback_models, False),
}


def graph(name: str, calls: list[Call], chosen: Selection) -> dict[str, Any]:
    compute, timed = GRAPHS[name]
    assert chosen.start is not None and chosen.end is not None  # graphs require the window
    starts, step = buckets(chosen.start, chosen.end)
    series = _series(calls, starts, step) if timed else []
    summary, points = compute(calls, series)
    if timed:
        points = [{"timestamp": iso(at), **point} for at, point in zip(starts, points, strict=True)]
    return {"object": "analytics-graph", "summary": summary, "data_points": points}


def cache_summary(calls: list[Call]) -> dict[str, Any]:
    hits = [c.latency_ms for c in calls if c.cache_status in HITS]
    misses = [c.latency_ms for c in calls if c.cache_status not in HITS]
    hit_avg, miss_avg = _avg(hits), _avg(misses)
    speedup = round(100 * (1 - hit_avg / miss_avg)) if hits and miss_avg else 0
    return {"object": "analytics-summary",
            "summary": {"hits": len(hits), "avg_latency": hit_avg, "total_requests": len(calls),
                        "cache_speedup": speedup}}


# -- groups -----------------------------------------------------------------------------------

def _grouped(calls: list[Call], key: Callable[[Call], str | None]) -> list[tuple[str, list[Call]]]:
    groups: dict[str, list[Call]] = defaultdict(list)
    for call in calls:
        value = key(call)
        if value is not None:
            groups[value].append(call)
    return sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))


def group(kind: str, calls: list[Call], query: Mapping[str, str],
          metadata_key: str | None = None) -> dict[str, Any]:
    rows: list[dict[str, Any]]
    if kind == "users":
        rows = [{"user": user, "requests": str(len(g)), "cost": f"{sum(c.cost for c in g):.2f}"}
                for user, g in _grouped(calls, lambda c: c.user)]
    elif kind == "ai-models":
        rows = [{"ai_model": model, "requests": str(len(g))}
                for model, g in _grouped(calls, lambda c: c.model)]
    else:
        assert metadata_key is not None
        rows = []
        for value, g in _grouped(calls, lambda c: c.metadata.get(metadata_key)):
            rated = _with_feedback(g)
            rows.append({"metadata_value": value, "requests": len(g),
                         "cost": round(sum(c.cost for c in g)),
                         "avg_tokens": _avg([c.tokens for c in g]),
                         "avg_weighted_feedback": _weighted_avg(rated),
                         "requests_with_feedback": len(rated),
                         "last_seen": iso(max(c.at for c in g))})
    page, _ = paginate(rows, query, SNAKE)
    return {"object": "list", "total": len(rows),
            "data": [{**row, "object": "analytics-group"} for row in page]}
