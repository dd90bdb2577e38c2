"""Where in a folded text the detectors can begin a match, found once per text at C speed.

Python's regex engine only skips ahead quickly to a literal; a pattern that begins with a
lookbehind or a character class is tried at every position, tens of nanoseconds each, so ten
detector patterns cost most of a millisecond on a 2 KB prompt even when nothing matches.
Yet every numeric detector's match begins at the first digit of a run of digits (or at a
``+`` or ``(`` before a phone number), and every credential or encoded blob lies inside a long
run of base64 characters. Those places are found here from a byte copy of the text translated
into character classes (one C call), searched for a literal (another); each detector then
tries its own pattern only there with :func:`matches_at`, which yields exactly the matches
``pattern.finditer`` would find in the whole text.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from gatewise.guardrails.normalize import View, ascii_bytes, class_table

# The characters of a base64 (either alphabet) or URL-safe token, and the length below which
# no blob or credential pattern can match inside a run of them.
RUN_CHARS = string.ascii_letters + string.digits + "+/_-"
MIN_RUN = 16
_DIGIT_CLASS = class_table({"0": string.digits})
_RUN_CLASS = class_table({"b": RUN_CHARS})
# Each starts with a literal, so the engine finds them with its fast literal search.
_DIGIT_RUNS = re.compile(rb"00*")
_LONG_RUNS = re.compile(rb"b" * MIN_RUN + rb"b*")


@dataclass(frozen=True, slots=True)
class Candidates:
    digits: list[int]  # where each run of digits begins
    runs: list[tuple[int, int]]  # runs of base64 characters at least MIN_RUN long


def candidates(view: View) -> Candidates:
    """The view's candidate places, computed on first use and shared by every check.

    Only ASCII digits are looked for: the view's text is folded, which turns every decimal
    digit into one."""
    found: Candidates | None = view.cache.get("candidates")
    if found is None:
        raw = ascii_bytes(view.text)
        found = Candidates([m.start() for m in _DIGIT_RUNS.finditer(raw.translate(_DIGIT_CLASS))],
                           [m.span() for m in _LONG_RUNS.finditer(raw.translate(_RUN_CLASS))])
        view.cache["candidates"] = found
    return found


def positions(text: str, char: str) -> list[int]:
    """Every position of ``char`` in ``text`` (a C search per hit)."""
    out: list[int] = []
    at = text.find(char)
    while at != -1:
        out.append(at)
        at = text.find(char, at + 1)
    return out


def matches_at(pattern: re.Pattern[str], text: str, starts: Iterable[int]) -> Iterator[re.Match[str]]:
    """What ``pattern.finditer(text)`` yields, for a pattern that can only begin at one of
    ``starts`` (ascending): the pattern is tried there alone. Lookbehinds still see the text
    before each start, and a match resumes the search at its end, as ``finditer`` does."""
    end = 0
    for start in starts:
        if start >= end:
            match = pattern.match(text, start)
            if match is not None:
                end = match.end()
                yield match
