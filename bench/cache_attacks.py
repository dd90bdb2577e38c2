"""Traps made from the paraphrases the semantic cache serves: one detail of the new question
changed so that its answer changes, then judged as a lookup would.

For every should-hit question pair of bench/cache_quality.py that the cache serves at the default
threshold (both directions), each rewrite of the second question below is judged against the
first:

- value:     a number one more, or its digits reversed; a day, a month, am/pm, a currency, a
             period or rate, a time of day or an age group exchanged for another;
- opposite:  a word for its opposite (enable/disable, free/paid, early/late, maximum/minimum...);
- sibling:   a word for another on the same side of its pair that means something else
             (legal/safe, hot/warm, faster/longer, receive/deposit, start/continue...);
- name:      a capitalised name mid-sentence for another name;
- negation:  a negation removed, or added after the first auxiliary verb;
- qualifier: business, international, premium or second added after a determiner.

Per kind, served by gatewise at the rewrite's own embedding (what a user would meet) and with the
embeddings taken as 0.95 alike (the gates alone, the worst case), beside cosine alone at the
threshold (GPTCache's rule) on the same vectors. A rewrite can leave the
answer unchanged or read as nonsense ("the premium way to"), so the counts bound the traps served
from above; the served rewrites are listed with ``--show``.

Usage: python bench/cache_attacks.py [--show KIND] (needs the bench extra)
"""

from __future__ import annotations

import argparse
import asyncio
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from cache_quality import Judged, Pair, judge_all, load_pairs
from gatewise.cache import gates
from gatewise.cache.semantic import SemanticCache
from gatewise.config import SemanticCacheConfig

_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTHS = ("january", "february", "march", "april", "june", "july", "august", "september", "october",
           "november", "december")  # not "may"
_VALUE_WORDS = {
    **{d: _DAYS[(i + 2) % 7] for i, d in enumerate(_DAYS)},
    **{m: _MONTHS[(i + 3) % 11] for i, m in enumerate(_MONTHS)},
    "am": "pm", "pm": "am", "£": "$", "$": "€", "€": "£", "first": "second", "second": "third",
    "daily": "weekly", "weekly": "monthly", "monthly": "yearly", "yearly": "daily", "annual": "monthly",
    "today": "tomorrow", "tomorrow": "today", "tonight": "tomorrow night", "morning": "evening",
    "evening": "morning", "afternoon": "morning", "adults": "children", "children": "adults",
    "weekend": "weekday", "hours": "days", "days": "weeks", "weeks": "months", "minutes": "hours",
    "months": "years", "years": "months", "kg": "g", "gb": "mb"}


def _both_ways(pairs: str) -> dict[str, str]:
    """"a:b" pairs separated by spaces, as a table that turns each word into the other."""
    table: dict[str, str] = {}
    for pair in pairs.split():
        a, b = pair.split(":")
        table[a], table[b] = b, a
    return table


_OPPOSITES = _both_ways("""
    enable:disable open:close buy:sell before:after increase:decrease add:remove upload:download
    send:receive import:export join:leave start:stop with:without more:less higher:lower maximum:minimum
    first:last new:old allowed:banned accept:decline approve:reject deposit:withdraw lend:borrow
    cancel:renew include:exclude included:excluded inside:outside private:public domestic:international
    early:late subscribe:unsubscribe lock:unlock hide:show block:unblock always:never safe:unsafe
    free:paid""")
_SIBLINGS = _both_ways("""
    legal:safe valid:true healthy:cheap hot:warm cold:cool faster:longer bigger:higher increase:extend
    upgrade:expand receive:deposit send:withdraw start:continue win:pass connect:follow lock:close
    illegal:unsafe""")
_NAMES = ("London", "Paris", "Amazon", "Tesco", "Spain", "Japan", "Visa", "PayPal", "Google", "Zoom")
_QUALIFIERS = ("business", "international", "premium", "second")
_NEGATIONS = ((r"\bnot ", ""), (r"n't\b", ""), (r"\bnever\b", "always"), (r"\bwithout\b", "with"),
              (r"\bno\b", "a"))
_AUXILIARY = re.compile(r"\b(is|are|can|do|does|will|should|did|was)\b(?! not)", re.IGNORECASE)


def _replaced(text: str, match: re.Match[str], new: str) -> str:
    return text[:match.start()] + new + text[match.end():]


def _words(table: dict[str, str]) -> Callable[[str], list[str]]:
    def rewrites(text: str) -> list[str]:
        return [_replaced(text, m, table[m.group().lower()])
                for m in re.finditer(r"[A-Za-z£$€']+", text) if m.group().lower() in table]
    return rewrites


def _values(text: str) -> list[str]:
    found = []
    for m in re.finditer(r"\d+", text):
        n = m.group()
        for other in sorted({str(int(n) + 1), n[::-1] if len(n) > 1 and n[::-1] != n else str(int(n) * 10)}):
            found.append(_replaced(text, m, other))
    return found + _words(_VALUE_WORDS)(text)


def _names(text: str) -> list[str]:
    return [_replaced(text, m, next(n for n in _NAMES if n.lower() != m.group().lower()))
            for m in re.finditer(r"(?<=[a-z,] )[A-Z][a-zA-Z]+", text)]


def _negations(text: str) -> list[str]:
    found = [re.sub(pattern, new, text, count=1) for pattern, new in _NEGATIONS if re.search(pattern, text)]
    return found + ([_AUXILIARY.sub(r"\1 not", text, count=1)] if _AUXILIARY.search(text) else [])


def _qualifiers(text: str) -> list[str]:
    return [text[:m.end()] + q + " " + text[m.end():]
            for m in re.finditer(r"\b(?:my|the|a|an|your) (?=[a-z])", text) for q in _QUALIFIERS]


KINDS: dict[str, Callable[[str], list[str]]] = {
    "value": _values, "opposite": _words(_OPPOSITES), "sibling": _words(_SIBLINGS), "name": _names,
    "negation": _negations, "qualifier": _qualifiers}


def _share(count: int, total: int) -> str:
    return f"{count} ({100 * count / max(total, 1):.1f} %)"


async def _served(cache: SemanticCache, cached: str, new: str, similarity: float) -> bool:
    return similarity >= cache.threshold and (await cache.judge(cached, new, similarity))[0] is None


async def _tally(cache: SemanticCache, judged: list[Judged], kind: str, show: str | None) -> list[int]:
    """Rewrites of one kind, and how many are served: at their embedding, by the gates alone, by
    cosine alone. Each question and its rewrites are embedded in one batch (a question's vector
    does not depend on the others in its batch)."""
    total = real = worst = cosine = 0
    for j in judged:
        for cached, new in ((j.pair.cached, j.pair.new), (j.pair.new, j.pair.cached)):
            rewrites = KINDS[kind](new)
            if not rewrites:
                continue
            texts = [gates.embedding_text(t) for t in (cached, *rewrites)]
            vectors = (await cache.embedder.embed(texts)).vectors
            for changed, vector in zip(rewrites, vectors[1:], strict=True):
                similarity = float(np.dot(vectors[0], vector))
                served = await _served(cache, cached, changed, similarity)
                total += 1
                cosine += similarity >= cache.threshold
                real += served
                worst += await _served(cache, cached, changed, 0.95)
                if served and kind == show:
                    print(f"  {similarity:.3f} [{j.pair.half}] {cached} => {changed}")
    return [total, real, worst, cosine]


async def main(show: str | None) -> None:
    threshold = SemanticCacheConfig().similarity_threshold
    pairs: list[Pair] = [p for p in load_pairs() if p.should_hit and not p.group.startswith("conv:")]
    with tempfile.TemporaryDirectory() as tmp:
        cache = SemanticCache.at(Path(tmp) / "semantic.sqlite3", "local", threshold=threshold, ttl_s=3600,
                                 max_bytes=10**9)
        try:
            judged = [j for j in await judge_all(cache, pairs) if j.cosine >= threshold and j.gate is None]
            print(f"{len(judged)} served paraphrases (of {len(pairs)}), threshold {threshold}\n")
            print("| rewrite | rewrites | gatewise, at their embedding | gatewise, the gates alone (0.95) "
                  "| cosine alone |")
            print("|---|---:|---:|---:|---:|")
            for kind in KINDS:
                total, *served = await _tally(cache, judged, kind, show)
                print(f"| {kind} | {total} | " + " | ".join(_share(n, total) for n in served) + " |")
        finally:
            await cache.close()

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", choices=sorted(KINDS), help="list the rewrites of this kind served")
    asyncio.run(main(parser.parse_args().show))
