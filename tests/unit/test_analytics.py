"""Ledger analytics on real SQLite files: figures, savings, timeframes, charts and advice."""

from __future__ import annotations

import io
import itertools
from calendar import timegm
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from gatewise.analytics import optimization_report, parse_timeframe, render_chart, usage_analytics
from gatewise.analytics.timeframe import window_label
from gatewise.catalog import Catalog, ModelInfo
from gatewise.errors import ErrorCode, GatewiseError
from gatewise.ledger import CallRecord, open_ledger
from gatewise.portkey.analytics import iso
from store_support import call_record
from store_support import write_calls as write

T0 = float(timegm((2024, 3, 1, 0, 0, 0)))
DAY = 86_400.0
WEEK = (T0, T0 + 7 * DAY)


def model(model_id: str, prompt: float, completion: float, *, inputs: tuple[str, ...] = ("text",),
          outputs: tuple[str, ...] = ("text",)) -> ModelInfo:
    return ModelInfo(id=model_id, name=model_id, context_length=100_000, prompt_price=prompt,
                     completion_price=completion, input_modalities=inputs, output_modalities=outputs)


CATALOG = Catalog({m.id: m for m in (
    model("acme/opus", 15e-6, 75e-6, inputs=("text", "image")),
    model("acme/sonnet", 3e-6, 15e-6, inputs=("text", "image")),
    model("acme/flaky", 0.5e-6, 1.5e-6),
    model("acme/slow", 0.4e-6, 1.6e-6),
    model("acme/mini", 0.15e-6, 0.6e-6),
    model("acme/eye", 0.05e-6, 0.1e-6, inputs=("text", "image")),
    model("acme/tiny", 0.02e-6, 0.03e-6),
    model("acme/free", 0.0, 0.0),  # free: never a recommended home for a task
    model("acme/embed", 0.01e-6, 0.0, outputs=("embeddings",)),  # no text out
)})
MINI_COST = 100 * 0.15e-6 + 50 * 0.6e-6  # 100 tokens in, 50 out


def call(**overrides: Any) -> CallRecord:
    """A cheap model's answer through OpenRouter for project alpha, a minute after T0."""
    return call_record(**{"provider": "openrouter", "model": "acme/mini", "tokens_in": 100,
                          "tokens_out": 50, "cost_usd": MINI_COST, "request_id": "req",
                          "task": "simple_query", "project": "alpha", "ts": T0 + 60, **overrides})


def failed(**overrides: Any) -> CallRecord:
    return call(**{"status": "error", "error_code": "UPSTREAM_ERROR", "tokens_in": 0, "tokens_out": 0,
                   "cost_usd": 0.0, **overrides})


def mixed_records() -> list[CallRecord]:
    """Fourteen requests over two models and three days, with each kind of outcome."""
    return [
        # Ten plain answers on the cheap model, 10 … 100 ms.
        *(call(request_id=f"plain-{i}", latency_ms=10.0 * i) for i in range(1, 11)),
        # A fallback: the premium model fails, the cheap one answers.
        failed(request_id="fallback", model="acme/sonnet", latency_ms=500.0, project="beta"),
        call(request_id="fallback", attempt=1, latency_ms=200.0, project="beta"),
        # A cache hit: its stored cost must count as nothing.
        call(request_id="cached", cache_status="hit_exact", latency_ms=5.0),
        # Every attempt fails, so nobody answered.
        failed(request_id="lost", model="acme/sonnet", error_code="UPSTREAM_TIMEOUT", latency_ms=1000.0,
               task=None, project="beta"),
        failed(request_id="lost", attempt=1, error_code="RATE_LIMITED", latency_ms=50.0, task=None,
               project="beta"),
        # A premium answer two days later.
        call(request_id="premium", model="acme/sonnet", tokens_in=1000, tokens_out=200,
             cost_usd=1000 * 3e-6 + 200 * 15e-6, latency_ms=300.0, task="reasoning", project="beta",
             ts=T0 + 2 * DAY + 60),
    ]


@pytest.fixture
async def mixed(tmp_path: Path) -> Path:
    return await write(tmp_path / "ledger.sqlite3", mixed_records())


# --- usage analytics --------------------------------------------------------------------------


async def test_totals_count_requests_attempts_rates_and_actual_cost(mixed: Path) -> None:
    report = await usage_analytics(mixed, CATALOG, since=WEEK[0], until=WEEK[1], group_by="none")
    totals = report.totals
    assert (totals.requests, totals.attempts, totals.errors) == (14, 16, 3)
    assert (totals.tokens_in, totals.tokens_out) == (2200, 800)
    assert totals.cost_usd == pytest.approx(11 * MINI_COST + 0.006)
    assert totals.error_rate == pytest.approx(3 / 16)
    assert totals.fallback_rate == pytest.approx(1 / 14)
    assert totals.cache_hit_rate == pytest.approx(1 / 14)
    # 13 successful latencies: 5, 10 … 100, 200, 300 (nearest rank).
    assert (totals.latency_p50_ms, totals.latency_p95_ms, totals.latency_p99_ms) == (60.0, 300.0, 300.0)
    assert report.groups == [totals]


async def test_grouping_by_model_attributes_each_request_to_the_attempt_that_settled_it(
    mixed: Path,
) -> None:
    report = await usage_analytics(mixed, CATALOG, since=WEEK[0], until=WEEK[1], group_by="model")
    sonnet, mini = report.groups  # most expensive first
    assert sonnet.key == "acme/sonnet"
    assert (sonnet.requests, sonnet.attempts, sonnet.errors) == (1, 3, 2)
    assert sonnet.cost_usd == pytest.approx(0.006)
    assert sonnet.error_rate == pytest.approx(2 / 3)
    assert (sonnet.fallback_rate, sonnet.cache_hit_rate) == (0.0, 0.0)
    assert (sonnet.latency_p50_ms, sonnet.latency_p95_ms) == (300.0, 300.0)
    assert mini.key == "acme/mini"
    assert (mini.requests, mini.attempts, mini.errors) == (13, 13, 1)
    assert mini.cost_usd == pytest.approx(11 * MINI_COST)
    assert mini.fallback_rate == pytest.approx(1 / 13)
    assert mini.cache_hit_rate == pytest.approx(1 / 13)
    # 12 successful latencies: 5, 10 … 100, 200.
    assert (mini.latency_p50_ms, mini.latency_p95_ms, mini.latency_p99_ms) == (50.0, 200.0, 200.0)
    assert sum(g.requests for g in report.groups) == report.totals.requests


async def test_grouping_by_task_project_provider_and_day(mixed: Path) -> None:
    async def keys(group_by: Any) -> dict[str | None, int]:
        report = await usage_analytics(mixed, CATALOG, since=WEEK[0], until=WEEK[1], group_by=group_by)
        return {g.key: g.requests for g in report.groups}

    assert await keys("task") == {"simple_query": 12, "reasoning": 1, None: 1}
    assert await keys("project") == {"alpha": 11, "beta": 3}
    assert await keys("provider") == {"openrouter": 14}
    days = await usage_analytics(mixed, CATALOG, since=WEEK[0], until=WEEK[1], group_by="day")
    # The quiet day in between is kept, as zeros, so a chart over time shows the gap.
    assert [(g.key, g.requests, g.attempts) for g in days.groups] == [
        ("2024-03-01", 13, 15), ("2024-03-02", 0, 0), ("2024-03-03", 1, 1)
    ]


async def test_latency_percentiles_use_nearest_rank_over_successful_attempts(tmp_path: Path) -> None:
    records = [call(request_id=f"r{i}", latency_ms=float(i)) for i in range(100, 0, -1)]
    records.append(failed(request_id="slow-failure", latency_ms=99_999.0))
    path = await write(tmp_path / "ledger.sqlite3", records)
    totals = (await usage_analytics(path, CATALOG, since=None, until=None, group_by="none")).totals
    assert (totals.latency_p50_ms, totals.latency_p95_ms, totals.latency_p99_ms) == (50.0, 95.0, 99.0)


async def test_money_figures_are_rounded_and_a_spend_over_the_baseline_is_explained(tmp_path: Path) -> None:
    # Twelve answers priced exactly at the baseline's price: their float sum is 1e-19 off it.
    at_baseline = [call(request_id=f"r{i}") for i in range(12)]
    path = await write(tmp_path / "even.sqlite3", at_baseline)
    even = (await usage_analytics(path, CATALOG, since=None, until=None, group_by="none")).totals
    assert (even.savings_usd, even.savings_pct) == (0.0, 0.0)
    assert even.cost_usd == even.baseline_cost_usd == round(12 * MINI_COST, 9)
    # The upstream charged more than the catalogue price (a failed attempt billed, a search fee).
    billed = [call(request_id="a", cost_usd=2.5 * MINI_COST),
              failed(request_id="a", attempt=1, cost_usd=0.001)]
    path = await write(tmp_path / "over.sqlite3", billed)
    report = await usage_analytics(path, CATALOG, since=None, until=None, group_by="none")
    over = report.totals
    assert over.savings_usd == round(MINI_COST - 2.5 * MINI_COST - 0.001, 9) < 0
    assert over.savings_pct == pytest.approx(100 * over.savings_usd / MINI_COST)
    assert any(note.startswith("Spend exceeds the baseline by $0.0011: the spend is what the upstream "
                               "charged") for note in report.notes), report.notes


async def test_savings_against_an_explicit_baseline(mixed: Path) -> None:
    report = await usage_analytics(mixed, CATALOG, since=WEEK[0], until=WEEK[1], group_by="model",
                                   baseline_model="opus")  # a short name resolves
    assert report.baseline.model == "acme/opus"
    assert report.baseline.source == "given"
    assert (report.baseline.usd_per_million_in, report.baseline.usd_per_million_out) == pytest.approx(
        (15.0, 75.0))
    # Successful attempts only; the cache hit's tokens count in full at the baseline price.
    mini_baseline = 1200 * 15e-6 + 600 * 75e-6
    sonnet_baseline = 1000 * 15e-6 + 200 * 75e-6
    baseline = mini_baseline + sonnet_baseline
    actual = 11 * MINI_COST + 0.006
    totals = report.totals
    assert totals.baseline_cost_usd == pytest.approx(baseline)
    assert totals.savings_usd == pytest.approx(baseline - actual)
    assert totals.savings_pct == pytest.approx(100 * (baseline - actual) / baseline)
    by_model = {g.key: g for g in report.groups}
    assert by_model["acme/mini"].baseline_cost_usd == pytest.approx(mini_baseline)
    assert by_model["acme/sonnet"].savings_usd == pytest.approx(sonnet_baseline - 0.006)
    assert any("acme/opus" in note for note in report.notes)


async def test_default_baseline_is_the_priciest_model_in_the_window(mixed: Path) -> None:
    report = await usage_analytics(mixed, CATALOG, since=WEEK[0], until=WEEK[1], group_by="none")
    assert (report.baseline.model, report.baseline.source) == ("acme/sonnet", "most_expensive_in_window")
    expected = 2200 * 3e-6 + 800 * 15e-6  # every successful attempt's tokens at acme/sonnet's price
    assert report.totals.baseline_cost_usd == pytest.approx(expected)
    assert any("most expensive model used in this window" in note for note in report.notes)


async def test_window_bounds_are_half_open(mixed: Path) -> None:
    later = await usage_analytics(mixed, CATALOG, since=T0 + DAY, until=T0 + 2 * DAY + 60,
                                  group_by="none")
    assert later.totals.attempts == 0
    last = await usage_analytics(mixed, CATALOG, since=T0 + DAY, until=T0 + 2 * DAY + 61, group_by="none")
    assert (last.totals.requests, last.baseline.model) == (1, "acme/sonnet")


async def test_unknown_baseline_and_unpriced_models(mixed: Path, tmp_path: Path) -> None:
    with pytest.raises(GatewiseError) as caught:
        await usage_analytics(mixed, CATALOG, since=None, until=None, baseline_model="nobody/nothing")
    assert caught.value.code is ErrorCode.INVALID_INPUT
    path = await write(tmp_path / "unpriced.sqlite3", [call(model="mystery/unlisted-model-xyz")])
    report = await usage_analytics(path, CATALOG, since=None, until=None, group_by="model")
    assert report.baseline.source == "none"
    assert report.totals.savings_usd is None
    assert any("mystery/unlisted-model-xyz" in note for note in report.notes)


async def test_progress_is_reported_with_increasing_values(mixed: Path) -> None:
    seen: list[tuple[float, float, str]] = []

    async def progress(done: float, total: float, message: str) -> None:
        seen.append((done, total, message))

    await usage_analytics(mixed, CATALOG, since=None, until=None, group_by="task", progress=progress)
    done = [d for d, _, _ in seen]
    assert len(seen) >= 3
    assert done == sorted(set(done)) and done[0] == 0
    assert {total for _, total, _ in seen} == {done[-1]}
    assert all(message for _, _, message in seen)


async def test_reads_a_ledger_that_a_server_is_still_writing(tmp_path: Path) -> None:
    ledger = open_ledger(tmp_path / "ledger.sqlite3")
    try:
        await ledger.record_many([call(request_id="a"), call(request_id="b")])
        report = await usage_analytics(ledger.path, CATALOG, since=None, until=None, group_by="none")
        assert report.totals.requests == 2
        await ledger.record(call(request_id="c"))  # and the server writes on undisturbed
        assert await ledger.count() == 3
    finally:
        await ledger.close()


@pytest.mark.parametrize("name", ["missing.sqlite3", "empty.sqlite3", "fresh.sqlite3"])
async def test_missing_unmigrated_or_empty_ledgers_read_as_zeros(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    if name == "empty.sqlite3":
        path.touch()
    elif name == "fresh.sqlite3":
        await write(path, [])
    report = await usage_analytics(path, CATALOG, since=WEEK[0], until=WEEK[1], group_by="day",
                                   baseline_model="acme/opus")
    assert report.groups == []
    totals = report.totals
    assert (totals.requests, totals.attempts, totals.cost_usd, totals.latency_p95_ms) == (0, 0, 0.0, 0.0)
    assert (totals.baseline_cost_usd, totals.savings_usd, totals.savings_pct) == (0.0, 0.0, 0.0)
    advice = await optimization_report(path, CATALOG, since=WEEK[0], until=WEEK[1])
    assert (advice.requests, advice.cost_usd, advice.recommendations) == (0, 0.0, [])
    assert advice.top_costs == {"model": [], "task": [], "project": []}
    png = Image.open(io.BytesIO(render_chart(report, "cost")))
    assert png.size == (800, 420)


# --- timeframes -------------------------------------------------------------------------------

NOW = float(timegm((2024, 3, 15, 12, 30, 0)))


@pytest.mark.parametrize(("timeframe", "seconds"), [
    ("24h", 86_400), ("7d", 7 * 86_400), ("30d", 30 * 86_400), ("90m", 90 * 60), ("2w", 14 * 86_400),
    (" 7D ", 7 * 86_400), ("366d", 366 * 86_400),
])
def test_relative_timeframes_end_now(timeframe: str, seconds: int) -> None:
    assert parse_timeframe(timeframe, now=NOW) == (NOW - seconds, NOW)


def test_calendar_timeframes_and_the_default() -> None:
    assert parse_timeframe("today", now=NOW) == (timegm((2024, 3, 15, 0, 0, 0)), NOW)
    assert parse_timeframe("this_month", now=NOW) == (timegm((2024, 3, 1, 0, 0, 0)), NOW)
    assert parse_timeframe(None, None, None, now=NOW) == (NOW - 30 * 86_400, NOW)


@pytest.mark.parametrize(("start", "end", "expected"), [
    # A date-only end includes that whole day.
    ("2024-03-01", "2024-03-07", ((2024, 3, 1, 0, 0, 0), (2024, 3, 8, 0, 0, 0))),
    ("2024-03-01T12:00:00", "2024-03-02T06:00", ((2024, 3, 1, 12, 0, 0), (2024, 3, 2, 6, 0, 0))),
    ("2024-03-01T12:00:00Z", None, ((2024, 3, 1, 12, 0, 0), None)),
    ("2024-03-01T12:00:00+02:00", "2024-03-01T12:00:00-01:00",
     ((2024, 3, 1, 10, 0, 0), (2024, 3, 1, 13, 0, 0))),
])
def test_explicit_iso_windows(start: str, end: str | None, expected: tuple[Any, Any]) -> None:
    since, until = expected
    assert parse_timeframe(start=start, end=end, now=NOW) == (
        timegm(since), NOW if until is None else timegm(until))


@pytest.mark.parametrize(("kwargs", "fragment"), [
    ({"timeframe": "7y"}, "unknown unit"),
    ({"timeframe": "7"}, "cannot read"),
    ({"timeframe": "last week"}, "cannot read"),
    ({"timeframe": "0d"}, "empty"),
    ({"timeframe": "367d"}, "366 days"),
    ({"timeframe": "7d", "start": "2024-03-01"}, "not both"),
    ({"end": "2024-03-01"}, "needs a start"),
    ({"start": "2024-03-05", "end": "2024-03-01"}, "after the start"),
    ({"start": "2024-03-05T10:00", "end": "2024-03-05T10:00"}, "after the start"),
    ({"start": "2023-01-01", "end": "2024-03-01"}, "366 days"),
    ({"start": "2024-13-01"}, "ISO-8601"),
    ({"start": "yesterday"}, "ISO-8601"),
    # the day after the last one a date can hold, and more digits than a number may have
    ({"start": "9999-12-30", "end": "9999-12-31"}, "outside the instants that can be read"),
    ({"start": "9999-12-31T23:59:59"}, "not in the past"),
    ({"start": "2024-03-15T12:30:00"}, "not in the past"),  # now itself: an empty window
    ({"timeframe": "9" * 5000 + "d"}, "366 days"),
    ({"timeframe": "9" * 400 + "w"}, "366 days"),
    # a long argument is quoted cut short
    ({"timeframe": "y" * 5000}, "cannot read the timeframe 'yyy"),
    ({"timeframe": "7" + "q" * 5000}, "unknown unit 'qqq"),
    ({"start": "x" * 5000}, "the start 'xxx"),
])
def test_bad_timeframes_are_invalid_input(kwargs: dict[str, str], fragment: str) -> None:
    with pytest.raises(GatewiseError) as caught:
        parse_timeframe(**kwargs, now=NOW)
    assert caught.value.code is ErrorCode.INVALID_INPUT
    assert fragment in caught.value.message
    assert len(caught.value.message) < 250


# Instants at the ends of the dates a report can show, moved by the widest offsets ISO allows.
EDGE_DAYS = ("0001-01-01", "0001-01-02", "1970-01-01", "9998-12-31", "9999-12-30", "9999-12-31")
EDGE_INSTANTS = [f"{day}{at}{offset}"
                 for day in EDGE_DAYS
                 for at, offset in itertools.chain(
                     [("", "")],
                     itertools.product(("T00:00:00", "T12:00", "T23:59:59", "T23:59:59.999999"),
                                       ("", "Z", "+00:01", "-00:01", "+23:59", "-23:59",
                                        "+23:59:59.999999", "-23:59:59.999999")))]


def test_every_window_at_the_ends_of_the_dates_is_read_or_invalid_input() -> None:
    """Whatever start and end name, the window is one every report can show (its label, and
    Portkey's millisecond bounds) or a clear INVALID_INPUT: never a failure later on."""
    read = refused = 0
    for start, end in itertools.product(EDGE_INSTANTS, [None, *EDGE_INSTANTS]):
        try:
            since, until = parse_timeframe(start=start, end=end, now=NOW)
        except GatewiseError as exc:
            assert exc.code is ErrorCode.INVALID_INPUT, (start, end)
            refused += 1
            continue
        assert window_label(since, until).endswith(" UTC")
        assert iso(since) <= iso(until, end=True)
        read += 1
    assert read > 100 and refused > 100
    with pytest.raises(GatewiseError, match=r"'0001-01-01T00:00:00\+23:59' is outside the instants"):
        parse_timeframe(start="0001-01-01T00:00:00+23:59", end="0001-01-02", now=NOW)


def test_leading_zeros_do_not_count_as_digits() -> None:
    assert parse_timeframe("0" * 400 + "7d", now=NOW) == (NOW - 7 * 86_400, NOW)


# --- charts -----------------------------------------------------------------------------------


async def test_charts_are_deterministic_pngs_that_differ_by_metric(mixed: Path) -> None:
    report = await usage_analytics(mixed, CATALOG, since=WEEK[0], until=WEEK[1], group_by="model")
    pngs = {metric: render_chart(report, metric) for metric in ("cost", "requests", "latency_p95",
                                                                 "error_rate")}
    for png in pngs.values():
        image = Image.open(io.BytesIO(png))
        assert (image.format, image.size) == ("PNG", (800, 420))
    assert len(set(pngs.values())) == 4
    assert render_chart(report, "cost") == pngs["cost"]


async def test_day_charts_and_crowded_category_charts_render(mixed: Path, tmp_path: Path) -> None:
    by_day = await usage_analytics(mixed, CATALOG, since=WEEK[0], until=WEEK[1], group_by="day")
    assert Image.open(io.BytesIO(render_chart(by_day, "requests"))).size == (800, 420)
    many = await write(tmp_path / "many.sqlite3", [
        call(request_id=f"r{i}", model=f"vendor-{i:02d}/a-model-with-a-rather-long-name-{i}")
        for i in range(30)
    ])
    report = await usage_analytics(many, CATALOG, since=None, until=None, group_by="model")
    assert len(report.groups) == 30
    image = Image.open(io.BytesIO(render_chart(report, "latency_p95")))
    assert image.size == (800, 420)


# --- optimisation report ----------------------------------------------------------------------


def advice_records() -> list[CallRecord]:
    sonnet_cost = 1000 * 3e-6 + 500 * 15e-6
    return [
        # Simple queries, mostly on a premium model.
        *(call(request_id=f"simple-{i}", model="acme/sonnet", tokens_in=1000, tokens_out=500,
               cost_usd=sonnet_cost, latency_ms=500.0) for i in range(20)),
        *(call(request_id=f"simple-cheap-{i}", latency_ms=500.0) for i in range(5)),
        # Vision requests on the priciest model: only an image-capable model may replace it.
        *(call(request_id=f"vision-{i}", model="acme/opus", tokens_in=1000, tokens_out=100,
               cost_usd=1000 * 15e-6 + 100 * 75e-6, latency_ms=500.0, task="vision") for i in range(2)),
        # Reasoning on premium: still priced, but with a quality caveat.
        call(request_id="reason", model="acme/sonnet", tokens_in=1000, tokens_out=500, cost_usd=sonnet_cost,
             latency_ms=500.0, task="reasoning", project="beta"),
        # A flaky model: 4 of 10 attempts fail, and each failure falls back to the cheap model.
        *(call(request_id=f"flaky-{i}", model="acme/flaky", latency_ms=500.0, task="summarization",
               project="beta") for i in range(6)),
        *(failed(request_id=f"flaky-fail-{i}", model="acme/flaky", latency_ms=800.0, task="summarization",
                 error_code="RATE_LIMITED" if i < 3 else "UPSTREAM_ERROR") for i in range(4)),
        *(call(request_id=f"flaky-fail-{i}", attempt=1, latency_ms=500.0, task="summarization")
          for i in range(4)),
        # A slow model.
        *(call(request_id=f"slow-{i}", model="acme/slow", latency_ms=20_000.0, task="creative_writing")
          for i in range(6)),
    ]


async def test_optimisation_report_finds_the_crafted_problems(tmp_path: Path) -> None:
    path = await write(tmp_path / "ledger.sqlite3", advice_records())
    report = await optimization_report(path, CATALOG, since=WEEK[0], until=WEEK[1])
    assert report.window_days == 7
    by_kind: dict[str, list[Any]] = {}
    for rec in report.recommendations:
        by_kind.setdefault(rec.kind, []).append(rec)

    switches = {r.evidence["task"]: r for r in by_kind["switch_model"]}
    assert set(switches) == {"simple_query", "vision", "reasoning"}
    simple = switches["simple_query"]
    assert simple.evidence["target_model"] == "acme/tiny"
    saving = 20 * (1000 * 3e-6 + 500 * 15e-6) - (20_000 * 0.02e-6 + 10_000 * 0.03e-6)
    assert simple.evidence["window_saving_usd"] == pytest.approx(saving)
    assert simple.estimated_monthly_saving_usd == pytest.approx(saving * 30 / 7)
    assert "estimate" in simple.detail
    vision = switches["vision"]
    assert vision.evidence["target_model"] == "acme/eye"
    assert vision.evidence["window_saving_usd"] == pytest.approx(
        2 * (1000 * 15e-6 + 100 * 75e-6) - (2000 * 0.05e-6 + 200 * 0.1e-6))
    assert "default tier for reasoning is premium" in switches["reasoning"].detail
    assert "default tier" not in simple.detail

    (flaky,) = by_kind["failing_model"]
    assert flaky.evidence["model"] == "acme/flaky"
    assert (flaky.evidence["attempts"], flaky.evidence["errors"]) == (10, 4)
    assert flaky.evidence["error_rate"] == pytest.approx(0.4)
    assert (flaky.evidence["fallbacks_caused"], flaky.evidence["unanswered"]) == (4, 0)
    assert flaky.evidence["top_error_code"] == "RATE_LIMITED"

    (codes,) = by_kind["error_codes"]
    assert (codes.evidence["RATE_LIMITED"], codes.evidence["UPSTREAM_ERROR"]) == (3, 1)

    (slow,) = by_kind["latency_outlier"]
    assert slow.evidence["model"] == "acme/slow"
    assert (slow.evidence["p95_ms"], slow.evidence["overall_p50_ms"]) == (20_000.0, 500.0)

    (where,) = by_kind["cost_concentration"]
    assert where.evidence["top_model"] == "acme/sonnet"
    assert report.top_costs["model"][0].key == "acme/sonnet"
    assert sum(s.share for s in report.top_costs["project"]) == pytest.approx(1.0)

    # Biggest saving first.
    savings = [r.estimated_monthly_saving_usd or 0.0 for r in report.recommendations]
    assert savings == sorted(savings, reverse=True)
    assert report.recommendations[0] is simple
    # Rows written without request hashes are left out of the cache figures, and the report says so.
    assert report.cache.requests_with_text == 0 and report.cache.exact_repeats == 0
    assert any("carry no request hash" in note for note in report.notes)


async def test_cheap_reliable_traffic_needs_no_advice_beyond_where_money_goes(tmp_path: Path) -> None:
    path = await write(tmp_path / "ledger.sqlite3",
                       [call(request_id=f"r{i}", latency_ms=100.0 + i) for i in range(20)])
    report = await optimization_report(path, CATALOG, since=None, until=None)
    assert [r.kind for r in report.recommendations] == ["cost_concentration"]
    assert report.window_days == 1.0  # an open window spans the calls, at least a day
