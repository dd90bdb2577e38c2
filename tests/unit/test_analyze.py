"""Query analysis: task, complexity, modalities, web need, language, token estimate."""

from __future__ import annotations

import pytest

from gatewise.config import TaskType
from gatewise.routing.analyze import analyze


def profile(text: str, **kw):
    return analyze([{"role": "user", "content": text}], **kw)


@pytest.mark.parametrize(("text", "task"), [
    ("Write a Python function that parses ISO dates and add unit tests", TaskType.CODE_GENERATION),
    ("Fix this bug: TypeError in my JavaScript class constructor", TaskType.CODE_GENERATION),
    ("What is 17*23?", TaskType.MATH),
    ("Solve the equation 3x + 5 = 20 and compute x", TaskType.MATH),
    ("Analyze this CSV dataset and find the trend in monthly revenue", TaskType.DATA_ANALYSIS),
    ("Explain why the trade-offs of microservices matter, step by step", TaskType.REASONING),
    ("Summarize the key points of this article in three bullet points", TaskType.SUMMARIZATION),
    ("Translate 'good morning, how are you' into Spanish", TaskType.TRANSLATION),
    ("Write a haiku about autumn rain", TaskType.CREATIVE_WRITING),
    ("What's the latest news about the election today?", TaskType.WEB_SEARCH),
    ("Hello there", TaskType.SIMPLE_QUERY),
])
def test_task_detection(text: str, task: TaskType) -> None:
    assert profile(text).task is task


def test_image_parts_make_a_vision_task() -> None:
    p = analyze([{"role": "user", "content": [
        {"type": "text", "text": "What is in this picture?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}])
    assert p.task is TaskType.VISION and p.has_image and p.modalities == ("image", "text")
    assert p.est_tokens_in > 1000  # an image costs vision tokens


def test_hint_wins_and_web_need_is_kept() -> None:
    p = profile("latest pandas release notes", task_hint=TaskType.CODE_GENERATION)
    assert p.task is TaskType.CODE_GENERATION and p.needs_web


def test_complexity_orders_easy_below_hard() -> None:
    easy = profile("What is the capital of France? Quick answer.")
    hard = profile("Prove rigorously, step by step, that the algorithm is optimal, covering edge "
                   "cases and the complex trade-offs of its architecture." * 3)
    assert 0 <= easy.complexity < 0.3 < 0.6 < hard.complexity <= 1


def test_language_and_tokens() -> None:
    assert profile("请把这段话翻译成英文").language == "zh"
    assert profile("¿Qué hora es? Por favor, dime cómo está el tiempo").language == "es"
    assert profile("Warum ist der Himmel blau? Bitte erkläre es und nicht zu lang").language == "de"
    assert profile("x" * 4000).est_tokens_in == 1001
