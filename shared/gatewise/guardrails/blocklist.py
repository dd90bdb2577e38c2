"""``custom_blocklist``: whole words or phrases, case-insensitive, after normalisation.

Besides the normalised view (zero-width characters, full-width letters and homoglyphs already
folded), two common disguises are undone: letters spaced or dotted apart
(``c o n f i d e n t i a l``) and digits or symbols standing for letters (``c0nf1d3nt1al``).
Entries are named by position in the reason, never quoted, so a refusal does not publish the
list.

Both disguises are looked for as :mod:`gatewise.guardrails.disguises` says.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence

from gatewise.guardrails.candidates import matches_at
from gatewise.guardrails.disguises import LEET, LEET_FROM, LEET_TO, SPACED, leet_hinted, spaced_starts
from gatewise.guardrails.lexicon import Lexicon, Rule, words
from gatewise.guardrails.normalize import ascii_bytes, class_table
from gatewise.guardrails.texts import TextRef
from gatewise.guardrails.verdict import CheckResult

# The text read with digits as letters, everything that is not a letter a space.
_PLAIN = class_table({letter: letter + "".join(d for d, to in zip(LEET_FROM, LEET_TO, strict=True)
                                               if to == letter) for letter in string.ascii_lowercase})
_LETTERS = re.compile(r"[a-z]+")
_ALNUM = re.compile(r"[a-z0-9]+")


class Blocklist:
    def __init__(self, terms: Sequence[str], action: str = "block") -> None:
        self.terms = [t for t in terms if words(t)]
        self.action = action
        self._lexicon = Lexicon([Rule.build(str(i + 1), 3, [[term]])
                                 for i, term in enumerate(self.terms)])
        # A spaced-out word is found only when its letters, joined, are a one-word entry of at
        # least four letters and digits; each letter between its first and last stands alone
        # between separators, so is a word of the text by itself. An entry whose inner letters
        # are not all such words of the text cannot be there spaced out (ordinary text holds
        # "a" and "i" alone, rarely more), and the search for spaced runs is skipped.
        self._spaced_inner = [frozenset(alt[0][1:-1]) for rule in self._lexicon.rules
                              for alts in rule.slots[0].values() for alt in alts
                              if len(alt) == 1 and len(alt[0]) >= 4 and _ALNUM.fullmatch(alt[0])]

    def check(self, refs: list[TextRef], check: str = "custom_blocklist") -> CheckResult:
        result = CheckResult(check)
        entries: set[str] = set()
        for ref in refs:
            view = ref.view
            for hit in self._lexicon.scan(view.tokens, view.token_set):
                start, end = view.token_span(hit.first, hit.last)
                result.spans.append(ref.original_span(start, end, "blocklist"))
                entries.add(hit.rule.label)
            for start, end, label in self._disguised(view.lower, view.token_set):
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

    def may_be_spaced(self, token_set: set[str]) -> bool:
        """Whether some entry's inner letters are all words of the text (see __init__)."""
        return any(inner <= token_set for inner in self._spaced_inner)

    def spaced(self, lower: str, raw: bytes) -> list[tuple[int, int, str]]:
        """Entries written with their letters spaced or dotted apart."""
        found = []
        for run in matches_at(SPACED, lower, spaced_starts(raw)):
            joined = re.sub(r"[ .\-_*]", "", run.group(0))
            tokens = [joined]
            for hit in self._lexicon.scan(tokens, set(tokens)):
                found.append((run.start(), run.end(), hit.rule.label))
        return found

    def _disguised(self, lower: str, token_set: set[str]) -> list[tuple[int, int, str]]:
        raw = ascii_bytes(lower)
        found = self.spaced(lower, raw) if self.may_be_spaced(token_set) else []
        plain_text = raw.translate(_PLAIN).decode("ascii")
        if not self._lexicon.may_occur(plain_text):
            return found
        if not leet_hinted(raw):
            return found
        plain = plain_text.split()
        hits = self._lexicon.scan(plain, set(plain))
        if hits:
            leet = lower.translate(LEET)
            spans = [m.span() for m in _LETTERS.finditer(leet)]
            for hit in hits:
                start, end = spans[hit.first][0], spans[hit.last][1]
                if lower[start:end] != leet[start:end]:  # a plain match was found already
                    found.append((start, end, hit.rule.label))
        return found
