"""National identity numbers besides the US SSN (see :mod:`pii`), each found only where its
shape stands in the number classes of :mod:`candidates` (a C search per shape) and kept only
when it passes its issuer's own rules (:mod:`validators`):

- ``UK_NINO``, the UK National Insurance number: two prefix letters, six digits and a suffix
  letter, written together or in pairs (``AB 12 34 56 C``, ``AB 123456 C``);
- ``ES_NIF``, the Spanish DNI (eight digits) or NIE (X, Y or Z and seven digits), with its
  check letter, written together or with a dash before the letter;
- ``FR_NIR``, the French social security number (15 characters with its mod-97 key), found
  alone when written in its own groups (``2 69 05 49 588 157 80``), otherwise only where the text
  labels it ("NIR", "sécurité sociale", "INSEE", a column so headed);
- ``NL_BSN``, the Dutch citizen service number (nine digits, 11-proof), and ``IN_AADHAAR``,
  the Indian Aadhaar number (twelve digits, Verhoeff check): checks that one number in eleven or
  ten passes, so each counts only where the text labels it ("BSN", "Aadhaar", a column so
  headed), as an invoice or tracking number is never labelled so.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from gatewise.guardrails.candidates import Candidates, matches_at
from gatewise.guardrails.entities import Finding
from gatewise.guardrails.labels import Labels
from gatewise.guardrails.normalize import positions
from gatewise.guardrails.validators import aadhaar_ok, bsn_ok, es_nif_ok, nino_ok, nir_ok

# How each begins in the number classes ('w' a letter, '0' a digit, '-' itself, anything else
# a space), and the pattern that reads it there.
_NINO_SHAPES = (b"ww000000w", b"ww 00 00 00 w", b"ww 000000 w")
_NINO = re.compile(r"([A-Za-z]{2}) ?(\d{2})( ?)(\d{2})\3(\d{2}) ?([A-Za-z])(?![A-Za-z0-9])")
_NIF_SHAPES = (b"00000000w", b"00000000-w", b"w0000000w", b"w0000000-w", b"w-0000000-w")
_NIF = re.compile(r"(?:([XYZxyz])-?)?(\d{7,8})-?([A-Za-z])(?![A-Za-z0-9])")
# The NIR, BSN and Aadhaar are tried where a long number of enough digits begins (see
# candidates). In a Corsican NIR the department (2A, 2B) breaks the number: its last eight
# digits, in their groups after "1 85 05 2A ", are the long number.
_NIR_DIGITS, _BSN_DIGITS, _AADHAAR_DIGITS = 13, 9, 12
_CORSICAN_TAIL, _CORSICAN_HEAD = 8, len("1 85 05 2A ")
_NIR = re.compile(r"([1-478])( ?)(\d{2})\2(\d{2})\2(\d{2}|2[ABab])\2(\d{3})\2(\d{3})\2(\d{2})"
                  r"(?![\w\-]|[ .]\d)")
_NIR_WORDS = re.compile(r"\bnir\b|insee|s[ée]curit[ée] sociale|\bs[ée]cu\b|carte vitale|social security")
_NIR_NEEDLES = ("nir", "insee", "sociale", "sécu", "secu ", "secu:", "vitale", "social security")
_BSN = re.compile(r"(?:\d{4}([ .]?)\d{2}\1|\d{3}([ .])\d{3}\2)\d{3}(?![\w\-]|[ .]\d)")
_BSN_WORDS = re.compile(r"\bbsn\b|burgerservice|sofi-?nummer|\bsofi\b|citizen service")
_BSN_NEEDLES = ("bsn", "burgerservice", "sofi", "citizen service")
_AADHAAR = re.compile(r"[2-9]\d{3}([ \-]?)\d{4}\1\d{4}(?![\w\-]|[ .]\d)")
_AADHAAR_WORDS = re.compile(r"aadhaa?r|adhaar|uidai|आधार")
_AADHAAR_NEEDLES = ("adha", "uidai", "आधार")
_NOT_BEFORE = frozenset(b"w0.-")  # a letter, digit, dot or dash: the number goes on
_SEPARATORS = str.maketrans("", "", " .-")


def find_national_ids(text: str, lower: str, places: Candidates, wanted: frozenset[str]) -> Iterator[Finding]:
    """The valid national ids of ``text`` among ``wanted``; ``lower``: the text lower-cased (the
    same length), ``places``: its candidates."""
    classes = places.classes
    if "UK_NINO" in wanted:
        for m in _matches(_NINO, text, classes, _NINO_SHAPES):
            prefix, suffix = m.group(1).upper(), m.group(6).upper()
            if nino_ok(prefix, suffix):
                yield Finding("UK_NINO", m.start(), m.end(), "".join((prefix, *m.group(2, 4, 5), suffix)))
    if "ES_NIF" in wanted:
        for m in _matches(_NIF, text, classes, _NIF_SHAPES):
            number = ((m.group(1) or "") + m.group(2) + m.group(3)).upper()
            if es_nif_ok(number):
                yield Finding("ES_NIF", m.start(), m.end(), number)
    if "FR_NIR" in wanted:
        labels = Labels(lower, _NIR_WORDS, _NIR_NEEDLES)
        head = _CORSICAN_HEAD
        corsican = [at - head for at, count in places.numbers
                    if count == _CORSICAN_TAIL and at >= head and classes[at - head] not in _NOT_BEFORE]
        starts = sorted(places.starts(_NIR_DIGITS) + corsican) if corsican else places.starts(_NIR_DIGITS)
        for m in matches_at(_NIR, text, starts):
            number = "".join(m.group(1, 3, 4, 5, 6, 7, 8)).upper()
            if nir_ok(number) and (m.group(2) or labels.said(m.start())):
                yield Finding("FR_NIR", m.start(), m.end(), number)
    if "NL_BSN" in wanted:
        yield from _labelled("NL_BSN", _BSN, places.starts(_BSN_DIGITS),
                             Labels(lower, _BSN_WORDS, _BSN_NEEDLES), bsn_ok, text)
    if "IN_AADHAAR" in wanted:
        yield from _labelled("IN_AADHAAR", _AADHAAR, places.starts(_AADHAAR_DIGITS),
                             Labels(lower, _AADHAAR_WORDS, _AADHAAR_NEEDLES), aadhaar_ok, text)


def _labelled(entity: str, pattern: re.Pattern[str], starts: list[int], labels: Labels,
              valid: Callable[[str], bool], text: str) -> Iterator[Finding]:
    """The valid numbers of one type that counts only where the text labels it: none where no
    label word stands anywhere, which is checked before any number (a JSON payload holds
    dozens of ids of the right length)."""
    if not starts or not labels.present:
        return
    for m in matches_at(pattern, text, starts):
        digits = m.group().translate(_SEPARATORS)
        if valid(digits) and labels.said(m.start()):
            yield Finding(entity, m.start(), m.end(), digits)


def _matches(pattern: re.Pattern[str], text: str, classes: bytes,
             shapes: tuple[bytes, ...]) -> Iterator[re.Match[str]]:
    starts = sorted({at - 1 for shape in shapes for at in positions(classes, shape)
                     if classes[at - 1] not in _NOT_BEFORE})
    for start in starts:
        if (m := pattern.match(text, start)) is not None:
            yield m
