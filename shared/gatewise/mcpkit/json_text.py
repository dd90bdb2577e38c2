"""Arguments sent as JSON text, parsed only where parsing can change them.

The SDK tries ``json.loads`` on each string argument of a parameter not annotated plain ``str``
(``str | None`` included), for clients that send a list or an object as JSON text, and keeps the
string unless the text is an array, an object or ``null`` (it keeps a string, a number or a bool,
which is an int). A parse that fails (a prompt, a model name) costs a few µs building its error;
these strings skip it and the result is the same.
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver.utilities.func_metadata import FuncMetadata

_WHITESPACE = " \t\n\r"  # what json.loads skips at either end


def _may_be_replaced(value: Any) -> bool:
    """Whether the SDK's parse could replace ``value``: JSON text of an array, an object or null."""
    return structured_text(value) or (isinstance(value, str) and value.strip(_WHITESPACE) == "null")


def structured_text(value: Any) -> bool:
    """Whether ``value`` is a string that may be the JSON text of an array or an object."""
    return isinstance(value, str) and value.strip(_WHITESPACE)[:1] in ("[", "{")


class JsonTextArguments(FuncMetadata):
    def pre_parse_json(self, data: dict[str, Any]) -> dict[str, Any]:
        if any(_may_be_replaced(value) for value in data.values()):
            return super().pre_parse_json(data)
        return data  # nothing a parse would change

