"""The PII check: find validated entities, then redact, flag or block each type as configured.

Placeholders (``<EMAIL_1>``) are per request: the same value gets the same placeholder in every
message, so the model can still tell "the same card" from "another card", and the request's
:class:`~gatewise.guardrails.verdict.Verdict` can put the values back into the answer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Literal

from gatewise.guardrails.pii import find_pii
from gatewise.guardrails.restore import reserved
from gatewise.guardrails.texts import TextRef
from gatewise.guardrails.verdict import CheckResult, Outcome, new_span

EntityAction = Literal["redact", "flag", "block"]
_STRENGTH = {"flag": 0, "redact": 1, "block": 2}


class Placeholders:
    """Value -> placeholder for one request, and placeholder -> the value as first written.
    ``texts``: the request's texts, whose placeholder-like words (a template's literal
    ``<EMAIL_1>``) are never given to a value, so only the gateway's own are restored."""

    def __init__(self, texts: Sequence[str] = ()) -> None:
        self._texts = texts
        self._reserved: set[str] | None = None  # read from the texts on the first value: most have none
        self._by_value: dict[tuple[str, str], str] = {}
        self._counts: dict[str, int] = {}
        self.originals: dict[str, str] = {}

    def get(self, entity: str, canonical: str, surface: str) -> str:
        key = (entity, canonical)
        placeholder = self._by_value.get(key)
        if placeholder is None:
            if self._reserved is None:
                self._reserved = reserved(self._texts)
            number = self._counts.get(entity, 0) + 1
            while f"<{entity}_{number}>" in self._reserved:
                number += 1
            self._counts[entity] = number
            placeholder = self._by_value[key] = f"<{entity}_{number}>"
            self.originals[placeholder] = surface
        return placeholder


def output_label(entity: str) -> str:
    """What replaces PII found in an answer: not restorable, and unlike an input placeholder."""
    return f"[REDACTED {entity}]"


def replace(text: str, edits: Sequence[tuple[int, int, str]]) -> str:
    """``text`` with each non-overlapping ``(start, end, replacement)`` applied."""
    out: list[str] = []
    done = 0
    for start, end, new in sorted(edits):
        out += (text[done:start], new)
        done = end
    out.append(text[done:])
    return "".join(out)


def check_pii(refs: list[TextRef], actions: Mapping[str, EntityAction], regions: Sequence[str],
              placeholders: Placeholders | None, check: str = "pii") -> tuple[CheckResult, list[str]]:
    """The PII verdict over ``refs`` and each piece's text to send on. With ``placeholders``
    None (answers), redacted values get a non-restorable label instead."""
    result = CheckResult(check)
    texts: list[str] = []
    spans, values = result.spans, result.values
    for ref in refs:
        edits = []
        text, view = ref.text, ref.view
        mapped = view.text is not view.original  # else the offsets are the original ones already
        message, part = ref.message, ref.part
        for kind, start, end, value, _ in find_pii(view, actions, regions):  # a log: one per line
            if mapped:
                start, end = view.span(start, end)
            spans.append(new_span((start, end, kind, message, part)))
            values.append((kind, value))
            if actions[kind] == "redact":
                new = placeholders.get(kind, value, text[start:end]) if placeholders else output_label(kind)
                edits.append((start, end, new))
        texts.append(replace(text, edits) if edits else text)
    if result.values:
        counts = Counter(map(itemgetter(0), result.values))
        result.entities = dict(counts)
        result.action = max({actions[kind] for kind in counts}, key=_STRENGTH.__getitem__)
        verdict: Outcome = "block" if result.action == "block" else "flag"
        result.verdict = verdict
        found = ", ".join(f"{n} {entity}" for entity, n in sorted(counts.items()))
        done = {"block": "blocked", "redact": "redacted", "flag": "flagged"}[result.action]
        result.reason = f"found {found} ({done})"
    return result, texts
