"""Structured tool results: the result model dumped once, with its nulls left out, and an output
schema that describes exactly that.

A client checks every structured result against the tool's output schema (the Python SDK with
``jsonschema``, a few µs per value it enters). A null in an optional field costs the most there:
``anyOf: [X, null]`` tries ``X`` first and builds a validation error before ``null`` matches. So a
field whose value is null is left out of the result, and the published schema lists every field
that can be null as optional and, when present, of its own type: an absent field means null.
Dictionary values and list items keep their nulls (they are data, not fields), and their schemas
keep the ``null`` branch.

The server builds the result from a model it has just validated, so the SDK's second validation
of it is skipped: the tool is registered as returning a ``CallToolResult`` (see
``GatewiseServer.add_tool``) and the schema is published from the model here.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, get_args, get_origin

import pydantic_core
from mcp.server.mcpserver.utilities.func_metadata import StrictJsonSchema
from mcp.types import CallToolResult, ContentBlock, TextContent
from pydantic import BaseModel, TypeAdapter

from gatewise.mcpkit.inline_schema import lean_output_schema
from gatewise.redact import scrub_data

_NULL = {"type": "null"}
# Keywords that limit a value: a property schema without any of them accepts null too.
_CONSTRAINTS = frozenset({"type", "anyOf", "oneOf", "allOf", "enum", "const", "$ref", "not"})
# Half a UTF-16 pair on its own: JSON text may escape one ("\\ud800", as JavaScript writes a
# string cut in the middle of an emoji) and Python reads it, but no UTF-8 text can hold it.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def dump(result: BaseModel) -> dict[str, Any]:
    """The structured content of ``result``: wire names, JSON types, no null fields."""
    return result.model_dump(mode="json", by_alias=True, exclude_none=True)


def json_text(data: dict[str, Any], indent: int | None = 2) -> str:
    """The structured content as the JSON text block that repeats it (``indent=None``: compact)."""
    return pydantic_core.to_json(data, indent=indent).decode()


def tool_result(result: BaseModel,
                render: Callable[[dict[str, Any]], list[ContentBlock]] | None = None) -> CallToolResult:
    """A tool's answer: ``result`` dumped once, as structured content and as the content blocks
    ``render`` makes of it (by default its JSON text)."""
    # Scrubbed before the text is made of it: a text made only of clean strings is clean too.
    data = scrub_data(dump(result))
    try:  # the text is the one serialisation that shows whether the data can be written at all
        text = json_text(data)
    except pydantic_core.PydanticSerializationError:
        # an upstream's lone surrogate (in a value or a key) becomes U+FFFD, so that its broken
        # string still reaches the caller with the rest of the result
        data = _repaired(data)
        text = json_text(data)
    content: list[ContentBlock] = [TextContent(type="text", text=text)] if render is None else render(data)
    return CallToolResult(content=content, structured_content=data)


def _repaired(value: Any) -> Any:
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_repaired(v) for v in value]
    if isinstance(value, dict):
        return {_repaired(k): _repaired(v) for k, v in value.items()}
    return value


def result_model(fn: Callable[..., Any]) -> type[BaseModel] | None:
    """The model a tool returns, declared as ``-> Model`` or ``-> Annotated[CallToolResult, Model]``."""
    returns = inspect.signature(fn, eval_str=True).return_annotation
    if get_origin(returns) is Annotated:
        base, *extras = get_args(returns)
        returns = extras[0] if base is CallToolResult and extras else None
    return returns if isinstance(returns, type) and issubclass(returns, BaseModel) else None


def returning_results(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[CallToolResult]]:
    """``fn`` declared as returning a ``CallToolResult``, which it builds from a returned model."""

    @functools.wraps(fn)
    async def tool(*args: Any, **kwargs: Any) -> CallToolResult:
        out = await fn(*args, **kwargs)
        return out if isinstance(out, CallToolResult) else tool_result(out)

    signature = inspect.signature(fn, eval_str=True)
    # inspect.signature() honours __signature__ on any function; typeshed does not declare it
    tool.__signature__ = signature.replace(return_annotation=CallToolResult)  # type: ignore[attr-defined]
    tool.__annotations__ = {**{p.name: p.annotation for p in signature.parameters.values()},
                            "return": CallToolResult}
    del tool.__wrapped__  # the published signature is this one
    return tool


def output_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The published output schema of a tool returning ``model``: inlined, as the SDK would derive
    it, with every field that can be null optional, absent meaning null."""
    published: dict[str, Any] = _nulls_left_out(lean_output_schema(
        TypeAdapter(model).json_schema(schema_generator=StrictJsonSchema)))
    return published


def _nulls_left_out(node: Any) -> Any:
    if isinstance(node, list):
        return [_nulls_left_out(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: {name: _nulls_left_out(field) for name, field in value.items()}
           if key == "properties" and isinstance(value, dict) else _nulls_left_out(value)
           for key, value in node.items()}
    properties, required = out.get("properties"), out.get("required")
    if isinstance(properties, dict) and isinstance(required, list):
        nullable = {name for name in required if _admits_null(properties.get(name))}
        out["required"] = [name for name in required if name not in nullable]
        if not out["required"]:
            del out["required"]  # draft 4 and its readers want at least one name
        for name in nullable:
            properties[name] = {**properties[name], "default": None}
    return out


def _admits_null(field: Any) -> bool:
    if not isinstance(field, dict):
        return field is True
    return (_NULL in field.get("anyOf", ()) or None in field.get("enum", ())
            or field.get("type") == "null" or not _CONSTRAINTS & field.keys())
