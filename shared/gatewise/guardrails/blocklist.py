"""``custom_blocklist``: whole words or phrases, case-insensitive, after normalisation.

Besides the normalised view (zero-width characters, full-width letters and homoglyphs already
folded), two common disguises are undone: letters spaced or dotted apart
(``c o n f i d e n t i a l``) and digits or symbols standing for letters (``c0nf1d3nt1al``).
Entries are named by position in the reason, never quoted, so a refusal does not publish the
list.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from gatewise.guardrails.lexicon import Lexicon, Rule, words
from gatewise.guardrails.texts import TextRef
from gatewise.guardrails.verdict import CheckResult

_SPACED = re.compile(r"(?<![a-z0-9])(?:[a-z0-9][ .\-_*]){3,60}+[a-z0-9](?![a-z0-9])")
_LEET = str.maketrans("0134578@$!|", "oieastbasil")
_LEET_HINT = re.compile(r"[a-z][0-9@$!|]|[0-9@$!|][a-z]")
_LETTERS = re.compile(r"[a-z]+")


class Blocklist:
    def __init__(self, terms: Sequence[str], action: str = "block") -> None:
        self.terms = [t for t in terms if words(t)]
        self.action = action
        self._lexicon = Lexicon([Rule.build(str(i + 1), 3, [[term]])
                                 for i, term in enumerate(self.terms)])

    def check(self, refs: list[TextRef], check: str = "custom_blocklist") -> CheckResult:
        result = CheckResult(check)
        entries: set[str] = set()
        for ref in refs:
            view = ref.view
            for hit in self._lexicon.scan(view.tokens, view.token_set):
                start, end = view.token_span(hit.first, hit.last)
                result.spans.append(ref.original_span(start, end, "blocklist"))
                entries.add(hit.rule.label)
            for start, end, label in self._disguised(view.lower):
                result.spans.append(ref.span(start, end, "blocklist"))
                entries.add(label)
        if entries:
            listed = ", ".join(sorted(entries, key=int))
            result.verdict = "block" if self.action == "block" else "flag"
            result.action = result.verdict
            result.entities = {"blocklist": len(result.spans)}
            result.data = {"entries": sorted(int(e) for e in entries)}
            result.reason = f"matched custom_blocklist entr{'y' if len(entries) == 1 else 'ies'} {listed}"
        return result

    def _disguised(self, lower: str) -> list[tuple[int, int, str]]:
        found = []
        for run in _SPACED.finditer(lower):
            joined = re.sub(r"[ .\-_*]", "", run.group(0))
            tokens = [joined]
            for hit in self._lexicon.scan(tokens, set(tokens)):
                found.append((run.start(), run.end(), hit.rule.label))
        if _LEET_HINT.search(lower):
            leet = lower.translate(_LEET)
            plain = _LETTERS.findall(leet)
            if not self._lexicon.could_match(plain):
                return found
            spans = [m.span() for m in _LETTERS.finditer(leet)]
            for hit in self._lexicon.scan(plain, set(plain)):
                start, end = spans[hit.first][0], spans[hit.last][1]
                if lower[start:end] != leet[start:end]:  # a plain match was found already
                    found.append((start, end, hit.rule.label))
        return found
