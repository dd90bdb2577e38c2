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


def result_model(schema: dict[str, Any]) -> None:
    """A result model's schema: no titles or defaults, and ``T | None`` as ``type: [T, "null"]``.

    Results carry explicit nulls and clients validate them against the schema, so a nullable
    field must stay nullable; the type-array form says so in fewer bytes than ``anyOf``.
    """
    schema.pop("title", None)
    for field in schema.get("properties", {}).values():
        field.pop("title", None)
        field.pop("default", None)
        branches = field.get("anyOf")
        if isinstance(branches, list) and len(branches) == 2 and _NULL in branches:
            other = next(b for b in branches if b != _NULL)
            if isinstance(other.get("type"), str):
                del field["anyOf"]
                field.update(other, type=[other["type"], "null"])


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
