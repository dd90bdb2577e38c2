"""Acronyms spelt out: "How can I disable 2FA?" and "How do I turn off two-factor
authentication?" name one thing, so the gates should read the same words on both sides.

An acronym on one side is replaced by the run of words on the other side whose initials spell
it (a digit by its number, in figures or in words: 2FA is "two-factor authentication", never
"three-factor"; "of", "and", "for" and "the" may sit inside the run: "Department for Work and
Pensions" is DWP). Acronyms of two letters match too many runs by chance ("PC" and "phone
case"), so only a few common ones are spelt out by common words, each only as its own words
("GP" as "general practitioner", "HR" as "human resources"); others only by a name, its words
capitalised ("NI" as "National Insurance", "LA" as "Los Angeles"). An acronym is spelt out only
when the other side does not write it itself. A run that matches by chance is still held to the
similarity threshold, which the original texts must clear: the encoder knows the common
acronyms and places an unrelated expansion far away.
"""

from __future__ import annotations

import re

# Upper-case letters and digits, at least two letters, three to eight characters in all; or two
# upper-case letters, spelt out only by the common words below or by a name.
_ACRONYM = re.compile(r"\b(?:(?=(?:[0-9]*[A-Z]){2})[A-Z0-9]{3,8}|[A-Z]{2})\b")
# Two-letter acronyms, with the only words they are spelt out by.
_TWO_LETTERS = {"GP": "general practitioner", "HR": "human resources", "PC": "personal computer",
                "AC": "air conditioning", "IT": "information technology", "PR": "public relations",
                "ID": "identity document", "DD": "direct debit"}
_WORD = re.compile(r"[A-Za-z]+|[0-9]+")
_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
# Acronyms spelt out per question at most: a question names a few; more is not a question.
MAX_ACRONYMS = 8
# The longest stretch of the other text taken as an acronym's words, and the most a question may
# grow by them: the spelt-out text is analysed and remembered like a question, so a hostile pair
# (many acronyms, words far apart) must not make it large.
MAX_EXPANSION_CHARS = 80
MAX_GROWTH_CHARS = 400
# Small words an acronym usually leaves out when they sit inside the phrase.
_SKIPPABLE = frozenset({"of", "and", "for", "the"})


def _stands_for(character: str, written: str) -> bool:
    """Whether one character of an acronym stands for the word ``written``: a letter for a word it
    begins, a digit for its number in figures or in words; never another acronym ("2FA" is not
    "two factor ANOVA")."""
    word = written.lower()
    if character.isdigit():
        return word in (character, _NUMBER_WORDS[int(character)])
    return not word.isdigit() and word[0] == character and not _ACRONYM.fullmatch(written)


def _expansion(acronym: str, other: str, found: list[re.Match[str]], words: list[str]) -> str | None:
    """The first run of ``words`` (``found`` in ``other``) whose initials spell ``acronym``, as
    written there."""
    initials = acronym.lower()
    for start, first in enumerate(words):
        if first.lower() in _SKIPPABLE or not _stands_for(initials[0], first):
            continue
        matched, end = 1, start + 1
        while matched < len(initials) and end < len(words):
            if words[end].lower() not in _SKIPPABLE:
                if not _stands_for(initials[matched], words[end]):
                    break
                matched += 1
            end += 1
        if matched == len(initials):
            expansion = other[found[start].start():found[end - 1].end()]
            if len(acronym) == 2 and expansion.lower() != _TWO_LETTERS.get(acronym) \
                    and not _a_name(words, start, end):
                continue
            return expansion if len(expansion) <= MAX_EXPANSION_CHARS else None
    return None


def _a_name(words: list[str], start: int, end: int) -> bool:
    """Whether ``words[start:end]`` is written as a name, each word capitalised where a sentence
    does not begin ("my National Insurance number", "a flight to Los Angeles"): by chance, two
    capitalised words rarely spell a two-letter acronym written on the other side."""
    return start > 0 and all(w[0].isupper() for w in words[start:end] if w.lower() not in _SKIPPABLE)


def spell_out(text: str, other: str) -> str:
    """``text`` with each acronym that ``other`` writes out in full replaced by those words."""
    acronyms = set(_ACRONYM.findall(text))
    if not acronyms:
        return text
    found = list(_WORD.finditer(other))
    words = [m.group() for m in found]
    written = {w.upper() for w in words}
    limit = len(text) + MAX_GROWTH_CHARS
    for acronym in sorted(acronyms - written)[:MAX_ACRONYMS]:
        expansion = _expansion(acronym, other, found, words)
        if expansion is None:
            continue
        spelt = _written_out(text, acronym, expansion)
        if len(spelt) > limit:
            break
        text = spelt
    return text


def _written_out(text: str, acronym: str, words: str) -> str:
    """``text`` with the whole-word ``acronym`` replaced by ``words`` as written (no escapes read)."""
    return re.sub(rf"\b{acronym}\b", lambda _: words, text)
