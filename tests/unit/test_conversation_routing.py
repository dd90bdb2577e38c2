"""Conversation stickiness keys and memory, and the labelled conversations the routing bench replays."""

from __future__ import annotations

from collections import Counter

from gatewise.config import TaskType
from gatewise.routing.sticky import StickyRoutes, conversation_key
from repo_paths import load_bench

bench = load_bench("conversation_routing")


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def test_history_keys_follow_the_user_turns_only() -> None:
    first = [{"role": "system", "content": "be brief"}, user("Write a haiku")]
    second = [*first, {"role": "assistant", "content": "any reply"}, user("another")]
    assert conversation_key(first, None).earlier is None  # a first turn has nothing to look up
    assert conversation_key(second, None).earlier == conversation_key(first, None).current
    edited = [*first, {"role": "assistant", "content": "an edited reply"}, user("another")]
    assert conversation_key(edited, None) == conversation_key(second, None)
    other_system = [{"role": "system", "content": "be long"}, *second[1:]]
    assert conversation_key(other_system, None).earlier != conversation_key(second, None).earlier
    by_id = conversation_key(first, "chat-1")
    assert by_id.source == "conversation_id" and by_id.earlier == by_id.current == "id:chat-1"


def test_memory_is_a_bounded_lru() -> None:
    routes = StickyRoutes(capacity=2)
    keys = [conversation_key([user("q")], f"c{i}") for i in range(3)]
    routes.remember(keys[0], "a")
    routes.remember(keys[1], "b")
    assert routes.get(keys[0]) == "a"  # used: c1 is now the oldest
    routes.remember(keys[2], "c")
    assert len(routes) == 2
    assert (routes.get(keys[0]), routes.get(keys[1]), routes.get(keys[2])) == ("a", None, "c")


def test_the_labelled_conversations_are_varied_and_well_formed() -> None:
    conversations = bench.load()
    assert 100 <= len(conversations) <= 140
    assert Counter(c.split for c in conversations) == {"dev": 82, "test": 42}
    assert len({c.id for c in conversations}) == len(conversations)
    categories = Counter(c.category for c in conversations)
    for category in ("coding", "maths", "reasoning", "writing", "roleplay", "chit-chat", "extraction",
                     "mixed"):
        assert categories[category] >= 4, category
    assert sum(len(c.turns) >= 2 for c in conversations) >= 0.8 * len(conversations)
    # Maths and reasoning turns of both kinds: ones a cheap model answers as well, and ones that
    # need the strong model, so the difficulty estimate can be measured where routing weighs it.
    kinds = Counter((t.task, t.strong) for c in conversations for t in c.turns
                    if t.task in (TaskType.MATH, TaskType.REASONING))
    assert min(kinds.values()) >= 10 and len(kinds) == 4


def test_conversation_aware_routing_beats_last_message_routing() -> None:
    # Measured on the test split (written after the analyser, never tuned on): task accuracy
    # 61.4 % -> 86.4 % (follow-ups 37.0 % -> 84.8 %), premium on turns that need it 44.2 % -> 62.8 %,
    # on the others 4.4 % -> 15.6 %, conversations switching premium -> cheaper 28.6 % -> 0 %.
    conversations = bench.load(split="test")
    old = bench.report(conversations, bench.route(conversations, aware=False))
    new = bench.report(conversations, bench.route(conversations, aware=True))
    assert new.task_accuracy >= 0.85 and new.follow_up_accuracy >= old.follow_up_accuracy + 0.4
    assert new.premium_when_strong >= old.premium_when_strong + 0.15
    assert new.premium_when_not <= 0.2
    assert old.down_switches >= 0.2 and new.down_switches == 0.0


def test_the_bench_prints_both_routers(capsys) -> None:
    assert bench.main(["--split", "dev", "--errors"]) == 0
    out = capsys.readouterr().out
    assert "split dev: 82 conversations" in out and "| last message |" in out and "| conversation |" in out


def test_the_estimate_is_scored_where_routing_weighs_it() -> None:
    def one_turn(text: str, task: TaskType, strong: bool) -> bench.Conversation:
        return bench.Conversation(text, "any", "dev", (bench.Turn(text, task, strong),))

    easy = one_turn("What is 10% of 80?", TaskType.MATH, False)
    hard = one_turn("Prove that there are infinitely many primes of the form 4k + 3.", TaskType.MATH, True)
    prose = one_turn("Write a long poem about the sea, with verses on waves, gulls, storms and sailors.",
                     TaskType.CREATIVE_WRITING, False)
    conversations = [easy, hard, prose]
    routed = [[bench.Routed(TaskType.MATH, False, True)], [bench.Routed(TaskType.MATH, True, True)],
              [bench.Routed(TaskType.CREATIVE_WRITING, False, False)]]
    # Scored by length, the long prose turn outranks the hard one over every turn, but it is not
    # weighed: among the weighed turns the hard one is first.
    so_far, alone, within, weighed = bench.difficulty_signal(conversations, routed, lambda text: len(text))
    assert (so_far, alone, within, weighed) == (0.5, 0.5, 1.0, 2)
    routed[1] = [bench.Routed(TaskType.MATH, True, False)]  # a turn with code is never weighed
    _, _, within, weighed = bench.difficulty_signal(conversations, routed, lambda text: len(text))
    assert within is None and weighed == 1  # one kind only: no AUROC
