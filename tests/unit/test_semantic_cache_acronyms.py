"""An acronym and the words it stands for are one thing to the semantic cache's gates; an
acronym's expansion never hides a difference the gates would otherwise see."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatewise.cache.acronyms import MAX_ACRONYMS, MAX_GROWTH_CHARS, spell_out
from gatewise.cache.embedders import LocalEmbedder
from gatewise.cache.gates import analyse, analyse_pair, compare
from gatewise.cache.semantic import Scope, SemanticCache


@pytest.mark.parametrize(("text", "other", "expected"), [
    ("How can I disable 2FA?", "How do I turn off two-factor authentication?",
     "How can I disable two-factor authentication?"),
    ("Contact the DWP", "How do I contact the Department for Work and Pensions?",
     "Contact the Department for Work and Pensions"),
    ("Set up 2SV", "Set up 2-step verification", "Set up 2-step verification"),
    ("What's the APR?", "What's the annual percentage rate?", "What's the annual percentage rate?"),
    # a common two-letter acronym, by its own words only
    ("How do I book an appointment with my GP?",
     "How can I make an appointment with my general practitioner?",
     "How do I book an appointment with my general practitioner?"),
    ("Who do I ask in HR?", "Who should I ask in Human Resources?", "Who do I ask in Human Resources?"),
    ("How do I cancel my DD?", "How do I cancel my direct debit?", "How do I cancel my direct debit?"),
    # any other two-letter one by a name, its words capitalised
    ("Where can I find my NI number?", "How do I find my National Insurance number?",
     "Where can I find my National Insurance number?"),
    ("Flights from LA to Boston?", "Is there a flight from Los Angeles to Boston?",
     "Flights from Los Angeles to Boston?"),
    # the other side's text is copied as written, backslashes and all
    ("Is 2FA on?", r"Is two\factor authentication on?", r"Is two\factor authentication on?"),
])
def test_an_acronym_is_spelt_out_as_the_other_side_writes_it(text: str, other: str, expected: str) -> None:
    assert spell_out(text, other) == expected


@pytest.mark.parametrize(("text", "other"), [
    ("Is the NHS free?", "Is the NHS free for visitors?"),  # written alike on both sides
    ("Is the PC covered?", "Is the phone case covered?"),  # two letters match too much by chance
    ("Can my GP help?", "Can my good pharmacist help?"),  # a listed one, but not its words
    ("Is the UN open?", "Is the university nursery open?"),  # not a listed one, nor a name
    ("Is the UN open?", "University Nursery: is it open?"),  # capitalised where a sentence begins
    ("Is the ATM open?", "Where is the cash machine?"),  # no run of words spells it
    ("What does VAT mean?", "What does the value of tax mean?"),  # "of" may not start a letter
    ("Is my ISA taxed?", "Is my ISA or savings account taxed?"),
    ("Can I disable 3FA?", "Can I disable two-factor authentication?"),  # a digit is its own number
    ("Is 4WD extra?", "Is five-wheel drive extra?"),
    ("no acronym here", "nothing to spell"),
])
def test_text_stays_as_written_without_a_spelt_out_match(text: str, other: str) -> None:
    assert spell_out(text, other) == text


def test_the_gates_read_the_spelt_out_words() -> None:
    cached, new = "What is the annual percentage rate on the loan?", "What is the APR on the loan?"
    # Read apart, "APR" is a code that the other side lacks.
    assert compare(analyse(cached), analyse(new)).refused == "value"
    for a, b in ((cached, new), (new, cached)):
        assert compare(*analyse_pair(a, b)).refused is None


@pytest.mark.parametrize(("gate", "cached", "new"), [
    ("polarity", "How do I enable two-factor authentication?", "How can I disable 2FA?"),
    ("value", "What's the annual percentage rate on the 3-year loan?", "What's the APR on the 5-year loan?"),
    ("negation", "Is VAT charged on the annual fee?", "Is value added tax not charged on the annual fee?"),
    ("name", "How do I claim from the DWP?", "How do I claim from the Department for Education?"),
])
def test_a_spelt_out_acronym_still_meets_every_gate(gate: str, cached: str, new: str) -> None:
    for a, b in ((cached, new), (new, cached)):
        assert compare(*analyse_pair(a, b)).refused == gate


async def test_an_acronym_hits_its_spelt_out_question_through_the_cache(tmp_path: Path) -> None:
    cache = SemanticCache.at(tmp_path / "semantic.sqlite3", LocalEmbedder(), threshold=0.75, ttl_s=3600,
                             max_bytes=10**8)
    try:
        scope = Scope("acronyms", ("m",))
        await cache.store(scope, "How do I turn off two-factor authentication?", {"answer": "Settings"})
        found = await cache.lookup(scope, "How can I disable 2FA?")
        assert found.hit is not None and found.hit.value == {"answer": "Settings"}
        trap = await cache.lookup(scope, "How can I enable 2FA?")
        assert trap.hit is None
    finally:
        await cache.close()


def test_only_a_few_acronyms_are_spelt_out_per_question() -> None:
    text = " ".join(f"X{letter}Z" for letter in "ABCDEFGHIJKL")
    other = " ".join(f"x {letter} z" for letter in "abcdefghijkl").replace("x ", "xylophone ")
    spelt = spell_out(text, other)
    assert sum(word.isupper() for word in spelt.split()) == len("ABCDEFGHIJKL") - MAX_ACRONYMS


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("AB2FZ abf-\\\\.'?&\u00e9"), max_size=200),
       st.text(alphabet=st.sampled_from("AB2FZ abf-\\\\.'?&\u00e9"), max_size=200))
def test_hostile_text_is_spelt_out_without_error_and_within_bounds(text: str, other: str) -> None:
    assert len(spell_out(text, other)) <= len(text) + MAX_GROWTH_CHARS
    analyse_pair(text, other)


def test_a_hostile_pair_cannot_make_a_large_text() -> None:
    # words far apart are no spelling-out, and many copies of an acronym grow the text so far only
    assert spell_out("Is XYZ on?", "x" + "!" * 500 + " y z") == "Is XYZ on?"
    text = " ".join(["XYZ"] * 250)
    assert spell_out(text, "xylophone yak zebra") == text
    assert spell_out("XYZ and XYZ", "xylophone yak zebra") == \
        "xylophone yak zebra and xylophone yak zebra"
