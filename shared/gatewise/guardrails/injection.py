"""Prompt-injection heuristics with a score and the evidence behind it.

Families: instruction overrides, role-play jailbreak frames, system-prompt exfiltration,
encoded payloads (base64, hex or ROT13 that decode to any of the others), tool-call hijacks
(fake tool-call JSON, chat-template control tokens, forged role tags, "send the conversation
to …"), and hidden text (Unicode tag characters). Each rule (:mod:`injection_rules`,
:mod:`injection_languages`) has a weight; the score is ``1 - Π(1 - w)`` over the rules that
fire, so independent signals add up. Text in leetspeak or with its letters spaced apart is read
back plain and scanned again.

Two readings keep ordinary text about these words from being taken for an order:

* an override or a request for the system prompt whose object is said to belong elsewhere
  ("ignore the previous instructions *in the README*", "show the system prompt *in bash*",
  "ignorez les consignes précédentes *du guide*") is about that thing, not the model;
* a short phrase in quotation marks that the text names as an example ('phrases like "ignore
  previous instructions"', 'the string "…"', 'the classic "…" attack') is mentioned, not
  given: it weighs :data:`MENTIONED` at most, so it adds to other signals but passes alone. A
  passage quoted to be worked on ("Translate to French: '…'") is judged as any other text: the
  wrapper is the attacker's to write as much as the passage.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, replace

from gatewise.guardrails.disguises import leet_words, unleet, unspaced
from gatewise.guardrails.injection_languages import INTL_RULES, LETTERS
from gatewise.guardrails.injection_rules import ENGLISH_RULES, Rule
from gatewise.guardrails.normalize import View, ascii_bytes, normalise
from gatewise.guardrails.pii import encoded_blobs
from gatewise.guardrails.texts import TextRef
from gatewise.guardrails.verdict import CheckResult

FLAG_AT = 0.5
BLOCK_AT = 0.8
MENTIONED = 0.3  # the most a phrase quoted as an example weighs
RULES = ENGLISH_RULES + INTL_RULES

# The ROT13 forms of words an encoded override would hold ("vtaber" is "ignore").
_ROT13_TRIGGERS = frozenset(codecs.encode(word, "rot13") for word in (
    "ignore", "disregard", "forget", "instructions", "previous", "prompt", "system", "reveal"))
# Words one of which a leetspeak injection spells: the text is scanned read as letters only when
# that reading holds one that the text itself does not.
_LEET_SPELLS = ("ignore disregard forget override bypass instruction instructions previous prior prompt "
                "system reveal rules jailbreak restrictions password")
_LEET_WORDS = frozenset(_LEET_SPELLS.split())


@dataclass(frozen=True)
class InjectionHit:
    rule: str
    family: str
    weight: float
    start: int  # view offsets
    end: int
    encoded: str = ""  # "base64", "hex", "rot13", "leetspeak" or "letter-spaced" when found decoded
    at: int = -1  # the rule's place in RULES (-1: not a rule's own match)


# Each trigger word -> the rules (their places in RULES) it can set off; and the rules without
# trigger words. A text's words meet the index in one set intersection, so only the rules one
# of its words can set off are looked at (ordinary prose holds a few such words).
def _trigger_index() -> dict[str, list[int]]:
    index: dict[str, list[int]] = {}
    for at, rule in enumerate(RULES):
        for word in rule.triggers:
            index.setdefault(word, []).append(at)
    return index


_BY_TRIGGER = _trigger_index()
_TRIGGERS = frozenset(_BY_TRIGGER)
_UNTRIGGERED = frozenset(at for at, rule in enumerate(RULES) if not rule.triggers)
# Rules of scripts other than Latin (looked up by literals, not words): tried only when the text
# holds a letter of one of those scripts, found by one search (most texts hold none).
_NATIVE = frozenset(at for at in _UNTRIGGERED if not any(part.text.isascii() for part in RULES[at].holds))
_LATIN = _UNTRIGGERED - _NATIVE
_NATIVE_LETTER = re.compile(
    "[\u0400-\u04ff\u1100-\u11ff\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")
# The words a run of evenly spaced letters is parted into: every word the English rules look up.
_SMALL_WORDS = ("all previous prior above earlier the your you are now and me my to of system prompt secret "
                "password reveal show rules")
_VOCABULARY = frozenset(word for rule in ENGLISH_RULES for word in rule.triggers | rule.also) | frozenset(
    _SMALL_WORDS.split())


def _live(lower: str, tokens: set[str]) -> list[int]:
    """The places in RULES of the rules whose trigger words (if any) meet ``tokens``, in order."""
    native = not lower.isascii() and _NATIVE_LETTER.search(lower) is not None
    picked = set(_UNTRIGGERED if native else _LATIN)
    for word in tokens & _TRIGGERS:
        picked.update(_BY_TRIGGER[word])
    return sorted(picked)


def scan(view: View, *, decode: bool = True) -> list[InjectionHit]:
    """Every rule's first match, as written (see :func:`judged` for what the context says of
    them), hidden tags, and with ``decode`` what encoded or disguised text holds."""
    lower = view.lower
    tokens = view.plain_token_set  # trigger words are written without accents
    hits: list[InjectionHit] = []
    for at in _live(lower, tokens):
        rule = RULES[at]
        if rule.holds and not any(part.within(lower) for part in rule.holds):
            continue
        if rule.also and tokens.isdisjoint(rule.also):
            continue
        match = rule.search(lower)
        if match is not None:
            hits.append(InjectionHit(rule.id, rule.family, rule.weight, match.start(), match.end(), at=at))
    if view.tags:
        hits.append(InjectionHit("hidden_tags", "hidden_text", 0.6, 0, len(lower)))
    if decode:
        hits += _encoded(view) + _disguised(view)
    return hits


def judged(view: View, hits: list[InjectionHit]) -> list[InjectionHit]:
    """``hits`` as their context reads them: an order about something else is dropped, and a
    phrase quoted as an example weighs :data:`MENTIONED` at most unless the rule also matches
    outside such quotes (see the module docstring)."""
    lower = view.lower
    out: list[InjectionHit] = []
    for hit in hits:
        if hit.at < 0:
            out.append(hit)
            continue
        rule = RULES[hit.at]
        if rule.scoped and elsewhere(lower, hit.end):
            continue
        if mentioned(lower, hit.start, hit.end):
            hit = _used_later(rule, lower, hit) or replace(hit, weight=min(hit.weight, MENTIONED))
        out.append(hit)
    return out


def _used_later(rule: Rule, lower: str, hit: InjectionHit, tries: int = 8) -> InjectionHit | None:
    """The rule's next match that is not a quoted example, if one follows (a few tried)."""
    pos = hit.end
    for _ in range(tries):
        match = rule.search(lower, pos)
        if match is None:
            return None
        placed_elsewhere = rule.scoped and elsewhere(lower, match.end())
        if not mentioned(lower, match.start(), match.end()) and not placed_elsewhere:
            return replace(hit, start=match.start(), end=match.end())
        pos = match.end()
    return None


# -- what a phrase is about ------------------------------------------------------------------

_L = LETTERS
_PREPOSITIONS = ("in|of|for|from|on|inside|within|under|im|in der|in dem|aus dem|aus der|des|der|du|de la|de|"
                 "dans le|dans la|dans les|dans|del|en el|en la|della|dello|nel|nella|do|da|no|na|van de|"
                 "van het|van|in de|in het|w|we|z|ze")
_DETERMINERS = ("the|this|that|these|those|a|an|my|our|its|le|la|les|el|il|lo|o|de|het|dem|der|die|das|"
                "mojej|moim")
# Determiners that make the thing the model's own, or the one at hand ("this conversation").
_YOURS = ("this these your you yours tu tus ton ta tes votre vos dein deine deinem deiner ihre je jouw uw "
          "tuo tua tuoi tue seu sua teu twoj twoje swoj swoje")
# After the phrase: up to two words ("PS1"), a preposition, maybe a determiner, then the thing.
_AFTER = re.compile(
    rf"[^\S\n]{{1,2}}(?:(?!(?:and|then|or|but|so|now|instead|please|just|also|und|et|y|e|en|i)\b)"
    rf"[{_L}0-9_.-]{{1,20}}[^\S\n]{{1,2}}){{0,2}}?(?:{_PREPOSITIONS})[^\S\n]{{1,2}}"
    rf"(?:({_DETERMINERS}|{_YOURS.replace(' ', '|')})(?:[^\S\n]{{1,2}}|'))?([{_L}0-9]"
    rf"[{_L}0-9_.-]{{0,30}})")
_KEEP_DETERMINERS = frozenset(_YOURS.split())
# Things an order about the model's own instructions can be said to be in, of or for.
_MODEL_WORDS = """you your yours yourself it conversation chat session thread context memory system
    prompt model assistant ai bot chatbot llm gpt chatgpt claude gemini openai anthropic developer developers
    creator creators operator operators admin administrator above start beginning top previous prior earlier
    first last original initial preceding full detail details word words letter character markdown json
    yaml xml code plain verbatim reverse base64 reply response answer output order english french german
    spanish italian portuguese dutch polish russian chinese japanese korean turkish sistema systeme systeem
    modelo modello conversacion conversazione gesprek ki ia assistent assistente asistente asystent rozmowy
    rozmowie czat czacie"""
_THE_MODEL = frozenset(_MODEL_WORDS.split())


def elsewhere(lower: str, end: int) -> bool:
    """Whether the words after a phrase ending at ``end`` place its object elsewhere than with the
    model: "… in the README", "… for a single file", "… du guide d'installation"."""
    match = _AFTER.match(lower, end)
    if match is None:
        return False
    determiner, thing = match.group(1), match.group(2).rstrip("._-")
    return determiner not in _KEEP_DETERMINERS and thing not in _THE_MODEL


_OPENING = "\"'“‘«„‚「『`"
_CLOSING = "\"'”’»“‘」』`"
_MENTION_BEFORE = re.compile(
    r"(?:like|such as|e\.g\.|eg|for example|for instance|the (?:classic |famous |well-known |infamous |"
    r"usual )?(?:phrase|string|words?|sentence|pattern|text|prompt|line|attack|command|example)s?|called|"
    r"named|quoted?|classic|famous|infamous|blocks?|detects?|flags?|catch(?:es)?|contains?|containing|"
    r"comme|wie|como|come|zoals|jak|как|такие как|gibi)[^\S\n]{0,2}[:,]?[^\S\n]{0,2}\Z")
_MENTION_AFTER = re.compile(r"[^\S\n]{0,2}(?:attacks?|phrases?|strings?|prompts?|injections?|examples?|"
                            r"patterns?|jailbreaks?|tricks?|payloads?|technique)\b")
_NEAR = 24  # how far a quotation mark may be from the phrase it encloses
_SHORT = 100  # the longest quotation read as an example: a phrase, not a passage


def mentioned(lower: str, start: int, end: int) -> bool:
    """Whether ``lower[start:end]`` lies in a short quotation the text names as an example."""
    opening = max(lower.rfind(q, max(0, start - _NEAR), start + 1) for q in _OPENING)
    if opening < 0 or (opening and lower[opening - 1].isalnum()) or "\n" in lower[opening:start]:
        return False
    ends = [at for q in _CLOSING if (at := lower.find(q, end, end + _NEAR)) >= 0]
    if not ends:
        return False
    closing = min(ends)
    if closing - opening > _SHORT or "\n" in lower[end:closing] or \
            (closing + 1 < len(lower) and lower[closing + 1].isalpha()):
        return False
    return _MENTION_BEFORE.search(lower, max(0, opening - 40), opening) is not None or \
        _MENTION_AFTER.match(lower, closing + 1) is not None


# -- encoded and disguised text --------------------------------------------------------------

def _encoded(view: View) -> list[InjectionHit]:
    """Payloads that only show their instructions once decoded."""
    hits: list[InjectionHit] = []
    for start, end, decoded, kind in encoded_blobs(view):
        hits += _inner(decoded, kind, start, end)
    if not _ROT13_TRIGGERS.isdisjoint(view.token_set):
        hits += _inner(codecs.encode(view.lower, "rot13"), "rot13", 0, len(view.lower))
    return hits


def _disguised(view: View) -> list[InjectionHit]:
    """Instructions in leetspeak ("1gn0r3 4ll pr3v10us") or with their letters spaced apart
    ("i g n o r e   a l l"), read back as plain words. Leetspeak is read only when the letters
    it stands for spell a word an injection holds that the text does not ("h4ck3r" spells none)."""
    lower = view.lower
    raw = ascii_bytes(lower)
    hits: list[InjectionHit] = []
    if _LEET_WORDS.intersection(leet_words(raw)) - view.token_set:
        hits += _inner(unleet(raw), "leetspeak", 0, len(lower), encoded=False)
    spaced = unspaced(lower, raw, view.token_set, _VOCABULARY)
    if spaced is not None:
        hits += _inner(spaced, "letter-spaced", 0, len(lower), encoded=False)
    return hits


def _inner(decoded: str, kind: str, start: int, end: int, *, encoded: bool = True) -> list[InjectionHit]:
    """What ``decoded`` holds, as one hit over the span it came from: an encoded payload that
    holds any instruction weighs at least 0.8 (nobody encodes an ordinary request that way); a
    disguised text weighs what its plain reading scores."""
    view = normalise(decoded)
    inner = judged(view, scan(view, decode=False))
    if not inner:
        return []
    best = max(inner, key=lambda h: h.weight)
    if encoded:
        weight = max(0.8, best.weight)
        return [InjectionHit(f"{kind}:{best.rule}", "encoded_payload", weight, start, end, kind)]
    return [InjectionHit(f"{kind}:{best.rule}", best.family, score(inner), start, end, kind)]


def score(hits: list[InjectionHit]) -> float:
    best: dict[str, float] = {}
    for hit in hits:
        best[hit.rule] = max(best.get(hit.rule, 0.0), hit.weight)
    remaining = 1.0
    for weight in best.values():
        remaining *= 1 - weight
    return 1 - remaining


def check_injection(refs: list[TextRef], *, where: str = "input", blocks: bool = True,
                    check: str = "prompt_injection") -> CheckResult:
    """Flag at a score of 0.5; block at 0.8 where ``blocks``. Untrusted content is only ever
    flagged (the caller drops or fences it rather than failing the whole request), and so is a
    model's answer unless configured otherwise (instructions in an answer are the mark of an
    injection in what the model read, which the caller should see rather than lose)."""
    result = CheckResult(check)
    hits_all: list[InjectionHit] = []
    for ref in refs:
        hits = judged(ref.view, scan(ref.view))
        hits_all += hits
        for hit in hits:
            span = ref.span(hit.start, hit.end, hit.family)
            result.spans.append(span)
            excerpt = ref.text[span.start:span.end]
            result.values.append((hit.family, excerpt))  # audited as a keyed hash, never as text
            excerpt = excerpt if len(excerpt) <= 80 else excerpt[:77] + "..."
            shown = f"{hit.encoded} payload" if hit.encoded else repr(excerpt)
            result.evidence.append(f"{hit.family}/{hit.rule}: {shown}")
    total = score(hits_all)
    result.score = total
    if total >= FLAG_AT:
        result.verdict = "block" if total >= BLOCK_AT and blocks else "flag"
        result.action = result.verdict
        families = sorted({h.family for h in hits_all})
        result.entities = {f: sum(h.family == f for h in hits_all) for f in families}
        result.reason = f"likely prompt injection in {where} (score {total:.2f}: {', '.join(families)})"
    return result
