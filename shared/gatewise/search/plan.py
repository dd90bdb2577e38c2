"""Split a research question into the searches that cover it, without calling a model.

The whole question is always searched first. Then each of its parts: separate questions or
sentences, both sides of a comparison, and each item of a list ("Python, Rust and Go" gives one
search per language). Callers who know better pass their own queries.
"""

from __future__ import annotations

import re

_SPLIT = re.compile(r"(?<=[?;])\s+|(?<=[.!])\s+(?=[A-Z])")
_COMPARE = re.compile(
    r"\b(?:compare|comparing|difference(?:s)? between|contrast)\s+(?P<a>.+?)\s+"
    r"(?:and|with|to|vs\.?|versus)\s+(?P<b>.+?)\s*(?:[?.!;]|$)", re.I)
_VERSUS = re.compile(r"(?P<a>[^,;?]+?)\s+(?:vs\.?|versus)\s+(?P<b>[^,;?]+)", re.I)
_ITEM = r"[\w.+#/-]+(?:\s[\w.+#/-]+)?"
_LIST = re.compile(rf"(?P<list>{_ITEM}(?:,\s*{_ITEM})+,?\s+(?:and|or)\s+{_ITEM})")
_LEAD = re.compile(r"^(?:what|which|how|why|who|when|where|is|are|does|do|the|a|an)\s+", re.I)
MIN_QUERY_WORDS = 2


def plan_queries(question: str, limit: int) -> list[str]:
    text = " ".join(question.split())
    found = [text]
    parts = [p.strip() for p in _SPLIT.split(text) if p.strip()]
    if len(parts) > 1:
        found += parts
    for part in parts:
        found += _comparison(part) + _list_items(part)
    return [text, *_dedupe(text, found[1:])][:limit] if text else []


def _comparison(text: str) -> list[str]:
    match = _COMPARE.search(text) or _VERSUS.search(text)
    if not match:
        return []
    a, b = (_LEAD.sub("", side.strip(" ?.!,;")).split() for side in (match.group("a"), match.group("b")))
    if len(a) < len(b) and len(a) <= 2:  # "LFP and NMC batteries": both sides share the tail
        a = a + b[len(a):]
    return [" ".join(a), " ".join(b)]


def _list_items(text: str) -> list[str]:
    match = _LIST.search(text)
    if not match:
        return []
    items = re.split(r",\s*(?:and\s+|or\s+)?|\s+(?:and|or)\s+", match.group("list"))
    head, tail = text[:match.start()], text[match.end():]
    return [" ".join(f"{head}{item.strip()}{tail}".split()).strip(" ?") for item in items if item.strip()]


def _dedupe(question: str, queries: list[str]) -> list[str]:
    """Parts worth a search of their own: two words or more, and not the question again."""
    seen = {question.lower().strip(" ?.!")}
    out = []
    for query in queries:
        key = query.lower().strip(" ?.!")
        if len(key.split()) >= MIN_QUERY_WORDS and key not in seen:
            seen.add(key)
            out.append(query)
    return out
