"""Query analysis of everyday and support-desk requests, and of maths asked in other languages:
which words make a task, and which make a web search."""

from __future__ import annotations

import pytest

from gatewise.catalog import Catalog
from gatewise.config import RoutingConfig, TaskType
from gatewise.routing.analyze import analyze
from gatewise.routing.difficulty_cues import NON_ROUTINE, NON_ROUTINE_FLOOR, wording
from gatewise.routing.policy import HybridPolicy, RouteRequest, resolve_routing, tier_of

CATALOG = Catalog.snapshot()


def profile(text: str):
    return analyze([{"role": "user", "content": text}])


PROOFS_IN_OTHER_LANGUAGES = [
    "Beweisen Sie, dass die Summe zweier ungerader Zahlen gerade ist.",
    "Zeige, dass es keine größte Primzahl gibt.",
    "Montrez que la racine carrée de 3 est irrationnelle.",
    "Démontre que la somme des angles d'un triangle vaut 180 degrés.",
    "Demuestra por inducción que 1 + 2 + ... + n = n(n+1)/2.",
    "Dimostra che esistono infiniti numeri primi.",
    "用数学归纳法证明 1+2+...+n = n(n+1)/2。",
    "√3が無理数であることを証明せよ。",
]


@pytest.mark.parametrize("text", PROOFS_IN_OTHER_LANGUAGES)
def test_a_proof_asked_in_another_language_is_non_routine_maths(text: str) -> None:
    read = profile(text)
    assert read.task is TaskType.MATH
    assert wording(text) == NON_ROUTINE and read.complexity >= NON_ROUTINE_FLOOR


@pytest.mark.parametrize("text", PROOFS_IN_OTHER_LANGUAGES)
def test_a_proof_in_another_language_is_never_stepped_down(text: str) -> None:
    policy = HybridPolicy(resolve_routing(RoutingConfig(), CATALOG), CATALOG)
    plan = policy.plan(profile(text), RouteRequest())
    info = CATALOG.get(plan.chosen.model)
    assert info is not None and tier_of(info) == "premium", plan.chosen.reason


@pytest.mark.parametrize("text", [
    # recency bound to the asker's (or the addressee's) own things
    "What's the newest version of my invoice?",
    "Show me my most recent invoice",
    "Any update on my refund?",
    "What is the current status of my order?",
    "Forward me the latest email from our accountant",
    "What are your opening hours on Sunday?",
    # updating something, doing it online, living somewhere
    "How do I update the app on my tablet?",
    "Update the changelog with the new flags",
    "Can I pay my bill online?",
    "Where do koalas live?",
])
def test_the_askers_own_things_and_doings_ask_for_no_search(text: str) -> None:
    read = profile(text)
    assert not read.needs_web and read.task is not TaskType.WEB_SEARCH


@pytest.mark.parametrize("text", [
    "What's the latest news from my hometown?",
    "What is the weather in my city today?",
    "Any updates on the rail strike?",
])
def test_the_worlds_news_still_asks_for_a_search_beside_a_possessive(text: str) -> None:
    assert profile(text).needs_web


@pytest.mark.parametrize("text", [
    "Please summarise the latest note from the landlord: 'The water is off today from 9 to 12 for repairs.'",
    "Summarise this update for the team:\nThe release is moved to tomorrow because today's build failed "
    "its smoke tests; the latest fixes are merged and QA restarts this afternoon.",
    "Translate today's notice into German: 'The pool is closed today for cleaning, back tomorrow.'",
])
def test_recency_words_in_a_text_the_request_gives_ask_for_no_search(text: str) -> None:
    read = profile(text)
    assert not read.needs_web
    assert read.task in (TaskType.SUMMARIZATION, TaskType.TRANSLATION)


def test_a_request_for_news_is_still_searched_when_it_names_no_given_text() -> None:
    read = profile("Summarise today's top headlines about the climate summit in a few bullet points.")
    assert read.needs_web


@pytest.mark.parametrize("text", [
    "What's the current version of Node.js?",
    "What is the latest release of Kubernetes?",
    "Who is the current prime minister of Canada?",
])
def test_the_worlds_current_version_or_office_holder_needs_fresh_information(text: str) -> None:
    read = profile(text)
    assert read.task is TaskType.WEB_SEARCH and read.needs_web


@pytest.mark.parametrize("text", [
    "What is the status of order 99120?",
    "How much does express shipping to Ireland cost?",
    "How long should I rest a steak?",
    "What is the return policy for sale items?",
    "What is the best way to learn to swim as an adult?",
    "How much is a large pizza?",
])
def test_a_number_or_a_price_asked_after_is_not_maths(text: str) -> None:
    assert profile(text).task is not TaskType.MATH


@pytest.mark.parametrize("text", [
    "What is 15% of 240?",
    "How much is 17 times 23?",
    "How much will I pay in total for 3 shirts at $24 each?",
    "How long does a 420 km trip take at 70 km/h?",
])
def test_a_quantity_question_beside_a_calculation_is_maths(text: str) -> None:
    assert profile(text).task is TaskType.MATH


@pytest.mark.parametrize("text", [
    "How do I unsubscribe from your mailing list?",
    "How can I change the email address on my account?",
    "Can I cancel my subscription before the renewal date?",
    "I forgot my password and the reset link has expired",
    "How do I update my payment method?",
])
def test_support_desk_questions_are_quick_answers(text: str) -> None:
    read = profile(text)
    assert read.task is TaskType.SIMPLE_QUERY and not read.needs_web


@pytest.mark.parametrize("text", [
    "Is Rust faster than Go for web servers?",
    "Is JavaScript better than TypeScript for a small project?",
    "Kotlin vs Java for a new Android app?",
])
def test_weighing_programming_languages_is_reasoning_not_code(text: str) -> None:
    assert profile(text).task is TaskType.REASONING


def test_code_in_several_languages_is_still_code() -> None:
    assert profile("Rewrite this Python script in Java: print('hi')").task is TaskType.CODE_GENERATION
    assert profile("Which is faster in Python, a list comprehension or map?").task is TaskType.CODE_GENERATION


@pytest.mark.parametrize("paraphrases", [
    ("What are your opening hours on Saturday?", "When are you open on Saturdays?",
     "What time do you open on Saturday?"),
    ("How do I update my app?", "How can I get the newest version of my app?"),
    ("How much does shipping to Canada cost?", "What's the shipping cost to Canada?"),
])
def test_paraphrases_get_one_task_and_one_web_need(paraphrases: tuple[str, ...]) -> None:
    """The task is part of the cache scope: a paraphrase read as another task never shares an answer."""
    assert len({(profile(text).task, profile(text).needs_web) for text in paraphrases}) == 1
