"""The analytics through each backend: the same calls recorded in a SQLite file and in PostgreSQL
give the same figures, and on a shared database one runtime's analytics show the calls another
made. A throwaway database per test; the PostgreSQL side skips, saying why, when no server is
reachable."""

from __future__ import annotations

import random
from calendar import timegm
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from gatewise.analytics import optimization_report, usage_analytics
from gatewise.analytics.cache_stats import cache_stats
from gatewise.analytics.results import GroupBy
from gatewise.analytics.source import LedgerSource
from gatewise.analytics.timeseries import usage_over_time
from gatewise.analytics.usage import usage_breakdowns
from gatewise.catalog import Catalog, ModelInfo
from gatewise.config import load_settings
from gatewise.ledger import CallRecord
from gatewise.ledger.guardrail_events import GuardrailEvent
from gatewise.storage.backends import Stores, analytics_source, open_stores
from pg_support import throwaway_database
from store_support import call_record

T0 = float(timegm((2024, 3, 1, 0, 0, 0)))
DAY = 86_400.0
WINDOW = (T0, T0 + 5 * DAY)
MODELS = {"acme/big": (10e-6, 30e-6), "acme/mid": (1e-6, 3e-6), "acme/small": (0.1e-6, 0.3e-6)}
CATALOG = Catalog({name: ModelInfo(id=name, name=name, context_length=100_000, prompt_price=prompt,
                                   completion_price=completion)
                   for name, (prompt, completion) in MODELS.items()})


def recorded_calls() -> list[CallRecord]:
    """Three days of requests over three models, projects, tasks and tools (with unset ones),
    with fallbacks, failures, cache hits, repeated texts and group sizes that put the percentile
    ranks off round numbers; a few calls fall outside the window."""
    rng = random.Random(16)
    records = []
    for i in range(157):
        ts = T0 + rng.uniform(-0.2, 3.0) * DAY
        base: dict[str, Any] = {
            "request_id": f"req-{i}", "ts": ts, "provider": rng.choice(["openrouter", "portkey"]),
            "project": rng.choice(["alpha", "beta", None]), "task": rng.choice(["code", "chat", None]),
            "tokens_in": rng.randint(10, 2000), "tokens_out": rng.randint(0, 800),
            "tool": rng.choice(["routed_complete", "chat_completion"]),
            # Texts asked again and again, and some calls without one.
            "request_hash": rng.choice([None, *(f"text-{n}" for n in range(12))]),
        }
        model = rng.choice(list(MODELS))
        outcome = rng.random()
        if outcome < 0.15:  # the first model fails, another answers
            records.append(call_record(**{**base, "tokens_in": 0, "tokens_out": 0}, model=model,
                                       status="error", error_code="UPSTREAM_ERROR", cost_usd=0.0,
                                       latency_ms=float(rng.randint(100, 900))))
            base.update(attempt=1, ts=ts + 1.5)
            model = "acme/small"
        elif outcome < 0.22:  # nobody answered
            records.append(call_record(**{**base, "tokens_in": 0, "tokens_out": 0}, model=model,
                                       status="error", error_code="RATE_LIMITED", cost_usd=0.0,
                                       latency_ms=40.0))
            continue
        status = "hit_exact" if outcome > 0.9 else "hit_semantic" if outcome > 0.85 else "miss"
        records.append(call_record(**base, model=model, cache_status=status,
                                   cost_usd=rng.uniform(0.0001, 0.05),
                                   latency_ms=float(rng.randint(5, 3000))))
    return records


def audit_event(ts: float) -> GuardrailEvent:
    return GuardrailEvent(ts=ts, request_id="req-1", server="routing-gateway", tool="routed_complete",
                          direction="input", check_id="pii", verdict="flag", action="flagged",
                          reason="an email address")


async def recorded(stores: Stores, data_dir: Path) -> LedgerSource:
    await stores.ledger.record_many(recorded_calls())
    await stores.guardrail_events.record([audit_event(T0 + 60), audit_event(T0 + DAY)])
    return analytics_source(data_dir / "ledger.sqlite3", stores.database, stores.guardrail_events)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def database_url() -> Iterator[str]:
    with throwaway_database() as url:
        yield url


async def opened(env: dict[str, str]) -> Stores:
    return await open_stores(load_settings(env))


async def close(stores: Stores) -> None:
    await stores.budgets.close()
    await stores.ledger.close()
    if stores.database is not None:
        await stores.database.close()


@pytest.fixture
async def both(data_dir: Path, database_url: str) -> AsyncIterator[tuple[LedgerSource, LedgerSource]]:
    """The same calls and audit rows recorded in a ledger file and in a PostgreSQL database."""
    lite = await opened({"GATEWISE_DATA_DIR": str(data_dir)})
    pg = await opened({"GATEWISE_DATA_DIR": str(data_dir / "pg"), "GATEWISE_DATABASE_URL": database_url})
    try:
        assert lite.database is None and pg.database is not None
        yield await recorded(lite, data_dir), await recorded(pg, data_dir / "pg")
    finally:
        await close(lite)
        await close(pg)


def same_figures(found: Any) -> Any:
    """``found`` with each float to be matched to 12 digits: sums of the same floats taken in
    another order differ in the last bits."""
    if isinstance(found, dict):
        return {key: same_figures(value) for key, value in found.items()}
    if isinstance(found, list):
        return [same_figures(value) for value in found]
    return pytest.approx(found, rel=1e-12, abs=1e-15) if isinstance(found, float) else found


GROUPINGS: tuple[GroupBy, ...] = ("model", "provider", "task", "project", "day", "none")


@pytest.mark.parametrize("group_by", GROUPINGS)
async def test_usage_figures_are_the_same_on_both_backends(
        both: tuple[LedgerSource, LedgerSource], group_by: GroupBy) -> None:
    for since, until in (WINDOW, (None, None), (T0 + DAY, None)):
        lite, pg = [await usage_analytics(source, CATALOG, since=since, until=until, group_by=group_by)
                    for source in both]
        assert lite.totals.requests > 50 and lite.totals.fallback_rate > 0 and lite.totals.cache_hit_rate > 0
        assert len(lite.groups) > (0 if group_by == "none" else 1)
        assert lite.guardrails[0].flagged >= 1
        assert pg.model_dump() == same_figures(lite.model_dump())


async def test_breakdowns_read_together_equal_each_grouping_read_alone(
        both: tuple[LedgerSource, LedgerSource]) -> None:
    groupings: tuple[GroupBy, ...] = ("model", "project", "task", "provider", "caller")
    for source in both:
        together = await usage_breakdowns(source, CATALOG, since=WINDOW[0], until=WINDOW[1],
                                          group_bys=groupings)
        for group_by in groupings:
            alone = await usage_analytics(source, CATALOG, since=WINDOW[0], until=WINDOW[1],
                                          group_by=group_by)
            assert together[group_by].model_dump() == same_figures(alone.model_dump())


async def test_usage_over_time_is_the_same_on_both_backends(both: tuple[LedgerSource, LedgerSource]) -> None:
    for slot_s in (3600.0, 7 * 3600.0, DAY):
        lite, pg = [await usage_over_time(source, since=WINDOW[0], until=WINDOW[1], slot_s=slot_s)
                    for source in both]
        assert sum(slot.attempts for slot in lite.slots) > 100
        assert pg.model_dump() == same_figures(lite.model_dump())


async def test_optimization_advice_is_the_same_on_both_backends(
        both: tuple[LedgerSource, LedgerSource], monkeypatch: pytest.MonkeyPatch) -> None:
    from gatewise.storage.postgres import analytics

    # Small batches, so the cache replay carries its state from one batch to the next.
    monkeypatch.setattr(analytics, "EACH_BATCH", 7)
    for since, until in (WINDOW, (None, None)):
        lite, pg = [await optimization_report(source, CATALOG, since=since, until=until, cache_ttl_s=DAY,
                                              semantic_threshold=0.9) for source in both]
        assert lite.cache.exact_repeats_paid > 0 and lite.cache.semantic_hit_rate
        assert {r.kind for r in lite.recommendations} >= {"cache_repeats", "failing_model", "error_codes"}
        assert pg.model_dump() == same_figures(lite.model_dump())


async def test_cache_savings_are_the_same_on_both_backends(
        both: tuple[LedgerSource, LedgerSource], data_dir: Path) -> None:
    for since, until in (WINDOW, (T0 + DAY, None)):
        lite, pg = [await cache_stats(source, data_dir, CATALOG, since=since, until=until) for source in both]
        assert lite.totals.hits_exact > 0 and lite.saved_from_ledger > 0 and lite.totals.saved_usd > 0
        assert pg.model_dump() == same_figures(lite.model_dump())


async def test_a_call_routed_by_one_runtime_is_in_another_runtimes_analytics(
        data_dir: Path, database_url: str) -> None:
    from gatewise.dashboard import DashboardSources, build_snapshot
    from gatewise.gateway import CompletionRequest, RoutingGateway
    from gatewise.runtime import Runtime

    # Each instance on a machine of its own: separate data directories, one database and key.
    key = str(data_dir / "audit.key")
    first = await Runtime.open(load_settings({"GATEWISE_DATA_DIR": str(data_dir / "a"),
                                              "GATEWISE_DATABASE_URL": database_url,
                                              "GATEWISE_AUDIT_KEY_FILE": key}))
    try:
        second = await Runtime.open(load_settings({"GATEWISE_DATA_DIR": str(data_dir / "b"),
                                                   "GATEWISE_DATABASE_URL": database_url,
                                                   "GATEWISE_AUDIT_KEY_FILE": key}))
        try:
            question = CompletionRequest(prompt="What is 2+2?")
            answer = await RoutingGateway.from_runtime(first).complete(question)
            report = await usage_analytics(second.analytics, second.catalog, since=None, until=None,
                                           group_by="model")
            snapshot = await build_snapshot(DashboardSources.from_runtime(second), "1h")
        finally:
            await second.close()
    finally:
        await first.close()
    assert (report.totals.requests, report.totals.cost_usd) == (1, answer.cost_usd)
    assert [group.key for group in report.groups] == [answer.model]
    assert snapshot.totals.requests == 1
    assert sum(slot.requests for slot in snapshot.series.slots) == 1
