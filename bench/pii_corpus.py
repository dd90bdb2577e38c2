"""A labelled PII corpus from a seeded generator (Faker, several locales), with hard negatives.

Every sample is a short passage: filler sentences around one templated sentence that holds
either one entity (its span is the label) or a look-alike that is not PII: order ids, tracking
numbers, Luhn-invalid card-like numbers, version strings, dates, ISBNs, hex hashes, UUIDs,
prices, log timestamps, coordinates. :func:`mixed_corpus` puts two entities of different types
(or a look-alike and then an entity) in one sentence, each after its own label, in either
order. Phone numbers are kept only when libphonenumber calls
them valid for the locale's region (Faker draws random digits, many of which no country
assigns), so the label means "a real phone number".
"""

from __future__ import annotations

import base64
import json
import random
import string
from dataclasses import dataclass

import phonenumbers
from faker import Faker

from gatewise.guardrails.validators import known_card_prefix

LOCALES = {"en_US": "US", "en_GB": "GB", "de_DE": "DE", "fr_FR": "FR", "it_IT": "IT",
           "es_ES": "ES", "nl_NL": "NL", "pt_BR": "BR", "en_IN": "IN", "en_AU": "AU"}
STRUCTURED = ("EMAIL", "PHONE", "CREDIT_CARD", "IBAN", "US_SSN", "IP_ADDRESS")
TYPES = (*STRUCTURED, "SECRET")
CARD_TYPES = ("visa16", "visa13", "visa19", "mastercard", "amex", "discover", "jcb16", "diners")

TEMPLATES = {
    "EMAIL": ["Contact me at {v}.", "Send the report to {v} by Friday.", "{v} is my work address.",
              "Please cc {v} on the thread."],
    "PHONE": ["Call me on {v}.", "My phone number is {v}.", "You can reach the office at {v} tomorrow.",
              "Tel: {v}", "Mobile: {v} (after 6pm)."],
    "CREDIT_CARD": ["My card is {v}, expiry 09/27.", "Charge {v} please.", "card number: {v}",
                    "Use the {v} card for the hotel."],
    "IBAN": ["Wire it to IBAN {v}.", "Account {v} at my bank.", "Refund to {v} please."],
    "US_SSN": ["SSN: {v}", "My social security number is {v}.", "The applicant's SSN is {v} per the form."],
    "IP_ADDRESS": ["The server at {v} is down.", "Allow {v} in the firewall.",
                   "Requests came from {v} overnight."],
    "SECRET": ["export API_KEY={v}", "token: {v}", "Use {v} to log in to the console.",
               "My key is {v} - keep it safe."],
}
# How a sentence of several values names each one ("SSN 536-22-8714 and phone (415) 555-0132").
MIXED_LABELS = {"EMAIL": "email", "PHONE": "phone", "CREDIT_CARD": "card", "IBAN": "IBAN",
                "US_SSN": "SSN", "IP_ADDRESS": "host", "SECRET": "token"}
MIXED_NEGATIVE_LABELS = ("order", "ticket", "ref", "invoice")
MIXED_JOINS = (" and ", ", ", "; ", " ")
NEGATIVE_TEMPLATES = ["Order {v} has shipped.", "Reference: {v}", "See item {v} in the list.",
                      "The value {v} was logged.", "Ticket {v} is closed."]


@dataclass(frozen=True)
class Sample:
    text: str
    labels: tuple[tuple[str, int, int], ...]  # (type, start, end)


def _group(digits: str, rnd: random.Random) -> str:
    styles = ["plain", "space4", "dash4", *(["amex"] if len(digits) == 15 else [])]
    style = rnd.choice(styles)
    if style == "plain":
        return digits
    if style == "amex":
        return f"{digits[:4]} {digits[4:10]} {digits[10:]}"
    sep = " " if style == "space4" else "-"
    return sep.join(digits[i:i + 4] for i in range(0, len(digits), 4))


def _phone(fake: Faker, region: str) -> str:
    for _ in range(200):
        candidate = fake.phone_number()
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number) and "x" not in candidate.lower():
            return candidate
    example = phonenumbers.example_number(region)
    return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _secret(rnd: random.Random) -> str:
    alnum = string.ascii_letters + string.digits
    pick = lambda n, chars=alnum: "".join(rnd.choice(chars) for _ in range(n))  # noqa: E731
    kind = rnd.randrange(8)
    if kind == 0:
        return "AKIA" + pick(16, string.ascii_uppercase + string.digits)
    if kind == 1:
        return rnd.choice(["ghp_", "gho_", "ghs_"]) + pick(36)
    if kind == 2:
        return "glpat-" + pick(20)
    if kind == 3:
        return f"xoxb-{pick(11, string.digits)}-{pick(12, string.digits)}-{pick(24)}"
    if kind == 4:
        return "sk-or-v1-" + pick(64, "0123456789abcdef")
    if kind == 5:
        return "sk-ant-api03-" + pick(93, alnum + "-_")
    if kind == 6:
        header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        payload = _b64url(json.dumps({"sub": pick(8, string.digits), "name": "x"}).encode())
        return f"{header}.{payload}.{pick(43, alnum + '-_')}"
    return f"postgres://app:{pick(14)}@db{pick(3, string.digits)}.example.net:5432/prod"


def _secret_span(value: str) -> tuple[int, int]:
    """The labelled part: the password alone inside a URL."""
    if value.startswith("postgres://"):
        start = value.index(":", 11) + 1
        return start, value.index("@")
    return 0, len(value)


def _entity(kind: str, fake: Faker, region: str, rnd: random.Random) -> tuple[str, tuple[int, int]]:
    if kind == "EMAIL":
        value = fake.email()
    elif kind == "PHONE":
        value = _phone(fake, region)
    elif kind == "CREDIT_CARD":
        value = _group(_card(fake, rnd), rnd)
    elif kind == "IBAN":
        iban = fake.iban()
        value = iban if rnd.random() < 0.5 else " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))
    elif kind == "US_SSN":
        value = fake.ssn()
    elif kind == "IP_ADDRESS":
        value = rnd.choice([fake.ipv4_public(), fake.ipv4_private(), fake.ipv6()])
    else:
        value = _secret(rnd)
        return value, _secret_span(value)
    return value, (0, len(value))


def _card(fake: Faker, rnd: random.Random) -> str:
    """A Faker card number whose issuer prefix exists (Faker draws JCB numbers from any 35xx,
    though JCB issues only 3528-3589)."""
    while True:
        digits = fake.credit_card_number(rnd.choice(CARD_TYPES))
        if known_card_prefix(digits):
            return digits


def _luhn_invalid(fake: Faker, rnd: random.Random) -> str:
    digits = _card(fake, rnd)
    last = (int(digits[-1]) + rnd.randint(1, 9)) % 10
    return _group(digits[:-1] + str(last), rnd)


def _negative(fake: Faker, rnd: random.Random) -> str:
    kind = rnd.randrange(14)
    digits = lambda n: "".join(rnd.choice(string.digits) for _ in range(n))  # noqa: E731
    if kind == 0:
        return f"{digits(3)}-{digits(7)}-{digits(7)}"  # marketplace order id
    if kind == 1:
        return "1Z" + "".join(rnd.choice(string.ascii_uppercase + string.digits) for _ in range(16))
    if kind == 2:
        return " ".join(["9400", digits(4), digits(4), digits(4), digits(4), digits(2)])  # USPS
    if kind == 3:
        return _luhn_invalid(fake, rnd)
    if kind == 4:
        return rnd.choice([f"v{rnd.randint(0, 9)}.{rnd.randint(0, 30)}.{rnd.randint(0, 99)}",
                           f"version {rnd.randint(1, 9)}.{rnd.randint(0, 9)}.{rnd.randint(0, 9)}."
                           f"{rnd.randint(0, 9)}"])
    if kind == 5:
        return rnd.choice([fake.date(), fake.date("%d.%m.%Y"), fake.date("%m/%d/%Y"), fake.iso8601()])
    if kind == 6:
        return rnd.choice([fake.isbn13(), fake.isbn10()])
    if kind == 7:
        return rnd.choice([fake.sha256(), fake.sha1(), fake.md5()])
    if kind == 8:
        return fake.uuid4()
    if kind == 9:
        return f"${rnd.randint(1, 99)},{digits(3)}.{digits(2)}"
    if kind == 10:
        return f"INV-{rnd.randint(2019, 2026)}-{digits(6)}"
    if kind == 11:  # a log line's timestamp
        return f"{fake.date()} {rnd.randint(0, 23):02d}:{rnd.randint(0, 59):02d}:{rnd.randint(0, 59):02d}"
    if kind == 12:
        return f"{fake.latitude():.6f}, {fake.longitude():.6f}"
    return digits(12)  # a FedEx-style tracking number


def _fakers(seed: int) -> dict[str, Faker]:
    fakers = {}
    for i, locale in enumerate(LOCALES):
        fake = Faker(locale)
        fake.seed_instance(seed + i)
        fakers[locale] = fake
    return fakers


def _locale(kind: str | None, rnd: random.Random) -> str:
    """A locale for ``kind``: SSNs are American, IBANs from countries that issue them."""
    locale = "en_US" if kind == "US_SSN" else rnd.choice(list(LOCALES))
    if kind == "IBAN":
        locale = rnd.choice(["en_GB", "de_DE", "fr_FR", "it_IT", "es_ES", "nl_NL", "pt_BR"])
    return locale


def corpus(per_type: int = 300, negatives: int = 1200, seed: int = 7) -> list[Sample]:
    """``per_type`` samples of each type and ``negatives`` hard negatives, shuffled."""
    rnd = random.Random(seed)
    fakers = _fakers(seed)
    plan = [t for t in TYPES for _ in range(per_type)] + [None] * negatives
    rnd.shuffle(plan)
    samples = []
    for kind in plan:
        locale = _locale(kind, rnd)
        fake = fakers[locale]
        before, after = fake.sentence(nb_words=10), fake.sentence(nb_words=8)
        if kind is None:
            template = rnd.choice(NEGATIVE_TEMPLATES)
            value, span, labels = _negative(fake, rnd), None, ()
        else:
            template = rnd.choice(TEMPLATES[kind])
            value, span = _entity(kind, fake, LOCALES[locale], rnd)
        head = f"{before} " + template[: template.index("{v}")]
        text = head + value + template[template.index("{v}") + 3:] + f" {after}"
        if span is not None:
            labels = ((kind, len(head) + span[0], len(head) + span[1]),)
        samples.append(Sample(text, labels))
    return samples


def mixed_corpus(count: int = 600, seed: int = 7) -> list[Sample]:
    """``count`` passages whose middle sentence names two values after their labels: two
    entities of different types, or (one in four) a look-alike such as an order id and then an
    entity. Only the entities are labelled."""
    rnd = random.Random(seed)
    fakers = _fakers(seed)
    samples = []
    for _ in range(count):
        first, second = rnd.sample(TYPES, 2)
        fake = fakers[rnd.choice(list(LOCALES))]
        head = f"{fake.sentence(nb_words=8)} "
        labels = []
        if rnd.random() < 0.25:
            head += f"{rnd.choice(MIXED_NEGATIVE_LABELS)} {_negative(fake, rnd)}"
        else:
            head += f"{MIXED_LABELS[first]} "
            value, span = _labelled_entity(first, fakers, rnd)
            labels.append((first, len(head) + span[0], len(head) + span[1]))
            head += value
        head += f"{rnd.choice(MIXED_JOINS)}{MIXED_LABELS[second]} "
        value, span = _labelled_entity(second, fakers, rnd)
        labels.append((second, len(head) + span[0], len(head) + span[1]))
        samples.append(Sample(f"{head}{value} please. {fake.sentence(nb_words=6)}", tuple(labels)))
    return samples


def _labelled_entity(kind: str, fakers: dict[str, Faker], rnd: random.Random) -> tuple[str, tuple[int, int]]:
    locale = _locale(kind, rnd)
    return _entity(kind, fakers[locale], LOCALES[locale], rnd)
