"""Compact JSON schemas, so the tool list a client loads stays small.

Pydantic spells an optional field as ``anyOf: [T, null], default: null, title: …``; a field that
is simply left out of ``required`` says the same in a third of the bytes. Validation is untouched:
it runs on the pydantic models, not on the published schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import Field, GetCoreSchemaHandler
from pydantic_core import CoreSchema, core_schema

_NULL = {"type": "null"}


def compact(schema: dict[str, Any]) -> None:
    """Optional-as-omittable for one field: the non-null branch alone, no null default."""
    branches = schema.get("anyOf")
    if isinstance(branches, list) and len(branches) == 2 and _NULL in branches:
        del schema["anyOf"]
        schema.update(next(b for b in branches if b != _NULL))
    if "default" in schema and schema["default"] is None:
        del schema["default"]


# Any JSON value, spelled so that every branch has one type: a schema with no keyword at all, or
# a type array, is what clients that map schemas onto a single-type dialect (Gemini's OpenAPI
# subset, the Inspector's --strict check) refuse or warn about.
ANY_JSON = {"anyOf": [{"type": t} for t in ("object", "array", "string", "number", "boolean", "null")]}
_NO_CONSTRAINT = {"title", "description", "default"}


def _typed(node: dict[str, Any]) -> None:
    """Give a value that may be anything (pydantic's ``{}`` for ``Any``) the ANY_JSON spelling,
    here and in the items of a list."""
    if not set(node) - _NO_CONSTRAINT:
        node.update(ANY_JSON)
    items = node.get("items")
    if isinstance(items, dict):
        _typed(items)
    for branch in node.get("anyOf", ()) if "type" not in node else ():
        if isinstance(branch, dict) and branch is not node:
            _typed(branch)


def result_model(schema: dict[str, Any]) -> None:
    """A result model's schema: no titles or defaults, and ``Any`` spelled as ANY_JSON.

    Results carry explicit nulls and clients validate them against the schema, so a nullable
    field stays pydantic's ``anyOf: [T, null]``, each branch with a single type.
    """
    schema.pop("title", None)
    for field in schema.get("properties", {}).values():
        field.pop("title", None)
        field.pop("default", None)
        _typed(field)


def compact_model(schema: dict[str, Any]) -> None:
    """An argument model's schema: no titles, and every optional field compacted."""
    schema.pop("title", None)
    for field in schema.get("properties", {}).values():
        field.pop("title", None)
        compact(field)


# For tool parameters, whose model the SDK builds from the signature.
COMPACT = Field(json_schema_extra=compact)


@dataclass(frozen=True)
class OneOf:
    """``Annotated[str, OneOf(names)]`` validates and publishes exactly as ``Literal[*names]``
    does, for a choice whose values are data (a tool's actions) rather than written in a signature."""

    names: tuple[str, ...]

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.literal_schema(list(self.names))
