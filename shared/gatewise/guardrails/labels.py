"""Whether the text says what a number is: a label word just before it ("SSN 536-22-8714"), or
the header of its column in a table (CSV, TSV, a markdown or pipe table), where a row's value
sits lines away from the word that names it."""

from __future__ import annotations

import re
from bisect import bisect_right

from gatewise.guardrails.candidates import label_start

CONTEXT_CHARS = 40  # how far before a number its label may begin
_DELIMITERS = ("\t", "|", ",", ";")
_BLANK_LINE = re.compile(r"\n[ \t\r]*\n")
_MAX_HEADER = 4096  # longer lines are not read as a table's header


class Labels:
    """Label lookups of one kind (``words``: a pattern of the label words, each holding one of
    ``needles``) in one lower-cased text; the positions of the words and blank lines are found
    once, on the first column asked."""

    def __init__(self, lower: str, words: re.Pattern[str], needles: tuple[str, ...]) -> None:
        self.lower = lower
        self.words = words
        self._needles = needles
        self._present: bool | None = None
        self._said: list[int] | None = None
        self._blank: list[int] = []

    @property
    def present(self) -> bool:
        """Whether a label word may stand anywhere (C searches): in most texts none does."""
        if self._present is None:
            lower = self.lower
            self._present = any(needle in lower for needle in self._needles)
        return self._present

    def said(self, start: int) -> bool:
        """Whether a label word stands before ``start``: in the words just before it (not those
        of an earlier number), or as the header of its column."""
        if not self.present:
            return False
        lower = self.lower
        lead = label_start(lower, max(0, start - CONTEXT_CHARS), start)
        return self.words.search(lower, lead, start) is not None or self._column(start)

    def _column(self, start: int) -> bool:
        lower = self.lower
        line_start = lower.rfind("\n", 0, start) + 1
        line_end = lower.find("\n", start)
        line = lower[line_start:line_end if line_end != -1 else len(lower)]
        delimiter = max(_DELIMITERS, key=line.count)
        if not line_start or delimiter not in line:
            return False
        if self._said is None:
            self._said = [m.start() for m in self.words.finditer(lower)]
            self._blank = [m.start() for m in _BLANK_LINE.finditer(lower)]
        i = bisect_right(self._said, line_start - 1) - 1
        if i < 0:
            return False
        word = self._said[i]
        header_start = lower.rfind("\n", 0, word) + 1
        header_end = lower.find("\n", word)
        blank = bisect_right(self._blank, line_start - 1) - 1
        if header_end - header_start > _MAX_HEADER or (blank >= 0 and self._blank[blank] >= header_end):
            return False  # a long line, or a blank line between: not this table's header
        cells = lower[header_start:header_end].split(delimiter)
        column = lower.count(delimiter, line_start, start)
        return column < len(cells) and self.words.search(cells[column]) is not None
