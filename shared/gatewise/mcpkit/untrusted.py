"""Model and web text handed to a client model: labelled and fenced, so it is read as data.

A fence is only as good as its end marker. Two things keep text inside from ending it early:

- every fence draws a fresh random ``id`` and the closing marker repeats it; the text was
  written before the id existed, so it cannot contain the real end;
- anything inside that looks like a fence marker (``<untrusted…`` or ``</untrusted…``, in any
  case, with spaces, zero-width or other invisible characters, full-width or small ``<``) has
  its ``<`` escaped, so nothing inside even resembles one.

Only the text content a client model reads is fenced. Structured content stays the raw, typed
value: programs read it, not models, and positions such as a citation's span index into the
exact answer text, which escaping would shift.
"""

from __future__ import annotations

import functools
import re
import secrets
from typing import Any

from gatewise.mcpkit.structured import json_text
from gatewise.redact import vouch_for_json

TAG = "untrusted_model_output"

# Unicode's default-ignorable code points: rendered as nothing, so they can hide inside a marker.
_IGNORABLE = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff"
)
_GAP = rf"[\s{_IGNORABLE}]*"
_OPENERS = "<\uff1c\ufe64"  # '<', full-width '＜', small '﹤'
_SLASHES = "/\uff0f"  # '/', full-width '／'


def _letter(char: str) -> str:
    """One letter in either case, ASCII or full-width."""
    wide = [chr(ord(c) - 0x21 + 0xFF01) for c in (char.lower(), char.upper())]
    return f"[{char.lower()}{char.upper()}{''.join(wide)}]"


@functools.cache
def _marker(word: str) -> re.Pattern[str]:
    """An opening or closing tag that starts with ``word``, however disguised."""
    return re.compile(f"[{_OPENERS}]{_GAP}(?:[{_SLASHES}]{_GAP})?" + _GAP.join(_letter(c) for c in word))


_JSON_OPENER = re.compile(f"[{_OPENERS}]")
_NOT_IN_MODEL_IDS = re.compile(r"[^\w.:/@+~-]", re.ASCII)


def new_boundary() -> str:
    """64 random bits, as hex: what the closing marker must repeat."""
    return secrets.token_hex(8)


def defuse(text: str, tag: str = "untrusted") -> str:
    """The text with the ``<`` of every marker that looks like a ``tag`` fence's (by default the
    fences of this module; the research prompt's ``<sources>`` block uses it too) as ``&lt;``."""
    return _marker(tag).sub(lambda m: "&lt;" + m.group(0)[1:], text)


def fence(text: str, *, notice: str, model: str) -> str:
    """Prose or markdown, fenced."""
    return _wrap(defuse(text), notice, _model_name(model))


def fence_json(data: dict[str, Any], *, notice: str, model: str) -> str:
    """A result's structured content as JSON text, fenced. Every ``<`` (and its look-alikes) is a
    ``\\uXXXX`` escape, which JSON allows inside strings, so the fenced JSON still parses to
    exactly the structured content. Compact: a client model reads it on every call, and
    indentation would add a token or so per line."""
    text = _JSON_OPENER.sub(lambda m: f"\\u{ord(m.group(0)):04x}", json_text(data, indent=None))
    name = _model_name(model)
    # Made of the (scrubbed) content, the notice, the name and a random id: when those are known
    # clean, the exit's scrub need not search this copy of them again.
    return vouch_for_json(_wrap(text, notice, name), data, notice, name)


def _model_name(model: str) -> str:
    """The model name comes from the upstream's reply: keep only what model ids are made of."""
    return _NOT_IN_MODEL_IDS.sub("", model)[:200]


def _wrap(text: str, notice: str, name: str) -> str:
    boundary = new_boundary()
    return (f'{notice} It ends only at the closing tag with id="{boundary}".\n'
            f'<{TAG} id="{boundary}" model="{name}">\n{text}\n</{TAG} id="{boundary}">')
