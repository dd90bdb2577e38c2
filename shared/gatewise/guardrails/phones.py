"""Phone numbers: a cheap candidate pattern, then Google's libphonenumber rules (the maintained
``phonenumbers`` port) decide whether the digits are a number some country actually assigns.

A number written without ``+`` is tried in each configured region in turn. Bare digit strings
(no separators at all) are accepted only next to a word that says "phone"; a number right
after "order", "invoice", "tracking" and the like is an identifier, not a phone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

import phonenumbers

from gatewise.guardrails.entities import Finding

DEFAULT_REGIONS = ("US", "GB", "DE", "FR", "IT", "ES", "NL", "BR", "IN", "AU")

_CANDIDATE = re.compile(
    r"(?<![\w+\-./])"
    r"(?:\+|00)?"
    r"(?:\(\+?\d{1,4}\)[ .\-]{0,2}+)?"
    r"\d(?:[ .\-/]{0,2}+(?:\(\d{1,5}\)|\d)){5,19}+"
    r"(?:[ ]{0,2}+(?:x|ext\.?|extension|#)[ ]{0,2}+\d{1,6}+)?"
    r"(?![\w])"
)
_DATE = re.compile(r"\d{1,4}([./\-])\d{1,2}\1\d{1,4}|\d{1,2}[./\-]\d{4}")
_CONTEXT_CHARS = 40
_PHONE_WORDS = re.compile(
    r"phone|tel\b|tel\.|telephone|call|mobile|cell|fax|whatsapp|sms|text me|contact|dial|"
    r"ring|reach|handy|telefon|téléphone|portable|cellulare|móvil|celular|numéro|nummer|número")
_ID_WORDS = re.compile(
    r"order|invoice|tracking|track|shipment|parcel|account|acct|isbn|issn|ref\b|reference|"
    r"serial|ticket|case|po\b|sku|id\b|#\s*$|no\.\s*$|iban|card|ssn|routing|version|build|"
    r"patent|doi|zip|postcode|postal")


def find_phones(text: str, lower: str, regions: Sequence[str]) -> Iterator[Finding]:
    for match in _CANDIDATE.finditer(text):
        raw = match.group(0)
        digits = sum(ch.isdigit() for ch in raw)
        if digits < 7 or digits > 17 or _DATE.fullmatch(raw):
            continue
        before = lower[max(0, match.start() - _CONTEXT_CHARS): match.start()]
        if _ID_WORDS.search(before):
            continue
        bare = raw.isdigit()
        if bare and not _PHONE_WORDS.search(before):
            continue
        number = _parse(raw, regions)
        if number is not None:
            value = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            yield Finding("PHONE", match.start(), match.end(), value)


def _parse(raw: str, regions: Sequence[str]) -> phonenumbers.PhoneNumber | None:
    international = raw.startswith(("+", "00", "(+"))
    candidate = "+" + raw[2:] if raw.startswith("00") else raw
    for region in (None,) if international else regions:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return number
    return None
