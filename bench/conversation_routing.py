"""Route labelled multi-turn conversations turn by turn, the old way and the conversation-aware way.

bench/data/conversations.jsonl holds hand-written conversations (coding and maths follow-ups,
reasoning, writing, roleplay, chit-chat, extraction, translation, mixed) with each user turn's
expected task and whether it needs the strong (premium) tier. Every turn is planned by the default
routing table over the bundled catalogue; no model is called, and each turn's assistant reply is
a fixed placeholder.

- last message: each call analysed on its last user message alone, no stickiness (the old router);
- conversation: the whole conversation analysed, and the model that answered the previous turn
  kept unless the new turn needs a higher tier (``StickyRoutes`` keyed by the earlier turns).

Reported side by side: per-turn task accuracy, premium calls on turns that need / do not need the
strong tier, and the share of conversations that move from the premium tier to a cheaper one
mid-way. The dev split was written while the analyser was built; the test split was written after,
and nothing was tuned on it: report ``--split test``.

Then the difficulty estimate as a signal for "needs the strong tier": its AUROC over the user turns
(0.5 is chance), read from the conversation so far (the hardest turn's estimate, as routing reads
it) and from the turn alone; and over the turns whose route weighs it (premium-tier maths and
reasoning without code), the only place routing uses it: there it must tell a request a cheap
model answers as well from one that needs the strong model. The shipped estimate is scored
learnt alone and with the wording cues of ``gatewise.routing.difficulty_cues``, as routing weighs
it (the cues were written on the dev split). ``--difficulty-model PATH`` scores
with another artefact (a candidate from ``scripts/train_difficulty.py --out``) beside the shipped
one.

Usage: python bench/conversation_routing.py [--split dev|test|all] [--errors] [--difficulty-model PATH]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from gatewise.catalog import Catalog
from gatewise.config import RoutingConfig, TaskType
from gatewise.routing.analyze import analyze
from gatewise.routing.difficulty import DifficultyModel, load_default
from gatewise.routing.difficulty_cues import with_cues
from gatewise.routing.policy import HybridPolicy, RouteRequest, resolve_routing, tier_of
from gatewise.routing.sticky import StickyRoutes, conversation_key

DATA = Path(__file__).parent / "data" / "conversations.jsonl"
REPLY = "Here is my answer."


@dataclass(frozen=True, slots=True)
class Turn:
    user: str
    task: TaskType
    strong: bool


@dataclass(frozen=True, slots=True)
class Conversation:
    id: str
    category: str
    split: str
    turns: tuple[Turn, ...]


@dataclass(frozen=True, slots=True)
class Routed:
    """One router's reading of one turn."""

    task: TaskType
    premium: bool
    weighed: bool  # the route weighed the difficulty estimate (premium-tier work without code)


def load(path: Path = DATA, split: str = "all") -> list[Conversation]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [Conversation(r["id"], r["category"], r["split"],
                         tuple(Turn(t["user"], TaskType(t["task"]), t["strong"]) for t in r["turns"]))
            for r in rows if split in ("all", r["split"])]


def _messages(turns: Sequence[Turn]) -> list[dict[str, str]]:
    messages = []
    for turn in turns:
        messages += [{"role": "user", "content": turn.user}, {"role": "assistant", "content": REPLY}]
    return messages[:-1]


def route(conversations: Sequence[Conversation], *, aware: bool) -> list[list[Routed]]:
    catalog = Catalog.snapshot()
    policy = HybridPolicy(resolve_routing(RoutingConfig(), catalog), catalog)
    sticky = StickyRoutes()
    out = []
    for conversation in conversations:
        routed = []
        for i in range(len(conversation.turns)):
            messages = _messages(conversation.turns[: i + 1])
            profile = analyze(messages if aware else messages[-1:])
            plan = policy.plan(profile, RouteRequest())
            if aware:
                key = conversation_key(messages, None)
                earlier = sticky.get(key)
                if earlier is not None:
                    policy.stick(plan, earlier, RouteRequest())
                sticky.remember(key, plan.chosen.model)
            info = catalog.get(plan.chosen.model)
            routed.append(Routed(profile.task, info is not None and tier_of(info) == "premium",
                                 plan.difficulty is not None))
        out.append(routed)
    return out


@dataclass(frozen=True, slots=True)
class Report:
    turns: int
    task_accuracy: float
    follow_up_accuracy: float  # turns after the first
    premium_when_strong: float  # recall of turns that need the strong tier
    premium_when_not: float  # premium calls on turns that do not
    premium_share: float
    down_switches: float  # conversations moving from premium to a cheaper tier mid-way


def report(conversations: Sequence[Conversation], routed: Sequence[Sequence[Routed]]) -> Report:
    pairs = [(turn, r, i) for c, rs in zip(conversations, routed, strict=True)
             for i, (turn, r) in enumerate(zip(c.turns, rs, strict=True))]
    strong = [r.premium for t, r, _ in pairs if t.strong]
    weak = [r.premium for t, r, _ in pairs if not t.strong]
    later = [t.task is r.task for t, r, i in pairs if i > 0]
    switches = sum(any(a.premium and not b.premium for a, b in pairwise(rs)) for rs in routed)
    return Report(len(pairs), sum(t.task is r.task for t, r, _ in pairs) / len(pairs),
                  sum(later) / len(later), sum(strong) / len(strong), sum(weak) / len(weak),
                  sum(r.premium for _, r, _ in pairs) / len(pairs), switches / len(routed))


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def auroc(scores: Sequence[float], positive: Sequence[bool]) -> float:
    """The chance that a positive outscores a negative (ties count half)."""
    pos = [s for s, p in zip(scores, positive, strict=True) if p]
    neg = [s for s, p in zip(scores, positive, strict=True) if not p]
    wins = sum((a > b) + 0.5 * (a == b) for a in pos for b in neg)
    return wins / (len(pos) * len(neg))


def difficulty_signal(conversations: Sequence[Conversation], routed: Sequence[Sequence[Routed]],
                      score: Callable[[str], float]) -> tuple[float, float, float | None, int]:
    """AUROC of the estimate for strong-needed turns: over every turn (conversation so far, turn
    alone), and over the turns whose route weighs it (conversation so far; None when those are
    all of one kind), with how many those are. Only the last separates requests of one tier."""
    so_far, alone, strong, weighed = [], [], [], []
    for conversation, rs in zip(conversations, routed, strict=True):
        for i, (turn, r) in enumerate(zip(conversation.turns, rs, strict=True)):
            turns = analyze(_messages(conversation.turns[: i + 1])).turns
            so_far.append(max(map(score, turns)))
            alone.append(score(turn.user))
            strong.append(turn.strong)
            weighed.append(r.weighed)
    return auroc(so_far, strong), auroc(alone, strong), weighed_auroc(so_far, strong, weighed), sum(weighed)


def weighed_auroc(scores: Sequence[float], strong: Sequence[bool], weighed: Sequence[bool]) -> float | None:
    """AUROC over the turns whose route weighs the estimate; None when those are all of one kind."""
    within = [(s, p) for s, p, w in zip(scores, strong, weighed, strict=True) if w]
    if len({p for _, p in within}) < 2:
        return None
    return auroc([s for s, _ in within], [p for _, p in within])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--split", choices=("dev", "test", "all"), default="test")
    parser.add_argument("--errors", action="store_true", help="list the turns the aware router mislabels")
    parser.add_argument("--difficulty-model", type=Path, default=None,
                        help="also score with this difficulty artefact")
    args = parser.parse_args(argv)
    conversations = load(split=args.split)
    results = {name: route(conversations, aware=aware)
               for name, aware in (("last message", False), ("conversation", True))}
    reports = {name: report(conversations, routed) for name, routed in results.items()}
    n = next(iter(reports.values())).turns
    print(f"split {args.split}: {len(conversations)} conversations, {n} user turns\n")
    print("| router | task accuracy | follow-up task accuracy | premium on strong-needed turns "
          "| premium on the others | premium share | conversations switching premium -> cheaper |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, r in reports.items():
        print(f"| {name} | {_pct(r.task_accuracy)} | {_pct(r.follow_up_accuracy)} | "
              f"{_pct(r.premium_when_strong)} | {_pct(r.premium_when_not)} | {_pct(r.premium_share)} | "
              f"{_pct(r.down_switches)} |")
    shipped = load_default()
    scorers: dict[str, Callable[[str], float]] = {
        "shipped, learnt alone": shipped.score,
        "shipped, with wording cues (as routed)": lambda text: with_cues(text, shipped.score(text))}
    if args.difficulty_model is not None:
        scorers[str(args.difficulty_model)] = DifficultyModel.from_json(
            json.loads(args.difficulty_model.read_text(encoding="utf-8"))).score
    print("\n| difficulty model | AUROC for strong-needed turns, conversation so far | turn alone "
          "| among the turns whose route weighs it (n) |")
    print("| --- | --- | --- | --- |")
    for name, score in scorers.items():
        so_far, alone, tier, weighed = difficulty_signal(conversations, results["conversation"], score)
        within = "all of one kind" if tier is None else f"{tier:.3f}"
        print(f"| {name} | {so_far:.3f} | {alone:.3f} | {within} ({weighed}) |")
    if args.errors:
        for c, rs in zip(conversations, results["conversation"], strict=True):
            for i, (turn, r) in enumerate(zip(c.turns, rs, strict=True)):
                if turn.task is not r.task or turn.strong != r.premium:
                    expected = f"{turn.task.value}/{'strong' if turn.strong else 'weak'}"
                    got = f"{r.task.value}/{'premium' if r.premium else 'cheaper'}"
                    print(f"{c.id}#{i + 1}: expected {expected}, got {got}: {turn.user[:70]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
