"""Tool arguments taken as JSON gives them: only the names a tool declares, and booleans and numbers
only as JSON booleans and numbers.

The SDK validates arguments in pydantic's lax mode, which reads ``true`` as the number 1, ``"10"``
as 10 and ``"yes"`` as true, and drops names it does not know: ``{"limit_usd": true}`` set a $1
budget, and ``max_token`` (for ``max_tokens``) was silently ignored. Every tool of every server
refuses both here, once, before its own validation. The check reads the tool's published input
schema: where it admits no boolean (or no number), a boolean (or a number) is refused, and where
it admits only booleans and numbers, a string is; nested objects and lists are checked the same
way. Anything else is left to the tool's validation, so objects sent as JSON text, and the plain
objects callers sent before, are still taken.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from typing import Any

from mcp.server.mcpserver.utilities.func_metadata import FuncMetadata
from pydantic import PrivateAttr

from gatewise.errors import ErrorCode, GatewiseError, json_type, quoted
from gatewise.mcpkit.json_text import JsonTextArguments, structured_text

# What each JSON type is called in an error; integers and numbers are one kind here (an integer
# argument's 1.5 is pydantic's to refuse, with its own words).
_NAMES = {"boolean": "true or false", "number": "a number", "string": "a string",
          "array": "a list", "object": "an object", "null": "null"}


def refuse_unknown_names(arguments: Mapping[str, Any], names: Collection[str]) -> None:
    """INVALID_INPUT naming the first argument the tool does not take, and the name it most
    likely meant."""
    unknown = sorted(key for key in arguments if key not in names)
    if not unknown:
        return
    # No argument name is this long: a longer one (a megabyte, say) is compared with none.
    near = difflib.get_close_matches(unknown[0], names, n=1, cutoff=0.6) if len(unknown[0]) <= 64 else []
    text = f"unknown argument {quoted(unknown[0])}"
    if near:
        text += f" (did you mean {near[0]!r}?)"
    else:
        text += f"; the arguments are {', '.join(sorted(names))}" if names else "; the tool takes none"
    if len(unknown) > 1:
        text += f" (and {len(unknown) - 1} more unknown)"
    raise GatewiseError(ErrorCode.INVALID_INPUT, text)


class _Schema:
    """A JSON schema with its local definitions: the branches that describe a value."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self.defs: Mapping[str, Any] = schema.get("$defs", {})

    def branches(self, node: Mapping[str, Any]) -> list[Mapping[str, Any]] | None:
        """``node``'s alternatives, references followed; None when one of them admits any value."""
        out, stack = [], [node]
        while stack:
            item = stack.pop()
            ref = item.get("$ref")
            if isinstance(ref, str):
                item = self.defs.get(ref.removeprefix("#/$defs/"), {})
            alternatives = item.get("anyOf") or item.get("oneOf")
            if alternatives:
                stack += alternatives
            elif "type" in item or "enum" in item or "const" in item:
                out.append(item)
            else:
                return None
        return out


def _types(branch: Mapping[str, Any]) -> set[str]:
    if "type" in branch:
        kind = branch["type"]
        return {kind} if isinstance(kind, str) else set(kind)
    return {json_type(v) for v in branch.get("enum", [branch.get("const")])}


def _kind(json_kind: str) -> str:
    return "number" if json_kind == "integer" else json_kind


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"the string {quoted(value)}"
    return "a number"  # not shown: a 5,000-digit integer has no text form


def _refusal(value: Any, admitted: set[str]) -> str | None:
    """Why ``value`` may not be read laxly for a schema admitting ``admitted``: a boolean read as a
    number, a number as a boolean, a string as either. Other mismatches are the tool's validation's
    to refuse (in its own words, every one counted)."""
    given, kinds = _kind(json_type(value)), {_kind(kind) for kind in admitted}
    if given in kinds or not kinds & {"boolean", "number"}:
        return None
    if given in ("boolean", "number") or (given == "string" and kinds <= {"boolean", "number", "null"}):
        wanted = " or ".join(_NAMES[kind] for kind in sorted(kinds, key=lambda kind: (kind == "null", kind)))
        return f"must be {wanted}, not {_shown(value)}"
    return None


def refuse_lax_scalars(arguments: Mapping[str, Any], schema: Mapping[str, Any]) -> None:
    """INVALID_INPUT at a value that only a lax reading would take (see the module), its path
    written as the tool's validation writes one (``messages.0.content``)."""
    walk, props = _Schema(schema), schema.get("properties", {})
    # Reversed as they go on, so the first value in order is refused first.
    stack: list[tuple[str, Any, Mapping[str, Any]]] = [
        (key, value, props[key]) for key, value in list(arguments.items())[::-1] if key in props]
    while stack:
        path, value, node = stack.pop()
        branches = walk.branches(node)
        if branches is None:
            continue
        problem = _refusal(value, set().union(*map(_types, branches)))
        if problem is not None:
            raise GatewiseError(ErrorCode.INVALID_INPUT, f"{path}: {problem}")
        given = json_type(value)
        fitting = [b for b in branches if given in _types(b)]
        if len(fitting) != 1:
            continue
        if given == "object" and isinstance(fitting[0].get("properties"), dict):
            fields = fitting[0]["properties"]
            stack += [(f"{path}.{key}", item, fields[key]) for key, item in list(value.items())[::-1]
                      if key in fields]
        elif given == "array" and isinstance(fitting[0].get("items"), dict):
            stack += [(f"{path}.{i}", value[i], fitting[0]["items"]) for i in range(len(value) - 1, -1, -1)]


def unset_nulls(arguments: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    """``arguments`` without the nulls given for optional arguments that cannot be null: some
    clients send every argument a tool declares, null for those the caller left unset, which
    means the default, not a value to refuse."""
    walk, props = _Schema(schema), schema.get("properties", {})
    required = set(schema.get("required", []))
    kept = {}
    for key, value in arguments.items():
        if value is None and key in props and key not in required:
            branches = walk.branches(props[key])
            if branches is not None and "null" not in set().union(*map(_types, branches)):
                continue
        kept[key] = value
    return kept


def unstructured_names(schema: Mapping[str, Any]) -> frozenset[str]:
    """The arguments whose schema admits neither an array nor an object (texts, numbers, flags)."""
    walk = _Schema(schema)
    names = []
    for key, node in schema.get("properties", {}).items():
        branches = walk.branches(node)
        if branches is not None and not set().union(*map(_types, branches)) & {"array", "object"}:
            names.append(key)
    return frozenset(names)


class ExactArguments(JsonTextArguments):
    """A tool's argument model whose booleans and numbers are checked as JSON types first."""

    _schema: tuple[Any, dict[str, Any], frozenset[str]] | None = PrivateAttr(default=None)

    def _published(self) -> dict[str, Any]:
        return self._read_schema()[1]

    def _read_schema(self) -> tuple[Any, dict[str, Any], frozenset[str]]:
        model = self.arg_model
        if self._schema is None or self._schema[0] is not model:
            schema = model.model_json_schema(by_alias=True)
            self._schema = (model, schema, unstructured_names(schema))
        return self._schema

    def pre_parse_json(self, data: dict[str, Any]) -> dict[str, Any]:
        """The SDK's parse, but JSON text of an array or object stays text where the argument can
        be neither: a text to check or send may itself be JSON, and parsed it would be refused."""
        unstructured = self._read_schema()[2]
        kept = {key for key, value in data.items() if key in unstructured and structured_text(value)}
        if not kept:
            return super().pre_parse_json(data)
        parsed = super().pre_parse_json({key: value for key, value in data.items() if key not in kept})
        return {key: value if key in kept else parsed[key] for key, value in data.items()}

    def validate_arguments(self, arguments_to_validate: dict[str, Any]) -> dict[str, Any]:
        arguments = unset_nulls(self.pre_parse_json(arguments_to_validate), self._published())
        refuse_lax_scalars(arguments, self._published())
        return self.arg_model.model_validate(arguments).model_dump_one_level()


def exact_arguments(metadata: FuncMetadata) -> FuncMetadata:
    """``metadata`` validating its arguments exactly, and parsing JSON text only where it can matter."""
    return ExactArguments(**{name: getattr(metadata, name) for name in FuncMetadata.model_fields})
