"""Addresses written out to slip past a filter: e-mail as "john dot smith at example dot com",
"jsmith [at] example [dot] com" or "sofia.rossi @ libero.it", and IPv4 addresses defanged as
threat reports write them, "185[.]220[.]101[.]47".

Each is looked for only when the text holds its mark (a spelled "dot", a bracketed "at" or dot,
an "@" beside a space), and counts only as a whole address: a known top-level domain after at
least one dot, or four valid octets. The plain word "at" names an e-mail only where the domain is
spelled out too ("at example dot com"), and not after a word that commonly stands before "at"
("work at example dot com").
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from gatewise.guardrails.entities import Finding
from gatewise.guardrails.validators import PADDED_OCTET

_DOT = r"(?:\s*[\[({<]\s*(?:dot|\.)\s*[\])}>]\s*|\s+dot\s+|\.)"  # "[dot]", "(.)", " dot ", "."
_SPELLED_DOT = re.compile(r"\s*[\[({<]\s*(?:dot|\.)\s*[\])}>]\s*|\s+dot\s+")
_WORD = r"[^\W_](?:[\w+\-]{0,62}[^\W_])?"
# The marks an e-mail's "@" is written as: a bracketed "at", a plain "at", an "@" beside a space.
_AT = re.compile(r"\s*[\[({<]\s*at\s*[\])}>]\s*|\s+at\s+|\s+@\s*|\s*@\s+")
_LOCAL = re.compile(rf"(?<![\w.+\-]){_WORD}(?:{_DOT}{_WORD}){{0,8}}\Z")
_DOMAIN = re.compile(rf"{_WORD}(?:{_DOT}{_WORD}){{1,8}}")
_SPELLED_DOTS = (" dot ", "dot]", "dot)", "dot}", "dot>")
_AT_MARKS = (" @", "@ ", "at]", "at)", "at}", "at>")
_LOCAL_WINDOW = 160
_GENERIC_TLDS = frozenset((
    "com", "org", "net", "edu", "gov", "mil", "int", "info", "biz", "name", "pro", "io", "ai", "app",
    "dev", "me", "tv", "xyz", "online", "site", "tech", "store", "blog", "cloud", "email", "mail",
    "museum", "aero", "coop", "jobs", "travel", "mobi", "asia",
))
# Words that stand before "at" in prose, never an address's local part there.
_PROSE = frozenset((
    "a", "an", "the", "i", "me", "you", "him", "her", "us", "them", "it", "we", "they", "he", "she",
    "is", "am", "are", "was", "were", "be", "been", "being", "and", "or", "but", "not", "look",
    "looking", "looked", "work", "works", "working", "worked", "job", "meet", "meeting", "stay",
    "staying", "live", "lives", "living", "based", "here", "there", "home", "available", "online",
    "only", "now", "later", "today", "once", "which", "that", "this", "what", "who", "where", "when",
    "shop", "buy", "bought", "sold", "order", "ordered", "sign", "signed", "visit", "visited", "find",
    "found", "see", "seen", "start", "started", "study", "studied", "intern", "employed", "reach",
    "reached", "arrive", "arrived", "out", "in", "up", "on", "off", "by", "from", "to", "for", "of",
    "with", "more", "details", "information", "page", "website",
))

_OCTET = PADDED_OCTET
_FANG = r"(?:\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\)|\{dot\})"
_DEFANGED_IP = re.compile(rf"(?<![\w.])({_OCTET})((?:(?:\.|{_FANG}){_OCTET}){{3}})(?![\w.\[({{])")
_FANGS = ("[.]", "(.)", "{.}", "[dot]", "(dot)", "{dot}")
_OCTETS = re.compile(r"\d+")


def find_spelled_emails(text: str, lower: str) -> Iterator[Finding]:
    """E-mail addresses written with a spelled or spaced "@" (see the module); ``lower``:
    ``text`` lower-cased, the same length."""
    spelled = any(mark in lower for mark in _SPELLED_DOTS)
    if not (spelled or any(mark in lower for mark in _AT_MARKS)):  # C searches: most texts have none
        return
    for mark in _AT.finditer(lower):
        plain = mark.group().strip() == "at"
        if plain and not spelled:
            continue
        local = _LOCAL.search(lower, max(0, mark.start() - _LOCAL_WINDOW), mark.start())
        domain = _DOMAIN.match(lower, mark.end())
        if local is None or domain is None:
            continue
        name, host = _dotted(local.group()), _dotted(domain.group())
        if plain and (_SPELLED_DOT.search(domain.group()) is None or name in _PROSE):
            continue
        address = _with_known_tld(host)
        written = text[domain.start():domain.end()]
        if address is not None and ("@" not in mark.group() or _spaced_at_ok(written)):
            end = domain.start() + _prefix_length(domain.group(), address)
            yield Finding("EMAIL", local.start(), end, f"{name}@{address}")


def find_defanged_ips(lower: str) -> Iterator[Finding]:
    """IPv4 addresses with at least one defanged dot ("[.]", "(.)", "[dot]"), zero-padded
    octets allowed; the value is the plain address."""
    if not any(fang in lower for fang in _FANGS):
        return
    for m in _DEFANGED_IP.finditer(lower):
        if any(fang in m.group(2) for fang in _FANGS):
            yield Finding("IP_ADDRESS", m.start(), m.end(), plain_ipv4(m.group()))


def plain_ipv4(written: str) -> str:
    """An address's octets without padding, joined by plain dots."""
    return ".".join(str(int(octet)) for octet in _OCTETS.findall(written))


def _dotted(spelled: str) -> str:
    """An address part with each written-out dot made a ``.``."""
    return _SPELLED_DOT.sub(".", spelled)


def _with_known_tld(host: str) -> str | None:
    """``host`` up to its last label that is a top-level domain (two letters, or a generic one),
    after at least one other label; None without one."""
    labels = host.split(".")
    for last in range(len(labels) - 1, 0, -1):
        tld = labels[last]
        if tld.isalpha() and tld.isascii() and (len(tld) == 2 or tld in _GENERIC_TLDS):
            return ".".join(labels[:last + 1])
    return None


def _spaced_at_ok(written: str) -> bool:
    """Whether a domain after an "@" beside a space reads as one, not as code (``q @ k.mT``,
    ``x @ w.T``): its top-level domain written in one case."""
    tld = re.split(r"[.\s\])}>]+", written.strip())[-1]
    return tld.islower() or tld.isupper()


def _prefix_length(written: str, host: str) -> int:
    """How many characters of ``written`` (the domain as written) make up ``host``."""
    labels = host.count(".") + 1
    for seen, m in enumerate(re.finditer(_DOT, written), start=1):
        if seen == labels:
            return m.start()
    return len(written)
