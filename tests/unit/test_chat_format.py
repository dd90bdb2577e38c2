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


NO_CONTENT = "(only an assistant or tool turn may have none)"


def user(*parts: Any) -> list[dict[str, Any]]:
    return [{"role": "system", "content": "Be brief."}, {"role": "user", "content": list(parts)}]


def refusal(messages: list[dict[str, Any]], max_parts: int = 1000, max_calls: int = 500
            ) -> GatewiseError:
    with pytest.raises(GatewiseError) as info:
        check_messages(messages, max_parts, max_calls)
    return info.value


def called(*ids: str, arguments: str = '{"city": "Paris"}') -> dict[str, Any]:
    """An assistant turn calling a tool once per id."""
    function = {"name": "get_weather", "arguments": arguments}
    return {"role": "assistant", "content": None,
            "tool_calls": [{"id": i, "type": "function", "function": function} for i in ids]}


def answer(call_id: Any, content: str = "18C") -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": content}


def nested(depth: int) -> dict[str, Any]:
    """A text part whose extra field makes it ``depth`` levels deep in all."""
    value: dict[str, Any] = {}
    for _ in range(depth - 2):
        value = {"a": value}
    return {"type": "text", "text": "x", "extra": value}


def test_every_documented_part_passes() -> None:
    check_messages(user(*GOOD_PARTS), 1000, 500)
    check_messages(user(nested(MAX_PART_DEPTH)), 1000, 500)


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
    ({"role": "user"}, f"messages[0]: a user message needs content {NO_CONTENT}"),
    ({"role": "system", "content": None}, f"messages[0]: a system message needs content {NO_CONTENT}"),
    ({"role": "user", "content": ""}, f"messages[0]: a user message needs content {NO_CONTENT}"),
    ({"role": "user", "content": " \n"}, f"messages[0]: a user message needs content {NO_CONTENT}"),
    ({"role": "developer", "content": []}, f"messages[0]: a developer message needs content {NO_CONTENT}"),
    ({"role": "user", "content": [{"type": "text", "text": " "}]},
     f"messages[0]: a user message needs content {NO_CONTENT}"),
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
    check_messages(messages, 5, 500)
    error = refusal(messages, 4)
    assert (error.code, error.message) == (
        ErrorCode.TOO_LARGE, "5 content parts exceed the limit of 4 (limits.max_content_parts)")


def test_a_tool_conversation_in_the_chat_format_passes() -> None:
    check_messages([{"role": "user", "content": "Weather in Paris and Rome?", "name": "ana"},
                    called("c1", "c2"), answer("c2"), answer("c1", ""),
                    {"role": "assistant", "content": "18C in both."},
                    {"role": "user", "content": "And Oslo?"}, called("c1", arguments="{}"), answer("c1")],
                   1000, 500)


@pytest.mark.parametrize(("messages", "problem"), [
    ([{"role": "user", "content": "x"}, answer("c1")],
     "messages[1]: tool_call_id 'c1' answers no tool call of the assistant message before it"),
    ([called("c1"), answer("c1"), answer("c1")],
     "messages[2]: tool_call_id 'c1' answers no tool call of the assistant message before it"),
    ([called("c1"), {"role": "user", "content": "x"}, answer("c1")],
     "messages[2]: tool_call_id 'c1' answers no tool call of the assistant message before it"),
    ([called("c1"), answer(None)], "messages[1]: tool_call_id null answers no tool call"),
    ([called("c1"), {**answer("c1"), "name": "get_weather"}], "messages[1]: a tool message takes no `name`"),
    ([{"role": "user", "content": "x", "name": "bob smith"}],
     "messages[0]: name 'bob smith' must be 1-128 letters, digits, _ . : or -"),
    ([{"role": "user", "content": "x", "tool_calls": called("c1")["tool_calls"]}],
     "messages[0]: only an assistant message has `tool_calls`, not a user message"),
    ([{"role": "user", "content": "x", "tool_call_id": "c1"}],
     "messages[0]: only a tool message has `tool_call_id`, not a user message"),
    ([{"role": "assistant", "content": None, "tool_calls": []}],
     "messages[0]: tool_calls must be a non-empty list of calls, not a list"),
    ([called("c1", "c1")], "messages[0]: tool_calls[1]: the id 'c1' is used twice"),
    ([called("")], "messages[0]: tool_calls[0]: `id` must be a non-empty string of at most 256 characters"),
    ([called("c" * 257)], "messages[0]: tool_calls[0]: `id` must be a non-empty string of at most 256"),
    ([called("c1", arguments="{'city': 'Paris'}")],
     "messages[0]: tool_calls[0]: function.arguments is not valid JSON text (finite numbers only)"),
    ([called("c1", arguments='{"n": NaN}')],
     "messages[0]: tool_calls[0]: function.arguments is not valid JSON text (finite numbers only)"),
    ([called("c1", arguments='["Paris"]')],
     "messages[0]: tool_calls[0]: function.arguments must be the JSON text of an object, not of a list"),
    ([called("c1", arguments="[" * 50_000)],
     "messages[0]: tool_calls[0]: function.arguments is not valid JSON text (finite numbers only)"),
    ([called("c1", arguments='{"a": ' * 40 + "1" + "}" * 40)],
     "messages[0]: tool_calls[0]: function.arguments nests objects or lists more than 32 levels deep"),
    ([{"role": "assistant", "tool_calls": [{"id": "c1", "type": "function",
                                            "function": {"name": "get weather", "arguments": "{}"}}]}],
     "messages[0]: tool_calls[0]: function.name 'get weather' must be 1-128 letters, digits, _ . : or -"),
    ([{"role": "assistant", "tool_calls": [{"id": "c1", "type": "custom", "function": {}}]}],
     "messages[0]: tool_calls[0]: `type` must be 'function', not 'custom'"),
    ([{"role": "assistant", "tool_calls": [{"id": "c1", "type": "function",
                                            "function": {"name": "f", "arguments": {"city": "Paris"}}}]}],
     "messages[0]: tool_calls[0]: function.arguments must be the JSON text of an object, not an object"),
])
def test_a_malformed_tool_turn_is_named(messages: list[dict[str, Any]], problem: str) -> None:
    error = refusal(messages)
    assert error.code is ErrorCode.INVALID_INPUT
    assert error.message.startswith(problem) and "tool_call_id" in error.hint and len(error.message) < 200


def test_tool_calls_are_counted_across_the_messages() -> None:
    messages = [called("a", "b"), answer("a"), answer("b"), called("c"), answer("c")]
    check_messages(messages, 1000, 3)
    error = refusal(messages, max_calls=2)
    assert (error.code, error.message) == (
        ErrorCode.TOO_LARGE, "3 tool calls exceed the limit of 2 (limits.max_tool_calls)")
