"""Whether two words are interchangeable in a question, by WordNet's senses (not its neighbours).

Word vectors put siblings as close as synonyms ("chicken"/"beef" 0.60, "update"/"change" 0.61 in
all-MiniLM-L6-v2), and hand-written synonym groups only know the words someone thought of. A
dictionary of senses tells them apart: two words stand for each other when one of their most
frequent senses is the same ("mend"/"fix", "dispute"/"challenge", "luggage"/"baggage"), or when
one verb is a manner of the other ("amend" is a way to "modify", "book" to "schedule"); two kinds
of one thing ("print"/"download", "repair"/"replace", "kitten"/"puppy") are neither. Opposites
can share a sense word ("buy" and "sell" are both ways to "trade"), so the polarity gate runs
first.

It also says whether a word is in the dictionary at all, so that a real word the embedder's
vocabulary lacks ("debit", "mend", "router") is not read as a slip of one it has.

Two nouns that are kinds of one class ("chicken" / "turkey", "cat" / "dog") are siblings: read in
context they sound alike, and name two things.

The table is ``gatewise/data/word-senses.json.gz``, derived from WordNet 3.0 (Princeton
University, whose licence notice it carries) by ``scripts/build_word_senses.py``.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Any

_Table = dict[str, frozenset[int]]


@cache
def _load() -> tuple[_Table, _Table, dict[str, str], frozenset[str], _Table]:
    """The senses, the verbs each names a manner of, the irregular forms, every word listed, and
    the classes each noun is a kind of; read once, keeping only what the look-ups use (not the
    decoded file as well)."""
    raw: dict[str, Any] = json.loads(
        gzip.decompress((resources.files("gatewise.data") / "word-senses.json.gz").read_bytes()))
    forms: dict[str, str] = raw["forms"]
    words = frozenset(raw["senses"]) | frozenset(forms) | frozenset(raw["other_words"])
    return ({w: frozenset(s) for w, s in raw["senses"].items()},
            {w: frozenset(s) for w, s in raw["manner_of"].items()}, forms, words,
            {w: frozenset(s) for w, s in raw["kind_of"].items()})


def is_word(word: str) -> bool:
    """Whether WordNet lists ``word`` (lowercased), or it is an irregular form of a word it lists."""
    return word in _load()[3]


def _lookup(table: _Table, forms: Iterable[str]) -> frozenset[int]:
    irregular = _load()[2]
    found: frozenset[int] = frozenset()
    for form in forms:
        found |= table.get(form, frozenset()) | table.get(irregular.get(form, ""), frozenset())
    return found


def interchangeable(a: Iterable[str], b: Iterable[str]) -> bool:
    """Whether a word (given in its forms: as written, its stem) shares a sense with another, or
    names a manner of doing the other (or the other of it)."""
    a, b = tuple(a), tuple(b)
    senses, manner_of, _, _, _ = _load()
    senses_a, senses_b = _lookup(senses, a), _lookup(senses, b)
    return bool(senses_a & senses_b or _lookup(manner_of, a) & senses_b or _lookup(manner_of, b) & senses_a)


def siblings(a: Iterable[str], b: Iterable[str]) -> bool:
    """Whether two words (each in its forms) name two kinds of one class of thing, neither a kind
    of the other and with no sense in common: "chicken" / "turkey", "cat" / "dog"."""
    a, b = tuple(a), tuple(b)
    senses, _, _, _, kind_of = _load()
    senses_a, senses_b = _lookup(senses, a), _lookup(senses, b)
    kinds_a, kinds_b = _lookup(kind_of, a), _lookup(kind_of, b)
    return bool(kinds_a & kinds_b) and not (senses_a & senses_b or senses_a & kinds_b or senses_b & kinds_a)
