"""What the wording of a maths or reasoning request says about its difficulty, beside the learnt estimate.

The learnt estimate (:mod:`gatewise.routing.difficulty`) comes from exam questions. Among open-ended
chat requests of the premium tier (maths and reasoning without code, the only ones whose route
weighs it) it ranks hard above easy no better than chance (``bench/conversation_routing.py``), so
alone it would step a proof down to a cheaper model as readily as a unit conversion.

Two kinds of request are told apart by their words, from what cheap models are known to do well
and badly:

- non-routine work, where a strong model gains most: proofs and derivations, "find all",
  counting arrangements, probability and expectation, integrals, eigenvalues and convergence,
  logic puzzles and paradoxes, counterexamples and generalisations. The estimate is raised to at least
  :data:`NON_ROUTINE_FLOOR`;
- routine work a cheap model does as well: unit conversions, a percentage or a percentage change,
  one operation on two small numbers ("What is 17*23?"), and explanations asked for in plain words
  or for a child. The estimate is lowered to at most
  :data:`ROUTINE_CAP`, but only for a short request (two numbers and two sentences at most): a
  word problem with a percentage in it is several steps, not one.

A request with both is non-routine (a proof explained simply is still a proof). Multiple-choice
questions are left to the learnt estimate, which was trained on them. Non-routine work is also
read in German, French, Spanish, Italian, Chinese and Japanese ("Beweise, dass ...", "Démontrez
que ...", "证明 ..."), as the learnt estimate, trained on English, cannot weigh it; routine work in
English only. A route's reason names what the wording said of the conversation's hardest turn.
"""

from __future__ import annotations

import re
from typing import Literal

Wording = Literal["non-routine", "routine"]
NON_ROUTINE: Wording = "non-routine"
ROUTINE: Wording = "routine"
NON_ROUTINE_FLOOR = 0.7
ROUTINE_CAP = 0.4
# The cues are read in as much of a request as the learnt estimate reads.
MAX_CHARS = 8_000
_ROUTINE_NUMBERS = 2
_ROUTINE_SENTENCES = 2

_UNITS = (
    r"(?:miles?|km|kilomet(?:er|re)s?|met(?:er|re)s?|feet|foot|ft|inch(?:es)?|yards?|cm|mm|cups?|"
    r"ounces?|oz|pounds?|lbs?|kg|kilos?|grams?|lit(?:er|re)s?|gallons?|pints?|celsius|fahrenheit|"
    r"square (?:feet|met(?:er|re)s|miles)|acres?|hectares?|mph|km/?h)"
)
_NON_ROUTINE = re.compile(
    r"\b(?:prove|proof|show that|justify|by induction|"
    r"for (?:every|all|any) (?:integer|natural|real|prime|positive)|find all|"
    r"how many (?:ways|different|distinct|arrangements|combinations|\d-digit|[a-z]+-digit)|"
    r"divisible|perfect squares?|modulo|probability|expected (?:value|number|sum|length|time)|"
    r"on average|integral|integrate|eigen\w*|diagonali[sz]\w*|converge\w*|"
    r"puzzle|riddle|knights?|knaves?|paradox|counterexample|generali[sz]e|derive|derivation|"
    # the same in German, French, Spanish and Italian
    r"beweis(?:en?)?|zeige,? dass|démontr\w*|démonstration|prouve[rz]?|montre[rz]? qu\w*|"
    r"demuestr\w*|demostr\w*|pruebe que|dimostr\w*|finde alle|trouve[rz]? tou[st]\w*|"
    r"encuentr[ae] tod[ao]s|wahrscheinlichkeit|probabilit[ée]|probabilidad|intégrale?)\b"
    # and in Chinese and Japanese, written without spaces
    r"|证明|証明|示せ|推导|導出|求证|概率|確率",
    re.IGNORECASE)
_ROUTINE = re.compile(
    r"\b(?:convert|conversion|how many " + _UNITS + r"|in " + _UNITS + r"|"
    r"what percent(?:age)?|percent(?:age)? (?:increase|decrease|change|rise|drop)|"
    r"\d+(?:\.\d+)? ?% of|in simple (?:words|terms)|simply|like i'?m (?:five|ten|\d+)|"
    r"for (?:a|my) (?:child|kid|daughter|son|\d+[- ]year[- ]old)|for someone who|layman'?s?|eli5)\b",
    re.IGNORECASE)
# The whole request is one operation on two small numbers.
_BARE_ARITHMETIC = re.compile(
    r"(?:(?:what(?:'s| is)|calculate|compute|how much is)\s+)?\d{1,3}(?:\.\d+)?\s*[-+*/×÷x^]\s*"
    r"\d{1,3}(?:\.\d+)?\s*[?.!=]*", re.IGNORECASE)
_BARE_ARITHMETIC_CHARS = 60
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_SENTENCE_END = re.compile(r"[.?!](?:\s|$)")
_CHOICE = re.compile(r"^[ \t]*[A-J][.)][ \t]", re.MULTILINE)


def wording(text: str) -> Wording | None:
    """What the request's wording says of its difficulty: :data:`NON_ROUTINE`, :data:`ROUTINE`
    or nothing."""
    text = text[:MAX_CHARS]
    if len(_CHOICE.findall(text)) >= 2:
        return None
    if _NON_ROUTINE.search(text):
        return NON_ROUTINE
    if (_ROUTINE.search(text) and _short(text)) or _bare_arithmetic(text):
        return ROUTINE
    return None


def with_cues(text: str, estimate: float) -> float:
    """``estimate`` (the learnt one, in [0, 1]) moved as the request's wording says."""
    return moved(estimate, wording(text))


def moved(estimate: float, said: Wording | None) -> float:
    """``estimate`` moved as a request's wording, already read, says."""
    if said == NON_ROUTINE:
        return max(estimate, NON_ROUTINE_FLOOR)
    if said == ROUTINE:
        return min(estimate, ROUTINE_CAP)
    return estimate


def _bare_arithmetic(text: str) -> bool:
    return len(text) <= _BARE_ARITHMETIC_CHARS and _BARE_ARITHMETIC.fullmatch(text.strip()) is not None


def _short(text: str) -> bool:
    return (len(set(_NUMBER.findall(text))) <= _ROUTINE_NUMBERS
            and len(_SENTENCE_END.findall(text.strip())) <= _ROUTINE_SENTENCES)
