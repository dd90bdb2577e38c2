"""The detectors try their patterns only at candidate places (digits after a space or a
symbol, '+' and '(', long base64 runs, alternating letters and separators); a full scan must
find nothing more. Seeded random texts full of the characters those patterns care about,
compared with ``pattern.finditer`` over the whole text."""

from __future__ import annotations

import random
import re
from collections.abc import Callable

import pytest

from gatewise.guardrails import candidates as cand
from gatewise.guardrails import disguises, normalize, phones, pii
from gatewise.guardrails.candidates import CARD_DIGITS, PHONE_DIGITS, candidates, matches_at
from gatewise.guardrails.entities import Occupied
from gatewise.guardrails.normalize import WORD, View, normalise, words_of
from gatewise.guardrails.secrets import find_secrets
from gatewise.guardrails.validators import ipv4_ok

PIECES = [*"0123456789" * 3, *" .-/()+@:_=#'x*!$|", *"abcdeXYZ", "DE", "GB82", "é", "\u0130", "\u200b",
          "\uff14", "\u0663", "\n", "  ", "AKIA", "ghp_", "sk-", "eyJ", "c o n f", "c0nf1d", "aGVsbG8g",
          "(415) ", "(+44)", "+1 ", "00", "555-", "12 34 ", "4111 ", "10.0.", "536-22-", "::", ":",
          "fe80:", "2001:db8:", ":1f"]


def texts(count: int, seed: int) -> list[str]:
    rnd = random.Random(seed)
    return ["".join(rnd.choice(PIECES) for _ in range(rnd.randint(1, 60))) for _ in range(count)]


def spans(matches: object) -> list[tuple[int, int]]:
    return [m.span() for m in matches]  # type: ignore[attr-defined]


CORPUS = texts(4000, seed=12)


@pytest.mark.parametrize(("pattern", "starts"), [
    (pii._DIGIT_RUN, lambda view: candidates(view).starts(CARD_DIGITS)),
    (pii._SSN, lambda view: candidates(view).ssn_starts()),
    (pii._IPV4, lambda view: candidates(view).dotted),
    (pii._IBAN, lambda view: candidates(view).codes),
], ids=["card", "ssn", "ipv4", "iban"])
def test_number_patterns_only_begin_at_candidates(pattern: re.Pattern[str],
                                                  starts: Callable[[View], list[int]]) -> None:
    for text in CORPUS:
        view = normalise(text)
        expected = spans(pattern.finditer(view.text))
        assert spans(matches_at(pattern, view.text, starts(view))) == expected, text


def test_the_ipv4_pattern_matches_exactly_the_valid_dotted_quads() -> None:
    """Octets checked inside the pattern: the same addresses as four groups of up to three
    digits checked afterwards."""
    groups = re.compile(r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?!\w|\.\d)")
    rnd = random.Random(16)
    pieces = ["0", "1", "00", "01", "9", "10", "25", "99", "100", "249", "250", "255", "256", "300", "1000",
              ".", ".", ".", " ", "a", ":", "-", "é"]
    quads = ["".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 20))) for _ in range(5000)]
    for text in [*CORPUS, *quads]:
        view = normalise(text)
        expected = [m.span() for m in groups.finditer(view.text) if ipv4_ok(m.group(0))]
        assert spans(matches_at(pii._IPV4, view.text, candidates(view).dotted)) == expected, text


def test_possessive_date_shapes_exclude_what_backtracking_ones_would() -> None:
    """The long-number pattern with possessive digit repeats in its date, amount and
    coordinate shapes finds exactly the long numbers the backtracking form finds."""
    backtracking = re.compile(re.sub(rb"(\[0S\](?:\{\d,\d{1,2}\}|\?))\+", rb"\1",
                                     cand._LONG_NUMBER.pattern), re.VERBOSE)
    assert backtracking.pattern != cand._LONG_NUMBER.pattern
    rnd = random.Random(31)
    shapes = [bytes(rnd.choice(b"0000000SS..--/jjj wx") for _ in range(rnd.randint(1, 80)))
              for _ in range(6000)]
    for text in CORPUS:
        raw = b" " + normalize.ascii_bytes(normalise(text).text).translate(cand._SHAPE_CLASS)
        for plain, mark in cand._GROUP_STARTS:
            raw = raw.replace(plain, mark)
        shapes.append(raw)
    for shape in shapes:
        assert spans(cand._LONG_NUMBER.finditer(shape)) == spans(backtracking.finditer(shape)), shape


# Every place a phone candidate could begin, found the slow way (no long-number filter).
ANY_PHONE_START = re.compile(r"(?<![\w.\-])\d|[+(]")


def test_phone_numbers_are_found_from_long_numbers_alone() -> None:
    """Trying the phone pattern only in long numbers (7 digits, or 5 before an extension)
    finds every phone number that trying it everywhere finds: the filter skips candidates
    the phone rules would refuse anyway (too few digits, a date, an amount)."""
    regions = phones.DEFAULT_REGIONS
    for text in [*CORPUS, *texts(3000, seed=13)]:
        view = normalise(text)
        places = candidates(view)
        taken = Occupied(len(view.text))
        everywhere = [m.start() for m in ANY_PHONE_START.finditer(view.text)]
        expected = list(phones.find_phones(view.text, view.lower, regions, taken, everywhere))
        filtered = sorted(places.starts(PHONE_DIGITS) + places.phone_marks)
        assert list(phones.find_phones(view.text, view.lower, regions, taken, filtered)) == expected, text


def test_unbroken_numbers_are_passed_over_only_where_the_phone_rules_refuse_them() -> None:
    """Bare digit runs decided without the candidate pattern (no phone word before them, no
    extension after) give the same phone numbers as matching the pattern at every start."""
    rnd = random.Random(15)
    pieces = ["5551234", "4155552671", "0044207946", "12345678901234567890123", "7", " ", "  ", "x", "x12",
              " ext. 9", " extension 3", "#4", "e", "_", "é", "phone ", "tel", "tel ", "call me at ", "+",
              "+1 ", "00", "(", ")", "-", ".", "/", ":", "id ", "\n", "a", "=", "\u0663"]
    regions = phones.DEFAULT_REGIONS
    checked = 0
    for _ in range(6000):
        text = "".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 25)))
        view = normalise(text)
        places = candidates(view)
        taken = Occupied(len(view.text))
        starts = sorted(places.starts(PHONE_DIGITS) + places.phone_marks)
        checked += len(places.unbroken)
        expected = list(phones.find_phones(view.text, view.lower, regions, taken, starts))
        got = list(phones.find_phones(view.text, view.lower, regions, taken, starts, places.unbroken))
        assert got == expected, text
    assert checked > 1000


def test_unbroken_runs_are_cards_as_the_digit_run_pattern_finds_them() -> None:
    """Cards among unbroken runs, decided without the digit-run pattern, are what matching it
    at each run finds: card numbers of every length and prefix with letters, dots, dashes,
    underscores, separators and non-ASCII letters or digits around them."""
    rnd = random.Random(18)
    cards = ["4111111111111111", "4012888888881881", "378282246310005", "6011111111111117", "5018000000009",
             "561200000000", "4111111111111111111", "41111111111111111111111", "123456789012"]
    pieces = [*cards, " ", ".", "-", "_", "a", "é", "\u0663", ":", "=", "\n", "1", " 2"]
    checked = 0
    for _ in range(5000):
        view = normalise("".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 8))))
        unbroken = candidates(view).unbroken
        for start, digits in unbroken.items():
            checked += digits >= CARD_DIGITS
            expected = [(f.start, f.end, f.value) for m in matches_at(pii._DIGIT_RUN, view.text, [start])
                        for f in pii._cards(m)] if digits >= CARD_DIGITS else []
            got = [(f.start, f.end, f.value) for f in pii.unbroken_cards(view.text, {start: digits})]
            assert got == expected, view.text
    assert checked > 1000


def test_ipv6_addresses_are_found_from_runs_with_enough_colons() -> None:
    """Only runs holding '::' or six colons are tried: as many addresses as trying every colon."""
    for text in [*CORPUS, "2001:db8:85a3:0:0:8a2e:370:7334", "::ffff:192.0.2.1 fe80::1", "12:31:07 ::",
                 "a::b::c", "1:2:3:4:5:6:7:8:9", "x 0:0:0:0:0:ffff:10.0.0.1."]:
        view = normalise(text)
        expected = [(m.start(), m.group(0).rstrip(".:")) for m in pii._IPV6.finditer(view.text)
                    if pii.ipv6_ok(m.group(0).rstrip(".:"))]
        assert [(f.start, view.text[f.start:f.end]) for f in pii._ipv6(view.text)] == expected, text


def test_blobs_are_whole_long_runs() -> None:
    rnd = random.Random(3)
    alphabet = [*"ABCxyz0189+/_-", "=", " ", ".", "é"]
    for _ in range(3000):
        text = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(10, 80)))
        view = normalise(text)
        found = [m.span() for start, _ in candidates(view).runs if (m := pii._BLOB.match(view.text, start))]
        assert found == spans(pii._BLOB.finditer(view.text)), text


def test_spaced_letters_are_looked_for_where_classes_alternate() -> None:
    rnd = random.Random(4)
    alphabet = [*"abc019", *" .-_*", "x", "é", "!"]
    for _ in range(3000):
        lower = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(5, 40)))
        starts = disguises.spaced_starts(normalize.ascii_bytes(lower))
        expected = spans(disguises.SPACED.finditer(lower))
        assert spans(matches_at(disguises.SPACED, lower, starts)) == expected, lower


def test_sparse_folding_reads_and_maps_back_like_folding_every_character() -> None:
    """A text with a few non-ASCII characters has just those folded (one by one, where C
    searches find them), one with many is folded in one pass; either way the view and its way
    back are what folding every character gives."""
    rnd = random.Random(8)
    alphabet = [*"ab1 ?.", "?", "\u2019", "é", "\u200b", "\uff41", "\u0430", "\ufb01", "\u2014",
                "\U000e0061", "e\u0301"]
    for _ in range(3000):
        share = rnd.choice((0.03, 0.5))  # a few (folded one by one) or many (all in one pass)
        pieces = [rnd.choice(alphabet) if rnd.random() < share else rnd.choice("abc 12.?")
                  for _ in range(rnd.randint(1, 200))]
        text = "".join(pieces)
        view = normalise(text)
        assert view.text == text.translate(normalize._FOLDING), text
        folds = [normalize._FOLDING[ord(ch)] for ch in text]  # each original character's piece
        origin = [i for i, piece in enumerate(folds) for _ in piece]
        for start in range(len(view.text)):
            assert view.origin(start) == origin[start], (text, start)
        assert view.tags == any(0xE0020 <= ord(ch) <= 0xE007E for ch in text)


def test_words_of_splits_like_the_word_pattern() -> None:
    for text in [*CORPUS, "yesterday's rock'n'roll 'quoted' ab'cd1 it''s '", "o'", "'a"]:
        lower = normalise(text).lower
        assert words_of(lower) == WORD.findall(lower), text


@pytest.mark.parametrize("secret", [
    "AKIAIOSFODNN7EXAMPLE", "ghp_" + "Zq8" * 12, "glpat-" + "x1Y" * 7, "sk-proj-" + "a1B2c3D4e5" * 3,
    "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc", "AIza" + "SyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
    "hf_" + "aBcD1234" * 4, "npm_" + "a1B2c3" * 6, "pypi-AgE" + "IcHlwaS5vcmc" * 5,
])
def test_credentials_that_need_a_long_run_are_found_inside_one(secret: str) -> None:
    """Families skipped in text without a long base64 run are never shorter than one."""
    text = f"the key: {secret}."
    view = normalise(text)
    (start, end), = candidates(view).runs
    assert [(f.start, f.end) for f in find_secrets(text, long_runs=True)] == [(9, 9 + len(secret))]
    assert start <= 9 and 9 + len(secret) <= end


def test_an_aws_secret_value_is_a_long_run() -> None:
    value = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    text = f"aws_secret_access_key = {value}"
    view = normalise(text)
    assert [text[f.start:f.end] for f in find_secrets(text, long_runs=True)] == [value]
    assert any(text[start:end] == value for start, end in candidates(view).runs)


def test_occupied_answers_like_a_comparison_with_every_span() -> None:
    rnd = random.Random(6)
    for _ in range(500):
        spans = [(s, s + rnd.randint(1, 6)) for s in rnd.sample(range(40), rnd.randint(0, 6))]
        taken = Occupied(50, spans)
        assert taken.free(range(50)) == [at for at in range(50) if not taken.overlaps(at, at + 1)]
        for start in range(45):
            for end in range(start + 1, min(start + 8, 50)):
                assert taken.overlaps(start, end) == any(s < end and start < e for s, e in spans)
                inside = all(any(s <= i < e for s, e in spans) for i in range(start, end))
                assert taken.covers(start, end) == inside
