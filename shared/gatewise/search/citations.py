"""Citations: ``url_citation`` annotations → numbered sources, and answers with matching refs.

A source is numbered by its first appearance in the answer, so ``[1]`` is the first thing the
answer cites. The same page cited twice (or with tracking parameters, a fragment or a trailing
slash) keeps one number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, Field

from gatewise.search.forms import host_matches

SNIPPET_CHARS = 400
# Query parameters that only track where a visitor came from; they never change the page.
_TRACKING = re.compile(r"^(utm_|fbclid$|gclid$|mc_eid$|ref$|ref_src$)", re.I)
_INLINE_LINK = re.compile(r"\[[^\]\n]*\]\((?P<url>https?://[^)\s]+)\)")
_MARKDOWN_LINK = re.compile(rf"^{_INLINE_LINK.pattern}$")
_REF = re.compile(r"\[(\d{1,3})\]")
_SPACED_REF = re.compile(r"[ \t]*\[(\d{1,3})\]")
# Several references in one bracket: "[1, 3]", "[2-4]", "[1,2-3]".
_REF_GROUP = re.compile(r"\[(\d{1,3}(?:\s*-\s*\d{1,3})?(?:\s*,\s*\d{1,3}(?:\s*-\s*\d{1,3})?)*)\]")
MAX_RANGE = 20
# A sentence ends at . ! ? before a space or the end (not "3.14"); refs right after it are its own.
_SENTENCE = re.compile(r"(?:[^.!?\n]|[.!?](?![\s]|$))+[.!?]*(?:[ \t]*\[\d{1,3}\])*")


class Span(BaseModel):
    start: int = Field(description="First character of the cited text in `answer`")
    end: int = Field(description="One past its last character")


class Citation(BaseModel):
    number: int = Field(description="The [n] that refers to this source")
    url: str
    title: str | None = None
    snippet: str | None = Field(None, description="An excerpt of the page that supports the answer")
    position: int | None = Field(
        None, description="Where the answer first cites it (character index in `answer`); null when "
                          "the source was returned without an anchor in the text")
    spans: list[Span] = Field(default_factory=list, description="Every cited span in `answer`")


def normalise_url(url: str) -> str:
    """The identity of a page: lower-case scheme and host, no fragment, tracking or trailing '/'."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url.strip()
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                       if not _TRACKING.match(k)])
    path = parts.path.rstrip("/") or ""
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, query, ""))


def shorten(text: str | None, limit: int = SNIPPET_CHARS) -> str | None:
    if not text:
        return None
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + " …"


def from_annotations(answer: str, annotations: Iterable[Mapping[str, Any]]) -> list[Citation]:
    """Numbered, de-duplicated citations. A source whose annotation has no usable span (missing,
    or outside ``answer``) is anchored at the answer's inline links to it, if any."""
    by_url: dict[str, Citation] = {}
    anchored: list[tuple[int, str]] = []
    links = _inline_links(answer)
    for note in annotations:
        cite = note.get("url_citation") if note.get("type") == "url_citation" else None
        if not isinstance(cite, Mapping) or not isinstance(cite.get("url"), str) or not cite["url"]:
            continue
        key = normalise_url(cite["url"])
        entry = by_url.get(key)
        if entry is None:
            entry = by_url[key] = Citation(number=0, url=cite["url"], title=cite.get("title") or None,
                                           snippet=shorten(cite.get("content")))
        elif entry.snippet is None:
            entry.snippet = shorten(cite.get("content"))
        span = _span(answer, cite.get("start_index"), cite.get("end_index"))
        found = [span] if span is not None else links.get(key, [])
        for place in found:
            if place not in entry.spans:
                entry.spans.append(place)
                anchored.append((place.start, key))
    order = list(dict.fromkeys(key for _, key in sorted(anchored)))
    order += [key for key in by_url if key not in order]
    out = []
    for number, key in enumerate(order, start=1):
        entry = by_url[key]
        entry.number = number
        entry.spans.sort(key=lambda s: s.start)
        entry.position = entry.spans[0].start if entry.spans else None
        out.append(entry)
    return out


def _inline_links(answer: str) -> dict[str, list[Span]]:
    """Every markdown link in the answer, by normalised URL."""
    found: dict[str, list[Span]] = {}
    for match in _INLINE_LINK.finditer(answer):
        found.setdefault(normalise_url(match.group("url")), []).append(
            Span(start=match.start(), end=match.end()))
    return found


def _span(answer: str, start: Any, end: Any) -> Span | None:
    if not isinstance(start, int) or not isinstance(end, int) or isinstance(start, bool):
        return None
    if not 0 <= start < end <= len(answer):
        return None
    return Span(start=start, end=end)


def within_domains(citations: list[Citation], include: Iterable[str], exclude: Iterable[str]
                   ) -> tuple[list[Citation], list[Citation]]:
    """(kept, dropped): sources outside the caller's domain filter are dropped and the rest
    renumbered, for engines that do not apply the filter themselves."""
    include, exclude = list(include), list(exclude)
    kept: list[Citation] = []
    dropped: list[Citation] = []
    for citation in citations:
        host = urlsplit(citation.url).hostname or ""
        inside = (not include or any(host_matches(host, p) for p in include)) and not any(
            host_matches(host, p) for p in exclude)
        (kept if inside else dropped).append(citation)
    return [c.model_copy(update={"number": i}) for i, c in enumerate(kept, start=1)], dropped


def with_refs(answer: str, citations: list[Citation]) -> str:
    """The answer with ``[n]`` at every cited span: an inline link to the source becomes
    ``[n](url)``; any other cited text gets `` [n]`` after it."""
    edits = sorted(((span, c) for c in citations for span in c.spans),
                   key=lambda item: (item[0].start, item[0].end), reverse=True)
    text = answer
    last_start = len(answer) + 1
    for span, citation in edits:
        if span.end > last_start:  # overlaps an edit already made further on
            continue
        piece = text[span.start:span.end]
        link = _MARKDOWN_LINK.match(piece)
        if link and normalise_url(link.group("url")) == normalise_url(citation.url):
            text = f"{text[:span.start]}[[{citation.number}]]({citation.url}){text[span.end:]}"
        else:
            text = f"{text[:span.end]} [{citation.number}]{text[span.end:]}"
        last_start = span.start
    return text


def sources_markdown(citations: list[Citation]) -> str:
    lines = ["**Sources**"]
    for c in citations:
        title = (c.title or c.url).replace("[", "(").replace("]", ")")
        line = f"{c.number}. [{title}]({c.url})"
        if c.snippet:
            line += f" — {shorten(c.snippet, 200)}"
        lines.append(line)
    return "\n".join(lines)


def normalise_refs(text: str) -> str:
    """``[1, 3]`` and ``[2-4]`` (as models often write them) → ``[1][3]`` and ``[2][3][4]``."""

    def expand(match: re.Match[str]) -> str:
        numbers: list[int] = []
        for part in re.split(r"\s*,\s*", match.group(1)):
            low, _, high = part.partition("-")
            first, last = int(low), int(high or low)
            numbers += range(first, last + 1) if first <= last <= first + MAX_RANGE else [first, last]
        return "".join(f"[{n}]" for n in numbers)

    return _REF_GROUP.sub(expand, text)


def uncited_sentences(text: str) -> list[str]:
    """Sentences of ``text`` that carry no ``[n]`` reference (list markers and headings aside)."""
    out = []
    for match in _SENTENCE.finditer(text):
        sentence = match.group(0).strip()
        words = re.findall(r"\w+", _REF.sub("", sentence))
        if len(words) >= 4 and not _REF.search(sentence):
            out.append(sentence)
    return out


def drop_unknown_refs(text: str, known: int) -> tuple[str, list[int]]:
    """Remove ``[n]`` for sources that do not exist (n < 1 or n > known); say which were removed."""
    removed: list[int] = []

    def keep(match: re.Match[str]) -> str:
        n = int(match.group(1))
        if 1 <= n <= known:
            return match.group(0)
        removed.append(n)
        return ""

    return _SPACED_REF.sub(keep, text), removed
