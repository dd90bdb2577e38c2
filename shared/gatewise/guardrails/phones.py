"""Phone numbers: a cheap candidate pattern, then Google's libphonenumber rules (the maintained
``phonenumbers`` port) decide whether the digits are a number some country actually assigns.

A number written without ``+`` is tried in each configured region in turn. Bare digit strings
(no separators at all) are accepted only next to a word that says "phone"; a number right
after "order", "invoice", "tracking" and the like is an identifier, not a phone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import cache, lru_cache

import phonenumbers

from gatewise.guardrails.candidates import label_start, matches_at
from gatewise.guardrails.entities import Finding, Occupied
from gatewise.guardrails.normalize import ascii_bytes

DEFAULT_REGIONS = ("US", "GB", "DE", "FR", "IT", "ES", "NL", "BR", "IN", "AU")

_CANDIDATE = re.compile(
    r"(?<![\w+\-.])"  # nor after ':' or '/' but for a scheme or label (see _SCHEME)
    r"(?:\+|00)?"
    r"(?:\(\+?\d{1,5}\)[ .\-]{0,2}+)?"
    r"\d(?:[ .\-/]{0,2}+(?:\(\d{1,5}\)|\d)){4,19}+"
    r"(?:[ ]{0,2}+(?:x|ext\.?|extension|#)[ ]{0,2}+\d{1,6}+)?"
    r"(?![\w])"
)
_MIN_DIGITS = 7
# A URI scheme or label that a phone number follows without a space (tel:+14155552671,
# https://wa.me/14155552671, "ph:+1..."): it says "phone" as a word would.
_SCHEME = re.compile(r"(?:(?<![\w.\-])(?:tel|sms|smsto|mms|callto|facetime|facetime-audio|ph|phone|mob"
                     r"|mobile|cell|fax|whatsapp|viber|signal):(?://)?|(?<![\w\-])wa\.me/)\Z")
_SCHEME_CHARS = 24
# How the candidate's extension ('x', 'ext', '#') begins, after at most two spaces.
_EXTENSION = re.compile(r" {0,2}[xe#]")
_DIGITS = b"0123456789"
_DATE = re.compile(r"\d{1,4}([./\-])\d{1,2}\1\d{1,4}|\d{1,2}[./\-]\d{4}")
# A full date and then more numbers (a time, a row of a table or a log): not a phone number.
_DATE_FIRST = re.compile(r"(?:\d{4}([./\-])\d{1,2}\1\d{1,2}|\d{1,2}([./\-])\d{1,2}\2\d{4}) ")
_CONTEXT_CHARS = 40
# Words that say a number is a phone number: phone, tel (a word, or "tel."), telephone, call,
# mobile, cell, fax, whatsapp, sms, "text me", contact, dial, ring, reach, handy, telefon,
# téléphone, portable, cellulare, móvil, celular, numéro, nummer, número. Only whether and
# where one begins is used, so words sharing a first letter are one branch: the engine tries a
# branch per letter rather than every word at every letter of a log.
_PHONE_WORDS = re.compile(
    r"p(?:hone|ortable)|t(?:el(?:\b|\.|ephone|efon)|ext me|éléphone)|c(?:all|ell|ontact|elular)"
    r"|m(?:obile|óvil)|fax|whatsapp|sms|dial|r(?:ing|each)|handy|n(?:uméro|ummer|úmero)")
# Words right before a number (the last three) that make it an identifier.
_ID_WORDS = frozenset([
    "order", "invoice", "tracking", "track", "shipment", "parcel", "account", "acct", "isbn", "issn",
    "ref", "reference", "serial", "ticket", "case", "po", "sku", "id", "no", "iban", "card", "ssn",
    "routing", "version", "build", "patent", "doi", "zip", "postcode", "postal", "#",
])
_LAST_WORDS = re.compile(r"[a-z#]+")
# A line break ends a clause too; the dot of "no.", "nr." or "ref." right before the number
# does not (it abbreviates the label).
_SENTENCE_END = re.compile(r"[.!?]\s(?=\s*\S)|(?<!\bno)(?<!\bnr)(?<!\bref)[.!?]\s|\n")
_CONTINUES = re.compile(r"[-/.][0-9A-Za-z]|:\d")
# An amount (34912.50) or a measurement such as a coordinate (46.619488), which some regions
# would dial.
_DECIMAL = re.compile(r"\d+\.\d{1,2}|\d{1,3}\.\d{5,}")
# Digit groups joined by dots alone, one after the first a single digit: a dotted identifier (a
# browser version such as 122.0.6261.112, an SNMP OID such as 1.3.6.1.2.1.1.3.0), where phone
# numbers written with dots (415.555.2671, 06.12.34.56.78, 1.800.555.0199) group by two or more.
_DOTTED_ID = re.compile(r"(?=[\d.]+\Z).*?\.\d(?:\.|\Z)")
_CARD_GROUPS = re.compile(r"\d{4}([ .\-])\d{4}\1\d{4}|^\d{4}([ .\-])\d{6}\2\d{4,5}$")  # 4-4-4, 4-6-5


def find_phones(text: str, lower: str, regions: Sequence[str], taken: Occupied, starts: Sequence[int],
                unbroken: Mapping[int, int] | None = None) -> Iterator[Finding]:
    """Phone numbers outside ``taken``; ``starts``: where one can begin, ascending, and
    ``unbroken``: which of them begin an unbroken run of digits, and how long (see
    :mod:`candidates`)."""
    # Bare digits (ids, timestamps, counts in JSON and logs) are a phone only near a word that
    # says so: with no such word anywhere, they are passed over before any other test.
    first_word = _PHONE_WORDS.search(lower)
    phone_words = first_word is not None
    if unbroken:
        said = first_word.start() if first_word is not None else len(lower)
        starts = [at for at in starts if at not in unbroken or not _bare(text, lower, at, unbroken[at], said)]
    for match in matches_at(_CANDIDATE, text, starts):
        raw = match.group(0)
        if len(raw) < _MIN_DIGITS:  # most numbers in prose and tables: too short to be a phone
            continue
        scheme = _after_scheme(text, lower, match.start())
        if scheme is False:
            continue
        bare = raw.isdigit()
        before = lower[max(0, match.start() - _CONTEXT_CHARS): match.start()]
        if bare and not scheme and not (phone_words and _PHONE_WORDS.search(before)):
            continue
        count = len(raw) - len(ascii_bytes(raw).translate(None, _DIGITS))  # C, not a loop per digit
        if count < _MIN_DIGITS or count > 17 or taken.overlaps(*match.span()) or _DATE.fullmatch(raw) \
                or _DATE_FIRST.match(raw):
            continue
        # Words before an earlier finding or number ("SSN 536-22-8714 and phone ...") are its label.
        lead = taken.end_before(match.start(), max(0, match.start() - _CONTEXT_CHARS))
        clause = _SENTENCE_END.split(lower[label_start(lower, lead, match.start()):match.start()])[-1]
        last_words = _LAST_WORDS.findall(clause)[-3:]
        if not _ID_WORDS.isdisjoint(last_words) or _looks_like_other(raw, text, match.end()):
            continue
        # wa.me links carry the number in full international form, without its '+'
        international = bare and lower.endswith("wa.me/", 0, match.start())
        value = _e164("+" + raw if international else raw, tuple(regions))
        if value is not None:
            yield Finding("PHONE", match.start(), match.end(), value)


def _bare(text: str, lower: str, start: int, digits: int, said: int) -> bool:
    """Whether the candidate at ``start``, which begins an unbroken run of ``digits`` digits
    (the longest a number joins: what follows cannot continue it), is one the loop would
    refuse as bare digits with no phone word before it; ``said``: where the first phone word
    begins. Decided without matching the candidate pattern, a few times cheaper: the
    candidate there holds those digits and nothing else unless an extension follows, and
    matches nothing where it would hold more than 19 digits or touch a word character, so
    is refused either way. A phone word in the window is a match in the text as well (the
    candidate follows no word character, so ``tel\\b`` holds there too), so none lies in
    the window when the first one in the text begins at or after ``start``."""
    if _EXTENSION.match(text, start + digits) or _after_scheme(text, lower, start):
        return False
    return start <= said or not _PHONE_WORDS.search(lower, max(0, start - _CONTEXT_CHARS), start)


def _after_scheme(text: str, lower: str, start: int) -> bool | None:
    """Whether the number at ``start`` follows a phone scheme or label (see ``_SCHEME``): None
    after no ':' or '/', False after one that is no such scheme (a time, a path)."""
    if not start or text[start - 1] not in ":/":
        return None
    return _SCHEME.search(lower, max(0, start - _SCHEME_CHARS), start) is not None


def load_regions(regions: Iterable[str]) -> None:
    """Read libphonenumber's metadata for ``regions`` (and the regions sharing their country
    codes) and compile the patterns it checks numbers with; both otherwise happen on first use,
    up to 10 ms inside a request."""
    for region in regions:
        _load_region(region)


@cache  # once per process and region: a caller's list of regions (any order) adds no entry
def _load_region(region: str) -> None:
    """Validating an unassigned number of a country code walks every region of that code;
    reading example numbers compiles the national-prefix rules."""
    code = phonenumbers.country_code_for_region(region)
    phonenumbers.is_valid_number(phonenumbers.PhoneNumber(country_code=code, national_number=1))
    for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE):
        example = phonenumbers.example_number_for_type(region, kind)
        if example is not None:
            national = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
            phonenumbers.is_valid_number(phonenumbers.parse(national, region))


def _looks_like_other(raw: str, text: str, end: int) -> bool:
    """Card-style grouping, an ISBN, a decimal number (see ``_DECIMAL``), a dotted identifier
    (see ``_DOTTED_ID``), or a number that goes on past the candidate (``-X``, or ``:X`` as in a
    time or a port)."""
    if _CONTINUES.match(text, end) or _CARD_GROUPS.search(raw) or _DECIMAL.fullmatch(raw) \
            or _DOTTED_ID.match(raw):
        return True
    if raw.count("-") < 2 or raw.startswith("+"):
        return False
    digits = [c for c in raw if c.isdigit()]
    return len(digits) in (9, 10, 13) and _isbn(digits, raw, text[end:end + 2])


def _isbn(digits: list[str], raw: str, after: str) -> bool:
    if len(digits) == 9 and after[:2] in ("-X", "-x"):
        return True
    if len(digits) == 10:
        # Written with hyphens, an ISBN-10 has four parts, the check digit alone at the end
        # (0-306-40615-2); a phone number's three (212-555-0199) pass its checksum one time in 11.
        parts = raw.split("-")
        if len(parts) != 4 or len(parts[-1].strip()) != 1:
            return False
        return sum((10 - i) * int(d) for i, d in enumerate(digits)) % 11 == 0
    if len(digits) == 13 and "".join(digits[:3]) in ("978", "979"):
        return sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10 == 0
    return False


@lru_cache(maxsize=4096)  # a conversation resends its history, and its numbers, on every turn
def _e164(raw: str, regions: tuple[str, ...]) -> str | None:
    """The number in E.164 form, when some region (or its own country code) assigns it."""
    international = raw.startswith(("+", "00", "(+"))
    candidate = "+" + raw[2:] if raw.startswith("00") else raw
    for region in (None,) if international else regions:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None
