"""Chat messages checked against the chat format before any model is called.

A caller's messages reach the upstream as written, and a malformed one is refused there by every
model in turn: each refusal is a request, a ledger row and a wait. Checked here, a message that no
model could take costs nothing and its error names the message and part at fault.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn, get_args

from gatewise.errors import ErrorCode, GatewiseError, quoted
from gatewise.upstream.chat import PART_MODALITIES, ImageDetail, Role

ROLES: tuple[str, ...] = get_args(Role)
# Only an assistant turn (which may hold tool calls alone) and a tool's answer may have no content.
_MAY_BE_EMPTY = ("assistant", "tool")
# A message's `name` and a called function's name: what providers take (OpenAI allows fewer
# characters; its refusal then ends the route as the request's own fault).
NAME_PATTERN = re.compile(r"[A-Za-z0-9_.:\-]{1,128}")
MAX_TOOL_CALL_ID_CHARS = 256
# The deepest a part goes in the format is two levels (the part, then its payload object);
# anything past four is not a part any provider reads.
MAX_PART_DEPTH = 4
# Tool arguments are the caller's own structure: as deep as anything a schema describes, no deeper.
MAX_ARGUMENT_DEPTH = 32
# Each media part type: the object holding its payload, and the string fields that object
# needs (alternatives in a tuple: a file is sent by its data or by the id of an upload).
_PAYLOADS: dict[str, tuple[str, tuple[tuple[str, ...], ...]]] = {
    "image_url": ("image_url", (("url",),)),
    "input_audio": ("input_audio", (("data",), ("format",))),
    "video_url": ("video_url", (("url",),)),
    "input_video": ("video_url", (("url",),)),
    "file": ("file", (("file_data", "file_id"),)),
}
_DETAILS = get_args(ImageDetail)
_TYPES = ", ".join(PART_MODALITIES)
_HINT = ('A content part is {"type": "text", "text": "..."} or an image_url, input_audio, video_url '
         "or file part as the tool's description shows; content may also be plain text.")
_TOOL_HINT = ('A message is {"role", "content"} with an optional "name"; an assistant message may add '
              '"tool_calls": [{"id", "type": "function", "function": {"name", "arguments": "<JSON text>"}}], '
              'each answered by a following {"role": "tool", "tool_call_id", "content"} message.')


def check_messages(messages: Sequence[Mapping[str, Any]], max_parts: int, max_tool_calls: int) -> None:
    """Refuse messages the chat format does not allow: a role outside it, content that is neither
    text nor a list of parts (or none, where the role needs some), more than ``max_parts`` parts
    or ``max_tool_calls`` tool calls in all, a part that is not an object of a known ``type`` with
    that type's fields (nested at most ``MAX_PART_DEPTH`` deep), a malformed tool call, or a tool
    answer to no tool call of the assistant turn before it."""
    count = sum(len(m["content"]) for m in messages if isinstance(m.get("content"), list))
    if count > max_parts:
        raise GatewiseError(ErrorCode.TOO_LARGE, f"{count:,} content parts exceed the limit of "
                                                 f"{max_parts:,} (limits.max_content_parts)")
    calls = sum(len(m["tool_calls"]) for m in messages if isinstance(m.get("tool_calls"), list))
    if calls > max_tool_calls:
        raise GatewiseError(ErrorCode.TOO_LARGE, f"{calls:,} tool calls exceed the limit of "
                                                 f"{max_tool_calls:,} (limits.max_tool_calls)")
    open_calls: set[str] = set()  # the ids of the latest assistant turn's calls not yet answered
    for i, message in enumerate(messages):
        role, content = message.get("role"), message.get("content")
        if role not in ROLES:
            _refuse(f"messages[{i}]", f"the role must be one of {', '.join(ROLES)}, not {_shown(role)}")
        if content is not None and not isinstance(content, str | list):
            _refuse(f"messages[{i}]", f"content must be text or a list of parts, not {_shown(content)}")
        for j, part in enumerate(content if isinstance(content, list) else ()):
            if (problem := part_problem(part)) is not None:
                _refuse(f"messages[{i}].content[{j}]", problem)
        if role not in _MAY_BE_EMPTY and _is_empty(content):
            _refuse(f"messages[{i}]", f"a {role} message needs content (only an assistant or tool "
                                      "turn may have none)")
        if (problem := _turn_problem(message, open_calls)) is not None:
            _refuse(f"messages[{i}]", problem, _TOOL_HINT)


def _is_empty(content: Any) -> bool:
    """No content, blank text, or parts that are all blank text."""
    if isinstance(content, str):
        return not content.strip()
    if isinstance(content, list):
        return all(part.get("type") == "text" and not str(part.get("text")).strip() for part in content)
    return content is None


def _turn_problem(message: Mapping[str, Any], open_calls: set[str]) -> str | None:
    """What is wrong with a message's name and tool fields, or None; ``open_calls`` follows the
    assistant turn's calls that tool turns may still answer."""
    role, name = message.get("role"), message.get("name")
    if name is not None and (role == "tool" or not _is_name(name)):
        return ("a tool message takes no `name`" if role == "tool"
                else f"name {_shown(name)} must be 1-128 letters, digits, _ . : or -")
    calls, answered = message.get("tool_calls"), message.get("tool_call_id")
    if calls is not None and role != "assistant":
        return f"only an assistant message has `tool_calls`, not a {role} message"
    if answered is not None and role != "tool":
        return f"only a tool message has `tool_call_id`, not a {role} message"
    if role == "tool":
        if not isinstance(answered, str) or answered not in open_calls:
            return (f"tool_call_id {_shown(answered)} answers no tool call of the assistant message "
                    "before it (a tool message follows the assistant message that called it)")
        open_calls.discard(answered)
        return None
    open_calls.clear()
    if calls is None:
        return None
    if not isinstance(calls, list) or not calls:
        return f"tool_calls must be a non-empty list of calls, not {_shown(calls)}"
    for k, call in enumerate(calls):
        if (problem := tool_call_problem(call)) is not None:
            return f"tool_calls[{k}]: {problem}"
        if call["id"] in open_calls:
            return f"tool_calls[{k}]: the id {_shown(call['id'])} is used twice"
        open_calls.add(call["id"])
    return None


def tool_call_problem(call: Any) -> str | None:
    """What is wrong with one tool call of an assistant message, or None: it must be
    ``{"id", "type": "function", "function": {"name", "arguments"}}`` with the arguments the JSON
    text of an object, as models return them."""
    if not isinstance(call, dict):
        return f"expected a tool call object, not {_shown(call)}"
    ident, function = call.get("id"), call.get("function")
    if not (isinstance(ident, str) and ident.strip() and len(ident) <= MAX_TOOL_CALL_ID_CHARS):
        return f"`id` must be a non-empty string of at most {MAX_TOOL_CALL_ID_CHARS} characters"
    if call.get("type") != "function":
        return f"`type` must be 'function', not {_shown(call.get('type'))}"
    if not isinstance(function, dict):
        return f"`function` must be an object with name and arguments, not {_shown(function)}"
    if not _is_name(function.get("name")):
        return f"function.name {_shown(function.get('name'))} must be 1-128 letters, digits, _ . : or -"
    arguments = function.get("arguments")
    if not isinstance(arguments, str):
        return f"function.arguments must be the JSON text of an object, not {_shown(arguments)}"
    try:
        parsed = json.loads(arguments, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        return "function.arguments is not valid JSON text (finite numbers only)"
    if not isinstance(parsed, dict):
        return f"function.arguments must be the JSON text of an object, not of {_shown(parsed)}"
    if _deeper_than(parsed, MAX_ARGUMENT_DEPTH):
        return f"function.arguments nests objects or lists more than {MAX_ARGUMENT_DEPTH} levels deep"
    return None


def _is_name(value: Any) -> bool:
    return isinstance(value, str) and NAME_PATTERN.fullmatch(value) is not None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def part_problem(part: Any) -> str | None:
    """What is wrong with one content part, or None."""
    if not isinstance(part, dict):
        return f"expected a part object ({{\"type\": ...}}), not {_shown(part)}"
    if _deeper_than(part, MAX_PART_DEPTH):
        return f"the part nests objects or lists more than {MAX_PART_DEPTH} levels deep"
    kind = part.get("type")
    if not isinstance(kind, str):
        return f"the part has no `type` (one of {_TYPES})"
    if kind not in PART_MODALITIES:
        return f"type {quoted(kind)} is not one of {_TYPES}"
    if kind == "text":
        return None if isinstance(part.get("text"), str) else "text parts need `text` as a string"
    holder, fields = _PAYLOADS[kind]
    payload = part.get(holder)
    if not isinstance(payload, dict):
        return f"{kind} parts need `{holder}` as an object, not {_shown(payload)}"
    for choices in fields:
        if not any(isinstance(payload.get(name), str) and payload[name].strip() for name in choices):
            names = " or ".join(f"{holder}.{name}" for name in choices)
            return f"{kind} parts need {names} as a non-empty string"
    detail = payload.get("detail") if kind == "image_url" else None
    if detail is not None and detail not in _DETAILS:
        return f"image_url.detail is {_shown(detail)}; it must be one of {', '.join(_DETAILS)}"
    return None


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether ``value`` holds objects or lists more than ``limit`` levels deep (itself is level
    1); walked without recursion, and only as far as the limit."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _shown(value: Any) -> str:
    """A caller's value as an error names it: a string quoted (at most 60 characters), anything
    else by its JSON kind, so no error repeats a large object."""
    if isinstance(value, str):
        return quoted(value)
    if value is None:
        return "null"
    kinds = {bool: "a boolean", int: "a number", float: "a number", list: "a list", dict: "an object"}
    return kinds.get(type(value), "a value")


def _refuse(where: str, problem: str, hint: str = _HINT) -> NoReturn:
    raise GatewiseError(ErrorCode.INVALID_INPUT, f"{where}: {problem}.", hint=hint)
