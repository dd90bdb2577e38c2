"""Word-sequence rules over tokens, the matcher behind content safety and the blocklist.

A rule is a list of slots; each slot holds alternatives (one or more words; a word ending in
``*`` also matches its common inflections). Slot *k+1* must start at most ``gap`` tokens after
slot *k* ends. A rule is dropped when one of its ``unless`` words is among the tokens it spans
or the ``unless`` window after it, so "make a bath bomb" or "shoot her a message" do not read
as threats.

Scanning is cheap when nothing matches: the text's set of words is intersected with the set
of words that can start a rule, in C, before any per-token work; a rule is only tried when
each of its slots has a phrase whose words are all in the text, and only where its first
word is.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field

from gatewise.guardrails.normalize import WORD, Needle, needle, normalise

_SUFFIXES = ("", "s", "es", "ed", "d", "ing", "er", "ers")
UNLESS_AFTER = 3  # tokens after a match that an `unless` word may sit in


def words(text: str) -> list[str]:
    """``text`` as tokens, folded the way scanned text is."""
    return WORD.findall(normalise(text).lower)


def _expand(alternative: str) -> list[tuple[str, ...]]:
    tokens = alternative.lower().split()
    if not tokens[-1].endswith("*"):
        return [tuple(words(" ".join(tokens)))]
    stem = tokens[-1][:-1]
    head = tuple(words(" ".join(tokens[:-1])))
    return [(*head, stem + suffix) for suffix in _SUFFIXES]


Slot = dict[str, tuple[tuple[str, ...], ...]]  # first word -> the alternatives starting with it


@dataclass(frozen=True, eq=False)
class Rule:
    label: str  # e.g. the category
    severity: int
    slots: tuple[Slot, ...]
    gap: int = 0
    unless: frozenset[str] = frozenset()
    text: str = ""  # the rule as written, for evidence
    # The words of each alternative: of the first slot's by first word, of the others by slot.
    first_words: dict[str, tuple[frozenset[str], ...]] = field(default_factory=dict)
    later_words: tuple[tuple[frozenset[str], ...], ...] = ()

    @classmethod
    def build(cls, label: str, severity: int, slots: Sequence[Sequence[str]], gap: int = 0,
              unless: Iterable[str] = ()) -> Rule:
        built = tuple(_index(t for alt in slot for t in _expand(alt)) for slot in slots)
        text = " … ".join("|".join(slot[:3]) + ("|…" if len(slot) > 3 else "") for slot in slots)
        first = {head: tuple({frozenset(alt) for alt in alts}) for head, alts in built[0].items()}
        later = tuple(tuple({frozenset(alt) for alts in slot.values() for alt in alts}) for slot in built[1:])
        return cls(label, severity, built, gap, frozenset(unless), text, first, later)

    def may_match(self, head: str, token_set: set[str] | frozenset[str]) -> bool:
        """Whether each slot has an alternative all of whose words are in the text (the first
        slot one that begins with ``head``): a match needs one, and most texts that hold a
        rule's first word hold no whole phrase of it (code holds "i" in every loop)."""
        return any(words <= token_set for words in self.first_words[head]) and \
            all(any(words <= token_set for words in slot) for slot in self.later_words)


def _index(alternatives: Iterable[tuple[str, ...]]) -> Slot:
    by_head: dict[str, list[tuple[str, ...]]] = {}
    for alt in alternatives:
        by_head.setdefault(alt[0], []).append(alt)
    return {head: tuple(sorted(set(alts), key=len, reverse=True)) for head, alts in by_head.items()}


@dataclass(frozen=True)
class Hit:
    rule: Rule
    first: int  # token index
    last: int  # token index, inclusive


@dataclass
class Lexicon:
    rules: list[Rule]
    _heads: dict[str, list[Rule]] = field(default_factory=dict)
    _head_set: frozenset[str] = frozenset()  # set operations with it walk the smaller side
    _needles: list[Needle] | None = None  # the first words to search for; None: too many

    def __post_init__(self) -> None:
        for rule in self.rules:
            for head in rule.slots[0]:
                self._heads.setdefault(head, []).append(rule)
        self._head_set = frozenset(self._heads)
        if len(self._heads) <= _FEW:
            self._needles = [needle(head) for head in self._heads]

    def may_occur(self, text: str) -> bool:
        """False when no rule's first word is even a substring of ``text`` (a C search per
        word; with many rules, True without looking)."""
        return self._needles is None or any(head.within(text) for head in self._needles)

    def scan(self, tokens: list[str], token_set: set[str] | frozenset[str]) -> list[Hit]:
        """Every rule match in ``tokens`` (the text's words, lower case)."""
        if token_set.isdisjoint(self._head_set):
            return []
        live: dict[str, list[Rule]] = {}
        for head in self._head_set & token_set:
            rules = [rule for rule in self._heads[head] if rule.may_match(head, token_set)]
            if rules:
                live[head] = rules
        hits: list[Hit] = []
        for i in _positions(tokens, live.keys()):
            for rule in live[tokens[i]]:
                last = _match(rule, tokens, i)
                if last is not None:
                    hits.append(Hit(rule, i, last))
        return hits


_FEW = 8  # distinct words up to which one C search through the tokens per word is cheaper


def _positions(tokens: list[str], wanted: Collection[str]) -> list[int]:
    """Every index of ``tokens`` holding one of ``wanted``, in order. For a few words,
    ``list.index`` finds them in C instead of a walk through every token in Python."""
    if len(wanted) > _FEW:
        return [i for i, token in enumerate(tokens) if token in wanted]
    found: list[int] = []
    for word in wanted:
        at = -1
        try:
            while True:
                at = tokens.index(word, at + 1)
                found.append(at)
        except ValueError:
            pass
    return sorted(found)


def _match(rule: Rule, tokens: list[str], start: int) -> int | None:
    """The last token index of ``rule`` matched from ``start``, or None."""
    end = _slot(rule.slots[0], tokens, start)
    if end is None:
        return None
    for slot in rule.slots[1:]:
        for gap in range(rule.gap + 1):
            nxt = _slot(slot, tokens, end + gap)
            if nxt is not None:
                end = nxt
                break
        else:
            return None
    if rule.unless and not rule.unless.isdisjoint(tokens[start:end + UNLESS_AFTER]):
        return None
    return end - 1


def _slot(slot: Slot, tokens: list[str], at: int) -> int | None:
    """Where the longest alternative matching at ``at`` ends, or None. An alternative's second
    word is compared before its whole length is (a common first word such as "i" heads dozens
    of phrases, and a text such as code can hold it many times)."""
    if at >= len(tokens):
        return None
    second = tokens[at + 1] if at + 1 < len(tokens) else None
    for alt in slot.get(tokens[at], ()):
        if len(alt) == 1:
            return at + 1
        if alt[1] == second and tuple(tokens[at:at + len(alt)]) == alt:
            return at + len(alt)
    return None
