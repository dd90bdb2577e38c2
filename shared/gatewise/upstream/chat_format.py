"""Chat messages checked against the chat format before any model is called.

A caller's messages reach the upstream as written, and a malformed one is refused there by every
model in turn: each refusal is a request, a ledger row and a wait. Checked here, a message that no
model could take costs nothing and its error names the message and part at fault.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NoReturn, get_args

from gatewise.errors import ErrorCode, GatewiseError, quoted
from gatewise.upstream.chat import PART_MODALITIES, ImageDetail, Role

ROLES: tuple[str, ...] = get_args(Role)
# Only an assistant turn (which may hold tool calls alone) and a tool's answer may have no content.
_MAY_BE_EMPTY = ("assistant", "tool")
# The deepest a part goes in the format is two levels (the part, then its payload object);
# anything past four is not a part any provider reads.
MAX_PART_DEPTH = 4
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


def check_messages(messages: Sequence[Mapping[str, Any]], max_parts: int) -> None:
    """Refuse messages the chat format does not allow: a role outside it, content that is neither
    text nor a list of parts, more than ``max_parts`` parts in all, or a part that is not an
    object of a known ``type`` with that type's fields (nested at most ``MAX_PART_DEPTH`` deep)."""
    count = sum(len(m["content"]) for m in messages if isinstance(m.get("content"), list))
    if count > max_parts:
        raise GatewiseError(ErrorCode.TOO_LARGE, f"{count:,} content parts exceed the limit of "
                                                 f"{max_parts:,} (limits.max_content_parts)")
    for i, message in enumerate(messages):
        role, content = message.get("role"), message.get("content")
        if role not in ROLES:
            _refuse(f"messages[{i}]", f"the role must be one of {', '.join(ROLES)}, not {_shown(role)}")
        if content is None and role not in _MAY_BE_EMPTY:
            _refuse(f"messages[{i}]", f"a {role} message needs content")
        if content is not None and not isinstance(content, str | list):
            _refuse(f"messages[{i}]", f"content must be text or a list of parts, not {_shown(content)}")
        for j, part in enumerate(content if isinstance(content, list) else ()):
            if (problem := part_problem(part)) is not None:
                _refuse(f"messages[{i}].content[{j}]", problem)


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


def _refuse(where: str, problem: str) -> NoReturn:
    raise GatewiseError(ErrorCode.INVALID_INPUT, f"{where}: {problem}.", hint=_HINT)
