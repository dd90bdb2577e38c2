"""PII with validation: every candidate a pattern finds must also pass the identifier's own rule
(Luhn and issuer ranges, IBAN mod-97 and country length, SSN number ranges unless the text
calls it an SSN, the national ids' own rules (:mod:`national_ids`), ``ipaddress``,
libphonenumber) before it counts.

Patterns run on the normalised view (see :mod:`normalize`), start only at a token boundary
and repeat only boundedly or possessively, so the work is linear in the text. They are tried
only where they can begin (:mod:`candidates`): at digits that can begin a number, at each
``@``, in long runs of base64 characters. Separators inside numbers (a space, dot or dash between digits) are
tolerated.
"""

from __future__ import annotations

import base64
import binascii
import re
import string
from collections.abc import Iterable, Iterator, Sequence
from itertools import accumulate, islice
from operator import attrgetter, le
from urllib.parse import unquote

from gatewise.guardrails.candidates import (
    CARD_DIGITS,
    PHONE_DIGITS,
    Candidates,
    candidates,
    label_start,
    matches_at,
)
from gatewise.guardrails.entities import ENTITY_TYPES, PRIORITY, Finding, Occupied, new_finding
from gatewise.guardrails.labels import Labels
from gatewise.guardrails.national_ids import find_national_ids
from gatewise.guardrails.normalize import View, ascii_bytes, class_table, positions
from gatewise.guardrails.passports import find_passports
from gatewise.guardrails.phones import DEFAULT_REGIONS, find_phones
from gatewise.guardrails.secrets import find_secrets
from gatewise.guardrails.spelled import find_spelled, plain_ipv4
from gatewise.guardrails.validators import (
    CARD_LENGTHS,
    IBAN_LENGTHS,
    IPV4,
    PADDED_OCTET,
    iban_ok,
    ipv6_ok,
    is_card,
    ssn_ok,
)

ALL_TYPES = frozenset(ENTITY_TYPES)

# E-mail is found from each "@" (or "%40", its URL encoding): the local part backwards (matched
# on the reversed characters before it: at most 64, not preceded by another one), the domain
# forwards. Labels and the top-level domain may be written in any script (bücher.de, пример.рф)
# or in punycode.
_LOCAL_MAX = 64
_LOCAL_REVERSED = re.compile(rf"[\w.%+\-]{{1,{_LOCAL_MAX + 1}}}")
_DOMAIN = re.compile(r"(?:[^\W_](?:(?:[^\W_]|-){0,61}[^\W_])?\.){1,8}"
                     r"(?:[^\W\d_]{2,24}+|xn--[a-z0-9\-]{1,59}+)(?![\w\-])")
_ENCODED_AT = "%40"
# A run of digit groups joined by single spaces, dots or dashes: card candidates.
_DIGIT_RUN = re.compile(r"(?<![\w.\-])\d(?:[ .\-]?\d){11,40}+(?!\w)")
_GROUP = re.compile(r"\d+|[ .\-]")
_BEFORE_RUN = re.compile(r"[\w.\-]")  # what may not stand before a run of digits, and after it:
_WORD_CHAR = re.compile(r"\w")
_SSN = re.compile(r"(?<![\w.\-])(\d{3})([ .\-]?)(\d{2})\2(\d{4})(?![\w\-]|[ .]\d)")
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?:[ \-]?[A-Za-z0-9]){10,32}+")
# Valid octets only: the pattern itself refuses 256.1.1.1 or 01.2.3.4 (a log holds an address on
# every line, each otherwise checked again after its match).
_GOES_ON = re.compile(r"-[A-Za-z0-9]")  # after dash-joined groups, one more: a longer reference
_IPV4 = re.compile(rf"(?<![\w.]){IPV4}(?!\w|\.\d)")
_PADDED_IPV4 = re.compile(rf"(?<![\w.]){PADDED_OCTET}(?:\.{PADDED_OCTET}){{3}}(?!\w|\.\d)")
_IPV6 = re.compile(r"(?<![\w:.])[0-9A-Fa-f]{0,4}:[0-9A-Fa-f:.]{2,44}+")
_HEX_CLASS = class_table({"h": string.hexdigits, ":": ":", ".": "."})
_SIX_COLONS = re.compile(rb":" + rb"[h.]{0,4}+:" * 5)  # spelled out: cheaper than a repeated group
_BLOB = re.compile(r"(?<![A-Za-z0-9+/=_\-])[A-Za-z0-9+/_\-]{16,4096}+={0,2}")
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_SSN_WORDS = re.compile(r"ssn|social security|soc\. ?sec|ss#|ss #|taxpayer")
_SSN_NEEDLES = ("ssn", "social", "soc.", "ss#", "ss #", "taxpayer")
# Words that make a dotted quad a version or section number ("ver." as a word: "discover." or
# "ever." before an address is not one).
_VERSION_WORDS = re.compile(r"version|release|build|firmware|driver|\bver\.|section|chapter|§|\boid\b")
_VERSION_WINDOW = 24
_START, _END = attrgetter("start"), attrgetter("end")


def find_pii(view: View, types: Iterable[str] = ALL_TYPES,
             regions: Sequence[str] = DEFAULT_REGIONS, *, decode: bool = True) -> list[Finding]:
    """Validated findings in ``view.text`` (offsets into it), without overlaps: where two
    overlap, the higher-priority type wins (a card number is not also a phone number)."""
    wanted = frozenset(types)
    text = view.text
    places = candidates(view)
    secrets = find_secrets(text, long_runs=bool(places.runs)) if "SECRET" in wanted else []
    found: list[Finding] = list(secrets)
    if "EMAIL" in wanted and ("@" in text or _encoded_at(text)):
        found += _emails(text)
    found += _numbers(view, wanted, places, secrets)
    if "EMAIL" in wanted or "IP_ADDRESS" in wanted:
        found += find_spelled(text, view.lower, "EMAIL" in wanted, "IP_ADDRESS" in wanted)
    found += find_national_ids(text, view.lower, places, wanted)
    if "PASSPORT" in wanted:
        found += find_passports(text, view.lower)
    if "PHONE" in wanted and places.numbers:  # last: digits taken by a card, IBAN or IP are not a phone
        taken = _occupied(text, found)
        # A candidate that begins inside a card, IBAN or address overlaps it and would be refused.
        starts = taken.free(sorted(places.starts(PHONE_DIGITS) + places.phone_marks))
        found += find_phones(text, view.lower, regions, taken, starts, places.unbroken)
    if "IP_ADDRESS" in wanted and ":" in text and ("::" in text or text.count(":") > 4):
        found += _ipv6(text)
    if decode:
        found += _encoded(view, wanted, regions, found)
    return resolve(found)


def _emails(text: str) -> Iterator[Finding]:
    signs = positions(text, "@")
    if _encoded_at(text):  # in a URL's query: its canonical form is the decoded address
        signs = sorted(signs + positions(text, _ENCODED_AT))
    for at in signs:
        width = 1 if text[at] == "@" else len(_ENCODED_AT)
        local = _LOCAL_REVERSED.match(text[max(0, at - _LOCAL_MAX - 1):at][::-1])
        size = local.end() if local else 0
        domain = _DOMAIN.match(text, at + width) if 0 < size <= _LOCAL_MAX else None
        if domain:
            start = at - size
            address = text[start:domain.end()].lower()
            yield Finding("EMAIL", start, domain.end(), unquote(address) if width > 1 else address)


def _encoded_at(text: str) -> bool:
    return "%" in text and _ENCODED_AT in text  # the '%' first: one character is found at memchr speed


def _numbers(view: View, wanted: frozenset[str], places: Candidates,
             secrets: list[Finding]) -> Iterator[Finding]:
    """Cards, IBANs, SSNs and IPv4 addresses, each tried only where it can begin."""
    text, lower = view.text, view.lower
    ibans = list(_ibans(text, places.codes)) if "IBAN" in wanted else []
    # An IBAN no credential overlaps outranks any card inside it when findings are resolved,
    # so a run of digits within one is not searched for a card.
    credentials = _occupied(text, secrets)
    sure = Occupied(len(text), [(f.start, f.end) for f in ibans if not credentials.overlaps(f.start, f.end)])
    if "CREDIT_CARD" in wanted:
        unbroken = places.unbroken
        runs = [at for at in places.starts(CARD_DIGITS) if at not in unbroken]
        for match in matches_at(_DIGIT_RUN, text, runs):
            if not sure.covers(*match.span()):
                yield from _cards(match)
        yield from (card for card in unbroken_cards(text, unbroken) if not sure.covers(card.start, card.end))
    yield from ibans
    if "US_SSN" in wanted:
        labels = Labels(lower, _SSN_WORDS, _SSN_NEEDLES)
        for m in matches_at(_SSN, text, places.ssn_starts()):
            # Nine bare digits are an SSN only when the text says so; a number the SSA never
            # issues (an advertising sample, area 666) is one only then, too: the writer says
            # it is theirs.
            issued = m.group(2) and ssn_ok(m.group(1), m.group(3), m.group(4))
            if not issued and not labels.said(m.start()):
                continue
            yield Finding("US_SSN", m.start(), m.end(), m.group(1) + m.group(3) + m.group(4))
    if "IP_ADDRESS" in wanted and "." in text:
        yield from _ipv4(text, lower, places.dotted)


def _ipv4(text: str, lower: str, dotted: list[int]) -> list[Finding]:
    """The addresses :func:`matches_at` finds from ``dotted``, but for those right after a
    version word, in one plain loop (a log holds an address on every line, mostly after
    "from" or "to"). Every version word holds an 'e', an 'i' or a '§', so the search for one
    runs only where one of them is in the window before the address."""
    found = []
    end = 0
    match, version = _IPV4.match, _VERSION_WORDS.search
    for at in dotted:
        if at < end:
            continue
        m = match(text, at) or _PADDED_IPV4.match(text, at)
        if m is not None:
            end = m.end()
            lead = at - _VERSION_WINDOW if at > _VERSION_WINDOW else 0
            window = lower[lead:at]
            if ("e" in window or "i" in window or "§" in window) \
                    and version(lower, label_start(lower, lead, at), at) is not None:
                continue
            address = m.group()
            value = address if m.re is _IPV4 else plain_ipv4(address)
            found.append(new_finding(("IP_ADDRESS", at, end, value, "")))
    return found


def unbroken_cards(text: str, unbroken: dict[int, int]) -> Iterator[Finding]:
    """The cards among unbroken runs of digits (ids in JSON and logs), decided without the
    digit-run pattern: there it would match the whole run (what follows cannot continue it)
    when no word character, dot or dash precedes it and no word character follows, and the
    run would be checked as one window."""
    for start, digits in unbroken.items():
        end = start + digits
        if digits in CARD_LENGTHS and not (start and _BEFORE_RUN.match(text, start - 1)) \
                and not _WORD_CHAR.match(text, end) and is_card(run := text[start:end]):
            yield Finding("CREDIT_CARD", start, end, run)


def _cards(match: re.Match[str]) -> Iterator[Finding]:
    """A card inside a digit run: the whole run, groups from its start or up to its end (a
    number followed by an expiry date, or preceded by a label number) with one separator
    style throughout, or a single unbroken group anywhere in it."""
    parts = _GROUP.findall(match.group(0))
    groups, seps = parts[0::2], parts[1::2]
    offsets = [0, *accumulate(map(len, parts))]
    digits_before = [0, *accumulate(map(len, groups))]
    for i, j in _windows(groups):  # in order, made one at a time: mostly the first is the card
        if digits_before[j + 1] - digits_before[i] not in CARD_LENGTHS or len(set(seps[i:j])) > 1:
            continue
        if not _standalone(groups, seps, i, j) or not _card_grouping(groups[i:j + 1]):
            continue
        digits = "".join(groups[i:j + 1])
        if is_card(digits):
            start = match.start() + offsets[2 * i]
            end = match.start() + offsets[2 * j + 1]
            yield Finding("CREDIT_CARD", start, end, digits)
            return


def _windows(groups: list[str]) -> Iterator[tuple[int, int]]:
    """First and last group of each window :func:`_cards` tries, in the order it tries them:
    the whole run, shorter ones from its start, then up to its end, then single long groups."""
    last = len(groups) - 1
    yield 0, last
    for j in range(last - 1, -1, -1):
        yield 0, j
    for i in range(1, last + 1):
        yield i, last
    for i in range(1, last):
        if len(groups[i]) >= CARD_LENGTHS.start:
            yield i, i


def _standalone(groups: list[str], seps: list[str], i: int, j: int) -> bool:
    """A window that is part of a longer run stands apart from the rest: a different
    separator at its edge, or only a short tail (an expiry month) in the same style. So the
    first groups of a tracking or reference number do not pass for a card."""
    if j == i:
        return True
    inside = seps[i]
    if i and seps[i - 1] == inside and sum(map(len, groups[:i])) > 2:
        return False
    return not (j < len(groups) - 1 and seps[j] == inside and sum(map(len, groups[j + 1:])) > 2)


def _card_grouping(groups: list[str]) -> bool:
    """How cards are written: unbroken, in fours (the last group shorter), 4-6-5 or 4-6-4, or
    one digit at a time (spaced out to dodge a filter). An order id such as 581-4611891-8583223
    is not."""
    sizes = list(map(len, groups))
    head = len(sizes) - 1
    return (not head or (sizes[:head].count(4) == head and sizes[head] <= 4)
            or sizes in ([4, 6, 5], [4, 6, 4]) or sizes.count(1) == len(sizes))


def _ibans(text: str, codes: list[int]) -> Iterator[Finding]:
    pos = 0
    for start in codes:
        # the country first: hex ids and hashes hold many letter pairs before digits
        length = IBAN_LENGTHS.get(text[start:start + 2].upper())
        if length is None or start < pos or (m := _IBAN.match(text, start)) is None:
            continue
        raw = m.group(0)
        if len(raw) - raw.count(" ") - raw.count("-") < length:
            continue
        taken = length  # characters of `raw` that hold the first `length` characters but separators
        for separator in sorted(positions(raw, " ") + positions(raw, "-")):
            if separator >= taken:
                break
            taken += 1
        end = m.start() + taken
        if end < len(text) and (text[end].isalnum() or ("-" in raw[:taken] and _GOES_ON.match(text, end))):
            continue
        iban = raw[:taken].replace(" ", "").replace("-", "").upper()
        if iban_ok(iban):
            yield Finding("IBAN", m.start(), end, iban)
            pos = end


def _ipv6(text: str) -> Iterator[Finding]:
    for m in matches_at(_IPV6, text, ipv6_starts(text)):
        raw = m.group(0).rstrip(".:")
        if ipv6_ok(raw):
            yield Finding("IP_ADDRESS", m.start(), m.start() + len(raw), raw.lower())


def ipv6_starts(text: str) -> list[int]:
    """Where an IPv6 address can begin: at the start of a run of hex digits, colons and dots
    (the address's own lookbehind refuses any later place in the run) that holds a ``::`` or
    six colons at most four hex digits apart; without either, an address has too few groups.
    Times, ports and JSON keys, colons all, are passed over at C speed."""
    classes = ascii_bytes(text).translate(_HEX_CLASS)
    starts: list[int] = []
    run_end = -1
    for at in sorted(positions(classes, b"::") + [m.start() for m in _SIX_COLONS.finditer(classes)]):
        if at >= run_end:  # once per run, so a long run of colons costs no more than its length
            starts.append(classes.rfind(b" ", 0, at) + 1)
            run_end = classes.find(b" ", at)
            if run_end == -1:
                break
    return starts


def _encoded(view: View, wanted: frozenset[str], regions: Sequence[str],
             found: list[Finding]) -> Iterator[Finding]:
    """Base64 blobs that decode to text holding a finding: reported over the whole blob (the
    upstream would otherwise get the value, only wrapped)."""
    blobs = encoded_blobs(view)
    if not blobs:
        return
    taken = _occupied(view.text, found)
    for start, end, decoded, _ in blobs:
        if taken.overlaps(start, end):
            continue
        inner = find_pii(View(decoded, decoded), wanted, regions, decode=False)
        if inner:
            best = min(inner, key=lambda f: PRIORITY[f.type])
            yield Finding(best.type, start, end, best.value, f"base64:{best.kind or best.type}")


def encoded_blobs(view: View) -> list[tuple[int, int, str, str]]:
    """``(start, end, decoded text, "base64" | "hex")`` of every blob in the view that decodes
    to printable text; found once per view and shared by the PII and injection checks."""
    blobs = view.cache.get("blobs")
    if blobs is None:
        blobs = []
        for start, _ in candidates(view).runs:  # a blob is a whole run, unless an '=' precedes it
            m = _BLOB.match(view.text, start)
            if m is None:
                continue
            raw = m.group(0)
            is_hex = len(raw) >= 32 and len(raw) % 2 == 0 and _HEX_DIGITS.issuperset(raw)
            decoded = _unhex(raw) if is_hex else decode_blob(raw)
            if decoded:
                blobs.append((m.start(), m.end(), decoded, "hex" if is_hex else "base64"))
        view.cache["blobs"] = blobs
    return blobs


def _printable(raw: bytes) -> str | None:
    """``raw`` as text when at least 95% of its bytes are printable ASCII (counted in C: the
    bytes left once the printable ones are deleted)."""
    if not raw or len(raw) - len(raw.translate(None, _PRINTABLE)) < 0.95 * len(raw):
        return None
    return raw.decode("ascii", "replace")


_PRINTABLE = bytes([*range(32, 127), 9, 10, 13])


def _unhex(blob: str) -> str | None:
    try:
        return _printable(binascii.unhexlify(blob))
    except (binascii.Error, ValueError):
        return None


def decode_blob(blob: str) -> str | None:
    """The text a base64 (either alphabet) blob stands for, when it is mostly printable."""
    stripped = blob.rstrip("=")
    padded = stripped + "=" * (-len(stripped) % 4)
    try:
        raw = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        return None
    return _printable(raw)


def _occupied(text: str, findings: Iterable[Finding]) -> Occupied:
    return Occupied(len(text), [(f.start, f.end) for f in findings])


def resolve(found: list[Finding]) -> list[Finding]:
    """Drop findings that overlap a higher-priority (then longer, then earlier) one."""
    by_start = sorted(found, key=_START)
    if all(map(le, map(_END, by_start), map(_START, islice(by_start, 1, None)))):
        return by_start  # nothing overlaps (the common case, compared in C): every finding stays
    kept: list[Finding] = []
    taken = Occupied(max((f.end for f in found), default=0))
    for f in sorted(found, key=lambda f: (PRIORITY[f.type], -(f.end - f.start), f.start)):
        if not taken.overlaps(f.start, f.end):
            kept.append(f)
            taken.add(f.start, f.end)
    return sorted(kept, key=_START)
