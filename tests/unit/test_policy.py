"""Route planning: order, skips with reasons, context-window and cost rescue."""

from __future__ import annotations

import dataclasses

import pytest

from gatewise.catalog import Catalog
from gatewise.config import HealthConfig, RoutingConfig, TaskType
from gatewise.errors import ErrorCode, GatewiseError
from gatewise.routing.analyze import analyze
from gatewise.routing.health import HealthTracker
from gatewise.routing.policy import HybridPolicy, RouteRequest, resolve_routing, tier_of

CATALOG = Catalog.snapshot()


def policy(**routing) -> HybridPolicy:
    return HybridPolicy(resolve_routing(RoutingConfig(**routing), CATALOG), CATALOG)


def ask(text: str, **kw):
    return analyze([{"role": "user", "content": text}], **kw)


def test_task_table_then_fallback_chain() -> None:
    p = policy(primary_models={"code_generation": "gpt-4o"},
               fallback_chain=["claude-sonnet-4.5", "gemini-2.5-pro", "gpt-4o"])
    plan = p.plan(ask("Write a Python function to merge two sorted lists"), RouteRequest())
    assert [c.model for c in plan.candidates] == [
        "openai/gpt-4o", "anthropic/claude-sonnet-4.5", "google/gemini-2.5-pro"]
    assert plan.chosen.reason.startswith("primary for code_generation (config)")
    assert all(c.est_cost_usd and c.est_cost_usd > 0 for c in plan.candidates)


def test_default_fallbacks_come_from_other_vendors_in_the_same_tier() -> None:
    plan = policy().plan(ask("Hello there"), RouteRequest())
    vendors = [c.model.split("/")[0] for c in plan.candidates]
    assert len(vendors) == len(set(vendors)) >= 2
    assert {tier_of(CATALOG.get(c.model)) for c in plan.candidates} == {"economy"}


def test_cost_threshold_skips_expensive_models_with_reason() -> None:
    p = policy(primary_models={"reasoning": "claude-3-opus"}, fallback_chain=["gpt-4o-mini"],
               cost_threshold=0.01, difficulty_threshold=None)
    plan = p.plan(ask("Explain why the sky is blue"), RouteRequest(max_tokens=1000))
    assert [c.model for c in plan.candidates] == ["openai/gpt-4o-mini"]
    (model, reason), = plan.skipped
    assert model == "anthropic/claude-3-opus" and "exceeds the $0.01 limit" in reason


def test_context_window_fallback_goes_to_a_larger_model() -> None:
    p = policy(primary_models={"summarization": "gpt-4o"}, fallback_chain=["claude-3-haiku"])
    long_text = "Summarize this report. " + "word " * 800_000  # ~1M tokens
    plan = p.plan(ask(long_text), RouteRequest(max_tokens=500))
    skipped = dict(plan.skipped)
    assert "context window 128,000" in skipped["openai/gpt-4o"]
    assert "anthropic/claude-3-haiku" in skipped
    chosen = CATALOG.get(plan.chosen.model)
    assert chosen.context_length > 1_000_000
    assert "cheapest model that fits" in plan.chosen.reason


def test_image_requests_skip_text_only_models() -> None:
    p = policy(primary_models={"vision": "deepseek-r1"}, fallback_chain=["gpt-4o"])
    profile = analyze([{"role": "user", "content": [
        {"type": "text", "text": "describe"},
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]}])
    plan = p.plan(profile, RouteRequest())
    assert plan.chosen.model == "openai/gpt-4o"
    assert dict(plan.skipped)["deepseek/deepseek-r1"] == "does not accept image input"


def test_caller_model_goes_first_and_impossible_budget_is_a_clear_error() -> None:
    p = policy()
    plan = p.plan(ask("hi"), RouteRequest(model="openai/gpt-4o-mini"))
    assert plan.chosen.model == "openai/gpt-4o-mini"
    assert plan.chosen.reason == "requested by the caller"
    with pytest.raises(GatewiseError) as info:
        p.plan(ask("hi"), RouteRequest(max_cost_usd=0.0, max_tokens=1000))
    assert info.value.code is ErrorCode.BUDGET_EXCEEDED


def test_every_task_has_a_route() -> None:
    p = policy()
    for task in TaskType:
        plan = p.plan(ask("something", task_hint=task), RouteRequest())
        assert plan.candidates, task


def test_easy_premium_work_steps_down_to_a_standard_model_first() -> None:
    p = policy()
    easy = p.plan(ask("Explain why the sky is blue"), RouteRequest())
    first, second = easy.candidates[:2]
    assert tier_of(CATALOG.get(first.model)) == "standard"
    assert first.reason.startswith("difficulty ") and "good enough" in first.reason
    assert tier_of(CATALOG.get(second.model)) == "premium"  # the premium model stays as fallback
    hard = p.plan(ask("Prove that for every prime p > 3, p^2 - 1 is divisible by 24. Then "
                      "derive the general condition on n for n^2 - 1 to be divisible by 24, "
                      "and explain each step of the number-theoretic argument rigorously."),
                  RouteRequest())
    assert tier_of(CATALOG.get(hard.chosen.model)) == "premium"
    systems = p.plan(ask("Implement a lock-free concurrent hash map in C++ with resizing, and "
                         "prove linearizability."), RouteRequest())
    assert tier_of(CATALOG.get(systems.chosen.model)) == "premium"
    forced = p.plan(ask("Explain why the sky is blue"), RouteRequest(model="anthropic/claude-opus-5.5"))
    assert forced.chosen.model == "anthropic/claude-opus-5.5"
    off = policy(difficulty_threshold=None).plan(ask("Explain why the sky is blue"), RouteRequest())
    assert tier_of(CATALOG.get(off.chosen.model)) == "premium"


def test_only_routes_that_can_step_down_estimate_the_difficulty() -> None:
    """The estimate costs more than the rest of the analysis: a route says when it weighed it."""
    p = policy()
    easy = ask("Explain why the sky is blue")
    assert p.plan(easy, RouteRequest()).difficulty == easy.complexity  # premium tier, may step down
    for text in ("Summarize the key points of this article in three bullet points",  # economy tier
                 "Write a haiku about autumn",  # standard tier
                 "Implement a lock-free concurrent hash map in C++ with resizing"):  # code never steps down
        assert p.plan(ask(text), RouteRequest()).difficulty is None, text
    assert p.plan(easy, RouteRequest(model="anthropic/claude-opus-5.5")).difficulty is None
    assert policy(difficulty_threshold=None).plan(easy, RouteRequest()).difficulty is None


def test_a_conversation_keeps_its_model_unless_it_fails_cannot_serve_or_must_move_up() -> None:
    health = HealthTracker(HealthConfig(failure_threshold=1), provider="sandbox")
    p = HybridPolicy(resolve_routing(RoutingConfig(), CATALOG), CATALOG, health)
    summary = ask("Summarize the key points of this article in three bullet points")
    cheap_first = p.plan(summary, RouteRequest())
    standard = p.routing.primary[TaskType.CREATIVE_WRITING]
    assert tier_of(CATALOG.get(cheap_first.chosen.model)) == "economy"

    kept = p.plan(summary, RouteRequest())
    p.stick(kept, standard, RouteRequest())
    assert kept.chosen.model == standard and kept.candidates[1:] == cheap_first.candidates
    assert kept.sticky == f"kept {standard}, which answered this conversation's last turn"
    assert kept.chosen.reason.startswith(
        f"answered this conversation's last turn (was {cheap_first.chosen.model}")

    limit = RouteRequest(max_cost_usd=max(c.est_cost_usd or 0 for c in cheap_first.candidates))
    assert (p.estimate_cost(standard, summary, None) or 0) > (limit.max_cost_usd or 0)
    too_dear = p.plan(summary, limit)
    p.stick(too_dear, standard, limit)
    assert too_dear.chosen.model != standard
    assert (too_dear.sticky or "").startswith(f"moved from {standard}: estimated")

    hard = p.plan(ask("Implement a lock-free concurrent hash map in C++ with resizing"), RouteRequest())
    p.stick(hard, standard, RouteRequest())
    assert tier_of(CATALOG.get(hard.chosen.model)) == "premium"
    assert hard.sticky == f"moved from {standard}: this turn needs the premium tier"

    health.failure(standard, GatewiseError(ErrorCode.UPSTREAM_ERROR, "503"))
    failing = p.plan(summary, RouteRequest())
    p.stick(failing, standard, RouteRequest())
    assert failing.chosen.model != standard
    assert (failing.sticky or "").startswith(f"moved from {standard}: failing (circuit open")


def test_unlisted_caller_models_share_one_remembered_set_of_fallbacks() -> None:
    p = policy()
    plans = [p.plan(ask("hi"), RouteRequest(model=f"vendor{i}/model")) for i in range(50)]
    assert len({tuple(c.model for c in plan.candidates[1:]) for plan in plans}) == 1
    assert plans[0].candidates[1:]  # the default vendors' fallbacks, as for any other vendor
    assert len(p._fallbacks) == 1  # a caller's names do not grow what the policy keeps


def test_a_route_made_once_follows_a_new_catalogue_routing_table_and_health() -> None:
    health = HealthTracker(HealthConfig(failure_threshold=1), provider="sandbox")
    current = {"catalog": CATALOG}
    p = HybridPolicy(resolve_routing(RoutingConfig(), CATALOG), lambda: current["catalog"], health)
    question = ask("What is 17*23?")
    asked = RouteRequest(model="openai/gpt-4o-mini")
    first = p.plan(question, asked)
    assert first.chosen.model == "openai/gpt-4o-mini" and len(first.candidates) > 1
    assert [c.model for c in p.plan(question, asked).candidates] == [c.model for c in first.candidates]

    # A model that starts failing is tried last by the very next plan.
    health.failure("openai/gpt-4o-mini", GatewiseError(ErrorCode.UPSTREAM_ERROR, "503"))
    failing = p.plan(question, asked)
    assert failing.candidates[-1].model == "openai/gpt-4o-mini"
    assert "tried last: circuit open" in failing.candidates[-1].reason
    health.success("openai/gpt-4o-mini", 100.0)

    # A refreshed catalogue where the model's window is too small for the request: skipped.
    small = dataclasses.replace(CATALOG.get("openai/gpt-4o-mini"), context_length=100)
    current["catalog"] = Catalog({**CATALOG.models, small.id: small}, "refreshed")
    shrunk = p.plan(question, asked)
    assert "openai/gpt-4o-mini" not in [c.model for c in shrunk.candidates]
    assert shrunk.skipped[0][0] == "openai/gpt-4o-mini"
    assert shrunk.skipped[0][1].startswith("context window 100 < ")

    # A new routing table's fallback chain replaces the other vendors' models.
    current["catalog"] = CATALOG
    p.routing = resolve_routing(RoutingConfig(fallback_chain=["gemini-2.5-flash"]), CATALOG)
    chained = p.plan(question, asked)
    assert [(c.model, c.reason) for c in chained.candidates] == [
        ("openai/gpt-4o-mini", "requested by the caller"), ("google/gemini-2.5-flash", "fallback chain")]
