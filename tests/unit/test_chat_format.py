"""Messages are checked against the chat format before any model is called: every part type
OpenRouter documents passes, and a malformed message or part is refused, naming where it is."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gatewise.errors import ErrorCode, GatewiseError
from gatewise.upstream.chat_format import MAX_PART_DEPTH, check_messages

GOOD_PARTS: list[dict[str, Any]] = [
    {"type": "text", "text": "What is in these?", "cache_control": {"type": "ephemeral", "ttl": "5m"}},
    {"type": "text", "text": ""},
    {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "original"}},
    {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
    {"type": "video_url", "video_url": {"url": "https://www.youtube.com/watch?v=x"}},
    {"type": "input_video", "video_url": {"url": "data:video/mp4;base64,AAAA"}},
    {"type": "file", "file": {"filename": "a.pdf", "file_data": "https://example.com/a.pdf"}},
    {"type": "file", "file": {"file_id": "file-123"}},
]


def user(*parts: Any) -> list[dict[str, Any]]:
    return [{"role": "system", "content": "Be brief."}, {"role": "user", "content": list(parts)}]


def refusal(messages: list[dict[str, Any]], max_parts: int = 1000) -> GatewiseError:
    with pytest.raises(GatewiseError) as info:
        check_messages(messages, max_parts)
    return info.value


def nested(depth: int) -> dict[str, Any]:
    """A text part whose extra field makes it ``depth`` levels deep in all."""
    value: dict[str, Any] = {}
    for _ in range(depth - 2):
        value = {"a": value}
    return {"type": "text", "text": "x", "extra": value}


def test_every_documented_part_passes() -> None:
    check_messages(user(*GOOD_PARTS), 1000)
    check_messages([{"role": "assistant", "content": None, "tool_calls": [{"id": "1"}]},
                    {"role": "tool", "tool_call_id": "1", "content": "42"}], 1000)
    check_messages(user(nested(MAX_PART_DEPTH)), 1000)


@pytest.mark.parametrize(("part", "problem"), [
    ("hello", "expected a part object ({\"type\": ...}), not 'hello'"),
    (["text"], "expected a part object ({\"type\": ...}), not a list"),
    ({"a": {"a": {"a": {"a": {"a": {}}}}}},
     f"the part nests objects or lists more than {MAX_PART_DEPTH} levels deep"),
    (nested(MAX_PART_DEPTH + 1), f"the part nests objects or lists more than {MAX_PART_DEPTH} levels deep"),
    ({"text": "no type"}, "the part has no `type` (one of text, image_url, input_audio, video_url, "
                          "input_video, file)"),
    ({"type": 3, "text": "x"}, "the part has no `type` (one of text, image_url, input_audio, video_url, "
                               "input_video, file)"),
    ({"type": "image"},
     "type 'image' is not one of text, image_url, input_audio, video_url, input_video, file"),
    ({"type": "t" * 500}, f"type '{'t' * 59}…' is not one of text, image_url, input_audio, video_url, "
                          "input_video, file"),
    ({"type": "text"}, "text parts need `text` as a string"),
    ({"type": "text", "text": ["a"]}, "text parts need `text` as a string"),
    ({"type": "image_url", "image_url": "https://example.com/a.png"},
     "image_url parts need `image_url` as an object, not 'https://example.com/a.png'"),
    ({"type": "image_url", "image_url": {"url": "  "}},
     "image_url parts need image_url.url as a non-empty string"),
    ({"type": "image_url", "image_url": {"url": "https://a.example/x.png", "detail": "ultra"}},
     "image_url.detail is 'ultra'; it must be one of auto, low, high, original"),
    ({"type": "input_audio", "input_audio": {"data": "UklGRg=="}},
     "input_audio parts need input_audio.format as a non-empty string"),
    ({"type": "input_audio", "input_audio": {"url": "https://a.example/x.wav", "format": "wav"}},
     "input_audio parts need input_audio.data as a non-empty string"),
    ({"type": "video_url"}, "video_url parts need `video_url` as an object, not null"),
    ({"type": "input_video", "video_url": {"url": 5}},
     "input_video parts need video_url.url as a non-empty string"),
    ({"type": "file", "file": {"filename": "a.pdf"}},
     "file parts need file.file_data or file.file_id as a non-empty string"),
])
def test_a_malformed_part_is_named(part: Any, problem: str) -> None:
    error = refusal(user({"type": "text", "text": "Look:"}, part))
    assert error.code is ErrorCode.INVALID_INPUT
    assert error.message == f"messages[1].content[1]: {problem}."
    assert "image_url" in error.hint and len(error.message) < 200


def test_the_reported_part_nested_400_deep_is_refused_without_recursion() -> None:
    deep: dict[str, Any] = {}
    for _ in range(400):
        deep = {"a": deep}
    error = refusal(user(json.loads(json.dumps(deep))))
    assert error.message == ("messages[1].content[0]: the part nests objects or lists more than "
                             f"{MAX_PART_DEPTH} levels deep.")


@pytest.mark.parametrize(("message", "problem"), [
    ({"content": "no role"}, "messages[0]: the role must be one of system, developer, user, assistant, tool, "
                             "not null"),
    ({"role": "robot" * 30, "content": "x"}, "messages[0]: the role must be one of system, developer, user, "
                                             f"assistant, tool, not '{('robot' * 12)[:59]}…'"),
    ({"role": "user"}, "messages[0]: a user message needs content"),
    ({"role": "system", "content": None}, "messages[0]: a system message needs content"),
    ({"role": "user", "content": {"type": "text", "text": "x"}},
     "messages[0]: content must be text or a list of parts, not an object"),
    ({"role": "user", "content": 42}, "messages[0]: content must be text or a list of parts, not a number"),
])
def test_a_malformed_message_is_named(message: dict[str, Any], problem: str) -> None:
    error = refusal([message])
    assert (error.code, error.message) == (ErrorCode.INVALID_INPUT, problem + ".")


def test_parts_are_counted_across_the_messages() -> None:
    text = {"type": "text", "text": "x"}
    messages = [{"role": "user", "content": [text] * 3}, {"role": "assistant", "content": "ok"},
                {"role": "user", "content": [text] * 2}]
    check_messages(messages, 5)
    error = refusal(messages, 4)
    assert (error.code, error.message) == (
        ErrorCode.TOO_LARGE, "5 content parts exceed the limit of 4 (limits.max_content_parts)")
