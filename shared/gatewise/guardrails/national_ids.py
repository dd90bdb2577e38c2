"""National identity numbers besides the US SSN (see :mod:`pii`), each found only where its
shape stands in the number classes of :mod:`candidates` (a C search per shape) and kept only
when it passes its issuer's own rules (:mod:`validators`):

- ``UK_NINO``, the UK National Insurance number: two prefix letters, six digits and a suffix
  letter, written together or in pairs (``AB 12 34 56 C``, ``AB 123456 C``);
- ``ES_NIF``, the Spanish DNI (eight digits) or NIE (X, Y or Z and seven digits), with its
  check letter, written together or with a dash before the letter.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from gatewise.guardrails.entities import Finding
from gatewise.guardrails.normalize import positions
from gatewise.guardrails.validators import es_nif_ok, nino_ok

# How each begins in the number classes ('w' a letter, '0' a digit, '-' itself, anything else
# a space), and the pattern that reads it there.
_NINO_SHAPES = (b"ww000000w", b"ww 00 00 00 w", b"ww 000000 w")
_NINO = re.compile(r"([A-Za-z]{2}) ?(\d{2})( ?)(\d{2})\3(\d{2}) ?([A-Za-z])(?![A-Za-z0-9])")
_NIF_SHAPES = (b"00000000w", b"00000000-w", b"w0000000w", b"w0000000-w", b"w-0000000-w")
_NIF = re.compile(r"(?:([XYZxyz])-?)?(\d{7,8})-?([A-Za-z])(?![A-Za-z0-9])")
_NOT_BEFORE = frozenset(b"w0.-")  # a letter, digit, dot or dash: the number goes on


def find_national_ids(text: str, classes: bytes, wanted: frozenset[str]) -> Iterator[Finding]:
    """The valid ``UK_NINO`` and ``ES_NIF`` numbers of ``text`` among ``wanted``; ``classes``:
    its number classes after a leading space (offsets + 1)."""
    if "UK_NINO" in wanted:
        for m in _matches(_NINO, text, classes, _NINO_SHAPES):
            prefix, suffix = m.group(1).upper(), m.group(6).upper()
            if nino_ok(prefix, suffix):
                yield Finding("UK_NINO", m.start(), m.end(), "".join((prefix, *m.group(2, 4, 5), suffix)))
    if "ES_NIF" in wanted:
        for m in _matches(_NIF, text, classes, _NIF_SHAPES):
            number = ((m.group(1) or "") + m.group(2) + m.group(3)).upper()
            if es_nif_ok(number):
                yield Finding("ES_NIF", m.start(), m.end(), number)


def _matches(pattern: re.Pattern[str], text: str, classes: bytes,
             shapes: tuple[bytes, ...]) -> Iterator[re.Match[str]]:
    starts = sorted({at - 1 for shape in shapes for at in positions(classes, shape)
                     if classes[at - 1] not in _NOT_BEFORE})
    for start in starts:
        if (m := pattern.match(text, start)) is not None:
            yield m
