"""Input schemas as agent frameworks' strict mode takes them: no ``$ref``, no open object; and
output schemas that cost a client little to check every result against.

Pydantic puts every nested model in ``$defs`` and points at it with a bare ``$ref``; an
argument-less tool gets ``{"type": "object", "properties": {}}``. OpenAI Agents' strict
conversion refuses both (a bare reference is not followed, and an object without properties may
hold anything), and falls back to a non-strict tool. Inlining the definitions changes no
accepted value (validation runs on the tool's own model), and the arguments object is closed, as
the server refuses any name the tool does not take.

A client validates each structured result against the tool's output schema (the Python SDK with
``jsonschema``, at a few µs per subschema it enters): there, following a ``$ref`` costs more
than the values themselves, so the published output schema inlines its definitions too. An
optional field stays ``anyOf: [X, null]`` rather than ``type: [X, "null"]``, which would be
cheaper to check but which clients mapping schemas onto a single-``type`` dialect (Gemini's
function declarations; the Inspector's ``--strict`` check) reject.
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
    """A copy of a tool's input schema with its definitions inlined, closed to names it does not
    list (the server refuses them: see ``exact_arguments``)."""
    inlined = _inlined(schema)
    if inlined.get("type") == "object":
        inlined.setdefault("additionalProperties", False)
    return inlined


def lean_output_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of a tool's output schema with its definitions inlined: the same values valid,
    checked without following references."""
    return _inlined(schema)
