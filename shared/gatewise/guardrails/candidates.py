"""Where in a folded text the detectors can begin a match, found once per text at C speed.

Python's regex engine only skips ahead quickly to a literal; a pattern that begins with a
lookbehind or a character class is tried at every position, tens of nanoseconds each, so ten
detector patterns cost most of a millisecond on a 2 KB prompt even when nothing matches.
Yet every numeric detector's match begins at a digit that follows no letter, digit, dot or
dash (or a dash, for an IPv4 address; two letters before a digit, for an IBAN; a ``+`` or
``(``, for a phone number), and every credential or encoded blob lies inside a long run of
base64 characters. Those places are found here from a byte copy of the text translated
into character classes (one C call), searched for literals (``bytes.find``); each detector then
tries its own pattern only there with :func:`matches_at`, which yields exactly the matches
``pattern.finditer`` would find in the whole text.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from gatewise.guardrails.normalize import View, ascii_bytes, class_table, positions

# The characters of a base64 (either alphabet) or URL-safe token, and the length below which
# no blob or credential pattern can match inside a run of them.
RUN_CHARS = string.ascii_letters + string.digits + "+/_-"
MIN_RUN = 16
# Digits '0', word characters 'w', dots and dashes as themselves, anything else a space.
_NUMBER_CLASS = class_table({"0": string.digits, "w": string.ascii_letters + "_", ".": ".", "-": "-"})
_RUN_CLASS = class_table({"b": RUN_CHARS})


@dataclass(frozen=True, slots=True)
class Candidates:
    numbers: list[int]  # digits after no letter, digit, '_', '.' or '-': where a number can begin
    after_dash: list[int]  # digits right after a '-'
    codes: list[int]  # two letters (or '_') right before a digit: where an IBAN can begin
    runs: list[tuple[int, int]]  # runs of base64 characters at least MIN_RUN long


def candidates(view: View) -> Candidates:
    """The view's candidate places, computed on first use and shared by every check.

    Only ASCII digits are looked for: the view's text is folded, which turns every decimal
    digit into one."""
    found: Candidates | None = view.cache.get("candidates")
    if found is None:
        raw = ascii_bytes(view.text)
        numbers = b" " + raw.translate(_NUMBER_CLASS)  # a space before the text: offsets + 1
        found = Candidates(positions(numbers, b" 0"), positions(numbers, b"-0"),
                           [at - 1 for at in positions(numbers, b"ww0")],
                           _long_runs(raw.translate(_RUN_CLASS)))
        view.cache["candidates"] = found
    return found


def _long_runs(classes: bytes) -> list[tuple[int, int]]:
    runs = []
    at = classes.find(b"b" * MIN_RUN)
    while at != -1:
        end = classes.find(b" ", at)
        end = len(classes) if end == -1 else end
        runs.append((at, end))
        at = classes.find(b"b" * MIN_RUN, end)
    return runs


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
