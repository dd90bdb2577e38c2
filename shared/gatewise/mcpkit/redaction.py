"""The last exit of every tool result: no configured secret leaves in any text or field.

Answers, warnings, citations and errors are scrubbed where they are made; the server's middleware
scrubs each result here, the one place every result passes, whatever path it took.
"""

from __future__ import annotations

from typing import Any

from mcp.server.context import HandlerResult

from gatewise.redact import scrub_data

# Content whose payload is binary (base64): pictures and sound, not text a key could be read in.
_BINARY = frozenset({"image", "audio"})


def scrub_tool_result(result: HandlerResult) -> HandlerResult:
    """Scrub a ``tools/call`` result as it goes on the wire (the SDK hands middleware the
    serialised dict). Error text also loses generic key shapes; a successful result keeps them,
    since one may be the point of the call (a new Portkey key, shown once)."""
    if not isinstance(result, dict):
        return result
    shapes = bool(result.get("isError"))
    return {name: [_scrub_item(item, shapes) for item in value] if name == "content"
            else scrub_data(value, shapes=shapes) for name, value in result.items()}


def _scrub_item(item: Any, shapes: bool) -> Any:
    if isinstance(item, dict) and item.get("type") in _BINARY:
        return item
    return scrub_data(item, shapes=shapes)
