"""Where in a folded text the detectors can begin a match, found once per text at C speed.

Python's regex engine only skips ahead quickly to a literal; a pattern that begins with a
lookbehind or a character class is tried at every position, tens of nanoseconds each, so ten
detector patterns cost most of a millisecond on a 2 KB prompt even when nothing matches.
Those places are found here from a byte copy of the text translated into character classes
(one C call), searched by small patterns that begin with a literal; each detector then tries
its own pattern only there with :func:`matches_at`, which yields exactly the matches
``pattern.finditer`` would find in the whole text.

Numbers. A table, a log or a JSON payload holds hundreds of numbers, and a step in Python per
number would cost more than everything else together. But a card number has at least 12
digits, an SSN 9 and a phone number 7 (5 with an extension), all joined only by spaces, dots,
dashes, slashes, parentheses or ``+``; so only *long numbers* (at least 7 digits so joined, or
5 before an extension) are looked into, and plain dates, timestamps and decimal amounts, which
none of them can be, are passed over by the same search. Within a long number, a detector
begins at a digit that follows no letter, digit, dot or dash (or at a ``+`` or ``(``, for a
phone number). An IPv4 address needs four dotted groups, found by their own search. An IBAN
begins at two letters before two digits; credentials and encoded blobs lie inside long runs of
base64 characters.
"""

from __future__ import annotations

import re
import string
from bisect import bisect_right
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
# For long numbers: digits '0'; '.', '-' and '/' as themselves ('#', which may open a phone
# extension, as '/'); the other characters that may join the digits of a number (space,
# parentheses, '+') a 'j'; what may begin an extension with a letter ('x', the 'e' of "ext") an
# 'x'; any other word character a 'w'; anything else a space. All but digits and joins end a
# number.
_SHAPE_CLASS = bytes(
    ord("0") if 48 <= b <= 57 else b if chr(b) in ".-/" else ord("/") if b == ord("#")
    else ord("j") if chr(b) in " ()+"
    else ord("x") if chr(b) in "xe" else ord("w") if chr(b) in string.ascii_letters + "_"
    else ord(" ") for b in range(256))
# The first digit of every digit group after a space, parenthesis, '+', slash, '#' or a
# character other than a letter that ends a number is marked 'S' (C replaces), so the search
# below is tried only there: a table of a thousand digits holds a few hundred such places,
# where the search would otherwise begin at every digit. (A group right after a letter is not
# marked: no identifier begins there, though one may begin at a later group of the same
# number; nor after a dot or a dash, which no identifier begins after either.)
_GROUP_STARTS = ((b" 0", b" S"), (b"j0", b"jS"), (b"/0", b"/S"))
_JOIN = rb"[./\-j]{0,6}+"  # what may stand between two digits of one number (generously)
# A long number, from the first digit of a group, unless all of it, up to where it ends, is a
# date, a timestamp, a decimal amount with at most 8 digits before its point or a measurement
# such as a coordinate (too few digits on either side of the point to hold a card): none of
# which can hold a card, an SSN or a phone number. Digit repeats there are possessive: a digit
# never stands where a separator must, and what follows a shape refuses one more digit, so
# giving a digit back cannot make a shape match; without it every long id is retried digit by
# digit against each shape. The fewest joined digits are spelled out rather than repeated (a
# repeated group costs the engine more per turn), six unbroken ones (an id) first as one run,
# and later digits are taken a run at a time; a number before an extension must reach an 'x'
# over digits and joins alone, tested first in one fast scan (most groups are short and end at
# a letter or a space that joins nothing).
_LONG_NUMBER = re.compile(rb"""
    S(?:
        (?=[0S./\-j]{6})  # at least 7 characters (short numbers fail here, before the shapes)
        (?!(?:D{3}([./\-])D{1,2}+\1D{1,2}+(?:jD{1,2}+)?  # 2024-04-08, 2024-04-08 12
             | D?+([./\-])D{1,2}+\2(?:D{4}|D{2})          # 08/04/2024
             | D{0,7}+\.D{1,2}+                            # 34912.50
             | D{0,2}+\.D{5,11}+                           # 46.619488
           )(?!JD|j{0,2}x))                            # ... and nothing more
        (?:D{6}|JDJDJDJDJDJD)(?:JD++)*+                # 7 digits or more
      | (?=[0S./\-j]{4,}+x)                            # 5 or 6, before an extension
        JDJDJDJD(?:JD)?+j{0,2}+(?=x)
    )""".replace(b"D", b"[0S]").replace(b"J", _JOIN), re.VERBOSE)
_IPV4_SHAPE = re.compile(rb"0\.0{1,3}\.0{1,3}\.0")
# The fewest digits a long number needs to hold each kind of identifier.
PHONE_DIGITS, SSN_DIGITS, CARD_DIGITS = 5, 9, 12
# How an SSN begins in the number classes: 3, 2 and 4 digits with one separator repeated, or
# none (any character that is no letter, digit, dot or dash is a space there).
_SSN_SHAPES = (b"000 00 0000", b"000.00.0000", b"000-00-0000", b"000000000")


@dataclass(frozen=True, slots=True)
class Candidates:
    numbers: list[tuple[int, int]]  # (digit, digits in its long number): where a number can begin
    phone_marks: list[int]  # '+' and '(' at or before the first digit of a long number
    dotted: list[int]  # digits that begin four dotted groups: where an IPv4 address can begin
    codes: list[int]  # two letters before two digits, after no letter or digit: where an IBAN can begin
    runs: list[tuple[int, int]]  # runs of base64 characters at least MIN_RUN long
    # The numbers among ``numbers`` that are one unbroken group of digits (ids, counts and
    # epoch times in JSON and logs): their first digit -> how many digits.
    unbroken: dict[int, int]
    classes: bytes  # the number classes of the text, after a leading space (offsets + 1)

    def starts(self, digits: int) -> list[int]:
        """Where a number of at least ``digits`` digits can begin."""
        return [at for at, count in self.numbers if count >= digits]

    def ssn_starts(self) -> list[int]:
        """Where an SSN can begin: in a number of nine digits or more, unless it is unbroken
        and not exactly nine long (written without separators, an SSN is nine digits), and
        only where its digits and separators stand as an SSN's do (one C test each: the IP
        addresses of a log are long numbers too, and fail it)."""
        unbroken, shaped = self.unbroken, self.classes.startswith
        return [at for at, count in self.numbers
                if count >= SSN_DIGITS and unbroken.get(at, SSN_DIGITS) == SSN_DIGITS
                and shaped(_SSN_SHAPES, at + 1)]


def candidates(view: View) -> Candidates:
    """The view's candidate places, computed on first use and shared by every check.

    Only ASCII digits are looked for: the view's text is folded, which turns every decimal
    digit into one."""
    found: Candidates | None = view.cache.get("candidates")
    if found is None:
        raw = ascii_bytes(view.text)
        classes = b" " + raw.translate(_NUMBER_CLASS)  # a space before the text: offsets + 1
        numbers, marks, dotted, unbroken = _numbers(raw, classes) if b"0" in classes else ([], [], [], {})
        found = Candidates(numbers, marks, dotted, _codes(raw, classes),
                           _long_runs(raw.translate(_RUN_CLASS)), unbroken, classes)
        view.cache["candidates"] = found
    return found


def _numbers(raw: bytes, classes: bytes
             ) -> tuple[list[tuple[int, int]], list[int], list[int], dict[int, int]]:
    """The candidates' ``numbers``, ``phone_marks``, ``dotted`` and ``unbroken`` (``classes``:
    the number classes after a leading space)."""
    shapes = b" " + raw.translate(_SHAPE_CLASS)
    marked = shapes
    for plain, mark in _GROUP_STARTS:
        # A replace searches the whole text, even for what it lacks (a '/', mostly): a few µs,
        # where testing for the character first costs a memchr.
        if plain[:1] in marked:
            marked = marked.replace(plain, mark)
    numbers: list[tuple[int, int]] = []
    unbroken: dict[int, int] = {}
    digits_in, begins_in = shapes.count, classes.find  # bound once: a log holds dozens of numbers
    # offsets + 1, as in `classes`: the first digit is at start - 1
    spans = [match.span() for match in _LONG_NUMBER.finditer(marked)]
    for start, end in spans:
        count = digits_in(b"0", start, end)
        alone = count == end - start  # one unbroken group of digits
        if alone or begins_in(b" 0", start, end) == -1:  # the first digit is the only place to begin
            if classes[start - 1] == 32:  # as no letter, digit, dot or dash precedes it
                numbers.append((start - 1, count))
                if alone:
                    unbroken[start - 1] = count
        else:
            numbers += [(at, count) for at in positions(classes, b" 0", start - 1, end)]
    return numbers, _phone_marks(raw, spans), _dotted(shapes), unbroken


def _phone_marks(raw: bytes, spans: list[tuple[int, int]]) -> list[int]:
    """Every '+' and '(' that may open a phone number: from four characters before a long
    number's first digit up to its last, once for each such number (``spans``: the long
    numbers, offsets + 1; ``raw`` has no leading space). Each of the few '+' and '(' of a
    text looks for its numbers, rather than each of the dozens of numbers of a log or JSON
    payload for them."""
    openers = positions(raw, b"+") + positions(raw, b"(")
    if not openers:
        return []
    lasts = [end - 2 for _, end in spans]  # where each number's last character is in `raw`
    marks = []
    for at in openers:
        i = bisect_right(lasts, at - 1)  # the first number that ends after it
        while i < len(spans) and spans[i][0] - 4 <= at:
            marks.append(at)
            i += 1
    return sorted(marks)


def _codes(raw: bytes, classes: bytes) -> list[int]:
    """Two letters right before two digits, after no ASCII letter or digit (``classes``: the
    number classes after a leading space; a '_' is a 'w' there, so is looked up)."""
    return [at - 1 for at in positions(classes, b"ww00")
            if classes[at - 1] not in _LETTER_OR_DIGIT or raw[at - 2] == _UNDERSCORE]


_LETTER_OR_DIGIT = frozenset(b"w0")
_UNDERSCORE = ord("_")


def _dotted(shapes: bytes) -> list[int]:
    """The first digit of each group that begins four dot-joined groups of digits (``shapes``:
    the class bytes after a leading space)."""
    # back to the group's start: it has at most three digits
    return [at - 3 if shapes[at - 2:at] == b"00" else at - 2 if shapes[at - 1] == 48 else at - 1
            for at in [match.start() for match in _IPV4_SHAPE.finditer(shapes)]]


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


# The digits and joins of a number that runs straight on into the one after it, and everything
# up to the last digit of an earlier number.
_JOINED_TAIL = re.compile(r"[\d\s.\-/()+]*\Z")
_THROUGH_LAST_DIGIT = re.compile(r".*\d", re.DOTALL)


def label_start(lower: str, lead: int, at: int) -> int:
    """Where the words that label the number at ``at`` ("phone", "order", "version") begin,
    looking back to ``lead`` at most: after any earlier number in between, whose label the
    words before it are ("SSN 536-22-8714 and phone (415) 555-0132"), unless that number runs
    straight on into this one (joins alone between them: one number written in groups)."""
    tail = _JOINED_TAIL.search(lower, lead, at)
    body_end = tail.start() if tail is not None else at
    earlier = _THROUGH_LAST_DIGIT.match(lower, lead, body_end)
    return earlier.end() if earlier is not None else lead
