"""The detectors' fast paths against the rules spelled out plainly: seeded random digit runs,
separators and generated logs, JSON and code must give the same answers both ways."""

from __future__ import annotations

import random
import re
import string
from collections.abc import Iterator

from gatewise.guardrails import candidates as cand
from gatewise.guardrails import phones, pii, validators
from gatewise.guardrails.candidates import candidates, label_start, matches_at
from gatewise.guardrails.normalize import ascii_bytes, normalise
from gatewise.guardrails.redaction import EntityAction, Placeholders, check_pii
from gatewise.guardrails.texts import TextRef, split
from gatewise.guardrails.verdict import Span
from repo_paths import load_bench

BENCH = load_bench("guardrails")  # its generated logs, JSON payloads and code

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


SHAPE_PIECES = [*b"0000000SS..--/jjj wxx", b"S0000", b"S000", b"jjx", b"jx", b"0000", b"-00-", b"."]


def _shapes(rnd: random.Random) -> bytes:
    """Marked shapes: digits '0' (a group's first 'S'), joins, a possible extension 'x'."""
    pieces = [rnd.choice(SHAPE_PIECES) for _ in range(rnd.randint(1, 40))]
    return b"".join(bytes([piece]) if isinstance(piece, int) else piece for piece in pieces)


def _marked(text: str) -> bytes:
    marked = b" " + ascii_bytes(normalise(text).text).translate(cand._SHAPE_CLASS)
    for plain, mark in cand._GROUP_STARTS:
        marked = marked.replace(plain, mark)
    return marked


# A long number as repeated groups count it: the shapes of the long-number pattern (dates,
# amounts, coordinates are not), 7 joined digits or more, or 5 or 6 before an extension.
COUNTED = re.compile(rb"""S(?:
    (?=[0S./\-j]{6})
    (?!(?:[0S]{3}([./\-])[0S]{1,2}+\1[0S]{1,2}+(?:j[0S]{1,2}+)?
         | [0S]?+([./\-])[0S]{1,2}+\2(?:[0S]{4}|[0S]{2}) | [0S]{0,7}+\.[0S]{1,2}+ | [0S]{0,2}+\.[0S]{5,11}+)
       (?![./\-j]{0,6}+[0S]|j{0,2}x))
    (?:[./\-j]{0,6}+[0S]){6,}+
  | (?:[./\-j]{0,6}+[0S]){4,5}+j{0,2}+(?=x))""", re.VERBOSE)


def test_long_numbers_are_the_joined_digits_counted_by_repeats() -> None:
    """The long-number pattern with its fewest digits spelled out and its extension case
    tested first finds what counting joined digits with repeated groups finds."""
    rnd = random.Random(64)
    shapes = [_shapes(rnd) for _ in range(8000)]
    shapes += [_marked(BENCH.generated(kind, rnd)) for kind in BENCH.GENERATED for _ in range(30)]
    found = 0
    for shape in shapes:
        expected = [m.span() for m in COUNTED.finditer(shape)]
        assert [m.span() for m in cand._LONG_NUMBER.finditer(shape)] == expected, shape
        found += len(expected)
    assert found > 3000


def test_phone_marks_are_the_openers_near_each_long_number() -> None:
    """Each '+' and '(' from four characters before a long number up to its last character,
    once per such number, as searching around every number finds them."""
    rnd = random.Random(65)
    checked = 0
    for _ in range(6000):
        text = _digits_and_punctuation(rnd)
        raw = ascii_bytes(normalise(text).text)
        spans = [m.span() for m in cand._LONG_NUMBER.finditer(_marked(text))]
        expected = sorted(at for start, end in spans for at in range(max(0, start - 4), end - 1)
                          if raw[at:at + 1] in (b"+", b"("))
        assert cand._phone_marks(raw, spans) == expected, text
        checked += len(expected)
    assert checked > 1000


PHONE_WORDS_LISTED = re.compile(
    r"phone|tel\b|tel\.|telephone|call|mobile|cell|fax|whatsapp|sms|text me|contact|dial|"
    r"ring|reach|handy|telefon|téléphone|portable|cellulare|móvil|celular|numéro|nummer|número")


def test_phone_words_begin_where_the_listed_words_do() -> None:
    """The phone words grouped by first letter match where the plain list of words does."""
    rnd = random.Random(66)
    fragments = ["phone", "tel", "tele", "tel.", "telephone", "telefon", "téléphone", "call", "cal", "cell",
                 "cellulare", "celular", "mobile", "móvil", "fax", "whatsapp", "sms", "text me", "text",
                 "contact", "dial", "ring", "reach", "handy", "portable", "numéro", "nummer", "número",
                 "num", "p", "t", "c", "n", "e", "l", " ", ".", "5", "_", "é", "x"]
    matched = 0
    for _ in range(20000):
        text = "".join(rnd.choice(fragments) for _ in range(rnd.randint(1, 8)))
        listed = PHONE_WORDS_LISTED.search(text)
        grouped = phones._PHONE_WORDS.search(text)
        assert (grouped and grouped.start()) == (listed and listed.start()), text
        matched += listed is not None
    assert matched > 5000


def test_six_colons_are_found_as_the_repeated_group_finds_them() -> None:
    repeated = re.compile(rb":(?:[h.]{0,4}:){5}")
    rnd = random.Random(67)
    found = 0
    for _ in range(20000):
        classes = bytes(rnd.choice(b"hhh..::: ") for _ in range(rnd.randint(1, 60)))
        expected = [m.span() for m in repeated.finditer(classes)]
        assert [m.span() for m in pii._SIX_COLONS.finditer(classes)] == expected, classes
        found += len(expected)
    assert found > 1000


def test_addresses_are_those_after_no_version_word() -> None:
    """The addresses found from the dotted candidates in one loop are every valid dotted quad
    of the text that no version word labels (one before an earlier number labels that one)."""
    rnd = random.Random(68)
    pieces = ["10.0.0.1", "192.168.1.20", "256.1.1.1", "1.2.3", " ", ".", "from ", "v", "er", "e", "i", "9"]
    versions = ["version ", "ver. ", "build ", "§", "oid ", "release", "section ", "chapter", "firmware",
                "driver"]
    found = 0
    for _ in range(8000):
        view = normalise("".join(rnd.choice(versions if rnd.random() < 0.04 else pieces)
                                 for _ in range(rnd.randint(1, 14))))
        lower = view.lower
        expected = [(m.start(), m.end()) for m in pii._IPV4.finditer(view.text)
                    if not pii._VERSION_WORDS.search(
                        lower, label_start(lower, max(0, m.start() - 24), m.start()), m.start())]
        got = [(f.start, f.end) for f in pii._ipv4(view.text, lower, candidates(view).dotted)]
        assert got == expected, view.text
        found += len(expected)
    assert found > 400


def _redacted_one_at_a_time(
        refs: list[TextRef], actions: dict[str, EntityAction], placeholders: Placeholders | None,
) -> tuple[list[Span], list[str], dict[str, str]]:
    """The spans, texts and placeholders' values of :func:`check_pii`, made a finding at a
    time with each placeholder numbered as its value first appears."""
    spans: list[Span] = []
    texts: list[str] = []
    numbers: dict[str, int] = {}
    names: dict[tuple[str, str], str] = {}
    originals: dict[str, str] = {}
    for ref in refs:
        out, done = "", 0
        for finding in pii.find_pii(ref.view, actions, ("US",)):
            start, end = ref.view.span(finding.start, finding.end)
            spans.append(Span(start, end, finding.type, ref.message, ref.part))
            if actions[finding.type] != "redact":
                continue
            if placeholders is None:
                label = f"[REDACTED {finding.type}]"
            elif (finding.type, finding.value) in names:
                label = names[finding.type, finding.value]
            else:
                numbers[finding.type] = numbers.get(finding.type, 0) + 1
                label = names[finding.type, finding.value] = f"<{finding.type}_{numbers[finding.type]}>"
                originals[label] = ref.text[start:end]
            out += ref.text[done:start] + label
            done = end
        texts.append(out + ref.text[done:])
    return spans, texts, originals


def test_redaction_is_the_findings_replaced_one_at_a_time() -> None:
    """Generated logs, JSON and code, and typographic text (whose offsets map back), as one
    text or several messages, under mixed actions: the spans, the texts sent on and the
    placeholders are those of the findings taken one by one."""
    rnd = random.Random(69)
    typographic = BENCH.prompt(paragraph=BENCH.TYPOGRAPHIC)
    kinds = ["log", "json", "code"]
    found = 0
    for round_ in range(60):
        texts = [BENCH.generated(rnd.choice(kinds), rnd, rnd.randint(200, 2048)) if rnd.random() < 0.7
                 else typographic[rnd.randint(0, 200):] for _ in range(rnd.randint(1, 3))]
        texts.append(texts[0][:300])  # a value again: the same placeholder
        messages = [{"role": "user", "content": text} for text in texts]
        actions: dict[str, EntityAction] = {kind: rnd.choice(["redact", "redact", "flag", "block"])
                                            for kind in pii.ALL_TYPES if rnd.random() < 0.9}
        placeholders = Placeholders() if round_ % 4 else None
        result, sent = check_pii(split(messages), actions, ("US",), placeholders)
        spans, expected, originals = _redacted_one_at_a_time(split(messages), actions, placeholders)
        assert (result.spans, sent) == (spans, expected)
        assert (placeholders.originals if placeholders else {}) == originals
        found += len(spans)
    assert found > 500
