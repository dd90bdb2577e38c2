"""Query analysis: task, complexity, modalities, web need, language, token estimate."""

from __future__ import annotations

import pytest

from gatewise.config import TaskType
from gatewise.routing.analyze import analyze
from gatewise.routing.difficulty import load_default as load_difficulty
from gatewise.routing.difficulty_cues import with_cues


def profile(text: str, **kw):
    return analyze([{"role": "user", "content": text}], **kw)


@pytest.mark.parametrize(("text", "task"), [
    ("Write a Python function that parses ISO dates and add unit tests", TaskType.CODE_GENERATION),
    ("Fix this bug: TypeError in my JavaScript class constructor", TaskType.CODE_GENERATION),
    ("What is 17*23?", TaskType.MATH),
    ("Solve the equation 3x + 5 = 20 and compute x", TaskType.MATH),
    # number theory asks in words what it asks: no equation sign, no "solve"
    ("Find all positive integers n such that n! + 5 is a perfect square.", TaskType.MATH),
    ("Is there an integer whose remainder is 3 when divided by 4 and 2 when divided by 6?", TaskType.MATH),
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


def test_complexity_is_the_difficulty_estimate() -> None:
    easy = profile("What is the capital of France? Quick answer.")
    hard = profile("Find the area of the triangle with vertices (0, 0), (-1, 1) and (3, 3), then the "
                   "radius of its circumscribed circle, and show that 17 divides 2^8 + 1.")
    assert 0 <= easy.complexity < hard.complexity <= 1
    assert hard.complexity == round(with_cues(hard.focus, load_difficulty().score(hard.focus)), 3)


def chat(*turns: str) -> list[dict[str, str]]:
    """User turns with a stock assistant reply between them."""
    messages = []
    for turn in turns:
        messages += [{"role": "user", "content": turn}, {"role": "assistant", "content": "Sure, done."}]
    return messages[:-1]


HARD_CODE = ("Implement a lock-free multi-producer single-consumer queue in C++ with std::atomic, "
             "explain the memory orderings you chose, and write unit tests for it.")


@pytest.mark.parametrize("follow_up", ["Now make it handle unicode", "why?", "ok, and the edge cases?",
                                       "Can you make it faster?"])
def test_a_short_follow_up_keeps_the_conversations_task_and_difficulty(follow_up: str) -> None:
    alone = profile(follow_up)
    assert alone.task is not TaskType.CODE_GENERATION
    p = analyze(chat(HARD_CODE, follow_up))
    assert p.task is TaskType.CODE_GENERATION
    facts = p.conversation
    assert (facts.user_turns, facts.established_task, facts.inherited) == (2, TaskType.CODE_GENERATION, True)
    assert facts.has_code
    hard = profile(HARD_CODE).complexity
    assert p.complexity == max(hard, alone.complexity)  # the hardest turn sets it
    assert p.hardest_turns_ago == (1 if hard >= alone.complexity else 0)
    assert p.focus == follow_up  # cues, language and web need still come from the new message


@pytest.mark.parametrize(("follow_up", "task"), [
    ("Translate the explanation into French, please", TaskType.TRANSLATION),
    ("Write a short poem about lock-free queues", TaskType.CREATIVE_WRITING),
])
def test_a_follow_up_that_names_another_task_switches(follow_up: str, task: TaskType) -> None:
    p = analyze(chat(HARD_CODE, follow_up))
    assert p.task is task and not p.conversation.inherited
    assert p.conversation.established_task is TaskType.CODE_GENERATION


def test_chit_chat_sets_no_task_to_inherit_and_long_turns_stand_alone() -> None:
    assert analyze(chat("hi there", "What is 17*23?")).task is TaskType.MATH
    long_turn = ("Summarize the key points of this article in three bullet points: " + "words " * 40)
    p = analyze(chat(HARD_CODE, long_turn))
    assert p.task is TaskType.SUMMARIZATION and not p.conversation.inherited


@pytest.mark.parametrize("text", [
    "Pretend you are Sherlock Holmes and stay in character: what do you make of my muddy boots?",
    "Act as a pirate captain and greet the new crew",
    "Picture yourself as a tour guide in Rome and describe the first stop",
    "Embrace the role of a grumpy lighthouse keeper. What is your opinion on tourists?",
    "Compose an engaging travel blog post about a recent trip to Hawaii",
    "Write a persuasive email to convince my friend to volunteer as a speaker",
])
def test_roleplay_and_writing_are_creative_work(text: str) -> None:
    assert profile(text).task is TaskType.CREATIVE_WRITING


@pytest.mark.parametrize(("text", "task"), [
    # A language named on its own is no request to translate; beside a quoted text it is.
    ("Discuss the main causes of the French Revolution.", TaskType.REASONING),
    ("Our Italian users need this error message: 'The file could not be uploaded.'", TaskType.TRANSLATION),
    # ...but "polish" beside one is the verb.
    ("Polish this sentence for me: \"we is going to the meeting tomorrow morning, ok?\"",
     TaskType.SIMPLE_QUERY),
    ("Imagine you're a grumpy pirate captain greeting new crew. What do you say?", TaskType.CREATIVE_WRITING),
    # "minutes" is a duration here, not meeting minutes.
    ("If it takes 5 machines 5 minutes to make 5 widgets, how long would 100 machines take?", TaskType.MATH),
    ("Write a regular expression that validates an IPv4 address.", TaskType.CODE_GENERATION),
    ("Extract every company name and its founding year from this text: Apple was founded in 1976.",
     TaskType.DATA_ANALYSIS),
    ("Proofread my cover note and improve the flow: 'Dear hiring manager, i has three years experience.'",
     TaskType.CREATIVE_WRITING),
    ("Edit this paragraph to make it more concise and formal.", TaskType.CREATIVE_WRITING),
    ("Describe the difference between mitosis and meiosis.", TaskType.REASONING),
    # Counting words alone make no maths problem.
    ("How many different payment methods do you accept?", TaskType.SIMPLE_QUERY),
    # Premises, then a question: a deduction however plain its words; an instruction is not one.
    ("Every student in the club plays chess. Maya does not play chess. Is Maya in the club?",
     TaskType.REASONING),
    ("Pretend to be a pirate in all the following messages. Speak like one. Why is the sea blue?",
     TaskType.CREATIVE_WRITING),
    # A negation alone makes no premise: a complaint in a few sentences is no deduction...
    ("My order has not arrived. I paid on Monday. The tracking page says delivered. Where is my package?",
     TaskType.SIMPLE_QUERY),
    # ...unless a universal premise goes with it.
    ("All cats in the shelter are vaccinated. Whiskers is not vaccinated. What can we conclude?",
     TaskType.REASONING),
    ("Speed up this query on a big table: SELECT * FROM orders WHERE YEAR(created_at) = 2024;",
     TaskType.CODE_GENERATION),
    # ...but a shopper's "select from" is no SQL.
    ("Can I select from multiple shipping addresses at checkout?", TaskType.SIMPLE_QUERY),
])
def test_open_ended_chat_requests(text: str, task: TaskType) -> None:
    assert profile(text).task is task


def test_an_instruction_with_all_is_no_puzzle() -> None:
    # Three short sentences and a question, as a puzzle has; "all" here scopes an instruction.
    # (The pirate case above is creative writing on its cues whatever the puzzle shape says.)
    text = "Answer in all caps from now on. Keep it brief. Which planet is the largest?"
    assert profile(text).task is not TaskType.REASONING


@pytest.mark.parametrize("marks", ["“" * 2_000 + "”", "«" * 2_000 + "»", "‘" * 30 + "’"])
def test_a_run_of_quote_marks_is_no_quoted_passage(marks: str) -> None:
    # Each opening mark used to start a try that ran to the end of the run: quadratic work on
    # the analyser's 2 KB, and a quoted "passage" made of nothing but quote marks.
    scores = profile(f"french {marks}").task_scores
    assert scores["translation"] == profile("french").task_scores["translation"]
    assert profile(f"french “{'x' * 20}”").task_scores["translation"] > scores["translation"]


@pytest.mark.parametrize("text", ["how are you today?", "great, thanks!", "ok cool", "good morning"])
def test_small_talk_is_a_simple_query_that_inherits_nothing(text: str) -> None:
    p = profile(text)
    assert p.task is TaskType.SIMPLE_QUERY and not p.needs_web
    after = analyze(chat(HARD_CODE, text))
    assert after.task is TaskType.SIMPLE_QUERY and not after.conversation.inherited
    assert after.complexity >= profile(HARD_CODE).complexity  # the conversation is still hard


def test_a_long_conversation_reads_a_bounded_number_of_turns() -> None:
    p = analyze(chat(HARD_CODE, *["thanks"] * 30))
    assert p.conversation.user_turns == 31
    assert p.task is TaskType.SIMPLE_QUERY  # the hard turn is out of the window now


def test_language_and_tokens() -> None:
    assert profile("请把这段话翻译成英文").language == "zh"
    assert profile("¿Qué hora es? Por favor, dime cómo está el tiempo").language == "es"
    assert profile("Warum ist der Himmel blau? Bitte erkläre es und nicht zu lang").language == "de"
    assert profile("x" * 4000).est_tokens_in == 1001
