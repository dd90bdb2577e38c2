"""Grounding score: the share of an answer's sentences that the evidence supports, computed
locally.

A sentence is supported when some window of evidence (three consecutive evidence sentences)
holds enough of its content words, weighted by how rare each word is in the evidence (idf),
and holds every number it states. Words are compared after a light suffix strip, so "cities"
meets "city" and "launched" meets "launch". Citation marks, link targets and URLs are left
out, so a markdown link to a source is no claim of its own. Sentences with fewer than three
content words ("Sure!", "In short:") are not counted either way.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

_SENTENCE = re.compile(r"(?<=[.!?])[\"')\]]?\s+|\n\s*(?:[-*•]|\d{1,3}[.)])?\s*")
_CITATION = re.compile(r"\[\d{1,3}(?:\s*,\s*\d{1,3})*\]|\[\^?\d{1,3}\]|【\d{1,3}[^】]{0,40}】")
# A link's target and a bare URL say where a claim comes from, not what it is: left out.
_URL = re.compile(r"(?<=\])\(\s*<?[a-z][a-z0-9+.\-]{0,15}:[^()\s]{0,2000}\)|\b[a-z][a-z0-9+.\-]{0,15}://\S{1,2000}",
                  re.IGNORECASE)
# A number hyphenated to the word before it is part of a name ("gemini-3.8", "covid-19"), not
# a figure the evidence must state.
_TOKEN = re.compile(r"[a-z]+(?:-\d+(?:[.,]\d+)*)?|\d+(?:[.,]\d+)*")
_STOPWORDS = frozenset([
    "a", "an", "the", "and", "or", "but", "if", "then", "than", "that", "this", "these", "those",
    "there", "their", "they", "them", "it", "its", "is", "are", "was", "were", "be", "been", "being",
    "to", "of", "in", "on", "at", "by", "for", "with", "from", "as", "about", "into", "over", "after",
    "before", "under", "between", "through", "during", "without", "within", "can", "could", "would",
    "should", "will", "shall", "may", "might", "must", "do", "does", "did", "done", "has", "have",
    "had", "having", "not", "no", "nor", "so", "such", "too", "very", "just", "also", "only", "more",
    "most", "other", "some", "any", "each", "all", "both", "few", "many", "much", "own", "same", "what",
    "which", "who", "whom", "whose", "when", "where", "why", "how", "i", "you", "he", "she", "we", "me",
    "my", "your", "his", "her", "our", "us", "one", "said", "says", "say", "per", "via", "vs", "etc",
    "yes",
])
_SUFFIXES = ("ies", "ing", "ed", "es", "s")
SUPPORTED_AT = 0.6  # idf-weighted share of content words found in one evidence window
MIN_WORDS = 3
WINDOW = 3


@lru_cache(maxsize=16_384)  # words recur across sentences, answers and evidence; bounded
def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def _terms(sentence: str) -> tuple[set[str], set[str]]:
    """Content words (stemmed) and numbers (separators dropped) of a sentence."""
    words, numbers = set(), set()
    for token in _TOKEN.findall(sentence.lower()):
        if token[0].isdigit():
            numbers.add(token.replace(",", "").rstrip("."))
            continue
        token = token.split("-", 1)[0]
        if token not in _STOPWORDS and len(token) > 1:
            words.add(_stem(token))
    return words, numbers


def sentences(text: str) -> list[str]:
    text = _URL.sub("", _CITATION.sub("", text))
    return [s.strip() for s in _SENTENCE.split(text) if s and s.strip()]


def evidence_texts(evidence: str | Sequence[str | Mapping[str, Any]] | None) -> list[str]:
    """Evidence as plain texts: strings as given; dicts by their text-like fields."""
    if evidence is None:
        return []
    if isinstance(evidence, str):
        return [evidence]
    out = []
    for item in evidence:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, Mapping):
            fields = ("title", "text", "content", "snippet", "excerpt", "description", "summary")
            out.append("\n".join(str(item[f]) for f in fields if isinstance(item.get(f), str)))
    return [t for t in out if t.strip()]


@dataclass(frozen=True)
class Grounding:
    score: float | None  # None: nothing to score
    supported: int
    counted: int
    unsupported: list[int]  # indexes into `sentences`
    sentences: list[str]


def grounding(answer: str, evidence: Sequence[str]) -> Grounding:
    claims = sentences(answer)
    windows: list[tuple[set[str], set[str]]] = []
    doc_freq: Counter[str] = Counter()
    for text in evidence:
        parts = [_terms(s) for s in sentences(text)] or [(set(), set())]
        for i in range(max(1, len(parts) - WINDOW + 1)):
            words = set().union(*(p[0] for p in parts[i:i + WINDOW]))
            numbers = set().union(*(p[1] for p in parts[i:i + WINDOW]))
            windows.append((words, numbers))
            doc_freq.update(words)
    n = max(1, len(windows))
    supported, counted, unsupported = 0, 0, []
    for index, claim in enumerate(claims):
        words, numbers = _terms(claim)
        if len(words) < MIN_WORDS:
            continue
        counted += 1
        weights = {w: math.log(1 + n / (1 + doc_freq[w])) for w in words}
        total = sum(weights.values())
        if any(numbers <= w_numbers and sum(weights[w] for w in words & w_words) >= SUPPORTED_AT * total
               for w_words, w_numbers in windows):
            supported += 1
        else:
            unsupported.append(index)
    score = supported / counted if counted else None
    return Grounding(score, supported, counted, unsupported, claims)
