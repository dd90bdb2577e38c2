"""The wording cues that move the learnt difficulty estimate of maths and reasoning requests."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatewise.catalog import Catalog
from gatewise.config import RoutingConfig
from gatewise.routing.analyze import analyze
from gatewise.routing.difficulty import load_default
from gatewise.routing.difficulty_cues import MAX_CHARS, NON_ROUTINE_FLOOR, ROUTINE_CAP, with_cues, wording
from gatewise.routing.policy import HybridPolicy, RouteRequest, resolve_routing, tier_of

NON_ROUTINE = [
    "Prove that the square root of 2 is irrational.",
    "Show that every bounded monotone sequence converges.",
    "Find all real solutions of x^4 - 5x^2 + 4 = 0.",
    "How many ways can 8 rooks be placed on a chessboard so that none attack each other?",
    "What is the probability of rolling two sixes with two dice?",
    "On average, how many cards do I turn over before the first ace?",
    "Evaluate the integral of x*sin(x) from 0 to pi.",
    "Is the matrix [[1,1],[0,1]] diagonalizable?",
    "A knight always tells the truth and a knave always lies. Who is who?",
    "Give a counterexample to the converse.",
]
ROUTINE = [
    "How many miles is a 10k?",
    "Convert 72 degrees Fahrenheit to Celsius.",
    "Our rent went from 950 to 1045 a month. What percent increase is that?",
    "What's 15% of 80?",
    "What is 17*23?",
    "  12.5 / 4 =",
    "Explain the Pythagorean theorem in simple words.",
    "Explain like I'm 12 why 0.999... equals one",
    "Explain compound interest for someone who hated maths at school.",
]


@pytest.mark.parametrize("text", NON_ROUTINE)
def test_non_routine_work_is_never_called_easy(text: str) -> None:
    assert with_cues(text, 0.2) == NON_ROUTINE_FLOOR
    assert with_cues(text, 0.9) == 0.9  # a floor: a higher estimate stands


@pytest.mark.parametrize("text", ROUTINE)
def test_short_routine_work_is_never_called_hard(text: str) -> None:
    assert with_cues(text, 0.9) == ROUTINE_CAP
    assert with_cues(text, 0.1) == 0.1  # a cap: a lower estimate stands


def test_a_word_problem_with_a_routine_phrase_is_left_to_the_learnt_estimate() -> None:
    """Several numbers or sentences make it several steps, whatever one of them asks."""
    problem = ("Janet sells 16 eggs a day. She eats 3 for breakfast and bakes muffins with 4. "
               "She sells the rest at $2 each, and pays 25% of her takings in fees. "
               "How much does she keep?")
    assert with_cues(problem, 0.8) == 0.8
    assert with_cues("How many miles is 10 km, 21.1 km and 42.2 km?", 0.8) == 0.8
    # one operation is routine only as the whole request, on small numbers
    assert with_cues("Expand (x + 1)^2 - 1 and factor it.", 0.8) == 0.8
    assert with_cues("What is 12345 * 6789?", 0.8) == 0.8


def test_a_request_with_both_kinds_of_cue_is_non_routine() -> None:
    assert with_cues("Prove Pythagoras' theorem in simple words.", 0.3) == NON_ROUTINE_FLOOR


def test_multiple_choice_and_uncued_requests_keep_the_learnt_estimate() -> None:
    question = "What is the probability of two heads in two flips?\nA. 1/4\nB. 1/2\nC. 3/4\nD. 1"
    assert with_cues(question, 0.3) == 0.3
    assert with_cues("Why did the Roman Empire fall?", 0.3) == 0.3
    assert with_cues("", 0.5) == 0.5


def test_only_the_bounded_start_of_a_huge_request_is_read() -> None:
    padding = "word " * (MAX_CHARS // 5)
    assert with_cues(padding + " Prove it.", 0.3) == 0.3
    assert with_cues("Prove it. " + padding * 100, 0.3) == NON_ROUTINE_FLOOR


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("prove how many miles % of 12.5 A) B. \n?!é"), max_size=400),
       st.floats(min_value=0.0, max_value=1.0))
def test_any_text_moves_the_estimate_only_to_a_floor_or_a_cap(text: str, estimate: float) -> None:
    moved = with_cues(text, estimate)
    assert moved in (estimate, max(estimate, NON_ROUTINE_FLOOR), min(estimate, ROUTINE_CAP))
    assert 0.0 <= moved <= 1.0


def test_routing_weighs_the_estimate_with_its_cues() -> None:
    catalog = Catalog.snapshot()
    policy = HybridPolicy(resolve_routing(RoutingConfig(), catalog), catalog)
    threshold = RoutingConfig().difficulty_threshold
    assert threshold is not None

    def route(*turns: str) -> tuple[float, str, str]:
        messages = [{"role": "user", "content": turn} for turn in turns]
        plan = policy.plan(analyze(messages), RouteRequest())
        assert plan.difficulty is not None, turns  # premium-tier maths: the estimate is weighed
        info = catalog.get(plan.chosen.model)
        assert info is not None
        return load_default().score(turns[-1]), tier_of(info), plan.chosen.reason

    learnt, tier, reason = route("Prove that the square root of 2 is irrational.")
    assert learnt < threshold and tier == "premium"  # the learnt estimate alone would step down
    assert reason.endswith(f"; difficulty {NON_ROUTINE_FLOOR:.2f} (non-routine wording) ≥ {threshold:.2f}")
    learnt, tier, reason = route("Our rent went from 950 to 1045 a month. What percent increase is that?")
    assert learnt >= threshold and tier == "standard"  # and would keep this one on premium
    assert reason.startswith(f"difficulty {ROUTINE_CAP:.2f} (routine wording) < {threshold:.2f}: ")
    # A follow-up is judged by the conversation's hardest turn, and so is what its wording said.
    _, tier, reason = route("Prove that the square root of 2 is irrational.", "Explain it like I'm ten")
    assert tier == "premium" and "(non-routine wording)" in reason


def test_the_wording_is_named_only_where_a_cue_is_found() -> None:
    assert {wording(text) for text in NON_ROUTINE} == {"non-routine"}
    assert {wording(text) for text in ROUTINE} == {"routine"}
    assert wording("Why did the Roman Empire fall?") is None
    assert wording("Is it prime?\nA) yes\nB) no") is None
