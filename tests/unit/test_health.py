"""Circuit breaker and latency EWMA, with a fake clock; and their effect on route plans."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gatewise.catalog import Catalog
from gatewise.config import HealthConfig, RoutingConfig
from gatewise.errors import ErrorCode, GatewiseError
from gatewise.routing.analyze import analyze
from gatewise.routing.health import HealthTracker
from gatewise.routing.policy import HybridPolicy, RouteRequest, resolve_routing

FAIL = GatewiseError(ErrorCode.UPSTREAM_ERROR, "503")
M = "openai/gpt-4o"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def tracker(clock: Clock, **cfg) -> HealthTracker:
    return HealthTracker(HealthConfig(**cfg), provider="sandbox", clock=clock)


def test_consecutive_failures_open_then_half_open_probe_closes(clock: Clock) -> None:
    h = tracker(clock, failure_threshold=3, cooldown_s=10)
    for _ in range(2):
        h.failure(M, FAIL)
    assert h.view(M).available
    h.failure(M, FAIL)
    view = h.view(M)
    assert view.state == "open" and not view.available and "3 failures in a row" in view.reason
    clock.now += 10
    assert h.view(M).state == "half_open" and h.view(M).available
    h.begin(M)
    assert not h.view(M).available  # one probe at a time
    h.success(M, 120.0)
    assert h.view(M).state == "closed" and h.view(M).available


def test_a_route_reads_the_same_standing_as_the_full_view(clock: Clock) -> None:
    h = tracker(clock, failure_threshold=1, cooldown_s=5)
    h.success(M, 80.0)
    seen = []
    for step in (lambda: h.failure(M, FAIL), lambda: setattr(clock, "now", clock.now + 5), lambda: h.begin(M),
                 lambda: h.success(M, 40.0)):
        step()
        view = h.view(M)
        assert h.standing(M) == (view.reason, view.latency_ms)
        seen.append(view.state)
    reason, latency_ms = h.standing(M)
    assert seen == ["open", "half_open", "half_open", "closed"]
    assert reason is None and latency_ms is not None and 40.0 < latency_ms < 80.0


def test_failed_probe_reopens(clock: Clock) -> None:
    h = tracker(clock, failure_threshold=1, cooldown_s=5)
    h.failure(M, FAIL)
    clock.now += 5
    h.begin(M)
    h.failure(M, FAIL)
    assert h.view(M).state == "open" and "probe call failed" in h.view(M).reason


def test_429_cools_down_at_once_for_retry_after(clock: Clock) -> None:
    h = tracker(clock, failure_threshold=10, cooldown_s=30)
    h.failure(M, GatewiseError(ErrorCode.RATE_LIMITED, "429", retry_after=2))
    assert h.view(M).state == "open" and "rate limited" in h.view(M).reason
    clock.now += 2
    assert h.view(M).available


def test_error_rate_over_the_window_opens(clock: Clock) -> None:
    h = tracker(clock, failure_threshold=100, window=10, error_rate_threshold=0.5)
    for i in range(10):
        (h.failure(M, FAIL) if i % 2 else h.success(M, 10))
    assert h.view(M).state == "open" and "error rate 50%" in h.view(M).reason


def test_request_specific_failures_do_not_count(clock: Clock) -> None:
    h = tracker(clock, failure_threshold=1)
    h.failure(M, GatewiseError(ErrorCode.CONTEXT_TOO_LONG, "too long"))
    h.failure(M, GatewiseError(ErrorCode.CONTENT_POLICY, "refused"))
    assert h.view(M).state == "closed"


def test_latency_ewma(clock: Clock) -> None:
    h = tracker(clock, latency_alpha=0.5)
    h.success(M, 100)
    h.success(M, 200)
    assert h.view(M).latency_ms == pytest.approx(150)


def test_a_stale_latency_is_measured_again_by_one_probe(clock: Clock) -> None:
    h = tracker(clock, latency_alpha=0.2, latency_recovery_s=30)
    h.success(M, 1000)
    clock.now += 29
    assert h.standing(M) == (None, 1000)  # still current: the model stays where it was put
    clock.now += 1
    assert h.standing(M) == (None, None) and h.view(M).latency_ms is None  # stale: it goes first
    h.begin(M)
    assert h.standing(M) == (None, 1000)  # while the probe is out, other calls still see it slow
    h.success(M, 50)
    assert h.standing(M) == (None, 50)  # the probe's answer replaces the stale average
    h.success(M, 150)
    assert h.standing(M)[1] == pytest.approx(70)  # and later answers blend in as before
    clock.now += 30
    h.begin(M)
    h.failure(M, FAIL)  # a failed probe measures nothing: the old average counts for another window
    assert h.standing(M) == (None, pytest.approx(70))
    clock.now += 30
    assert h.standing(M) == (None, None)


def test_plans_try_open_circuits_and_slow_models_last(clock: Clock) -> None:
    catalog = Catalog.snapshot()
    routing = resolve_routing(RoutingConfig(primary_models={"simple_query": "gpt-4o"},
                                            fallback_chain=["claude-haiku-4.5", "gemini-2.5-flash"],
                                            latency_threshold_ms=500), catalog)
    h = tracker(clock, failure_threshold=1)
    policy = HybridPolicy(routing, catalog, h)
    h.failure("openai/gpt-4o", FAIL)
    h.success("anthropic/claude-haiku-4.5", 900)
    plan = policy.plan(analyze([{"role": "user", "content": "hi"}]), RouteRequest())
    models = [c.model for c in plan.candidates]
    assert models == ["google/gemini-2.5-flash", "openai/gpt-4o", "anthropic/claude-haiku-4.5"]
    assert "tried last: circuit open" in plan.candidates[1].reason
    assert "observed latency 900 ms > 500 ms" in plan.candidates[2].reason
    assert plan.deferred == [
        ("openai/gpt-4o", "circuit open for 30.0s more (1 failures in a row)"),
        ("anthropic/claude-haiku-4.5",
         "observed latency 900 ms > 500 ms threshold (routing.latency_threshold_ms)")]


def test_the_route_says_why_the_models_ahead_go_first(clock: Clock) -> None:
    """The answering model's reason names each model moved to the end and why; a moved model's
    own reason says it was moved; a route that drops a moved model (a downgrade) stops naming it,
    and a conversation that keeps a slow model puts it first again."""
    catalog = Catalog.snapshot()
    routing = resolve_routing(RoutingConfig(primary_models={"simple_query": "gpt-4o"},
                                            fallback_chain=["claude-haiku-4.5"],
                                            latency_threshold_ms=2000), catalog)
    h = tracker(clock)
    h.success("openai/gpt-4o", 2600)
    policy = HybridPolicy(routing, catalog, h)
    plan = policy.plan(analyze([{"role": "user", "content": "hi"}]), RouteRequest())
    slow = "observed latency 2600 ms > 2000 ms threshold (routing.latency_threshold_ms)"
    assert [c.model for c in plan.candidates] == ["anthropic/claude-haiku-4.5", "openai/gpt-4o"]
    assert plan.reason_of("anthropic/claude-haiku-4.5") == (
        f"fallback chain; tried before openai/gpt-4o, which was moved to the end: {slow}")
    assert plan.reason_of("openai/gpt-4o") == f"primary for simple_query (config); tried last: {slow}"
    assert plan.moved_last == [("openai/gpt-4o", slow)]
    downgraded = replace(plan, candidates=plan.candidates[:1])
    assert downgraded.moved_last == []
    assert downgraded.reason_of("anthropic/claude-haiku-4.5") == "fallback chain"
    policy.stick(plan, "openai/gpt-4o", RouteRequest())
    assert plan.chosen.model == "openai/gpt-4o" and plan.deferred == []
    assert plan.sticky == "kept openai/gpt-4o, which answered this conversation's last turn"
