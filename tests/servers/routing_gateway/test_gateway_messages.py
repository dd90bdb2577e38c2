"""routed_complete's messages are checked against the chat format before any model is called, and
an upstream refusal of the request itself ends the route where a model's own refusal moves on."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp import Client

from tool_support import call, error_text, ledger_rows

PROMPT = "Write a limerick about cats"


def nested_text(depth: int) -> str:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return json.dumps(value)


@pytest.mark.parametrize(("content", "problem"), [
    ([nested_text(400)],
     "INVALID_INPUT: messages[0].content[0]: the part nests objects or lists more than 4 levels deep."),
    (['{"text": "hi"}'],
     "INVALID_INPUT: messages[0].content[0]: the part has no `type` (one of text, image_url, "),
    ([{"type": "text", "text": "Look:"}, {"type": "image", "url": "https://example.com/a.png"}],
     "INVALID_INPUT: messages[0].content[1]: type 'image' is not one of text, image_url, "),
    ([{"type": "image_url", "image_url": {"detail": "low"}}],
     "INVALID_INPUT: messages[0].content[0]: image_url parts need image_url.url as a non-empty string."),
    ([{"type": "text", "text": "x"}] * 1001,
     "TOO_LARGE: 1,001 content parts exceed the limit of 1,000 (limits.max_content_parts)"),
])
async def test_a_malformed_part_is_refused_before_any_call(connect, upstream, settings, content: list[Any],
                                                           problem: str) -> None:
    messages = [{"role": "user", "content": content}]
    async with connect() as client:
        text = await error_text(client, "routed_complete", {"messages": messages})
        assert problem in text
        assert "every model" not in text and len(text) < 600
        assert problem in await error_text(client, "explain_route", {"messages": messages})
        assert upstream.received() == [] and upstream.stats()["totals"]["requests"] == 0
        assert await ledger_rows(settings) == []
        # The same conversation, well formed, is answered.
        fixed = [{"role": "user", "content": [{"type": "text", "text": "What is 2+2?"}]}]
        assert "[sandbox" in (await call(client, "routed_complete", {"messages": fixed}))["answer"]
    assert len(upstream.received()) == 1


@pytest.mark.parametrize("error_type", ["invalid_request", "invalid_prompt"])
async def test_a_request_the_upstream_calls_invalid_is_tried_once(connect, upstream, settings,
                                                                  error_type: str) -> None:
    async with connect() as client:
        first = (await call(client, "explain_route", {"prompt": PROMPT}))["candidates"][0]
        upstream.fault(first, error_rate=1.0, statuses=[400], error_type=error_type)
        text = await error_text(client, "routed_complete", {"prompt": PROMPT})
    assert text.startswith("Error executing tool routed_complete: INVALID_INPUT: the route stopped at a "
                           f"failure no other model would avoid ({first}: INVALID_INPUT). Last: sandbox "
                           "answered HTTP 400: Invalid request parameters")
    assert text.endswith("Hint: The provider refused the request itself: change what the messages or "
                         "parameters say (the provider's words are above), not their types.")
    assert upstream.stats()["totals"]["requests"] == 1
    assert [r["model"] for r in upstream.received()] == [first]
    rows = await ledger_rows(settings)
    assert [(r.model, r.status, r.error_code) for r in rows] == [(first, "error", "INVALID_INPUT")]


@pytest.mark.parametrize(("error_type", "status", "code"), [
    ("context_length_exceeded", 400, "CONTEXT_TOO_LONG"),
    ("no_endpoints", 404, "NOT_FOUND"),
])
async def test_a_model_specific_refusal_falls_back(connect, upstream, settings, error_type: str,
                                                   status: int, code: str) -> None:
    async with connect() as client:
        first = (await call(client, "explain_route", {"prompt": PROMPT}))["candidates"][0]
        upstream.fault(first, error_rate=1.0, statuses=[status], error_type=error_type)
        out = await call(client, "routed_complete", {"prompt": PROMPT})
    assert [(a["model"], a["status"], a.get("error_code")) for a in out["attempts"]] == [
        (first, "error", code), (out["model"], "ok", None)]
    assert out["model"] != first and upstream.stats()["totals"]["requests"] == 2
    assert [r.status for r in sorted(await ledger_rows(settings), key=lambda r: r.attempt)] == ["error", "ok"]


WEATHER_CALL = {"id": "call_1", "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}


def agent_history(tool_output: str = "18C and sunny", question: str = "Should I take an umbrella?"
                  ) -> list[dict[str, Any]]:
    """A user turn, the model's tool call, the tool's answer, and the user's next question."""
    return [{"role": "user", "content": "What is the weather in Paris?", "name": "ana"},
            {"role": "assistant", "content": None, "tool_calls": [WEATHER_CALL]},
            {"role": "tool", "tool_call_id": "call_1", "content": tool_output},
            {"role": "assistant", "content": "It is 18C and sunny in Paris."},
            {"role": "user", "content": question}]


async def test_a_tool_conversation_reaches_the_upstream_as_written(connect, upstream) -> None:
    async with connect() as client:
        out = await call(client, "routed_complete", {"messages": agent_history()})
        assert "[sandbox" in out["answer"]
        route = await call(client, "explain_route", {"messages": agent_history()})
    sent = upstream.received()[-1]["messages"]
    assert sent == [
        {"role": "user", "text": "What is the weather in Paris?", "name": "ana"},
        {"role": "assistant", "text": "", "tool_calls": json.dumps([WEATHER_CALL])},
        {"role": "tool", "text": "18C and sunny", "tool_call_id": "call_1"},
        {"role": "assistant", "text": "It is 18C and sunny in Paris."},
        {"role": "user", "text": "Should I take an umbrella?"}]
    # The route reads the user's turns: a tool's output decides no task.
    assert route["task"] == out["route"]["task"] and route["conversation"]["user_turns"] == 2


async def test_chat_completion_checks_tool_turns_as_routed_complete_does(settings, upstream) -> None:
    from gatewise.servers.openrouter_multimodal.server import create_server

    orphan = [{"role": "user", "content": "hi"}, {"role": "tool", "tool_call_id": "call_9", "content": "x"}]
    model = "openai/gpt-4o-mini"
    async with Client(create_server(settings)) as client:
        out = await call(client, "chat_completion", {"model": model, "messages": agent_history()})
        assert "[sandbox" in out["content"]
        text = await error_text(client, "chat_completion", {"model": model, "messages": orphan})
    assert "INVALID_INPUT: messages[1]: tool_call_id 'call_9' answers no tool call of the assistant" in text
    assert upstream.received()[-1]["messages"][2] == {"role": "tool", "text": "18C and sunny",
                                                      "tool_call_id": "call_1"}
    assert len(upstream.received()) == 1


@pytest.mark.parametrize(("messages", "problem"), [
    ([{"role": "user", "content": "hi", "name": "bob", "extra": {"a": 1}}],
     "INVALID_INPUT: messages.0: unknown key 'extra'; a message takes role, content, name, tool_calls, "
     "tool_call_id"),
    ([{"role": "user", "content": ""}],
     "INVALID_INPUT: messages[0]: a user message needs content (only an assistant or tool turn may have "),
    ([{"role": "system", "content": "Be brief."}, {"role": "user", "content": []}],
     "INVALID_INPUT: messages[1]: a user message needs content (only an assistant or tool turn may have "),
    ([{"role": "user", "content": "hi"}, {"role": "tool", "tool_call_id": "c1", "content": "42"}],
     "INVALID_INPUT: messages[1]: tool_call_id 'c1' answers no tool call of the assistant message before"),
    ([{"role": "assistant", "content": None, "tool_calls": [{**WEATHER_CALL, "function": {
        "name": "get_weather", "arguments": "city=Paris"}}]}, {"role": "tool", "tool_call_id": "call_1",
                                                                "content": "18C"}],
     "INVALID_INPUT: messages[0]: tool_calls[0]: function.arguments is not valid JSON text"),
    ([{"role": "assistant", "content": None, "tool_calls": [{**WEATHER_CALL, "extra": 1}]}],
     "INVALID_INPUT: messages.0.tool_calls.0.extra: Extra inputs are not permitted"),
])
async def test_a_message_outside_the_chat_format_is_refused_before_any_call(connect, upstream, settings,
                                                                            messages: list[Any],
                                                                            problem: str) -> None:
    async with connect() as client:
        text = await error_text(client, "routed_complete", {"messages": messages})
    assert problem in text and len(text) < 1000
    assert upstream.received() == [] and await ledger_rows(settings) == []


async def test_tool_output_is_part_of_the_exact_cache_key(connect, upstream) -> None:
    async with connect() as client:
        first = await call(client, "routed_complete", {"messages": agent_history("18C and sunny")})
        other = await call(client, "routed_complete", {"messages": agent_history("9C and raining")})
        again = await call(client, "routed_complete", {"messages": agent_history("9C and raining")})
    statuses = [out["cache_status"] for out in (first, other, again)]
    assert statuses == ["miss", "miss", "hit_exact"]
    assert len(upstream.received()) == 2
