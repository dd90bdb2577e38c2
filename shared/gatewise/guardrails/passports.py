"""Passport numbers (``PASSPORT``), found two ways:

- in a passport's machine-readable zone (ICAO Doc 9303, TD3: two lines of 44 characters), kept
  only when the number, the birth date and the expiry date each pass their check digit; the
  finding covers the zone's second line and its first line (the holder's names) when it stands
  just before;
- as a number the text labels a passport's ("passport no. 533380006", a column headed
  "Passport"): six to nine letters and digits, at least five of them digits, not a compact
  date (an expiry or a birth date written beside it). No issuer puts a check digit in the
  number itself, so an unlabelled one is never taken for a passport's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from gatewise.guardrails.entities import Finding
from gatewise.guardrails.labels import Labels

# TD3 line 2: number, check, nationality, birth date, check, sex, expiry, check, personal
# number, its check (or '<'), and the check of the whole line.
_MRZ_DATA = re.compile(r"(?<![A-Z0-9<])([A-Z0-9<]{9})(\d)([A-Z<]{3})(\d{6})(\d)[MFX<](\d{6})(\d)"
                       r"[A-Z0-9<]{14}[0-9<]\d(?![A-Z0-9<])")
_MRZ_NAMES = re.compile(r"P[A-Z<][A-Z<]{3}[A-Z<]{39}")  # TD3 line 1
_MRZ_LINE = 44
_LABEL_WORDS = re.compile(r"passport|passeport|pasaporte|passaporto|reisepass|paspoort|паспорт|护照")
_LABEL_NEEDLES = ("passport", "passeport", "pasaporte", "passaporto", "reisepass", "paspoort", "паспорт",
                  "护照")
_NUMBER = re.compile(r"(?<![\w\-])[A-Za-z0-9]{6,9}(?![\w\-]|\.\d)")
_MIN_DIGITS = 5


def find_passports(text: str, lower: str) -> Iterator[Finding]:
    """Passport numbers in ``text``; ``lower``: the text lower-cased (the same length)."""
    if "<<" in text:
        yield from _machine_readable(text)
    labels = Labels(lower, _LABEL_WORDS, _LABEL_NEEDLES)
    if labels.present:
        for m in _NUMBER.finditer(text):
            number = m.group()
            if sum(c.isdigit() for c in number) >= _MIN_DIGITS and not _is_date(number) \
                    and labels.said(m.start()):
                yield Finding("PASSPORT", m.start(), m.end(), number.upper())


def _is_date(number: str) -> bool:
    """A compact date written beside a passport (its expiry, its holder's birth): 1900-2099
    as YYYYMMDD or DDMMYYYY."""
    if len(number) != 8 or not number.isdigit():
        return False
    for year, month, day in ((number[:4], number[4:6], number[6:]), (number[4:], number[2:4], number[:2])):
        if year[:2] in ("19", "20") and 1 <= int(month) <= 12 and 1 <= int(day) <= 31:
            return True
    return False


def _machine_readable(text: str) -> Iterator[Finding]:
    for m in _MRZ_DATA.finditer(text):
        number, number_check, _, born, born_check, expires, expires_check = m.groups()
        if not (_checked(number, number_check) and _checked(born, born_check)
                and _checked(expires, expires_check)):
            continue
        start = m.start()
        names_at = start - _MRZ_LINE - 1  # the line before, across one line break
        if names_at >= 0 and text[start - 1] == "\n" and _MRZ_NAMES.fullmatch(text, names_at, start - 1):
            start = names_at
        yield Finding("PASSPORT", start, m.end(), number.rstrip("<"))


def _checked(field: str, check: str) -> bool:
    """ICAO 9303's check digit: each character's value (digits as such, A-Z 10-35, '<' 0)
    weighted 7, 3, 1 in turn, summed, modulo 10."""
    total = 0
    for i, char in enumerate(field):
        value = int(char) if char.isdigit() else 0 if char == "<" else ord(char) - ord("A") + 10
        total += value * (7, 3, 1)[i % 3]
    return total % 10 == int(check)
