"""Argument types whose published schemas pass strict function-calling conversion.

Strict mode (OpenAI's, and agent frameworks that convert MCP tools to it) refuses any object
whose keys are left open, even with typed values. Two shapes take their place here:

- ``JsonObject``: a free-form JSON object (a Portkey request body, a provider option block, a
  content part) is published as JSON text;
- ``StringMap``: string metadata is published as a list of ``{key, value}`` pairs.

Both still accept the object callers sent before, so no existing call breaks: validation runs on
these types, not on the published schema.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from gatewise.bounds import FiniteJSON


def _from_json_text(value: Any) -> Any:
    """JSON object text → the object; anything else is left for the dict validator to refuse
    (cheaply: a list of 100,000 stray strings must not cost 100,000 parse errors)."""
    if not (isinstance(value, str) and value.lstrip()[:1] == "{"):
        return value
    try:
        return json.loads(value)
    except (ValueError, RecursionError):
        # PydanticCustomError rather than ValueError: pydantic wraps a ValueError at many times
        # the cost, and a list may hold 100,000 of these.
        raise PydanticCustomError("json_text", "not a JSON object written as text") from None


JsonObject = Annotated[
    dict[str, Any], BeforeValidator(_from_json_text), FiniteJSON,
    WithJsonSchema({"type": "string", "description": "A JSON object, written as JSON text."}),
]


def _from_pairs(value: Any) -> Any:
    """``[{"key": k, "value": v}, …]`` → ``{k: v, …}``; an object is taken as it is."""
    if not isinstance(value, list):
        return value
    out: dict[str, Any] = {}
    for pair in value:
        if not (isinstance(pair, dict) and set(pair) == {"key", "value"}):
            raise PydanticCustomError("pairs", 'each item must be {"key": …, "value": …} and nothing else')
        if not isinstance(pair["key"], str):  # an object or a list is no key (nor hashable)
            raise PydanticCustomError("pairs", "each key must be a string")
        if pair["key"] in out:
            raise PydanticCustomError("pairs", "key {key} is given twice", {"key": str(pair["key"])[:40]})
        out[pair["key"]] = pair["value"]
    return out


PAIRS_SCHEMA = {
    "type": "array",
    "items": {"type": "object", "additionalProperties": False, "required": ["key", "value"],
              "properties": {"key": {"type": "string"}, "value": {"type": "string"}}},
}
StringMap = Annotated[dict[str, str], BeforeValidator(_from_pairs), WithJsonSchema(PAIRS_SCHEMA)]
