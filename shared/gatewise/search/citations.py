"""Citations: ``url_citation`` annotations → numbered sources, and answers with matching refs.

A source is numbered by its first appearance in the answer, so ``[1]`` is the first thing the
answer cites. The same page cited twice (or with tracking parameters, a fragment or a trailing
slash) keeps one number. Annotations are upstream content: only a link that passes the URL policy
becomes a source, and titles are cut short. What a model writes itself (links, images, ``[n]``)
is kept to the sources by :func:`keep_to_sources`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, Field

from gatewise.media.urls import MAX_LINK_CHARS, ascii_host, link_refusal
from gatewise.search.forms import host_matches

SNIPPET_CHARS = 400
TITLE_CHARS = 200
# Query parameters that only track where a visitor came from; they never change the page.
_TRACKING = re.compile(r"^(utm_|fbclid$|gclid$|mc_eid$|ref$|ref_src$)", re.I)
_INLINE_LINK = re.compile(r"\[[^\]\n]*\]\((?P<url>https?://[^)\s]+)\)")
_MARKDOWN_LINK = re.compile(rf"^{_INLINE_LINK.pattern}$")
_REF = re.compile(r"\[(\d{1,3})\]")
_SPACED_REF = re.compile(r"[ \t]*\[(\d{1,3})\]")
# Several references in one bracket: "[1, 3]", "[2-4]", "[1,2-3]".
_REF_GROUP = re.compile(r"\[(\d{1,3}(?:\s*-\s*\d{1,3})?(?:\s*,\s*\d{1,3}(?:\s*-\s*\d{1,3})?)*)\]")
MAX_RANGE = 20
# What a model may write into an answer: markdown links (the text may hold one bracketed part, as
# in "[[9]](url)"), markdown and HTML images, HTML links and reference-style link definitions. Each
# pattern fails or matches within one line or tag, so a hostile answer costs linear time.
_LINK_TEXT = r"(?:[^\[\]\n]|\[[^\[\]\n]*\])*"
_DESTINATION = r"<[^<>\n]*>|[^()\s]*(?:\([^()\s]*\)[^()\s]*)*"
_TITLE = r"""(?:\s+(?:"[^"\n]*"|'[^'\n]*'))?"""
_MADE_LINK = re.compile(rf"\[(?P<text>{_LINK_TEXT})\]\((?P<url>{_DESTINATION}){_TITLE}\)")
_MARKDOWN_IMAGE = re.compile(rf"!{_MADE_LINK.pattern}")
_HTML_IMAGE = re.compile(r"<img\b[^>]*>?", re.I)  # an unclosed tag goes to the end of the text
_HTML_ANCHOR = re.compile(r"<a\b[^>]*>?", re.I)
_HREF = re.compile(r"""\bhref\s*=\s*["']?(?P<url>[^"'\s>]*)""", re.I)
_LINK_DEFINITION = re.compile(r"^[ ]{0,3}\[[^\]\n]+\]:[ \t]*(?P<url>\S+).*$", re.M)
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


def shorten(text: object, limit: int = SNIPPET_CHARS) -> str | None:
    """Upstream text (anything but a string counts as none) on one line, cut at a word."""
    if not isinstance(text, str) or not text.strip():
        return None
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + " …"


def from_annotations(answer: str, annotations: Iterable[Mapping[str, Any]]) -> tuple[list[Citation], int]:
    """Numbered, de-duplicated citations, and how many were dropped for a link no reader should
    be given (see :func:`gatewise.media.urls.link_refusal`). A source whose annotation has no
    usable span (missing, or outside ``answer``) is anchored at the answer's inline links to it."""
    by_url: dict[str, Citation] = {}
    anchored: list[tuple[int, str]] = []
    links = _inline_links(answer)
    unusable = 0
    for note in annotations:
        cite = note.get("url_citation") if note.get("type") == "url_citation" else None
        if not isinstance(cite, Mapping):
            continue
        url = cite.get("url")
        if not isinstance(url, str) or not url or link_refusal(url) is not None:
            unusable += 1
            continue
        key = normalise_url(url)
        entry = by_url.get(key)
        if entry is None:
            entry = by_url[key] = Citation(number=0, url=url,
                                           title=shorten(cite.get("title"), TITLE_CHARS),
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
    return out, unusable


def unusable_warning(count: int) -> list[str]:
    if not count:
        return []
    return [f"Dropped {count} source(s) whose link is not a public http(s) URL of at most "
            f"{MAX_LINK_CHARS:,} characters."]


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
        host = ascii_host(urlsplit(citation.url).hostname or "") or ""
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
    """The numbered list of sources under an answer. Titles and snippets are page text: they go
    through :func:`inert` as the answer's own text does, and a link's target is written so no
    character in it can end it early (see :func:`link_target`)."""
    lines = ["**Sources**"]
    for c in citations:
        title = (inert(c.title or "").strip() or c.url).replace("[", "(").replace("]", ")")
        line = f"{c.number}. [{title}]({link_target(c.url)})"
        snippet = shorten(inert(c.snippet or ""), 200)
        if snippet:
            line += f" — {snippet}"
        lines.append(line)
    return "\n".join(lines)


# What may end or break a markdown link's target: brackets, parentheses, angle brackets, quotes,
# backticks, backslashes and any white space or control character.
_LINK_BREAKING = re.compile(r"""[()<>\[\]"'`\\\s\x00-\x1f\x7f]""")


def link_target(url: str) -> str:
    """``url`` as a markdown link's target: every character that could end it early (so that what
    follows in the URL, "...a)[click](javascript:...)", reads as markdown) percent-encoded."""
    return _LINK_BREAKING.sub(lambda m: quote(m.group(0), safe=""), url)


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


@dataclass(frozen=True)
class KeptToSources:
    """A model's text with what it made up taken out, and what that was."""

    text: str
    unknown_refs: list[int]  # [n] markers that match no source
    links: int  # links to pages that are not sources (their text stays)
    images: int  # images, which a reader's client would fetch unasked

    def warnings(self, where: str = "the answer") -> list[str]:
        out = []
        if self.unknown_refs:
            numbers = sorted(set(self.unknown_refs))[:20]
            out.append(f"removed references to sources that do not exist: {numbers}")
        made = [f"{self.links} link(s) to pages that are not among the sources (their text stays)"
                if self.links else "", f"{self.images} image(s)" if self.images else ""]
        if self.links or self.images:
            out.append(f"removed {' and '.join(filter(None, made))} the model wrote into {where}")
        return out


def marked_answer(answer: str, citations: list[Citation]) -> KeptToSources:
    """The answer as markdown shows it: ``[n]`` at every cited span, kept to its sources."""
    return keep_to_sources(with_refs(answer, citations), citations)


def keep_to_sources(text: str, sources: list[Citation]) -> KeptToSources:
    """Remove from a model's ``text`` what no source backs: images (markdown or HTML), links to
    any page but a source's (the link text stays), link definitions, and ``[n]`` for sources that
    do not exist (n < 1 or n > the number of sources). A made-up link could carry data out of the
    conversation, and a ``[9]`` that looks like a citation would send a reader nowhere."""
    unlinked, links, images = _unlinked(text, {normalise_url(s.url) for s in sources})
    removed: list[int] = []

    def keep(match: re.Match[str]) -> str:
        n = int(match.group(1))
        if 1 <= n <= len(sources):
            return match.group(0)
        removed.append(n)
        return ""

    return KeptToSources(_SPACED_REF.sub(keep, unlinked), removed, links, images)


def inert(text: str) -> str:
    """Page text shown as a source's title or snippet, with no live markup: no images (markdown
    or HTML), no links (their text stays), no link definitions."""
    return _unlinked(text, set())[0]


def _unlinked(text: str, known: set[str]) -> tuple[str, int, int]:
    """``text`` without images and without links to any page whose normalised URL is not in
    ``known``; how many links and images went."""
    images = links = 0

    def image(match: re.Match[str]) -> str:
        nonlocal images
        images += 1
        return ""

    def link(match: re.Match[str]) -> str:
        """A markdown link or definition (``url`` group) or an HTML anchor (``href`` inside)."""
        nonlocal links
        url = match.groupdict().get("url")
        if url is None:
            href = _HREF.search(match.group(0))
            url = href.group("url") if href else ""
        if normalise_url(url.strip("<>")) in known:
            return match.group(0)
        links += 1
        return match.groupdict().get("text") or ""

    text = _HTML_IMAGE.sub(image, _MARKDOWN_IMAGE.sub(image, text))
    text = _LINK_DEFINITION.sub(link, _HTML_ANCHOR.sub(link, _MADE_LINK.sub(link, text)))
    return text, links, images
