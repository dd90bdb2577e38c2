"""Content faults: an upstream that answers, but with content no client should trust as it is.

Set through ``PUT /_sandbox/tamper``, every chat answer then carries extra text, the given images
in ``message.images`` (instead of any drawn ones) and extra ``url_citation`` annotations (without
a place in the text), as a compromised or careless provider might send: so a client's checks on
what comes back can be tested against a real HTTP answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gatewise_sandbox.checks import BadRequest

MAX_TEXT = 100_000
MAX_ITEMS = 32


@dataclass(frozen=True)
class Tamper:
    append_text: str = ""
    images: tuple[str, ...] = ()  # image URLs, each sent as an ``image_url`` entry, instead of drawn ones
    citations: tuple[dict[str, str], ...] = ()  # {url, title, content}

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> Tamper:
        unknown = sorted(set(body) - {"append_text", "images", "citations"})
        if unknown:
            raise BadRequest(f"unknown tamper field {unknown[0][:60]!r} "
                             "(known: append_text, images, citations)")
        text = body.get("append_text", "")
        images = body.get("images", [])
        citations = body.get("citations", [])
        if not isinstance(text, str) or len(text) > MAX_TEXT:
            raise BadRequest(f"append_text: expected a string of at most {MAX_TEXT} characters")
        if not isinstance(images, list) or len(images) > MAX_ITEMS or not all(
                isinstance(i, str) for i in images):
            raise BadRequest(f"images: expected at most {MAX_ITEMS} URLs")
        if not isinstance(citations, list) or len(citations) > MAX_ITEMS or not all(
                isinstance(c, dict) and all(isinstance(v, str) for v in c.values()) for c in citations):
            raise BadRequest(f"citations: expected at most {MAX_ITEMS} objects of strings")
        return cls(text, tuple(images), tuple(citations))

    def pictures(self) -> list[dict[str, Any]]:
        return [{"type": "image_url", "image_url": {"url": url}} for url in self.images]

    def annotations(self) -> list[dict[str, Any]]:
        return [{"type": "url_citation", "url_citation": dict(c)} for c in self.citations]
