"""PII detectors with validation: positives, hard negatives, evasion, offsets, redaction."""

from __future__ import annotations

import base64
import ipaddress
import random
import string
import sys

import phonenumbers
import pytest

from gatewise.guardrails import pii, validators
from gatewise.guardrails.candidates import label_start
from gatewise.guardrails.entities import ENTITY_TYPES
from gatewise.guardrails.normalize import normalise
from gatewise.guardrails.pii import find_pii
from gatewise.guardrails.redaction import Placeholders, check_pii
from gatewise.guardrails.texts import split
from gatewise.guardrails.validators import IBAN_LENGTHS, iban_ok, ipv4_ok, is_card, luhn, ssn_ok
from repo_paths import BENCH

ALL = dict.fromkeys(ENTITY_TYPES, "redact")
GHP = "ghp_" + "Zq8" * 12  # 36 characters after the prefix
OR_KEY = "sk-or-v1-9f8e7d6c5b4a39281706f5e4d3c2b1a0"


def found(text: str) -> list[tuple[str, str]]:
    """(type, original text) of every finding, with offsets mapped back to ``text``."""
    view = normalise(text)
    out = []
    for f in find_pii(view):
        start, end = view.span(f.start, f.end)
        out.append((f.type, text[start:end]))
    return out


@pytest.mark.parametrize(("text", "expected"), [
    ("write to jane.doe+news@mail.example.co.uk today", ("EMAIL", "jane.doe+news@mail.example.co.uk")),
    ("call +1 (415) 555-2671 now", ("PHONE", "+1 (415) 555-2671")),
    ("phone: 020 7946 0018", ("PHONE", "020 7946 0018")),
    ("Tel. +49 30 901820", ("PHONE", "+49 30 901820")),
    ("ring me on 06 12 34 56 78", ("PHONE", "06 12 34 56 78")),
    ("card 4111 1111 1111 1111 exp 12/27", ("CREDIT_CARD", "4111 1111 1111 1111")),
    ("amex 3782-822463-10005", ("CREDIT_CARD", "3782-822463-10005")),
    ("mc 5555555555554444.", ("CREDIT_CARD", "5555555555554444")),
    ("IBAN DE89 3704 0044 0532 0130 00 please", ("IBAN", "DE89 3704 0044 0532 0130 00")),
    ("iban gb82west12345698765432", ("IBAN", "gb82west12345698765432")),
    ("my SSN is 536-22-8833", ("US_SSN", "536-22-8833")),
    ("ssn 536228833", ("US_SSN", "536228833")),
    ("host 203.0.113.7 is down", ("IP_ADDRESS", "203.0.113.7")),
    ("did you discover. The server at 14.48.155.49 is down", ("IP_ADDRESS", "14.48.155.49")),
    ("v6 2001:db8:85a3::8a2e:370:7334 up", ("IP_ADDRESS", "2001:db8:85a3::8a2e:370:7334")),
    ("key AKIAIOSFODNN7EXAMPLE", ("SECRET", "AKIAIOSFODNN7EXAMPLE")),
    (f"token {GHP}", ("SECRET", GHP)),
    ("gitlab glpat-xK3j9Qm2Lp8Rt5Vw1Yz4", ("SECRET", "glpat-xK3j9Qm2Lp8Rt5Vw1Yz4")),
    ("slack xoxb-2451-98734-Fq8Zt3Lm", ("SECRET", "xoxb-2451-98734-Fq8Zt3Lm")),
    (f"OPENROUTER={OR_KEY}", ("SECRET", OR_KEY)),
    ("sk-ant-api03-Xy7Kq2Lm9Np4Rs8Tv3Wz6Bc1Df5", ("SECRET", "sk-ant-api03-Xy7Kq2Lm9Np4Rs8Tv3Wz6Bc1Df5")),
    ("db postgres://admin:S3cretPw9@db.internal:5432/app", ("SECRET", "S3cretPw9")),
])
def test_each_detector_finds_its_entity(text: str, expected: tuple[str, str]) -> None:
    assert expected in found(text)


JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
       "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U")
PEM = ("-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n"
       "KUpRKfFLfRYC9AIKjbJTWit+CqvjWYzvQwECAwEAAQ==\n-----END RSA PRIVATE KEY-----")


SSN, PHONE, CARD_NO = "536-22-8714", "(415) 555-0132", "4111 1111 1111 1111"


@pytest.mark.parametrize(("text", "expected"), [
    (f"Reply about SSN {SSN} and phone {PHONE} please", [("US_SSN", SSN), ("PHONE", PHONE)]),
    (f"card {CARD_NO} phone {PHONE}", [("CREDIT_CARD", CARD_NO), ("PHONE", PHONE)]),
    (f"SSN {SSN}, phone +1 415-555-0132", [("US_SSN", SSN), ("PHONE", "+1 415-555-0132")]),
    (f"order {SSN} phone {PHONE}", [("US_SSN", SSN), ("PHONE", PHONE)]),
    (f"phone {PHONE} and SSN {SSN}", [("PHONE", PHONE), ("US_SSN", SSN)]),
    (f"ssn {SSN}; card {CARD_NO}; tel {PHONE}; mail a.b@example.org",
     [("US_SSN", SSN), ("CREDIT_CARD", CARD_NO), ("PHONE", PHONE), ("EMAIL", "a.b@example.org")]),
    (f"IBAN DE89 3704 0044 0532 0130 00 or call {PHONE}",
     [("IBAN", "DE89 3704 0044 0532 0130 00"), ("PHONE", PHONE)]),
    (f"order 58123377 and phone {PHONE}", [("PHONE", PHONE)]),  # the order id's label is its own
    (f"ticket 12, tel {PHONE}, host 203.0.113.7", [("PHONE", PHONE), ("IP_ADDRESS", "203.0.113.7")]),
    ("version 9.8.6.9 host 192.168.16.7", [("IP_ADDRESS", "192.168.16.7")]),
    ("It is no. Call 415-555-0176", [("PHONE", "415-555-0176")]),
    # Three groups of 3-3-4 digits are no ISBN-10, even those that pass its checksum
    ("call 212-555-0199", [("PHONE", "212-555-0199")]),
    ("Reach Jenny at 312-867-5309.", [("PHONE", "312-867-5309")]),
    ("SSN 536-22-8714 and 415-555-2671", [("US_SSN", "536-22-8714"), ("PHONE", "415-555-2671")]),
])
def test_every_value_of_a_sentence_is_found_whatever_comes_before_it(
        text: str, expected: list[tuple[str, str]]) -> None:
    """A label word ("order", "SSN", "version") names the number right after it: a phone number
    or an address later in the sentence is found all the same."""
    assert found(text) == expected


@pytest.mark.parametrize("text", [
    "order 4155550132 please",
    "SSN 536-22-8714 and order no. 415-555-0176",  # the label right before the second number counts
    "Ref. 415-555-0176 is closed",
    "tracking 9400 1000 0000 0000 0000 00",  # one number in groups: its label covers every group
    "version 1.2.3.4 of the driver",
])
def test_a_label_still_names_the_number_right_after_it(text: str) -> None:
    assert [kind for kind, _ in found(text)] in ([], ["US_SSN"])


@pytest.mark.parametrize(("text", "expected"), [
    ("My SSN is 123-45-6789", [("US_SSN", "123-45-6789")]),  # the SSA's sample, but said to be theirs
    ("social security number 666-12-3456 or 000-12-3456", [("US_SSN", "666-12-3456")]),
    ("SSN 078051120 on the form", [("US_SSN", "078051120")]),
    ("NI number AB 12 34 56 C please", [("UK_NINO", "AB 12 34 56 C")]),
    ("nino ab123456c", [("UK_NINO", "ab123456c")]),
    ("my national insurance is JG 103759 A.", [("UK_NINO", "JG 103759 A")]),
    ("DNI 12345678Z", [("ES_NIF", "12345678Z")]),
    ("dni 12345678-z", [("ES_NIF", "12345678-z")]),
    ("NIE X1234567L, pasaporte aparte", [("ES_NIF", "X1234567L")]),
    ("Y1234567X y Z7654321H", [("ES_NIF", "Y1234567X"), ("ES_NIF", "Z7654321H")]),
    ("NIE Y-1234567-X", [("ES_NIF", "Y-1234567-X")]),
    ("SSN 536-22-8714, NINO AB123456C, DNI 12345678Z, tel (415) 555-0132",
     [("US_SSN", "536-22-8714"), ("UK_NINO", "AB123456C"), ("ES_NIF", "12345678Z"),
      ("PHONE", "(415) 555-0132")]),
])
def test_national_ids_are_found(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


# ICAO 9303's own specimen: number L898902C3, born 12 August 1974, expiring 15 April 2012.
MRZ_NAMES = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<"
MRZ_DATA = "L898902C36UTO7408122F1204159ZE184226B<<<<<10"


@pytest.mark.parametrize(("text", "expected"), [
    (f"scan:\n{MRZ_NAMES}\n{MRZ_DATA}\nend", [("PASSPORT", f"{MRZ_NAMES}\n{MRZ_DATA}")]),
    (f"only the data line {MRZ_DATA}", [("PASSPORT", MRZ_DATA)]),
    ("My passport number is 533380006 and I fly Monday.", [("PASSPORT", "533380006")]),
    ("Passport No.: C01X00T47 (German)", [("PASSPORT", "C01X00T47")]),
    ("numéro de passeport 12AB34567", [("PASSPORT", "12AB34567")]),
    ("name,passport,country\nAnna,533380006,UK\nBob,E12345678,CN",
     [("PASSPORT", "533380006"), ("PASSPORT", "E12345678")]),
    ("passport 533380006, phone (415) 555-0132", [("PASSPORT", "533380006"), ("PHONE", "(415) 555-0132")]),
])
def test_passports_are_found(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize("text", [
    MRZ_DATA.replace("C36", "C35"),  # the number's check digit is wrong
    MRZ_DATA.replace("7408122", "7408123"),  # the birth date's
    MRZ_DATA.replace("1204159", "1204158"),  # the expiry's
    "Order 533380006 shipped, ref C01X00T47",  # not said to be a passport's
    "passport photo 35x45mm, fee 75.50, expires 2030-05-12",
    "my passport was issued in 2019 in Madrid",
    "Passport expiry 20300101",  # compact dates beside a passport: its expiry, its holder's birth
    "passport holder name: JOHN SMITH, born 19740812",
    "passport valid until 01052031",
])
def test_passport_negatives(text: str) -> None:
    assert found(text) == []


def test_national_id_rules() -> None:
    assert validators.nino_ok("AB", "C") and validators.nino_ok("JG", "A")
    for prefix in ("DA", "FA", "IA", "QA", "UA", "VA", "AD", "AF", "AI", "AQ", "AU", "AV", "AO",
                   "BG", "GB", "KN", "NK", "NT", "TN", "ZZ"):
        assert not validators.nino_ok(prefix, "A"), prefix
    assert not validators.nino_ok("AB", "E")
    for valid in ("12345678Z", "X1234567L"):  # the examples Spain's own forms print
        assert validators.es_nif_ok(valid)
        assert [c for c in string.ascii_uppercase if validators.es_nif_ok(valid[:-1] + c)] == [valid[-1]]
    assert not validators.es_nif_ok("00000000T") and not validators.es_nif_ok("W1234567L")
    assert not validators.es_nif_ok("X12345678Z")  # an NIE has seven digits


def test_jwt_and_pem_blocks_are_secrets() -> None:
    assert ("SECRET", JWT) in found(f"Authorization: Bearer {JWT}")
    assert ("SECRET", PEM) in found(f"key:\n{PEM}\nthanks")


@pytest.mark.parametrize("text", [
    "Order 112-4456789-1234567 shipped",
    "tracking 9400 1000 0000 0000 0000 00",
    "card-like 4111 1111 1111 1112 fails Luhn",
    "version 1.2.3.4 of the driver",
    "released 2024-03-15 and 15.03.2024",
    "ISBN 978-3-16-148410-0",
    "ISBN 0-306-40615-2 and 0-8044-2957-X",
    "sha256 3f2a9b7c1d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5061728394a5b6c7d8e",
    "invoice no. 4155552671",
    "revenue 34912.50, refunds 4155552.67",  # amounts, though some regions would dial the digits
    "ids 666-12-3456 or 000-12-3456 or 912-34-5678 or 123-00-4567 or 123-45-6789",  # never issued
    "part QQ123456C, GB 12 34 56 A, AO123456B, AB123456E, XAB123456C",  # no NI numbers
    "codes 12345678A, 00000000T, 123456789Z, W1234567L and 12345678 Z",  # no DNI or NIE
    "zip 94105-1234",
    "sk-this-is-not-a-real-key-at-all",
    "eyJub3QiOiJhIGp3dCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abc",  # header has no alg
    "DE89 3704 0044 0532 0130 01 has a bad checksum",
    "times 12:30:45 and slices a[1::2]",
    "postgres://user:password@localhost/db",  # a documented placeholder, not a secret
    "logged at 2024-05-20 08:47:22.814 by worker 9",  # a timestamp, not a US phone number
    "position 46.619488, -122.419416 and ratio 0.130136192",  # coordinates
    "See item 3716 711329 08013 in the list",  # grouped like a card, fails Luhn: not a phone
])
def test_hard_negatives_are_not_pii(text: str) -> None:
    assert found(text) == []


def test_validators() -> None:
    assert luhn("79927398713") and not luhn("79927398710")
    assert is_card("4012888888881881") and not is_card("9012888888881881")
    assert iban_ok("NL91ABNA0417164300") and not iban_ok("NL91ABNA041716430")
    assert ssn_ok("536", "22", "8833") and not ssn_ok("078", "05", "1120")


def _mod97_per_character(iban: str) -> bool:
    """The IBAN check spelled out: each character as its base-36 value, the number mod 97."""
    moved = iban[4:] + iban[:4]
    return all(ch.isascii() and ch.isalnum() for ch in moved) and \
        int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


def test_iban_check_agrees_with_converting_each_character() -> None:
    """Generated IBANs of every registered length, half with correct check digits, some with
    lower-case letters or stray characters."""
    rnd = random.Random(29)
    alphabet = string.ascii_uppercase + string.digits * 3
    for _ in range(4000):
        country = rnd.choice(sorted(IBAN_LENGTHS))
        body = "".join(rnd.choice(alphabet) for _ in range(IBAN_LENGTHS[country] - 4))
        check = 98 - int("".join(str(int(ch, 36)) for ch in body + country + "00")) % 97
        digits = f"{check:02d}" if rnd.random() < 0.5 else f"{rnd.randint(0, 99):02d}"
        iban = country + digits + body
        if rnd.random() < 0.1:
            at = rnd.randrange(4, len(iban))
            iban = iban[:at] + rnd.choice(["a", "z", "_", " ", "é", "-"]) + iban[at + 1:]
        expected = (IBAN_LENGTHS.get(iban[:2]) == len(iban) and iban[2:4].isdigit()
                    and _mod97_per_character(iban))
        assert iban_ok(iban) == expected, iban


def test_printable_share_is_counted_as_byte_by_byte() -> None:
    rnd = random.Random(43)
    for _ in range(3000):
        raw = bytes(rnd.choice([rnd.randrange(256), rnd.randrange(32, 127), 9, 10, 13])
                    for _ in range(rnd.randint(0, 60)))
        printable = sum(32 <= b < 127 or b in (9, 10, 13) for b in raw)
        expected = raw.decode("ascii", "replace") if raw and printable >= 0.95 * len(raw) else None
        assert pii._printable(raw) == expected, raw


def test_card_prefix_check_agrees_with_the_issuer_ranges() -> None:
    """Every prefix width looked up in turn answers as the issuer ranges spelled out do."""
    rnd = random.Random(53)
    for _ in range(20000):
        digits = "".join(rnd.choice(string.digits) for _ in range(rnd.randint(10, 20)))
        expected = any(len(digits) in lengths and int(first) <= int(digits[:len(first)]) <= int(last)
                       for first, last, lengths in validators._RANGES)
        assert validators.known_card_prefix(digits) == expected, digits


def test_ipv4_validation_agrees_with_ipaddress() -> None:
    rnd = random.Random(5)
    pieces = ["0", "1", "00", "01", "9", "10", "25", "99", "100", "249", "250", "255", "256", "199", "200",
              "260", "300", "007", "1000", "", "a", "١", " 1", "1\n"]
    for _ in range(5000):
        text = ".".join(rnd.choice(pieces) for _ in range(rnd.choice((3, 4, 4, 4, 5))))
        try:
            ipaddress.IPv4Address(text)
        except ValueError:
            assert not ipv4_ok(text), text
        else:
            assert ipv4_ok(text), text


def _luhn_completed(rnd: random.Random, prefix: str, length: int) -> str:
    body = prefix + "".join(rnd.choice(string.digits) for _ in range(length - len(prefix) - 1))
    return next(body + d for d in string.digits if luhn(body + d))


def test_an_unbroken_digit_run_is_a_card_exactly_when_its_digits_are() -> None:
    """Ids in JSON and logs are unbroken runs, checked as one window: every run the card rules
    accept is reported whole, and no other run is (cards with and without a known prefix,
    every length around the card lengths)."""
    rnd = random.Random(17)
    for _ in range(3000):
        length = rnd.randint(10, 21)
        prefix = rnd.choice(["4", "51", "2221", "34", "6011", "62", "3528", "5018", "9", "0", "1"])
        digits = (_luhn_completed(rnd, prefix, length) if rnd.random() < 0.6
                  else "".join(rnd.choice(string.digits) for _ in range(length)))
        text = f'{{"id": {digits}, "qty": 3}}'
        cards = [(f.start, f.end, f.value) for f in find_pii(normalise(text), ["CREDIT_CARD"])]
        start = text.index(digits)
        assert cards == ([(start, start + length, digits)] if is_card(digits) else []), text


def test_the_version_word_pre_check_never_skips_a_version_word() -> None:
    """The letter test before the search keeps no address the search alone would refuse."""
    rnd = random.Random(23)
    pieces = ["version", "release", "build", "firmware", "driver", "ver.", "section", "chapter",
              "§", "oid", "v", "er", "sion", "d", "o", " ", ".", "10", "from ", "to ", "x", "é"]
    for _ in range(20000):
        text = "".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 12))) + " 10.0.0.1"
        lower = text.lower()
        at = len(text) - len("10.0.0.1")
        label = label_start(lower, max(0, at - 24), at)
        expected = [] if pii._VERSION_WORDS.search(lower, label, at) else [(at, len(text))]
        assert [(f.start, f.end) for f in pii._ipv4(text, lower, [at])] == expected, text


def test_offsets_map_to_the_original_text() -> None:
    email, card = "ｊ\u200bｏｅ＠ｅｘａｍｐｌｅ．ｃｏｍ", "４１１１ １１１１ １１１１ １１１１"
    text = f"Zero\u200bwidth: ｍａｉｌ {email} and card {card}!"
    result, _ = check_pii(split(text), ALL, ("US",), Placeholders())
    spans = {s.label: text[s.start:s.end] for s in result.spans}
    assert spans == {"EMAIL": email, "CREDIT_CARD": card}


# Each evasion is caught; the known gaps are listed (and asserted) below.
EVASIONS = {
    "zero-width": "card 4111\u200b1111\u200c1111\u200d1111",
    "bidi controls": "mail \u202ejane@example.com\u202c",
    "homoglyph": "mail jаne@ехаmple.com",  # Cyrillic а, е, х
    "full-width": "card ４１１１１１１１１１１１１１１１",
    "arabic-indic digits": "card ٤١١١١١١١١١١١١١١١",
    "spaced digits": "card 4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1",
    "dotted digits": "card 4111.1111.1111.1111",
    "dashes": "card 4111\u20131111\u20141111\u22121111",
    "markdown code": "here:\n```\nAKIAIOSFODNN7EXAMPLE\n```",
    "inline code": "use `sk-or-v1-9f8e7d6c5b4a39281706f5e4d3c2b1a0`",
    "base64-wrapped key": "blob " + base64.b64encode(b"token=AKIAIOSFODNN7EXAMPLE").decode(),
    "url-safe base64": "blob " + base64.urlsafe_b64encode(f"x {GHP} y".encode()).decode(),
    "unicode tags": "hi " + "".join(chr(0xE0000 + ord(c)) for c in "jane@example.com"),
    "email written with words": "jane at example dot com",
    "email with bracketed marks": "jane [at] example [dot] com",
    "email with a spaced at": "sofia.rossi @ libero.it",
    "url-encoded email": "https://shop.example/?email=li.wei%40qq.com",
    "dashed iban": "DE89-3704-0044-0532-0130-00",
    "defanged ip": "C2 at 185[.]220[.]101[.]47",
}
KNOWN_GAPS = {
    "digits spelled out": "card four one one one one one one one one one one one one one one one",
    "split across messages": "card 4111 1111",  # + "1111 1111" in the next message
    "double-encoded base64": "blob " + base64.b64encode(base64.b64encode(b"AKIAIOSFODNN7EXAMPLE")).decode(),
}


@pytest.mark.parametrize("name", sorted(EVASIONS))
def test_evasion_is_caught(name: str) -> None:
    assert found(EVASIONS[name]), name


@pytest.mark.parametrize("name", sorted(KNOWN_GAPS))
def test_known_evasion_gaps(name: str) -> None:
    """Documented gaps: if one starts being caught, move it to EVASIONS."""
    assert found(KNOWN_GAPS[name]) == []


def test_redaction_is_consistent_and_restorable_across_messages() -> None:
    messages = [{"role": "system", "content": "Support bot."},
                {"role": "user", "content": "I am a.b@example.org, card 4111-1111-1111-1111."},
                {"role": "user", "content": [{"type": "text", "text": "Again: A.B@example.org"},
                                             {"type": "image_url", "image_url": {"url": "x"}}]}]
    placeholders = Placeholders()
    refs = split(messages)
    result, texts = check_pii(refs, ALL, ("US",), placeholders)
    assert texts[1] == "I am <EMAIL_1>, card <CREDIT_CARD_1>."
    assert texts[2] == "Again: <EMAIL_1>"
    assert result.entities == {"EMAIL": 2, "CREDIT_CARD": 1} and result.action == "redact"
    assert "example.org" not in result.reason and "4111" not in result.reason
    assert placeholders.originals == {"<EMAIL_1>": "a.b@example.org",
                                      "<CREDIT_CARD_1>": "4111-1111-1111-1111"}


def test_per_type_actions() -> None:
    actions = {"EMAIL": "redact", "CREDIT_CARD": "block", "PHONE": "flag"}
    result, texts = check_pii(split("a.b@example.org +1 415 555 2671 4111111111111111 536-22-8833"),
                              actions, ("US",), Placeholders())
    assert result.verdict == "block" and result.action == "block"
    assert texts[0].startswith("<EMAIL_1> +1 415 555 2671")  # phone flagged, left in place
    assert "US_SSN" not in result.entities  # not configured: not checked


def test_labelled_corpus_meets_the_precision_and_recall_targets() -> None:
    """The bench's seeded Faker corpus (another seed, smaller): P >= 0.97 and R >= 0.95 on
    every type, hard negatives included, and in sentences that name two values."""
    bench = BENCH
    sys.path.insert(0, str(bench))
    try:
        from pii_corpus import TYPES, corpus, mixed_corpus
        from pii_eval import evaluate, gatewise_predict, scores
    finally:
        sys.path.remove(str(bench))
    for samples in (corpus(per_type=40, negatives=200, seed=2024), mixed_corpus(300, seed=2024)):
        counts = evaluate(gatewise_predict, samples)
        for kind in TYPES:
            precision, recall, _ = scores(counts[kind])
            assert precision >= 0.97 and recall >= 0.95, (kind, counts[kind])


# Digit-heavy text (tables, logs, JSON, code) is searched only where a long number stands, and
# dates, timestamps and amounts are passed over; these generated texts check that nothing real
# is lost that way, and that the noise alone holds nothing.
def _luhn_complete(body: str) -> str:
    return next(body + d for d in "0123456789" if luhn(body + d))


def _iban(rnd: random.Random) -> str:
    country, bban = rnd.choice([("DE", "".join(rnd.choices(string.digits, k=18))),
                                ("NL", "ABNA" + "".join(rnd.choices(string.digits, k=10))),
                                ("FR", "".join(rnd.choices(string.digits, k=23)))])
    number = int("".join(str(int(ch, 36)) for ch in bban + country + "00"))
    return f"{country}{98 - number % 97:02d}{bban}"


def _entity(rnd: random.Random) -> tuple[str, str, str]:
    """(type, label before it, value as written)."""
    kind = rnd.choice(["CREDIT_CARD", "IBAN", "PHONE", "IP_ADDRESS", "US_SSN"])
    if kind == "CREDIT_CARD":
        prefix = rnd.choice(["4", "51", "2221", "6011"])
        digits = _luhn_complete(prefix + "".join(rnd.choices(string.digits, k=15 - len(prefix))))
        sep = rnd.choice(["", " ", "-"])
        return kind, "card", sep.join(digits[i:i + 4] for i in range(0, 16, 4)) if sep else digits
    if kind == "IBAN":
        iban = _iban(rnd)
        return kind, "iban", rnd.choice([iban, " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))])
    if kind == "PHONE":
        region = rnd.choice(["US", "GB", "DE", "FR", "NL", "AU"])
        number = phonenumbers.example_number_for_type(region, rnd.choice(
            [phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE]))
        styles = [phonenumbers.PhoneNumberFormat.INTERNATIONAL, phonenumbers.PhoneNumberFormat.E164]
        return kind, "phone", phonenumbers.format_number(number, rnd.choice(styles))
    if kind == "IP_ADDRESS":
        return kind, "host", ".".join(str(rnd.randint(1, 223)) for _ in range(4))
    area = rnd.choice([n for n in range(1, 900) if n != 666])
    return kind, "ssn", f"{area:03d}-{rnd.randint(1, 99):02d}-{rnd.randint(1, 9999):04d}"


def _noise(rnd: random.Random) -> str:
    """A few lines of one digit-heavy shape."""
    n = lambda lo, hi: rnd.randint(lo, hi)  # noqa: E731
    day = f"2024-{n(1, 12):02d}-{n(1, 28):02d}"
    shapes = [
        lambda: f"{n(1, 52)},{day},{n(100, 99999)},{n(1, 99999)}.{n(0, 99):02d},{n(0, 100)}%",
        lambda: f"{day} {n(0, 23):02d}:{n(0, 59):02d}:{n(0, 59):02d}.{n(0, 999):03d} INFO "
                f"req={n(10**5, 10**9)} took {n(1, 9999)} ms status={n(200, 504)}",
        lambda: f'{{"id": {n(10**6, 10**10)}, "price": {n(1, 99999)}.{n(0, 99):02d}, '
                f'"ts": {n(1_600_000_000, 1_800_000_000)}, "lat": {rnd.uniform(-90, 90):.6f}}}',
        lambda: f"    buf[{n(0, 4096)}] = 0x{n(0, 2**32):08x}; timeout = {n(100, 600000)}; "
                f"ratio = {rnd.random():.9f}  # line {n(1, 9999)}",
        lambda: f"{n(1, 12):02d}/{n(1, 28):02d}/{n(1990, 2030)} {n(1000, 99999)} {n(0, 999)}.{n(0, 99):02d}",
    ]
    shape = rnd.choice(shapes)
    return "\n".join(shape() for _ in range(n(2, 6)))


def test_entities_in_digit_heavy_text_are_found() -> None:
    rnd = random.Random(31)
    for _ in range(400):
        before, after = _noise(rnd), _noise(rnd)
        assert found(before + "\n" + after) == [], before + "\n" + after
        kind, label, value = _entity(rnd)
        text = f"{before}\n{label}: {value}\n{after}"
        assert (kind, value) in found(text), text
