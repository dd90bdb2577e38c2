"""Input schemas as agent frameworks' strict mode takes them: no ``$ref``, no open object; and
output schemas that cost a client little to check every result against.

Pydantic puts every nested model in ``$defs`` and points at it with a bare ``$ref``; an
argument-less tool gets ``{"type": "object", "properties": {}}``. OpenAI Agents' strict
conversion refuses both (a bare reference is not followed, and an object without properties may
hold anything), and falls back to a non-strict tool. Inlining the definitions and closing the
empty object changes no accepted value: validation runs on the tool's own model.

A client validates each structured result against the tool's output schema (the Python SDK with
``jsonschema``, at a few µs per subschema it enters): there, following a ``$ref`` and trying the
branches of an optional field's ``anyOf`` cost more than the values themselves. The published
output schema inlines its definitions and writes ``anyOf: [X, null]`` as ``X`` with ``null``
added to its type, which accepts exactly the same values.
"""

from __future__ import annotations

import copy
from typing import Any


def _inline(node: Any, defs: dict[str, Any], seen: tuple[str, ...]) -> tuple[Any, bool]:
    """``node`` with each local reference replaced by its definition; False when a recursive
    definition had to stay a reference."""
    if isinstance(node, list):
        pairs = [_inline(item, defs, seen) for item in node]
        return [item for item, _ in pairs], all(done for _, done in pairs)
    if not isinstance(node, dict):
        return node, True
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        name = ref.removeprefix("#/$defs/")
        if name in seen or name not in defs:  # recursion (or a foreign reference): keep it
            return node, False
        resolved, complete = _inline(defs[name], defs, (*seen, name))
        siblings, done = _inline({k: v for k, v in node.items() if k != "$ref"}, defs, seen)
        return {**resolved, **siblings}, complete and done  # the field's own description wins
    out, complete = {}, True
    for key, value in node.items():
        out[key], done = _inline(value, defs, seen) if key != "$defs" else (value, True)
        complete = complete and done
    return out, complete


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``schema`` with its definitions inlined (kept only for recursive ones)."""
    defs = schema.get("$defs", {})
    inlined, complete = _inline(copy.deepcopy(schema), defs, ())
    if complete:
        inlined.pop("$defs", None)
    return dict(inlined)


def inline_input_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of a tool's input schema with its definitions inlined and, when it takes no
    arguments, closed to any."""
    inlined = _inlined(schema)
    if inlined.get("type") == "object" and not inlined.get("properties"):
        inlined.setdefault("additionalProperties", False)
    return inlined


# Keywords that constrain only values of their own type, so null passes them whatever they say
# (and "enum", which gets null added).
_TYPED_KEYWORDS = frozenset({
    "type", "format", "minLength", "maxLength", "pattern", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum", "multipleOf", "items", "prefixItems", "minItems", "maxItems", "uniqueItems",
    "properties", "required", "additionalProperties", "minProperties", "maxProperties", "enum",
    "title", "description", "examples", "default"})
_ANNOTATIONS = frozenset({"title", "description", "examples", "default"})
_NULL = {"type": "null"}


def _nullable(node: Any) -> Any:
    """``node`` with every ``anyOf: [X, null]`` whose X has one type and only keywords of that
    type written as X with ``null`` added to its type (the field's own annotations win)."""
    if isinstance(node, list):
        return [_nullable(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _nullable(value) for key, value in node.items()}
    branches = node.get("anyOf")
    if not (isinstance(branches, list) and len(branches) == 2 and _NULL in branches):
        return node
    other = branches[1 - branches.index(_NULL)]
    field = {key: value for key, value in node.items() if key != "anyOf"}
    if (not isinstance(other, dict) or not isinstance(other.get("type"), str) or other["type"] == "null"
            or not other.keys() <= _TYPED_KEYWORDS or not field.keys() <= _ANNOTATIONS):
        return node
    lean = {**other, **field, "type": [other["type"], "null"]}
    if isinstance(other.get("enum"), list):
        lean["enum"] = [*other["enum"], None]
    return lean


def lean_output_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of a tool's output schema with its definitions inlined and its optional fields
    typed ``[X, "null"]``: the same values valid, checked at a fraction of the cost."""
    lean: dict[str, Any] = _nullable(_inlined(schema))
    return lean
