"""Whether the words that tell two rebuilt questions apart say the same thing, read in context.

A word alone says little about what it means in a question: "email" and "send" are 0.56 as single
words, under the 0.8 a near-synonym needs (siblings are as close: "gas" / "electricity" 0.41), yet
"Please email Sarah the invoice" asks what "Send the invoice to Sarah" does. The local model's last
hidden states read each word in its sentence, so a word can be compared with the words of the
other sentence where they stand: "email" there is 0.64 from "send", "most" in "the most
affordable deal" 0.61 from "cheapest", "font" in "increase the font size" 0.55 from "text" in
"make the text bigger". A qualifier that one question adds finds nothing like it in the other
("large" in "How much is a large latte?" is at most 0.15 from any word of "What does a latte cost
here?", "private" in "a private GP appointment" 0.31), and neither does a sibling put in another
sentence ("gas" / "electricity" bills, 0.19).

Only rebuilt questions are read this way (:func:`gatewise.cache.gates.compare` says which): in a
minimal pair the sentence around a swapped word is the same, so the two words read alike in
context whatever they mean ("chicken" / "beef" dish). The gates for values, negation, opposite
sides, roles, question words and names run first and are never relaxed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from gatewise.cache import gates, word_senses

# A differing word stands when some word of the other sentence is at least this close in
# context. Chosen on the dev half of bench/cache_quality.py's pairs: 0.45 served a rebuilt role
# swap (an exit fee "for leaving British Gas for Octopus" / "if I move from Octopus over to
# British Gas"), at 0.47, with the sentences 0.79 alike.
PARTNER_COSINE = 0.5
# Two sentences this alike as wholes leave less for their differing words to prove: a partner
# within CLOSE_PARTNER_COSINE will do ("connect my printer to wifi" / "get my printer on the
# wireless network", "connect" 0.47 from "get"; "the room price" / "the room rate", 0.48). Chosen
# on the dev half and the hand-written hazard pairs: no trap among them is this alike with a
# word that close, while siblings put in another sentence stay further apart (gas / electricity
# bill 0.19, a private GP appointment 0.31, car / home insurance 0.39).
CLOSE_SENTENCES = 0.8
CLOSE_PARTNER_COSINE = 0.4

# Questions read in context at most this long (a model run each: about 4 ms at 300 characters
# on one core); a longer text keeps the lexical verdict.
MAX_CHARS = 300

WordVectors = Sequence[tuple[str, np.ndarray]]


# What the tokenizer leaves of a contraction ("what's" reads as "what", "'", "s"): no word.
_CLITICS = frozenset({"ll", "re", "ve"})


def _is_content(written: str) -> bool:
    return written.isalpha() and len(written) > 1 and written not in _CLITICS \
        and not gates.is_function_word(written)


def _stem(written: str) -> str:
    """The stem the gates read a word of the model's as ("travelling" as "travel")."""
    return gates.stem(gates.as_read(written))


def _place_of(word: str, words: WordVectors, stems: Sequence[str]) -> int | None:
    """Where ``word`` (as the gates spelled it) first stands in its sentence (``stems``: each
    word's stem, as the gates read it)."""
    stem = gates.stem(word)
    return next((i for i, (written, _) in enumerate(words) if written == word or stems[i] == stem), None)


# Words that open a noun phrase: a word read past them is still the one beside it.
_PHRASE_OPENERS = gates.DETERMINERS | {"some", "any"}


def _beside(places: Iterable[int], words: WordVectors) -> int | None:
    """The first of ``places`` whose word says something, read past determiners only."""
    for i in places:
        written = words[i][0]
        if _is_content(written):
            return i
        if written not in _PHRASE_OPENERS:
            return None
    return None


def _neighbours(place: int, words: WordVectors, stems: Sequence[str]) -> set[str]:
    """The stems of the words beside it that say something, determiners between them aside, and
    of the rest of a compound it stands in: a compound ("coffee cup", "a gift card", "my premium
    home insurance") names one thing, and a verb reads like its object ("required" in "required
    a visa" like "visa"), while a word joined by a preposition may be the other side's word said
    in two ("sent by email" / "emailed")."""
    beside = (_beside(range(place - 1, -1, -1), words), _beside(range(place + 1, len(words)), words))
    found = {stems[i] for i in beside if i is not None}
    for step in (-1, 1):  # the rest of a compound the word stands in
        at = place + step
        while 0 <= at < len(words) and _is_content(words[at][0]):
            found.add(stems[at])
            at += step
    return found


def partner_bound(similarity: float) -> float:
    """How close a partner must be, for two sentences ``similarity`` alike as wholes."""
    return CLOSE_PARTNER_COSINE if similarity >= CLOSE_SENTENCES else PARTNER_COSINE


def weakest_partner(unmatched: Iterable[str], words: WordVectors, other: WordVectors) -> float:
    """How close the least partnered of ``unmatched`` (words of the sentence read as ``words``) is
    to its nearest partner in the other sentence (``other``), in context: -1 when one has no
    partner at all, 1 when there is no word to partner. A word the model does not see as
    written (the text was cut at the model's window) has no partner; nor is the word it stands
    beside a partner for it: in "a coffee cup" or "a gift card", "cup" reads like "coffee"
    (0.69) and "card" like "gift", yet each names another thing than the word alone, and
    "required" in "Do I need (required) a visa?" reads 0.47 like "visa"; nor is a sibling,
    which reads alike and names another thing ("roast a chicken" / "roast a turkey")."""
    stems = [_stem(written) for written, _ in words]  # read once for every word asked about
    partners = [(written, _stem(written), vector) for written, vector in other if _is_content(written)]
    weakest = 1.0
    for word in unmatched:
        place = _place_of(word, words, stems)
        if place is None:
            return -1.0
        beside = _neighbours(place, words, stems)
        forms = (word, gates.stem(word))
        vectors = [vector for written, stem, vector in partners
                   if stem not in beside and not word_senses.siblings(forms, (written, stem))]
        if not vectors:
            return -1.0
        weakest = min(weakest, float((np.array(vectors) @ words[place][1]).max()))
    return weakest

