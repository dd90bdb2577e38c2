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
from gatewise.guardrails.normalize import ascii_bytes, positions
from gatewise.guardrails.validators import PADDED_OCTET

_DOT = r"(?:\s*[\[({<]\s*(?:dot|\.)\s*[\])}>]\s*|\s+dot\s+|\.)"  # "[dot]", "(.)", " dot ", "."
_SPELLED_DOT = re.compile(r"\s*[\[({<]\s*(?:dot|\.)\s*[\])}>]\s*|\s+dot\s+")
_WORD = r"[^\W_](?:[\w+\-]{0,62}[^\W_])?"
_LOCAL = re.compile(rf"(?<![\w.+\-]){_WORD}(?:{_DOT}{_WORD}){{0,8}}\Z")
_DOMAIN = re.compile(rf"{_WORD}(?:{_DOT}{_WORD}){{1,8}}")
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
_FANG_REACH = 24  # an address reaches at most this far either side of one of its dots
# Every bracket and space read as a bar, so one search (from a literal, skipped along in C)
# finds "[at]", "(dot)", "{.}", " dot " and " at " alike; the character before tells them apart.
_BARS = bytes.maketrans(b"[({<])}> ", b"|||||||||")
_MARK = re.compile(rb"\|(at|dot|\.)(?=\|)")
_OCTETS = re.compile(r"\d+")


def find_spelled(text: str, lower: str, emails: bool, addresses: bool) -> Iterator[Finding]:
    """E-mail addresses (``emails``) and IPv4 addresses (``addresses``) written out (see the
    module); ``lower``: ``text`` lower-cased, the same length. The text is searched a few times
    in all: once for every mark but the "@", once for each "@"."""
    marks = [(m.start(), m.group(1)) for m in _MARK.finditer(ascii_bytes(lower).translate(_BARS))]
    if emails:
        yield from _emails(text, lower, marks)
    if addresses:
        yield from _defanged_ips(lower, [at for at, mark in marks if mark != b"at" and lower[at] != " "])


def _emails(text: str, lower: str, marks: list[tuple[int, bytes]]) -> Iterator[Finding]:
    """``marks``: (where, "at" | "dot" | ".") of each word or dot between spaces or brackets."""
    for local_end, domain_start, kind in _at_marks(lower, marks):
        local = _LOCAL.search(lower, max(0, local_end - _LOCAL_WINDOW), local_end)
        domain = _DOMAIN.match(lower, domain_start)
        if local is None or domain is None:
            continue
        name, host = _dotted(local.group()), _dotted(domain.group())
        if kind == "at" and (_SPELLED_DOT.search(domain.group()) is None or name in _PROSE):
            continue
        address = _with_known_tld(host)
        written = text[domain.start():domain.end()]
        if address is not None and (kind != "@" or _spaced_at_ok(written)):
            end = domain.start() + _prefix_length(domain.group(), address)
            yield Finding("EMAIL", local.start(), end, f"{name}@{address}")


def _at_marks(lower: str, found: list[tuple[int, bytes]]) -> list[tuple[int, int, str]]:
    """Where each written-out "@" ends a local part and begins a domain, and its kind: a
    bracketed "[at]", the word "at" (only when a dot is spelled out too), an "@" beside a space."""
    spelled = any(mark != b"at" and (mark == b"dot" or lower[at] != " ") for at, mark in found)
    marks = [(at, at + 4, "at" if lower[at] == " " else "[at]") for at, mark in found
             if mark == b"at" and (spelled or lower[at] != " ")]
    marks += [(at, at + 1, "@") for at in positions(lower, "@")  # a few '@', found at memchr speed
              if lower[at - 1:at].isspace() or lower[at + 1:at + 2].isspace()]
    return [(_before_spaces(lower, start), _after_spaces(lower, end), kind)
            for start, end, kind in sorted(marks)]


def _before_spaces(lower: str, at: int) -> int:
    while at and lower[at - 1].isspace():
        at -= 1
    return at


def _after_spaces(lower: str, at: int) -> int:
    while at < len(lower) and lower[at].isspace():
        at += 1
    return at


def _defanged_ips(lower: str, fangs: list[int]) -> Iterator[Finding]:
    """IPv4 addresses with at least one defanged dot ("[.]", "(.)", "[dot]") at one of
    ``fangs``, zero-padded octets allowed; the value is the plain address."""
    done = 0
    for at in fangs:
        if at < done:
            continue
        m = _DEFANGED_IP.search(lower, max(done, at - _FANG_REACH), at + _FANG_REACH)
        if m is not None and m.start() <= at < m.end():
            done = m.end()
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
