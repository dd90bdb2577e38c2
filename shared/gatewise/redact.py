"""Keep secrets out of logs, tool output, error text and stored rows.

One process-wide :class:`Scrubber` knows every configured secret: settings remember theirs when
they are built, and every upstream client remembers the keys it sends. An upstream (or a proxy in
front of it) may echo a key back in any form, so the scrubber finds, case-insensitively:

* the secret itself, and the secret without its known prefix (``sk-or-v1-``, ``sk-``, ``pk-``…);
* any run of at least :data:`MIN_RUN` characters of the part after the prefix that holds a
  digit or a capital (a plain word inside a key, such as ``provider``, is not a leak);
* the same inside base64 (either alphabet, at any alignment) and inside percent-encoding;
* with ``shapes=True`` (error text, logs), also generic key shapes such as ``sk-…`` and
  ``Bearer …`` tokens of keys it has never seen.

Substring matching is linear in the text: every run of ``MIN_RUN`` characters contains a
:data:`_GRAM`-character gram starting at a multiple of :data:`_STRIDE`, so only those grams are
looked up in one dict, and the rare hits are extended character by character.
"""

from __future__ import annotations

import base64
import logging
import re
import string
import threading
from collections.abc import Iterable
from itertools import compress
from typing import Any, NamedTuple
from urllib.parse import unquote, urlsplit

# Bearer tokens and provider key shapes that may appear in upstream error bodies or URLs.
_KEY_PATTERN = re.compile(
    r"\b(sk-[A-Za-z0-9_\-]{4,}|pk-[A-Za-z0-9_\-]{8,}|(?i:Bearer)\s+[A-Za-z0-9._\-]{8,})")
# Longest first: the part after the prefix is what is random, so it is what is matched in pieces.
KNOWN_PREFIXES = ("sk-or-v1-", "sk-proj-", "sk-ant-", "sk-", "pk-")
MIN_RUN = 8  # the shortest piece of a secret that counts as a leak
_MIN_SECRET = 5  # shorter values would blank out ordinary words
_GRAM = 4
_STRIDE = MIN_RUN - _GRAM + 1  # every MIN_RUN-long stretch holds a gram starting at a multiple
_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)  # keeps offsets
_URLSAFE = str.maketrans("+/", "-_")
# Runs holding at least one %XX escape, with the URL-safe characters around them.
_PERCENT_RUN = re.compile(r"[\w.~+\-]*(?:%[0-9A-Fa-f]{2}[\w.~+\-]*)+")
_FORMATTER = logging.Formatter()  # renders tracebacks the way the stderr handler would
# The characters of strings a scrubber remembers as clean before it forgets them all at once.
_CLEAN_CHARS = 1 << 20


def mask(secret: str | None) -> str:
    """Show a secret as ``sk-…abcd``: enough to tell keys apart, never enough to use one."""
    if not secret:
        return "(not set)"
    if len(secret) <= 8:
        return "…"
    head = secret[:3] if secret[:3] in ("sk-", "pk-") else ""
    return f"{head}…{secret[-4:]}"


class _Needle(NamedTuple):
    text: str  # lower-cased form searched for
    secret: str  # the secret it stands for (its mask replaces a hit)
    head: int  # leading characters of `text` that are a public prefix, not counted as a leak
    original: str  # `text` before lower-casing, to judge what a piece of it looks like


def _split_prefix(secret: str) -> tuple[str, str]:
    lowered = secret.lower()
    for prefix in KNOWN_PREFIXES:
        if lowered.startswith(prefix):
            return secret[: len(prefix)], secret[len(prefix):]
    return "", secret


def _random_looking(part: str) -> bool:
    """Machine-made keys mix letters and digits; a human-chosen name (``anthropic-prod``) does
    not, and matching pieces of it would blank out ordinary words, so it is matched whole."""
    classes = (any(c.islower() for c in part), any(c.isupper() for c in part),
               any(c.isdigit() for c in part))
    return len(part) >= MIN_RUN and sum(classes) >= 2


def base64_cores(value: str) -> set[str]:
    """The base64 characters that encode ``value`` wherever it sits in a longer encoded text.

    Base64 packs 3 bytes into 4 characters, so the encoding of a value depends on its offset
    modulo 3; for each offset only the characters made entirely of the value's own bits are
    kept. Both alphabets (standard and URL-safe) are returned.
    """
    raw = value.encode()
    cores: set[str] = set()
    for lead in range(3):
        encoded = base64.b64encode(b"\0" * lead + raw).decode()
        core = encoded[-(-8 * lead // 6): 8 * (lead + len(raw)) // 6]
        cores.update((core, core.translate(_URLSAFE)))
    return cores


class Scrubber:
    """A matcher built once for one set of secrets; :meth:`scrub` is linear in the text."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self.secrets = frozenset(s for s in secrets if s)
        self._needles: list[_Needle] = []  # matched in pieces (random-looking secrets)
        self._whole: list[_Needle] = []  # matched only whole (human-chosen secrets)
        self._grams: dict[tuple[str, ...], list[tuple[int, int]]] = {}  # gram -> (needle, offset)
        for secret in sorted(self.secrets, key=len, reverse=True):
            if len(secret) >= _MIN_SECRET:
                self._add(secret)
        # No secret to look for: only the key shapes can change a text.
        self.knows_secrets = bool(self._whole or self._needles)
        # Strings this scrubber found free of every secret (key shapes not looked for): an answer
        # scrubbed where it arrives, and the field names and model ids of every result, are not
        # searched again at the next exit. A new secret makes a new scrubber, with none.
        self._clean: dict[str, None] = {}
        self._clean_chars = 0

    def _add(self, secret: str) -> None:
        prefix, part = _split_prefix(secret)
        forms = [(secret, len(prefix)), *((core, 0) for core in base64_cores(part))]
        if not _random_looking(part):
            if prefix and len(part) >= MIN_RUN:
                forms.append((part, 0))
            self._whole += [_Needle(text.lower(), secret, 0, text) for text, _ in forms
                            if text == secret or len(text) >= MIN_RUN]
            return
        for original, head in forms:
            index, text = len(self._needles), original.lower()
            self._needles.append(_Needle(text, secret, head, original))
            for offset in range(head, len(text) - _GRAM + 1):
                self._grams.setdefault(tuple(text[offset: offset + _GRAM]), []).append((index, offset))

    def scrub(self, text: str, *, shapes: bool = True) -> str:
        """``text`` with every known secret (and, with ``shapes``, every key shape) masked."""
        if len(text) < _MIN_SECRET:
            return text
        if "%" in text:
            text = _PERCENT_RUN.sub(self._decoded_run, text)
        low = _fold(text)
        spans = self._spans(low)
        # Every key shape starts with one of these; `in` is far cheaper than running the regex.
        if shapes and ("sk-" in low or "pk-" in low or "bearer" in low):
            spans += [(m.start(), m.end(), mask(m.group(0).split()[-1]))
                      for m in _KEY_PATTERN.finditer(text)]
        return _replace(text, spans) if spans else text

    def unseen(self, strings: list[str]) -> list[str]:
        """The strings this scrubber has not yet found clean."""
        clean = self._clean
        return [text for text in strings if text not in clean]

    def remember_clean(self, strings: list[str]) -> None:
        """Record strings found to hold no secret; the record is bounded by its characters."""
        size = sum(map(len, strings))
        if size > _CLEAN_CHARS:  # more than the whole record holds: kept out rather than let in
            return
        if self._clean_chars + size > _CLEAN_CHARS:
            self._clean.clear()
            self._clean_chars = 0
        self._clean.update(dict.fromkeys(strings))
        self._clean_chars += size

    def _decoded_run(self, match: re.Match[str]) -> str:
        """A percent-encoded run stays as it is unless, decoded, it holds a secret."""
        run = match.group(0)
        decoded = unquote(run)
        spans = self._spans(_fold(decoded))
        return _replace(decoded, spans) if spans else run

    def _spans(self, low: str) -> list[tuple[int, int, str]]:
        spans = [(i, i + len(n.text), mask(n.secret)) for n in self._whole for i in _find_all(low, n.text)]
        if self._grams:
            spans += self._piece_spans(low)
        return spans

    def _piece_spans(self, low: str) -> list[tuple[int, int, str]]:
        # The grams at multiples of _STRIDE as tuples of characters: striding, zipping and the
        # dict test all run in C, and one-character strings come with their hash cached.
        grams = zip(*(low[i::_STRIDE] for i in range(_GRAM)), strict=False)  # last may be short
        hits = compress(range(0, len(low), _STRIDE), map(self._grams.__contains__, grams))
        spans: list[tuple[int, int, str]] = []
        covered = 0
        for start in hits:
            if start < covered:
                continue
            for index, offset in self._grams[tuple(low[start: start + _GRAM])]:
                needle = self._needles[index]
                begin, end, first, last = _extend(low, start, needle.text, offset)
                if _is_leak(needle.original[max(first, needle.head): last]):
                    spans.append((begin, end, mask(needle.secret)))
                    covered = max(covered, end)
        return spans


def _fold(text: str) -> str:
    """``text`` lower-cased with every character at its offset. ``str.lower`` is fast but lengthens
    a few characters (``İ``), and then only ASCII letters are folded; the table alone costs
    ≈ 45 ns a character on any text that is not pure ASCII."""
    low = text.lower()
    return low if len(low) == len(text) else text.translate(_LOWER)


def _is_leak(piece: str) -> bool:
    """Enough of a secret to count, and not a plain word that happens to sit in one (the
    ``provider`` of ``sk-provider-…``): machine-made pieces hold a digit or a capital."""
    return len(piece) >= MIN_RUN and any(c.isdigit() or c.isupper() for c in piece)


def _extend(low: str, at: int, needle: str, offset: int) -> tuple[int, int, int, int]:
    """Grow the agreement of ``low[at:]`` and ``needle[offset:]`` (one gram) both ways."""
    begin, first = at, offset
    while begin > 0 and first > 0 and low[begin - 1] == needle[first - 1]:
        begin, first = begin - 1, first - 1
    end, last = at + _GRAM, offset + _GRAM
    while end < len(low) and last < len(needle) and low[end] == needle[last]:
        end, last = end + 1, last + 1
    return begin, end, first, last


def _find_all(text: str, needle: str) -> Iterable[int]:
    at = text.find(needle)
    while at >= 0:
        yield at
        at = text.find(needle, at + len(needle))


def _replace(text: str, spans: list[tuple[int, int, str]]) -> str:
    """Replace the spans from left to right; one overlapping another joins the mask before it."""
    out: list[str] = []
    done = 0
    for begin, end, replacement in sorted(spans):
        if begin < done:
            done = max(done, end)
            continue
        out += (text[done:begin], replacement)
        done = end
    out.append(text[done:])
    return "".join(out)


_lock = threading.Lock()
_active = Scrubber(())


def remember(secrets: Iterable[str]) -> None:
    """Make the process-wide scrubber know these secrets too (it is rebuilt only when one is new)."""
    global _active
    fresh = {s for s in secrets if s} - _active.secrets
    if fresh:
        with _lock:
            _active = Scrubber(_active.secrets | fresh)


def scrub(text: str, secrets: Iterable[str] = (), *, shapes: bool = True) -> str:
    """Replace every known secret (plus ``secrets``) and, with ``shapes``, every key-shaped token."""
    remember(secrets)
    return _active.scrub(text, shapes=shapes)


def scrub_data(value: Any, *, shapes: bool = False, scrubber: Scrubber | None = None) -> Any:
    """``value`` (JSON-like: dicts, lists, strings) with every string scrubbed (by ``scrubber``,
    default the process-wide one); ``value`` itself when no string in it needs a change.

    Model answers and tool results are scrubbed of known secrets only by default: a generic
    ``sk-…`` shape there may be legitimate (a new key shown once, ``sk-learn`` in an answer).
    """
    scrubber = scrubber or _active
    if not shapes and not scrubber.knows_secrets:  # nothing could change: no pass at all
        return value
    strings: list[str] = []
    _collect_strings(value, strings)
    if not shapes:  # strings already found clean cannot have changed: not searched again
        strings = scrubber.unseen(strings)
        if not strings:
            return value
    # Nothing a scrub finds can span a NUL (no secret, encoded form or key shape holds one), so
    # one scrub of the strings joined by NULs changes nothing exactly when no string would
    # change: the clean case, nearly every answer, costs one pass and no copy.
    joined = "\0".join(strings)
    if scrubber.scrub(joined, shapes=shapes) == joined:
        if not shapes:
            scrubber.remember_clean(strings)
        return value
    return _scrub_each(value, scrubber, shapes)


def scrub_data_with(value: Any, secrets: Iterable[str], *, shapes: bool) -> Any:
    """``value`` scrubbed of ``secrets`` too (and of key shapes with ``shapes``), by a scrubber of
    its own: one call's own secrets, kept out of the process-wide set a caller could grow."""
    return scrub_data(value, shapes=shapes,
                      scrubber=Scrubber(_active.secrets | set(secrets)) if secrets else None)


def vouch_for_json(text: str, *parts: Any) -> str:
    """``text``, recorded as clean when every string of ``parts`` is: for a text made only of those
    strings, JSON punctuation and escapes, fixed wording and random hex, such as a result's
    structured content as fenced JSON, so that the last exit does not search it all again.

    Nothing such a text adds can carry a secret: a piece of one is a run of key characters (or
    the whole secret), and a run in that text is a run of one string, or holds an escape's
    ``u003c``/``n`` (at most ``MIN_RUN - 1`` characters of the string after it; the backslash
    before it ends a run) or random hex; a secret made of JSON punctuation is not looked for.
    """
    scrubber = _active  # one scrubber for the check and the record
    if scrubber.knows_secrets:
        strings: list[str] = []
        _collect_strings(list(parts), strings)
        strings = scrubber.unseen(strings)
        joined = "\0".join(strings)
        if scrubber.scrub(joined, shapes=False) == joined:
            scrubber.remember_clean([*strings, text])
    return text


def _collect_strings(value: Any, out: list[str]) -> None:
    """Every string in ``value``, dictionary keys included."""
    kind = type(value)
    if kind is dict:
        out.extend(key for key in value if isinstance(key, str))
        items: Iterable[Any] = value.values()
    elif kind is list or kind is tuple:
        items = value
    elif isinstance(value, str):
        out.append(value)
        return
    elif isinstance(value, dict | list | tuple):  # subclasses: rare, and slower to tell apart
        _collect_strings(dict(value) if isinstance(value, dict) else list(value), out)
        return
    else:
        return
    for item in items:
        kind = type(item)
        if kind is str:
            out.append(item)
        elif kind not in _LEAVES:  # numbers, booleans and None hold no text
            _collect_strings(item, out)


_LEAVES = frozenset({int, float, bool, type(None)})


def _scrub_each(value: Any, scrubber: Scrubber, shapes: bool) -> Any:
    if isinstance(value, str):
        return scrubber.scrub(value, shapes=shapes)
    if isinstance(value, dict):
        return {_scrub_each(k, scrubber, shapes): _scrub_each(v, scrubber, shapes) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_scrub_each(v, scrubber, shapes) for v in value)
    return value


def url_secrets(url: str | None) -> tuple[str, ...]:
    """The long path segments and query values of a URL that carries its token (webhooks)."""
    if not url:
        return ()
    parts = urlsplit(url)
    pieces = parts.path.split("/") + [p.partition("=")[2] for p in parts.query.split("&")]
    return tuple(unquote(p) for p in pieces if len(p) >= 16)


class RedactingFilter(logging.Filter):
    """A logging filter that scrubs secrets from every record before any handler sees it:
    the message with its arguments, the formatted traceback and the stack."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        remember(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # arguments that do not fit the format: keep both
            message = f"{record.msg} {record.args!r}"
        record.msg, record.args = scrub(message), None
        if record.exc_info:
            # Rendered here and scrubbed; the live exception is dropped so no formatter renders
            # it again from its unscrubbed arguments.
            record.exc_text = record.exc_text or _FORMATTER.formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True

