"""Entity types the PII detectors report, the names users may write for them, a finding, and
the set of positions findings already cover."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import NamedTuple

# In priority order: where two findings overlap, the earlier type wins (an IBAN, checked over
# its whole length, holds digit groups that can pass for a card number).
ENTITY_TYPES = ("SECRET", "IBAN", "CREDIT_CARD", "US_SSN", "UK_NINO", "ES_NIF", "FR_NIR", "NL_BSN",
                "IN_AADHAAR", "PASSPORT", "EMAIL", "IP_ADDRESS", "PHONE")
PRIORITY = {name: i for i, name in enumerate(ENTITY_TYPES)}

# Other names for the same types (Presidio's and Portkey's among them).
ALIASES = {
    "EMAIL_ADDRESS": "EMAIL", "PHONE_NUMBER": "PHONE", "PHONE_NUMBERS": "PHONE",
    "IBAN_CODE": "IBAN", "SSN": "US_SSN", "IP": "IP_ADDRESS", "CARD": "CREDIT_CARD",
    "PAYMENT_CARD": "CREDIT_CARD", "CREDENTIALS": "SECRET", "CREDENTIAL": "SECRET",
    "API_KEY": "SECRET", "SECRETS": "SECRET", "NINO": "UK_NINO", "NATIONAL_INSURANCE_NUMBER": "UK_NINO",
    "UK_NI": "UK_NINO", "DNI": "ES_NIF", "NIE": "ES_NIF", "NIF": "ES_NIF", "ES_DNI": "ES_NIF",
    "ES_NIE": "ES_NIF", "BSN": "NL_BSN", "BURGERSERVICENUMMER": "NL_BSN", "AADHAAR": "IN_AADHAAR",
    "AADHAR": "IN_AADHAAR", "NIR": "FR_NIR", "INSEE": "FR_NIR", "FR_INSEE": "FR_NIR",
    "NUMERO_DE_SECURITE_SOCIALE": "FR_NIR", "PASSPORT_NUMBER": "PASSPORT", "US_PASSPORT": "PASSPORT",
    "UK_PASSPORT": "PASSPORT", "PASSPORT_NO": "PASSPORT",
}


def entity_type(name: str) -> str:
    """The canonical type for a user-written name; ValueError naming the known ones."""
    key = name.strip().upper().replace("-", "_").replace(" ", "_")
    key = ALIASES.get(key, key)
    if key not in PRIORITY:
        raise ValueError(f"unknown PII entity type {name!r} (known: {', '.join(ENTITY_TYPES)})")
    return key


class Finding(NamedTuple):
    """One detected value: offsets into the text it was found in, and its canonical form
    (digits only for numbers, lower case for e-mail), which is what placeholders and audit
    hashes are keyed on. A named tuple: immutable, and made a few times faster than a frozen
    dataclass (a log holds a finding on every line)."""

    type: str
    start: int
    end: int
    value: str
    kind: str = ""  # a finer label, e.g. the credential family of a SECRET


# A Finding from its five fields in one tuple, made in C (see new_span in verdict): for the
# detectors that report one per line of a log.
new_finding = partial(tuple.__new__, Finding)


class Occupied:
    """The character positions some spans cover, one byte each, so whether a span overlaps (or
    lies wholly inside) them costs a C search over its own length, however many spans there
    are: a text full of e-mail addresses must not make each new one compare with all the others.
    Spans are non-empty (every detector's match has at least one character)."""

    def __init__(self, size: int, spans: Iterable[tuple[int, int]] = ()) -> None:
        self._size = size
        mask = None  # made on the first span: most texts have none
        for start, end in spans:  # add() without a call per span: a log has one on every line
            if mask is None:
                mask = bytearray(size)
            mask[start:end] = b"\x01" * (end - start)
        self._mask: bytearray | None = mask

    def add(self, start: int, end: int) -> None:
        if self._mask is None:
            self._mask = bytearray(self._size)
        self._mask[start:end] = b"\x01" * (end - start)

    def overlaps(self, start: int, end: int) -> bool:
        return self._mask is not None and self._mask.find(1, start, end) != -1

    def free(self, places: Iterable[int]) -> list[int]:
        """Those of ``places`` no span covers."""
        mask = self._mask
        return list(places) if mask is None else [at for at in places if not mask[at]]

    def end_before(self, start: int, lo: int) -> int:
        """Just past the last covered position in ``[lo, start)``, or ``lo`` when none is."""
        return lo if self._mask is None else self._mask.rfind(1, lo, start) + 1 or lo

    def covers(self, start: int, end: int) -> bool:
        return self._mask is not None and self._mask.find(0, start, end) == -1
