"""Checksums and registries that tell a real identifier from a look-alike number."""

from __future__ import annotations

import ipaddress
import re
import string

# Issuer prefixes: (first, last) of a prefix range of equal width, and the valid lengths.
_RANGES: tuple[tuple[str, str, tuple[int, ...]], ...] = (
    ("4", "4", (13, 16, 19)),  # Visa
    ("51", "55", (16,)), ("2221", "2720", (16,)),  # Mastercard
    ("34", "34", (15,)), ("37", "37", (15,)),  # American Express
    ("6011", "6011", (16, 17, 18, 19)), ("644", "649", (16, 17, 18, 19)),
    ("65", "65", (16, 17, 18, 19)),  # Discover (65 is also RuPay / Troy)
    ("62", "62", (16, 17, 18, 19)),  # UnionPay
    ("81", "81", (16, 17, 18, 19)),
    ("3528", "3589", (16, 17, 18, 19)), ("2131", "2131", (15,)), ("1800", "1800", (15,)),  # JCB
    ("300", "305", (14, 15, 16, 17, 18, 19)), ("3095", "3095", (14, 15, 16, 17, 18, 19)),
    ("36", "36", (14, 15, 16, 17, 18, 19)), ("38", "39", (14, 15, 16, 17, 18, 19)),  # Diners
    ("2200", "2204", (16, 17, 18, 19)),  # Mir
    ("60", "60", (16,)), ("508", "508", (16,)), ("82", "82", (16,)),  # RuPay
    ("9792", "9792", (16,)),  # Troy
    ("5018", "5018", tuple(range(12, 20))), ("5020", "5020", tuple(range(12, 20))),
    ("5038", "5038", tuple(range(12, 20))), ("5893", "5893", tuple(range(12, 20))),
    ("56", "58", tuple(range(12, 20))), ("6304", "6304", tuple(range(12, 20))),
    ("6759", "6759", tuple(range(12, 20))), ("6761", "6763", tuple(range(12, 20))),  # Maestro
    ("506099", "506198", (16, 19)), ("650002", "650027", (16, 19)),  # Verve
)
CARD_LENGTHS = range(12, 20)


def _prefix_index() -> dict[str, frozenset[int]]:
    """Every issuer prefix spelled out (about a thousand) -> the lengths issued under it."""
    index: dict[str, set[int]] = {}
    for first, last, lengths in _RANGES:
        for n in range(int(first), int(last) + 1):
            index.setdefault(str(n).zfill(len(first)), set()).update(lengths)
    return {prefix: frozenset(lengths) for prefix, lengths in index.items()}


_PREFIXES = _prefix_index()
_PREFIX_WIDTHS = tuple(sorted({len(first) for first, _, _ in _RANGES}))


# Each ASCII digit as its value, and as its value doubled, less 9 when above 9: one C translate
# and a sum over the bytes, instead of an int() per digit (a few times faster).
_VALUE = bytes.maketrans(b"0123456789", bytes(range(10)))
_DOUBLED = bytes.maketrans(b"0123456789", bytes([0, 2, 4, 6, 8, 1, 3, 5, 7, 9]))


def luhn(digits: str) -> bool:
    """The Luhn (mod 10) check every payment card number carries: from the right, every
    second digit doubled. ``digits``: ASCII digits (the folded text has no others)."""
    backwards = digits.encode("ascii")[::-1]
    return (sum(backwards[0::2].translate(_VALUE)) + sum(backwards[1::2].translate(_DOUBLED))) % 10 == 0


def known_card_prefix(digits: str) -> bool:
    """True when some card scheme issues numbers of this prefix and length."""
    length = len(digits)
    for width in _PREFIX_WIDTHS:  # a plain loop: ids in JSON and logs are checked by the dozen
        lengths = _PREFIXES.get(digits[:width])
        if lengths is not None and length in lengths:
            return True
    return False


def is_card(digits: str) -> bool:
    return len(digits) in CARD_LENGTHS and known_card_prefix(digits) and len(set(digits)) > 1 \
        and luhn(digits)


# IBAN length per country (ISO 13616 registry).
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
    "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32,
    "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31,
    "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28, "TL": 23,
    "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}


def iban_ok(iban: str) -> bool:
    """Country length and the ISO 7064 mod-97 check of an upper-case IBAN without spaces."""
    if IBAN_LENGTHS.get(iban[:2]) != len(iban) or not iban[2:4].isdigit():
        return False
    moved = iban[4:] + iban[:4]
    if not (moved.isascii() and moved.isalnum()):
        return False
    return int(moved.translate(_BASE36)) % 97 == 1


# Each letter as its base-36 value (A = 10 … Z = 35), the way mod-97 reads an IBAN: one C
# translate instead of a conversion per character.
_BASE36 = str.maketrans({ch: str(int(ch, 36)) for ch in string.ascii_letters})


# Numbers the SSA says were never issued, though well-formed (advertising and test samples).
_SSN_SAMPLES = frozenset({"078051120", "219099999", "123456789"})


def ssn_ok(area: str, group: str, serial: str) -> bool:
    """US SSN rules: no area 000, 666 or 9xx, no group 00, no serial 0000."""
    if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000":
        return False
    return area + group + serial not in _SSN_SAMPLES


# UK National Insurance number prefixes HMRC never issues (besides the letters below).
_NINO_NO_PREFIX = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})


def nino_ok(prefix: str, suffix: str) -> bool:
    """HMRC's format rules for an upper-case National Insurance number: neither prefix letter
    D, F, I, Q, U or V, the second not O, none of the withheld prefixes, a suffix A to D."""
    first, second = prefix[0], prefix[1]
    return (first not in "DFIQUV" and second not in "DFIQUVO" and prefix not in _NINO_NO_PREFIX
            and suffix in "ABCD")


_NIF_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def es_nif_ok(number: str) -> bool:
    """The check letter of an upper-case Spanish DNI (8 digits and a letter) or NIE (X, Y or Z,
    7 digits and a letter): the number, with X, Y, Z read as 0, 1, 2, modulo 23. A number of
    zeros is a form's placeholder."""
    digits = number[:-1].translate(_NIE_PREFIX)
    return len(digits) == 8 and digits.isdigit() and int(digits) > 0 \
        and _NIF_LETTERS[int(digits) % 23] == number[-1]


_NIE_PREFIX = str.maketrans("XYZ", "012")


def bsn_ok(digits: str) -> bool:
    """The Dutch BSN's 11-proof over its nine digits: weights 9 down to 2, the last digit -1."""
    total = sum(int(d) * w for d, w in zip(digits, (9, 8, 7, 6, 5, 4, 3, 2, -1), strict=True))
    return len(digits) == 9 and total % 11 == 0 and total != 0


# Verhoeff's dihedral-group tables: multiplication and the position permutation.
_VERHOEFF_D = tuple(tuple(int(c) for c in row) for row in (
    "0123456789", "1234067895", "2340178956", "3401289567", "4012395678",
    "5987604321", "6598710432", "7659821043", "8765932104", "9876543210"))
_VERHOEFF_P = tuple(tuple(int(c) for c in row) for row in (
    "0123456789", "1576283094", "5803796142", "8916043527", "9453126870",
    "4286573901", "2793806415", "7046913258"))


def aadhaar_ok(digits: str) -> bool:
    """An Aadhaar number: twelve digits, the first neither 0 nor 1, its Verhoeff check digit
    right (UIDAI's rule)."""
    if len(digits) != 12 or digits[0] in "01" or len(set(digits)) == 1:
        return False
    check = 0
    for i, d in enumerate(reversed(digits)):
        check = _VERHOEFF_D[check][_VERHOEFF_P[i % 8][int(d)]]
    return check == 0


def nir_ok(number: str) -> bool:
    """A French NIR (numéro de sécurité sociale): sex 1, 2, 3, 4, 7 or 8, a month 01-12 or one
    of INSEE's codes 20-99 for an unknown one, a department (2A and 2B for Corsica, read as 19
    and 18), and a key of 97 less the first thirteen digits modulo 97."""
    body, key = number[:13].upper(), number[13:]
    if len(number) != 15 or body[0] not in "123478" or not key.isdigit():
        return False
    month = int(body[3:5])
    if not (1 <= month <= 12 or month >= 20):
        return False
    digits = body.replace("2A", "19", 1) if body[5:7] == "2A" else body.replace("2B", "18", 1) \
        if body[5:7] == "2B" else body
    return digits.isdigit() and 97 - int(digits) % 97 == int(key)


_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"
IPV4 = rf"{_OCTET}(?:\.{_OCTET}){{3}}"  # four octets, as a pattern to embed
# An octet as people also write one, zero-padded to three digits (185.220.101.047).
PADDED_OCTET = rf"(?=\d{{1,3}}(?!\d))0*{_OCTET}"
_IPV4_OCTETS = re.compile(IPV4)


def ipv4_ok(text: str) -> bool:
    """Four decimal octets of 0-255 without leading zeros: what ``ipaddress`` accepts, in one
    C match rather than its objects or a step per octet (a log holds an address on every line)."""
    return _IPV4_OCTETS.fullmatch(text) is not None


def ipv6_ok(text: str) -> bool:
    """A valid IPv6 address written with at least three non-empty groups (so ``1::2`` in a
    slice or ``a::b`` in code is not taken for one)."""
    if sum(1 for group in text.split(":") if group) < 3:
        return False
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True
