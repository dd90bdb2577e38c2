"""The detectors' fast paths against the rules spelled out plainly: seeded random digit runs,
separators and generated logs, JSON and code must give the same answers both ways."""

from __future__ import annotations

import random
import re
import string
from collections.abc import Iterator

from gatewise.guardrails import pii, validators
from gatewise.guardrails.candidates import candidates, matches_at
from gatewise.guardrails.normalize import normalise

SEPARATORS = [" ", " ", "-", "-", ".", "  ", "/", "_"]
CARDS = ["4111111111111111", "4012888888881881", "378282246310005", "6011111111111117", "5018000000009",
         "5555555555554444", "3530111333300000", "6200000000000005", "4111111111111111111"]


def _luhn_spelled_out(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        value = int(ch) * (2 if i % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def test_luhn_agrees_with_the_digit_by_digit_sum() -> None:
    rnd = random.Random(61)
    checked = 0
    for _ in range(20000):
        digits = "".join(rnd.choice(string.digits) for _ in range(rnd.randint(1, 24)))
        checked += _luhn_spelled_out(digits)
        assert validators.luhn(digits) == _luhn_spelled_out(digits), digits
    assert checked > 1000


def _cards_spelled_out(match: re.Match[str]) -> Iterator[tuple[int, int, str]]:
    """The card rules of :func:`pii._cards` with every window listed before any is tried."""
    parts = re.findall(r"\d+|[ .\-]", match.group(0))
    groups, seps = parts[0::2], parts[1::2]
    last = len(groups) - 1
    windows = [(0, last), *((0, j) for j in range(last - 1, -1, -1)),
               *((i, last) for i in range(1, last + 1))]
    windows += [(i, i) for i in range(1, last) if len(groups[i]) >= 12]
    for i, j in windows:
        digits = "".join(groups[i:j + 1])
        if len(digits) not in range(12, 20) or len(set(seps[i:j])) > 1:
            continue
        inside = seps[i] if j > i else None
        if inside is not None and any(
                edge == inside and sum(map(len, rest)) > 2
                for edge, rest in ((seps[i - 1] if i else None, groups[:i]),
                                   (seps[j] if j < last else None, groups[j + 1:]))):
            continue
        sizes = [len(g) for g in groups[i:j + 1]]
        if not (len(sizes) == 1 or (all(s == 4 for s in sizes[:-1]) and sizes[-1] <= 4)
                or sizes in ([4, 6, 5], [4, 6, 4]) or set(sizes) == {1}):
            continue
        if validators.known_card_prefix(digits) and len(set(digits)) > 1 and _luhn_spelled_out(digits):
            start = match.start() + sum(map(len, parts[:2 * i]))
            yield start, start + sum(map(len, parts[2 * i:2 * j + 1])), digits
            return


def _digit_runs(rnd: random.Random) -> str:
    """Digit groups of card-like and odd sizes, some of them real cards split up, joined by
    mixed separators."""
    pieces = []
    for _ in range(rnd.randint(1, 8)):
        if rnd.random() < 0.3:
            card = rnd.choice(CARDS)
            size = rnd.choice((1, 4, 4, 16))
            pieces.append(rnd.choice(SEPARATORS).join(card[k:k + size] for k in range(0, len(card), size)))
        else:
            size = rnd.choice((1, 2, 3, 4, 4, 6, 5, 12))
            pieces.append("".join(rnd.choice(string.digits) for _ in range(size)))
        pieces.append(rnd.choice(SEPARATORS))
    return "".join(pieces)


def test_cards_in_digit_runs_are_the_windows_the_rules_accept() -> None:
    rnd = random.Random(62)
    cards = 0
    for _ in range(6000):
        text = _digit_runs(rnd)
        for match in pii._DIGIT_RUN.finditer(text):
            got = [(f.start, f.end, f.value) for f in pii._cards(match)]
            assert got == list(_cards_spelled_out(match)), text
            cards += len(got)
    assert cards > 1000


def _digits_and_punctuation(rnd: random.Random) -> str:
    pieces = [*"0123456789" * 4, *" .-/()+:_=#x", "536", "22", "8833", "536-22-", "10.", "\n", "a", "\u0663"]
    return "".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 80)))


def test_ssns_are_found_from_the_candidate_places_alone() -> None:
    """Only numbers shaped like an SSN are tried: what the pattern finds anywhere in the text."""
    rnd = random.Random(63)
    matched = 0
    for _ in range(8000):
        view = normalise(_digits_and_punctuation(rnd))
        expected = [m.span() for m in pii._SSN.finditer(view.text)]
        assert [m.span() for m in matches_at(pii._SSN, view.text, candidates(view).ssn_starts())] == expected
        matched += len(expected)
    assert matched > 500
