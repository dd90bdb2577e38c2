"""What a question says character for character, which no reading of its words may bend.

- Code and structured text (a fenced block, an indented line, braces or brackets, a markup tag)
  means what its every space and sign says: "print('done')" indented into a loop is another
  program, "  c: 2" another YAML document. A question holding such a block is left to the exact
  cache (:func:`has_block`), and an earlier turn or system prompt holding one is compared as sent.
- A quoted span or inline code (``'Polish'``, ``"I am here"``, ```git reset```) is what is asked
  about, as written: it must be found, case and spacing included, in the other question, quoted
  there or not (:func:`spans_agree`).
- A word's capitals say which word it is ("Polish" / "polish", "Hunter2" / "hunter2"): where both
  questions capitalise a word past a sentence's start (other than "I"), so write names as names,
  a word they share must have the same capitals, but for the first letter of a sentence
  (:func:`case_differs`). A question that capitalises nothing but its sentences' first words
  ("do I need a visa for japan"), or most words (Title Case, capitals), says nothing by its
  case, except in a word of letters and digits, an id or a password, whose case always counts.
"""

from __future__ import annotations

import re
import unicodedata

_FENCE = re.compile(r"```|~~~")
# A line that starts with a space or a tab after a line break (a nested list item too).
_INDENTED = re.compile(r"\n[ \t]+\S")
# (a redacted value's placeholder, "<EMAIL_1>", is no tag)
_MARKUP_TAG = re.compile(r"</?(?![A-Z][A-Z_]*_\d+>)[A-Za-z][\w-]*(?:\s[^<>]*)?/?>")
_BRACKETS = frozenset("{}[]")
# A span in quotes: the opening mark not inside a word ("the dog's 'ball'"), the closing one not
# before a letter ("'I don't know'"), on one line; or inline code in backticks.
_QUOTED = re.compile(r"(?<![\w'’`])(?:'(?=\S)([^'\n]*?\S)'|‘(?=\S)([^’\n]*?\S)’|\"(?=\S)([^\"\n]*?\S)\"|"
                     r"“(?=\S)([^”\n]*?\S)”|«\s?([^»\n]*?\S)\s?»|`([^`\n]+)`)(?![\w])")
_WORD = re.compile(r"\w+(?:['’\-]\w+)*")
_SENTENCE_END = frozenset(".?!:;\n")
_OPENING_MARKS = frozenset(" \t\"'‘“(«-*•")


def has_block(text: str) -> bool:
    """Whether ``text`` holds code or structured text, whose spacing and signs are its meaning."""
    return bool(_FENCE.search(text) or _INDENTED.search(text) or _MARKUP_TAG.search(text)) \
        or not _BRACKETS.isdisjoint(text)


def spans(text: str) -> tuple[str, ...]:
    """The quoted spans and inline code of ``text``, as written (in Unicode's composed form)."""
    composed = unicodedata.normalize("NFC", text)
    return tuple(next(group for group in match.groups() if group is not None)
                 for match in _QUOTED.finditer(composed))


def spans_agree(a: str, b: str) -> bool:
    """Whether each quoted span or inline code of either text is found as written in the other."""
    composed_a, composed_b = unicodedata.normalize("NFC", a), unicodedata.normalize("NFC", b)
    return all(span in composed_b for span in spans(a)) and all(span in composed_a for span in spans(b))


def case_differs(a: str, b: str) -> bool:
    """Whether a word both texts say is written with other capitals on each side, not merely as a
    sentence's first word (see the module's docstring)."""
    both_cased = _shows_case(a) and _shows_case(b)
    forms_a, forms_b = _written(a, both_cased), _written(b, both_cased)
    for word in forms_a.keys() & forms_b.keys():
        (whole_a, tails_a), (whole_b, tails_b) = forms_a[word], forms_b[word]
        if not tails_a & tails_b or (whole_a and whole_b and not whole_a & whole_b):
            return True
    return False


def folded(text: str) -> str:
    """``text`` as a key compares it: structured text as sent; otherwise with runs of whitespace,
    a closing full stop or exclamation mark and a sentence's first capital folded outside its
    quoted spans, and every other capital kept ("Cancel it." and "cancel  it" alike, "'Polish'"
    and "'polish'" not)."""
    if has_block(text):
        return text
    text = unicodedata.normalize("NFKC", text).strip()
    pieces, last, at_start = [], 0, True
    for match in [*_QUOTED.finditer(text), None]:
        outside = re.sub(r"\s+", " ", text[last:match.start() if match else len(text)])
        if match is None:
            outside = outside.rstrip(".! ")
        lowered, at_start = _first_capitals_lowered(outside, at_start)
        pieces.append(lowered)
        if match is not None:
            pieces.append(match.group())
            last, at_start = match.end(), False
    return "".join(pieces)


def _first_capitals_lowered(text: str, at_start: bool) -> tuple[str, bool]:
    """``text`` with the first letter of each sentence in lower case, and whether it ends where a
    sentence starts."""
    out = []
    for ch in text:
        if ch.isalpha():
            out.append(ch.lower() if at_start else ch)
            at_start = False
        else:
            out.append(ch)
            at_start = at_start or ch in _SENTENCE_END
    return "".join(out), at_start


def _shows_case(text: str) -> bool:
    """Whether ``text`` writes in lower case and capitalises some word past a sentence's start
    (other than "I"), but not most of them: a name or an acronym written as such, so that a word
    in lower case is meant so ("Do You Accept Apple Pay?" is only written in Title Case)."""
    later = [m.group() for m in _WORD.finditer(text)
             if not _starts_sentence(text, m.start()) and not _pronoun_i(m.group()) and m.group().isalpha()]
    capitalised = sum(any(ch.isupper() for ch in word) for word in later)
    return any(ch.islower() for ch in text) and 0 < capitalised * 4 <= len(later) * 3


def _pronoun_i(word: str) -> bool:
    return re.split("['’]", word.lower())[0] == "i"  # "I", "I'm"


def _written(text: str, cased: bool) -> dict[str, tuple[set[str], set[str]]]:
    """Each word whose case counts (a word of letters and digits anywhere; any other word but
    "I" when ``cased``), by its lower-case form: how it is written where no sentence starts, and
    how past its first letter wherever it stands."""
    found: dict[str, tuple[set[str], set[str]]] = {}
    text = unicodedata.normalize("NFC", text)
    for match in _WORD.finditer(text):
        word = match.group()
        coded = any(ch.isdigit() for ch in word) and any(ch.isalpha() for ch in word)
        if coded or (cased and not _pronoun_i(word)):
            whole, tails = found.setdefault(word.lower(), (set(), set()))
            tails.add(word[1:])
            if not _starts_sentence(text, match.start()):
                whole.add(word)
    return found


def _starts_sentence(text: str, at: int) -> bool:
    # Scanned back over the marks a sentence may open with, not by slicing text[:at]: called for
    # every word, a slice would make a long earlier turn quadratic.
    while at and text[at - 1] in _OPENING_MARKS:
        at -= 1
    return not at or text[at - 1] in _SENTENCE_END
