"""routed_complete's messages are checked against the chat format before any model is called, and
an upstream refusal of the request itself ends the route where a model's own refusal moves on."""

from __future__ import annotations

import json
from typing import Any

import pytest

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
