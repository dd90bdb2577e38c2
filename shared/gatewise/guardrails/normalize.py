"""The text the detectors read, folded so that trivial disguises fail, with offsets that still
point into the original.

Folding, character by character (so each folded piece maps back to exactly one original
character):

* invisible format characters (zero-width spaces and joiners, bidi controls, soft hyphens, the
  BOM) and combining marks are dropped; Unicode *tag* characters, which can smuggle invisible
  ASCII, are turned back into that ASCII so what they hide is checked too;
* Cyrillic and Greek letters that look like Latin ones become those Latin letters;
* every decimal digit (full-width, Arabic-Indic, mathematical…) becomes its ASCII digit, every
  dash a ``-``, every space a `` ``;
* anything else goes through NFKC (full-width letters, ligatures, circled and styled forms).

Pure ASCII text (the common case) is returned as is, without any per-character work; so is
text whose non-ASCII characters all read as themselves (typographic quotes, most accented
letters), and text with only a few others has just those folded, found by C searches.

Checks that only care about ASCII character classes read a byte copy of the folded text
(:func:`ascii_bytes`, one byte per character) translated by a :func:`class_table`, which C
string methods then split or search far faster than a regex walks the text.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, AnyStr, NamedTuple

WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")  # a token of the lower-cased view

# Cyrillic and Greek letters drawn like Latin ones (the ones used to dodge word filters).
_HOMOGLYPHS = dict(zip(
    "аеорсухіјѕԁԛԝһӏкмнтвАВЕКМНОРСТХЅІЈԚԜ"
    "οαειкνρτυχΑΒΕΖΗΙΚΜΝΟΡΤΥΧϲϳ",
    "aeopcyxijsdqwhlkmhtbABEKMHOPCTXSIJQW"
    "oaeikvptuxABEZHIKMNOPTYXcj", strict=True))
_MINUS_LIKE = "\u2212\u2043\u02d7\u2796"  # minus sign, hyphen bullet, modifier minus, heavy minus
_TAG_FIRST, _TAG_LAST = 0xE0020, 0xE007E  # tag characters mirroring printable ASCII


@lru_cache(maxsize=4096)
def fold_char(ch: str) -> str:
    """What one non-ASCII character reads as ("" when it is invisible)."""
    code = ord(ch)
    if _TAG_FIRST <= code <= _TAG_LAST:
        return chr(code - 0xE0000)
    if ch in _HOMOGLYPHS:
        return _HOMOGLYPHS[ch]
    category = unicodedata.category(ch)
    if category in ("Cf", "Mn", "Me") or code == 0x115F or code == 0x1160 or code == 0x3164:
        return ""
    if category == "Nd":
        return str(unicodedata.decimal(ch))
    if category == "Pd" or ch in _MINUS_LIKE:
        return "-"
    if category == "Zs":
        return " "
    folded = unicodedata.normalize("NFKC", ch)
    if folded != ch:
        return "".join(fold_char(c) if not c.isascii() else c for c in folded)
    return ch


class _Folding(dict[int, str]):
    """``str.translate`` table that folds each character on first sight (then remembers it)."""

    def __missing__(self, code: int) -> str:
        folded = fold_char(chr(code)) if code > 0x7F else chr(code)
        if len(self) < 65_536:  # bounded: text can hold any number of distinct characters
            self[code] = folded
        return folded


_FOLDING = _Folding()
_ACCENTS = re.compile("[\u0300-\u036f]+")  # combining accents, as NFD writes them
_TAGS = re.compile("[\U000e0020-\U000e007e]")


@dataclass(frozen=True)
class _Change:
    """One original character whose folded form differs (``size`` folded characters, maybe 0)."""

    at: int  # position in the folded text
    origin: int  # position in the original text
    size: int


@dataclass
class View:
    """A text as the detectors see it (``text``, ``lower``) and the way back to the original."""

    original: str
    text: str
    tags: bool = False  # Unicode tag characters were decoded
    _folds: list[tuple[int, str]] | None = field(default=None, repr=False)  # see _folds()
    _changes: list[_Change] | None = field(default=None, repr=False)
    _starts: list[int] = field(default_factory=list, repr=False)
    _lower: str | None = field(default=None, repr=False)
    _tokens: list[str] | None = field(default=None, repr=False)
    _token_set: set[str] | None = field(default=None, repr=False)
    _token_spans: list[tuple[int, int]] | None = field(default=None, repr=False)
    _plain_token_set: set[str] | None = field(default=None, repr=False)
    cache: dict[str, Any] = field(default_factory=dict, repr=False)  # results shared by checks

    @property
    def lower(self) -> str:
        """``text`` in lower case, same length (a character lower-casing into two keeps one)."""
        if self._lower is None:
            low = self.text.lower()
            if len(low) != len(self.text):
                low = "".join(c.lower()[:1] for c in self.text)
            self._lower = low
        return self._lower

    @property
    def tokens(self) -> list[str]:
        """The words of ``lower`` (``WORD.findall``), shared by every word-based check."""
        if self._tokens is None:
            self._tokens = words_of(self.lower)
        return self._tokens

    @property
    def token_set(self) -> set[str]:
        if self._token_set is None:
            self._token_set = set(self.tokens)
        return self._token_set

    @property
    def plain_token_set(self) -> set[str]:
        """``token_set`` and each word with an accented letter written without its accents
        ("révélez" is "revelez"; ``token_set`` has "r", "v" and "lez"): what word lists written
        without accents are looked up in. ``token_set`` itself when no letter is accented."""
        if self._plain_token_set is None:
            plain = set() if self.lower.isascii() else _unaccented_words(self.lower)
            self._plain_token_set = self.token_set | plain if plain else self.token_set
        return self._plain_token_set

    def token_span(self, first: int, last: int) -> tuple[int, int]:
        """The original span of tokens ``first`` to ``last`` (inclusive)."""
        if self._token_spans is None:
            self._token_spans = [m.span() for m in WORD.finditer(self.lower)]
        return self.span(self._token_spans[first][0], self._token_spans[last][1])

    def origin(self, pos: int) -> int:
        """The original position of the folded character at ``pos`` (a span start)."""
        if self._changes is None:
            folds = self._folds if self._folds is not None else _folds(self.original)
            self._changes = _changes(folds)
            self._starts = [c.at for c in self._changes]
        i = bisect_right(self._starts, pos) - 1
        if i < 0:
            return pos
        change = self._changes[i]
        if pos < change.at + change.size:
            return change.origin
        return change.origin + 1 + (pos - change.at - change.size)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """A folded ``[start, end)`` as the original span that produced it."""
        if self.text is self.original:
            return start, end
        first = self.origin(start)
        last = self.origin(end - 1) + 1 if end > start else first
        return first, max(first, last)


def _unaccented_words(lower: str) -> set[str]:
    """The words of ``lower`` that hold a non-ASCII letter, with their accents dropped. Only
    those words are read (found by C searches of the byte copy): a text with a few accented
    names costs a few steps, not a pass over every character."""
    words: set[str] = set()
    end = 0
    for at in positions(ascii_bytes(lower), b"?"):
        if at < end or not lower[at].isalpha():  # in the word just read, or not a letter
            continue
        start, end = at, at + 1
        while start and lower[start - 1].isalpha():
            start -= 1
        while end < len(lower) and lower[end].isalpha():
            end += 1
        words.add(_ACCENTS.sub("", unicodedata.normalize("NFD", lower[start:end])))
    return words


def ascii_bytes(text: str) -> bytes:
    """``text`` as one byte per character, ``?`` for each non-ASCII one (so offsets agree)."""
    return text.encode("ascii", "replace")


def positions(haystack: AnyStr, needle: AnyStr, start: int = 0, end: int | None = None) -> list[int]:
    """Every position of ``needle`` in ``haystack[start:end]`` (a C search per hit)."""
    end = len(haystack) if end is None else end
    out: list[int] = []
    at = haystack.find(needle, start, end)
    while at != -1:
        out.append(at)
        at = haystack.find(needle, at + 1, end)
    return out


# Characters from the most to the least common in prose, code and logs (any other is rarer).
_COMMON = " etaoinsrhldcumfpgwybvkxjqz0123456789.,-_:/=\"'()\n"


class Needle(NamedTuple):
    """A substring to look for, and its rarest character (see ``_COMMON``), looked for first.

    CPython finds one character at memchr speed (a few hundredths of a microsecond in 2 KB),
    but two or three characters with a general search, about 2 µs in 2 KB when absent; a
    needle whose rarest character is absent is ruled out at the first speed."""

    text: str
    probe: str

    def within(self, haystack: str) -> bool:
        return self.probe in haystack and self.text in haystack


def needle(text: str) -> Needle:
    return Needle(text, max(text, key=lambda ch: _COMMON.find(ch) % (len(_COMMON) + 1)))


def class_table(classes: Mapping[str, str]) -> bytes:
    """A ``bytes.translate`` table giving each ASCII character of a class that class's mark
    (the key), and every other byte a space."""
    table = bytearray(b" " * 256)
    for mark, members in classes.items():
        for ch in members:
            table[ord(ch)] = ord(mark)
    return bytes(table)


# Every character a WORD can hold kept, every other byte a space: splitting the translated
# text gives the WORD tokens (the few pieces with an apostrophe are split by WORD itself).
_WORD_BYTES = class_table({c: c for c in "abcdefghijklmnopqrstuvwxyz0123456789'"})


def words_of(lower: str) -> list[str]:
    """``WORD.findall(lower)``, with the scan done by C string methods: a byte copy with
    every character no WORD holds made a space (non-ASCII ones too), split on the spaces; only
    the pieces with an apostrophe go through WORD itself."""
    pieces = ascii_bytes(lower).translate(_WORD_BYTES).decode("ascii")
    at = pieces.find("'")
    if at == -1:
        return pieces.split()
    words: list[str] = []
    done = 0
    while at != -1:
        start = pieces.rfind(" ", done, at) + 1 or done
        end = pieces.find(" ", at)
        end = len(pieces) if end == -1 else end
        words += pieces[done:start].split()
        words += WORD.findall(pieces, start, end)
        done = end
        at = pieces.find("'", end)
    words += pieces[done:].split()
    return words


def normalise(text: str) -> View:
    """Fold ``text`` for matching; see the module docstring. The map back to original offsets
    is only built when a span is asked for."""
    if text.isascii():
        return View(text, text)
    raw = ascii_bytes(text)
    if (raw.count(b"?") - text.count("?")) * _SPARSE > len(text):
        folded = text.translate(_FOLDING)  # mostly non-ASCII: one C pass beats a step per character
        if folded == text:
            return View(text, text)
        return View(text, folded, tags=_TAGS.search(text) is not None)
    folds = _folds(text, raw)
    if not folds:  # typographic quotes, accented letters: nothing to fold, nothing to map back
        return View(text, text)
    pieces: list[str] = []
    done = 0
    for at, piece in folds:
        pieces += (text[done:at], piece)
        done = at + 1
    pieces.append(text[done:])
    tags = any(_TAG_FIRST <= ord(text[at]) <= _TAG_LAST for at, _ in folds)
    return View(text, "".join(pieces), tags=tags, _folds=folds)


# Below one non-ASCII character in this many, folding them one by one where they are (found
# with C searches of the byte copy) beats str.translate, which looks up every character.
_SPARSE = 16


def _folds(text: str, raw: bytes | None = None) -> list[tuple[int, str]]:
    """``(position, fold)`` of every non-ASCII character of ``text`` whose fold differs, in
    order; ``raw``: its :func:`ascii_bytes`, where each non-ASCII character is a ``?``."""
    raw = ascii_bytes(text) if raw is None else raw
    return [(at, piece) for at in positions(raw, b"?") if (piece := _FOLDING[ord(text[at])]) != text[at]]


def _changes(folds: list[tuple[int, str]]) -> list[_Change]:
    """Each folded character's change, with where its fold lands in the folded text."""
    changes: list[_Change] = []
    shift = 0  # folded length minus original length so far
    for at, piece in folds:
        changes.append(_Change(at + shift, at, len(piece)))
        shift += len(piece) - 1
    return changes
