"""Entity types the PII detectors report, the names users may write for them, and a finding."""

from __future__ import annotations

from dataclasses import dataclass

# In priority order: where two findings overlap, the earlier type wins (an IBAN, checked over
# its whole length, holds digit groups that can pass for a card number).
ENTITY_TYPES = ("SECRET", "IBAN", "CREDIT_CARD", "US_SSN", "EMAIL", "IP_ADDRESS", "PHONE")
PRIORITY = {name: i for i, name in enumerate(ENTITY_TYPES)}

# Other names for the same types (Presidio's and Portkey's among them).
ALIASES = {
    "EMAIL_ADDRESS": "EMAIL", "PHONE_NUMBER": "PHONE", "PHONE_NUMBERS": "PHONE",
    "IBAN_CODE": "IBAN", "SSN": "US_SSN", "IP": "IP_ADDRESS", "CARD": "CREDIT_CARD",
    "PAYMENT_CARD": "CREDIT_CARD", "CREDENTIALS": "SECRET", "CREDENTIAL": "SECRET",
    "API_KEY": "SECRET", "SECRETS": "SECRET",
}


def entity_type(name: str) -> str:
    """The canonical type for a user-written name; ValueError naming the known ones."""
    key = name.strip().upper().replace("-", "_").replace(" ", "_")
    key = ALIASES.get(key, key)
    if key not in PRIORITY:
        raise ValueError(f"unknown PII entity type {name!r} (known: {', '.join(ENTITY_TYPES)})")
    return key


@dataclass(frozen=True, slots=True)
class Finding:
    """One detected value: offsets into the text it was found in, and its canonical form
    (digits only for numbers, lower case for e-mail), which is what placeholders and audit
    hashes are keyed on."""

    type: str
    start: int
    end: int
    value: str
    kind: str = ""  # a finer label, e.g. the credential family of a SECRET
