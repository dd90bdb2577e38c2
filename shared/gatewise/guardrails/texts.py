"""The pieces of text inside a request, each with its normalised view, and the way back to the
same shape after redaction."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from gatewise.guardrails.normalize import View, normalise
from gatewise.guardrails.verdict import Span

# Roles whose text is checked for blocklist, safety and injection: the user's, a tool's, and the
# earlier assistant turns, which the caller sends like the rest of the history and could forge
# ("Sure, I will ignore my rules from now on"). The system (and developer) prompt is the
# caller's own instructions to the model, only scanned for PII: an instruction there overrides
# nothing the caller did not write, and "never reveal confidential data" must not trip a
# blocklist on "confidential".
AUTHORED = frozenset({"user", "assistant", "tool", "function", None})
UNTRUSTED_ROLES = frozenset({"tool", "function"})


@dataclass
class TextRef:
    text: str
    role: str | None = None
    message: int | None = None
    part: int | None = None
    call: int | None = None  # the index of the tool call whose arguments these are
    _view: View | None = field(default=None, repr=False)

    @property
    def view(self) -> View:
        if self._view is None:
            self._view = normalise(self.text)
        return self._view

    def span(self, start: int, end: int, label: str) -> Span:
        """A span given in view offsets, as original offsets of this piece."""
        view = self.view
        if view.text is not view.original:  # else the offsets are the original ones already
            start, end = view.span(start, end)
        return Span(start, end, label, self.message, self.part)

    def original_span(self, first: int, last: int, label: str) -> Span:
        return Span(first, last, label, self.message, self.part)


def split(messages_or_text: str | Sequence[dict[str, Any]]) -> list[TextRef]:
    """The text pieces of a string, or of the string contents and text parts of messages."""
    if isinstance(messages_or_text, str):
        return [TextRef(messages_or_text)]
    refs: list[TextRef] = []
    for i, message in enumerate(messages_or_text):
        role = message.get("role")
        content = message.get("content")
        if isinstance(content, str):
            refs.append(TextRef(content, role, i))
        elif isinstance(content, list):
            for j, part in enumerate(content):
                text = part.get("text") if isinstance(part, dict) and part.get("type") == "text" else None
                if isinstance(text, str):
                    refs.append(TextRef(text, role, i, j))
        # The arguments of an assistant turn's tool calls are sent too, and may carry what the
        # user gave the model (an email to send to): checked as the turn's text is.
        for k, call in enumerate(message.get("tool_calls") or ()):
            function = call.get("function") if isinstance(call, dict) else None
            arguments = function.get("arguments") if isinstance(function, dict) else None
            if isinstance(arguments, str):
                refs.append(TextRef(arguments, role, i, call=k))
    return refs


def rebuild(messages: Sequence[dict[str, Any]], refs: list[TextRef], new_texts: list[str]
            ) -> list[dict[str, Any]]:
    """A copy of ``messages`` with each piece's text replaced (the input is left untouched)."""
    out = [dict(m) for m in messages]
    for ref, text in zip(refs, new_texts, strict=True):
        if ref.message is None or text == ref.text:
            continue
        message = out[ref.message]
        if ref.call is not None:
            calls = message["tool_calls"] = [dict(c) for c in message["tool_calls"]]
            calls[ref.call]["function"] = {**calls[ref.call]["function"], "arguments": text}
        elif ref.part is None:
            message["content"] = text
        else:
            if message["content"] is messages[ref.message]["content"]:
                message["content"] = copy.deepcopy(message["content"])
            message["content"][ref.part]["text"] = text
    return out
