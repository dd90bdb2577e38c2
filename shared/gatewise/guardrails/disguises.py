"""Two disguises word filters are dodged with, undone for the checks that look for words:
letters spaced or dotted apart (``c o n f i d e n t i a l``, ``i.g.n.o.r.e``) and digits or
symbols standing for letters (``c0nf1d3nt1al``, ``1gn0r3``).

Both are looked for from a byte copy of the text translated into character classes (C string
methods): spaced letters only where the classes alternate letter, separator, letter…, and
digits-for-letters only when a letter touches one of those digits or symbols.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from functools import lru_cache

from gatewise.guardrails.candidates import matches_at
from gatewise.guardrails.normalize import class_table, positions, words_of

_LOWER = string.ascii_lowercase
_SEPARATORS = " .-_*"
SPACED = re.compile(r"(?<![a-z0-9])(?:[a-z0-9][ .\-_*]){3,60}+[a-z0-9](?![a-z0-9])")
# Letters spaced apart, words set apart by a wider or different gap ("i g n o r e   a l l").
_SPACED_WORDS = re.compile(r"(?<![a-z0-9])[a-z0-9](?:[ .\-_*]{1,3}[a-z0-9](?![a-z0-9])){3,400}")
_GAP = re.compile(r"[ .\-_*]{1,3}")
# Where letters or digits ('a') alternate with separators ('s') at least that long: the
# places a spaced-out word can begin (every other character from the run's start).
_SPACED_CLASS = class_table({"a": _LOWER + string.digits, "s": _SEPARATORS})
_SPACED_RUNS = re.compile(rb"asasas(?:as)*a")
LEET_FROM, LEET_TO = "0134578@$!|", "oieastbasil"
LEET = str.maketrans(LEET_FROM, LEET_TO)
_LEET_BYTES = bytes.maketrans(LEET_FROM.encode(), LEET_TO.encode())
_LEET_CLASS = class_table({"a": _LOWER, "d": LEET_FROM})  # a letter touching 'd': a hint
_SINGLES = frozenset(_LOWER)


def spaced_starts(raw: bytes) -> list[int]:
    """Where a spaced-out word can begin in ``raw`` (the text's ``ascii_bytes``): every
    other position of a run alternating letter, separator, letter… at least 7 long."""
    classes = raw.translate(_SPACED_CLASS)
    starts: list[int] = []
    at = classes.find(b"asasas")  # a C search to each candidate run, then the regex from there
    while at != -1:
        run = _SPACED_RUNS.match(classes, at)
        starts += range(at, run.end() - 6, 2) if run else ()
        at = classes.find(b"asasas", run.end() if run else at + 1)
    return starts


def leet_hinted(raw: bytes) -> bool:
    """Whether a letter touches a digit or symbol that can stand for one (``raw``: the text's
    ``ascii_bytes``)."""
    hints = raw.translate(_LEET_CLASS)
    return b"ad" in hints or b"da" in hints


_FEW_MEETINGS = 16  # up to which the words around them are read one by one


def leet_words(raw: bytes) -> list[str]:
    """The words of ``raw`` (the text's ``ascii_bytes``) in which a letter touches a digit or
    symbol that can stand for one, read as letters ("1gn0r3" is "ignore"). Prose holds a few,
    each read where a C search finds it; a text full of them (code, a log) is read whole."""
    classes = raw.translate(_LEET_CLASS)
    meetings = classes.count(b"ad") + classes.count(b"da")
    if meetings == 0:
        return []
    if meetings > _FEW_MEETINGS:
        return words_of(unleet(raw))
    words: list[str] = []
    end = 0
    for at in sorted(positions(classes, b"ad") + positions(classes, b"da")):
        if at >= end:
            start = classes.rfind(b" ", 0, at) + 1
            end = classes.find(b" ", at)
            end = len(classes) if end == -1 else end
            words.append(raw[start:end].translate(_LEET_BYTES).decode("ascii"))
    return words


def unleet(raw: bytes) -> str:
    """The text of ``raw`` (its ``ascii_bytes``) with digits and symbols read as the letters
    they stand for (a C translation of the bytes; non-ASCII characters stay ``?``)."""
    return raw.translate(_LEET_BYTES).decode("ascii")


def unspaced(lower: str, raw: bytes, tokens: set[str], vocabulary: frozenset[str]) -> str | None:
    """``lower`` with each run of spaced-apart letters that spells a word of ``vocabulary`` (four
    letters or more) written as words, or None when it has none. Within a run the commonest gap
    joins letters and any other gap parts words ("f-o-r-g-e-t   y-o-u-r"); a run spaced evenly
    throughout is parted where the longest word of ``vocabulary`` begins. ``tokens``: the
    text's words; a spaced-out word's letters each stand alone as one, so a text without all
    the letters of some word of ``vocabulary`` standing alone is passed over at once."""
    starts = spaced_starts(raw)
    if not starts:
        return None
    singles = tokens & _SINGLES
    words = _spellable(vocabulary)
    if len(singles) < 4 or not any(letters <= singles for _, letters in words):
        return None
    pieces: list[str] = []
    done = 0
    for run in matches_at(_SPACED_WORDS, lower, starts):
        gaps = _GAP.findall(run.group(0))
        letters = _GAP.split(run.group(0))
        joined = "".join(letters)
        if not any(word in joined for word, _ in words):  # spells nothing looked for
            continue
        if len(set(gaps)) == 1:  # one gap throughout: no word breaks to read
            text = _parted(joined, vocabulary)
        else:
            joining = Counter(gaps).most_common(1)[0][0]
            text = letters[0] + "".join(("" if gap == joining else " ") + ch
                                        for gap, ch in zip(gaps, letters[1:], strict=True))
        pieces += (lower[done:run.start()], text)
        done = run.end()
    if not pieces:
        return None
    pieces.append(lower[done:])
    return "".join(pieces)


@lru_cache(maxsize=8)
def _spellable(vocabulary: frozenset[str]) -> tuple[tuple[str, frozenset[str]], ...]:
    """The words of ``vocabulary`` of four letters or more, each with its set of letters."""
    return tuple((word, frozenset(word)) for word in sorted(vocabulary) if len(word) >= 4 and word.isalnum())


def _parted(letters: str, vocabulary: frozenset[str], longest: int = 16) -> str:
    """``letters`` parted into words, greedily by the longest word of ``vocabulary`` at each
    place (a letter that begins none stays with the next word)."""
    words: list[str] = []
    at = 0
    while at < len(letters):
        size = next((n for n in range(min(longest, len(letters) - at), 1, -1)
                     if letters[at:at + n] in vocabulary), 1)
        if size == 1 and words and words[-1] not in vocabulary:
            words[-1] += letters[at]
        else:
            words.append(letters[at:at + size])
        at += size
    return " ".join(words)
