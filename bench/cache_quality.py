"""How often the semantic cache serves a question it should, and one it must not.

Data: the ``fow-cache`` package's labelled pairs (CC BY 4.0): 600 question pairs (should-hit:
near repeats and paraphrases; traps: negation, entity swap, number/date, scope) and 240
conversation pairs (should-hit: same context reworded, irrelevant history, extra chatter; traps:
context swap, detail swap, intent flip). ``a`` is the cached question, ``b`` the new one. The
pairs are split by a hash of their id into two halves: ``dev`` (the half whose failures may be
read when the gates change) and ``report`` (only ever measured), so the report half shows how the
rules do on questions they were not shaped by. ``bench/data/cache_pairs.jsonl`` adds 80
hand-written question pairs (40 paraphrases, 40 traps) as a third check, ``own``, and
``bench/data/cache_pairs_fresh.jsonl`` 60 more (20 paraphrases, 40 traps of the four kinds), ``fresh``,
written after the gates and only ever measured. ``bench/data/cache_pairs_hazards.jsonl``, ``hazards``,
holds 360 traps written to get past the gates (negation moved within a sentence, roles swapped,
values, conditions, siblings, qualifiers, question types, each also rebuilt in other words) and
150 paraphrases; the gates were mended where these failed, so it is a regression set, not a
held-out one. ``bench/data/cache_pairs_unseen.jsonl``, ``unseen``: 100 paraphrases and 100 traps
(25 of each of the four kinds) written after those mends and only ever measured.
``bench/data/cache_pairs_probes.jsonl``, ``probes``: 282 support-desk and everyday paraphrases and
259 traps (siblings in rebuilt questions, roles and scope, another action, a qualifier added,
another kind of answer asked: how much against whether, how long against when, whom to contact
against who someone is; another clock time, date, rate or unit; one detail turned as
bench/cache_attacks.py turns it) written while the reading in context was widened, while the
question gate learnt to read a kind of answer named in words, while clock times and shortened
dates were learnt and while the attacks of bench/cache_attacks.py were closed; the gates were
mended where they failed, so it is a regression set too. ``bench/data/cache_pairs_blind.jsonl``,
``blind``: 100 paraphrases and 100 traps (25 of each of the four kinds, about half of them also
reworded) written by someone who had not seen the gates, the rules or any other pair file, and
measured before anything was changed for it; its two traps served then were read and closed, its
paraphrases never read. ``bench/data/cache_pairs_blind2.jsonl``, ``blind2``: the same, harder (100
paraphrases, 200 traps of which two thirds are also reworded), written later by another hand; its
five traps served at first were read, its paraphrases never. ``bench/data/cache_pairs_blind3.jsonl``,
``blind3``: a third (60 paraphrases, 240 traps, three quarters of them reworded and written to
fool a cache that checks meaning and simple word rules); its twelve traps served at first were
read, its paraphrases never. ``blind4`` and ``blind5`` (120 paraphrases and 30 traps of each kind
each, as an assistant's traffic would hold them, half the traps reworded; blind5 in other
domains): written after all that and measured once before anything changed for them; then
blind4's four traps served were read (three closed) and blind5's one read and closed.
``blind6``: the same kind as blind4, written after every mend and measured once; only its one
trap served was read after that. ``bench/data/cache_pairs_dev2.jsonl``, ``dev2``: 200 paraphrases
and 100 traps written by another hand from the same brief as blind4, but to be read: its
failures were read and the gates mended where a general reading was missing, so it is a
regression set. ``bench/data/cache_pairs_blind7.jsonl``, ``blind7``: as blind4 (120 paraphrases,
30 traps of each kind), written blind while dev2's mends were made and measured once after them;
its four traps served then were read and closed, its paraphrases never.
``bench/data/cache_pairs_blind8.jsonl``, ``blind8``: as blind4 (120 paraphrases, 30 traps of each
kind), written blind after a round of readings (countries, ages, temperatures) and measured
before the round's corrections; never read. ``bench/data/cache_pairs_blind9.jsonl``, ``blind9``: as
blind4, written blind after that round and measured once before anything changed for it; only its
one trap served then (a citizen's country traded with the place visited) was read and closed.
``bench/data/cache_pairs_blind10.jsonl``, ``blind10``: as blind4, written blind while the next
round's attacks were being closed and measured when it was written; none of its traps was served,
and its paraphrases were never read. ``bench/data/cache_pairs_blind11.jsonl``, ``blind11``: as blind4,
written blind after that and measured once before anything changed for it (65 of 120 paraphrases
and two traps served); only those two traps were read and closed (a question of yes or no against
one of which ones, and against one of how long). ``bench/data/cache_pairs_dev3.jsonl``, ``dev3``: 200
paraphrases and 100 traps (25 of each kind) written at the same time from the same brief, to be
read, as dev2 was: a regression set.

Policies, side by side on the same vectors:

- gptcache:      cosine of the last message only, served at or above the threshold (GPTCache's
                 default pre-processing and evaluation);
- content-words: the same, plus an identical set of content words (hydra's gate);
- gatewise:      SemanticCache's rule: conversations only within the same scope (system prompt,
                 turns by place and role), cosine at or above the threshold, every gate (a
                 rebuilt question's differing words read in context, as a lookup does), and each
                 earlier turn that reads otherwise a paraphrase of the one at its place (cosine at
                 the default threshold and every gate; the sweep keeps that verdict).

For each embedder (local: all-MiniLM-L6-v2 int8; local-hash: the sandbox's hashed words), a
threshold sweep; then, at the default threshold (``caching.semantic_cache.similarity_threshold``'s
default unless ``--default`` says otherwise), served counts by category and which gate refused,
and (local only) what the content and rare-word gates would trade if every pair they refuse were
read in context: paraphrases gained on the unread halves against traps served.
The gatewise column at the default threshold is also replayed through SemanticCache.store/lookup
to check that the bench decides exactly as the cache does.

``--without-groups`` scores the rules with the hand-written synonym groups
(:mod:`gatewise.cache.synonyms`) answering nothing: the groups were written with the dev half in
view, so this shows what the general parts (word senses, word vectors, rewordings, words read in
context) serve alone.

Usage: python bench/cache_quality.py [--embedders local,local-hash] [--default 0.75] [--without-groups]
(needs the bench extra: pip install -e '.[bench]')
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import re
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from fow_cache.data import load_conversations, load_questions

from gatewise.cache import gates, synonyms
from gatewise.cache.semantic import Scope, SemanticCache
from gatewise.config import SemanticCacheConfig

THRESHOLDS = (0.60, 0.65, 0.70, 0.75, 0.80, 0.85, 0.90, 0.92, 0.95)
POLICIES = ("gptcache", "content-words", "gatewise")
# The project's own hand-written pairs, by the half they make up: bench/data/cache_pairs_<half>.jsonl
# (the first, "own", is cache_pairs.jsonl).
_OWN_HALVES = ("own", "fresh", "hazards", "unseen", "probes", "blind", "blind2", "blind3", "blind4", "blind5",
               "blind6", "dev2", "blind7", "blind8", "blind9", "blind10", "blind11", "dev3")
_DATA = Path(__file__).parent / "data"
OWN_PAIRS = {half: _DATA / ("cache_pairs.jsonl" if half == "own" else f"cache_pairs_{half}.jsonl")
             for half in _OWN_HALVES}
HALVES = ("dev", "report", *OWN_PAIRS)


@dataclass
class Pair:
    id: str
    group: str
    should_hit: bool
    cached: str
    new: str
    half: str  # dev, report, or one of OWN_PAIRS' halves
    context_a: list[dict[str, str]] = field(default_factory=list)  # the earlier turns of each side
    context_b: list[dict[str, str]] = field(default_factory=list)

    @property
    def same_context(self) -> bool:
        """Whether the cache puts both sides in one scope (always so for single questions)."""
        return self.scope_a.key("e") == self.scope_b.key("e")

    @property
    def scope_a(self) -> Scope:
        return Scope("bench", ("m",), context=self.context_a)

    @property
    def scope_b(self) -> Scope:
        return Scope("bench", ("m",), context=self.context_b)


def half_of(pair_id: str) -> str:
    return "dev" if hashlib.sha256(pair_id.encode()).digest()[0] % 2 == 0 else "report"


def load_pairs() -> list[Pair]:
    pairs = [Pair(q["id"], q["category"], q["same_answer"], q["a"], q["b"], half_of(q["id"]))
             for q in load_questions()]
    for c in load_conversations():
        pairs.append(Pair(c["id"], "conv:" + c["subtype"], c["same_answer"], c["a"][-1]["content"],
                          c["b"][-1]["content"], half_of(c["id"]), c["a"][:-1], c["b"][:-1]))
    for half, path in OWN_PAIRS.items():
        for line in path.read_text().splitlines():
            own = json.loads(line)
            should_hit = own["category"] == "paraphrase"
            pairs.append(Pair(own["id"], f"{half}:{own['category']}", should_hit, own["a"], own["b"], half))
    return pairs


def content_words(text: str) -> frozenset[str]:
    """Every word that is not a function word (the gates' polar words included), and the digits."""
    features = gates.analyse(text)
    return features.content | {word for _, _, word in features.polarity} | frozenset(re.findall(r"\d+", text))


@dataclass
class Judged:
    pair: Pair
    cosine: float
    gate: str | None  # None: the gates pass
    history: str | None  # None: the earlier turns are one conversation's, reworded or not


async def judge_all(cache: SemanticCache, pairs: list[Pair]) -> list[Judged]:
    texts = sorted({t for p in pairs for t in (p.cached, p.new)})
    vectors = {}
    for start in range(0, len(texts), 64):
        chunk = texts[start:start + 64]
        embedded = await cache.embedder.embed([gates.embedding_text(t) for t in chunk])
        vectors.update(zip(chunk, embedded.vectors, strict=True))
    judged = []
    for p in pairs:
        gate, _ = await cache.judge(p.cached, p.new, float(np.dot(vectors[p.cached], vectors[p.new])))
        history = "context" if not p.same_context else \
            (await cache.same_history(p.scope_a.history(), p.scope_b.history(),
                                      by_place=gates.refers_by_place(p.new)))[0]
        judged.append(Judged(p, float(np.dot(vectors[p.cached], vectors[p.new])), gate, history))
    return judged


def served(j: Judged, policy: str, threshold: float) -> bool:
    if j.cosine < threshold:
        return False
    if policy == "gptcache":
        return True
    if policy == "content-words":
        return content_words(j.pair.cached) == content_words(j.pair.new)
    return j.gate is None and j.history is None


def rates(judged: list[Judged], policy: str, threshold: float, dataset: str,
          halves: tuple[str, ...] = ("dev", "report")) -> tuple[float, float, int]:
    rows = [j for j in judged
            if j.pair.group.startswith("conv:") == (dataset == "conversations") and j.pair.half in halves]
    hits = [served(j, policy, threshold) for j in rows if j.pair.should_hit]
    traps = [served(j, policy, threshold) for j in rows if not j.pair.should_hit]
    return sum(hits) / len(hits), sum(traps) / len(traps), sum(traps)


def cell(judged: list[Judged], policy: str, threshold: float, dataset: str, halves: tuple[str, ...]) -> str:
    hit, trap, n_trap = rates(judged, policy, threshold, dataset, halves)
    return f"{hit:6.1%} / {trap:5.1%} ({n_trap})"


async def replay(cache: SemanticCache, pairs: list[Pair], judged: list[Judged]) -> int:
    """Disagreements between the bench's gatewise column and real store/lookup calls."""
    disagree = 0
    for i, (p, j) in enumerate(zip(pairs, judged, strict=True)):
        scope_a = Scope(f"bench-{i}", ("m",), context=p.context_a)
        scope_b = Scope(f"bench-{i}", ("m",), context=p.context_b)
        await cache.store(scope_a, p.cached, {"answer": p.id})
        got = (await cache.lookup(scope_b, p.new)).hit is not None
        disagree += got != served(j, "gatewise", cache.threshold)
    return disagree


def report(name: str, judged: list[Judged], default: float) -> None:
    print(f"\n## embedder: {name}\n")
    for dataset in ("questions", "conversations"):
        print(f"### {dataset} (fow-cache, both halves): should-hit served / traps served\n")
        print("| threshold | " + " | ".join(POLICIES) + " |")
        print("|---|" + "---|" * len(POLICIES))
        for t in THRESHOLDS:
            mark = " (default)" if abs(t - default) < 1e-9 else ""
            print(f"| {t:.2f}{mark} | " + " | ".join(cell(judged, p, t, dataset, ("dev", "report"))
                                                      for p in POLICIES) + " |")
        print()
    print("### questions, dev half only (where the default threshold is chosen)\n")
    print("| threshold | " + " | ".join(POLICIES) + " |")
    print("|---|" + "---|" * len(POLICIES))
    for t in THRESHOLDS:
        cells = [cell(judged, p, t, "questions", ("dev",)) for p in POLICIES]
        print(f"| {t:.2f} | " + " | ".join(cells) + " |")
    print()
    print(f"### by half at {default:.2f}: should-hit served / traps served\n")
    print("| data | half | " + " | ".join(POLICIES) + " |")
    print("|---|---|" + "---|" * len(POLICIES))
    for dataset, halves in (("questions", HALVES), ("conversations", HALVES[:2])):
        for half in halves:
            print(f"| {dataset} | {half} | " + " | ".join(cell(judged, p, default, dataset, (half,))
                                                          for p in POLICIES) + " |")
    print()
    limits(judged, default)
    for half in HALVES:
        confusion(judged, default, half)
    wrong = [j for j in judged if not j.pair.should_hit and served(j, "gatewise", default)]
    if wrong:
        print("\nTraps gatewise served at the default threshold:")
        for j in wrong:
            print(f"- {j.pair.id} ({j.pair.half}, {j.cosine:.3f}): {j.pair.cached!r} -> {j.pair.new!r}")


def limits(judged: list[Judged], default: float) -> None:
    """What holds back the should-hit questions gatewise refuses: a gate, whatever their cosine
    (the confusion tables name the threshold first), or only the threshold. A better embedder adds
    at most the second at this threshold (more with word vectors that let the content gate pass)."""
    print(f"### should-hit questions at {default:.2f}: refused by a gate or only by the threshold\n")
    print("| half | n | served | a gate refuses (any cosine) | gates pass, under the threshold |")
    print("|---|---|---|---|---|")
    for half in HALVES:
        rows = [j for j in judged
                if j.pair.half == half and j.pair.should_hit and not j.pair.group.startswith("conv:")]
        gated = sum(j.gate is not None or j.history is not None for j in rows)
        under = sum(j.gate is None and j.history is None and j.cosine < default for j in rows)
        served_n = sum(served(j, "gatewise", default) for j in rows)
        print(f"| {half} | {len(rows)} | {served_n} | {gated} | {under} |")
    print()


# The halves whose paraphrases no one has read: what a change gains there, it gains on questions it
# was not shaped by.
UNREAD = ("report", "fresh", "unseen", "blind", "blind2", "blind3", "blind4", "blind5", "blind6", "blind7",
          "blind8", "blind9", "blind10", "blind11")
PARTNER_BOUNDS = (0.3, 0.4, 0.5, 0.6)
FRONTIER_COSINES = (0.70, 0.75, 0.80, 0.85, 0.90)


async def word_gate_frontier(cache: SemanticCache, judged: list[Judged], default: float) -> None:
    """What the content and rare-word gates would trade if every pair they refuse were read in
    context, minimal pairs and one-sided additions too, at a partner bound and a cosine: the
    paraphrases of the unread halves gained (the report half's in brackets) against the traps
    served over every set. The shipped reading (rebuilt pairs only, 0.5 or 0.4 by cosine) sits
    inside this table's 0-trap corner. Only the local model gives word vectors to read."""
    if not cache.reads_in_context:
        return
    weakest = []
    for j in judged:
        if j.gate in ("content", "rare_word") and j.history is None and j.cosine >= default:
            verdict = gates.compare(*gates.analyse_pair(j.pair.cached, j.pair.new))
            weakest.append((j, await cache.weakest_partner(verdict, j.pair.cached, j.pair.new)))
    print(f"### word gates read in context for every pair they refuse at {default:.2f}: "
          "unread paraphrases gained (report) / traps served\n")
    print("| weakest partner | " + " | ".join(f"cosine >= {c:.2f}" for c in FRONTIER_COSINES) + " |")
    print("|---|" + "---|" * len(FRONTIER_COSINES))
    for bound in PARTNER_BOUNDS:
        cells = []
        for least in FRONTIER_COSINES:
            passed = [j.pair for j, w in weakest if w >= bound and j.cosine >= least]
            gained = sum(p.should_hit and p.half in UNREAD for p in passed)
            report_half = sum(p.should_hit and p.half == "report" for p in passed)
            cells.append(f"+{gained} ({report_half}) / {sum(not p.should_hit for p in passed)}")
        print(f"| >= {bound:.2f} | " + " | ".join(cells) + " |")
    print()


def confusion(judged: list[Judged], default: float, half: str) -> None:
    """Served counts by category in one half, and what refused gatewise's misses: the
    similarity threshold, else the first gate that refused (for traps: what caught them)."""
    print(f"### {half} half by category at {default:.2f}: served (of n); gatewise's refusals\n")
    print("| category | kind | n | " + " | ".join(POLICIES) + " | gatewise refused by |")
    print("|---|---|---|" + "---|" * len(POLICIES) + "---|")
    groups: dict[str, list[Judged]] = defaultdict(list)
    for j in judged:
        if j.pair.half == half:
            groups[j.pair.group].append(j)
    for group, rows in groups.items():
        kind = "should-hit" if rows[0].pair.should_hit else "trap"
        counts = [sum(served(j, p, default) for j in rows) for p in POLICIES]
        reasons: Counter[str] = Counter()
        for j in rows:
            if not served(j, "gatewise", default):
                reasons["similarity" if j.cosine < default else j.gate or j.history or "?"] += 1
        why = ", ".join(f"{k} {v}" for k, v in reasons.most_common())
        print(f"| {group} | {kind} | {len(rows)} | " + " | ".join(map(str, counts)) + f" | {why} |")
    print()


async def main(embedders: list[str], default: float) -> None:
    pairs = load_pairs()
    halves = Counter(p.half for p in pairs)
    conversations = sum(p.group.startswith("conv:") for p in pairs)
    questions = len(pairs) - sum(halves[half] for half in OWN_PAIRS) - conversations
    print(f"fow-cache: {questions} question pairs, {conversations} conversation pairs "
          f"(dev {halves['dev']}, report {halves['report']}); "
          + ", ".join(f"{half}: {halves[half]} question pairs" for half in OWN_PAIRS))
    for name in embedders:
        with tempfile.TemporaryDirectory() as tmp:
            cache = SemanticCache.at(Path(tmp) / "semantic.sqlite3", name, threshold=default, ttl_s=3600,
                                     max_bytes=10**9)
            try:
                judged = await judge_all(cache, pairs)
                report(cache.embedder.name, judged, default)
                await word_gate_frontier(cache, judged, default)
                disagree = await replay(cache, pairs, judged)
                print(f"\nstore/lookup replay at {default:.2f}: {disagree} disagreements with the table")
            finally:
                await cache.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedders", default="local,local-hash")
    parser.add_argument("--default", type=float, default=SemanticCacheConfig().similarity_threshold,
                        help="the threshold to break down (default: the configuration's)")
    parser.add_argument("--without-groups", action="store_true",
                        help="score without the hand-written synonym groups")
    args = parser.parse_args()
    if args.without_groups:
        synonyms.senses = lambda word, stemmed: frozenset()
    asyncio.run(main(args.embedders.split(","), args.default))
