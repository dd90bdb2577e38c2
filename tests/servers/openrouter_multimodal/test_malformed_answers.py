"""Answers a hostile upstream sends malformed, against a real upstream on loopback: the failure is
the upstream's (UPSTREAM_ERROR naming what was wrong, and what a billed answer cost), never the
caller's arguments, and the ledger records a failed attempt at its cost."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from gatewise.servers.openrouter_multimodal.server import create_server
from mcp import Client

from gatewise.config import Settings, load_settings
from hostile_upstream import HostileUpstream
from tool_support import ledger_rows

KEY = "sk-or-v1-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileUpstream]:
    with HostileUpstream() as server:
        yield server


def hostile_settings(hostile: HostileUpstream, data_dir: Path) -> Settings:
    return load_settings({}, data_dir=data_dir, openrouter_api_key=KEY,
                         openrouter_base_url=f"{hostile.root_url}/api/v1", limits={"max_retries": 0})


async def failure(settings: Settings, mode: str) -> str:
    async with Client(create_server(settings)) as client:
        result = await client.call_tool("chat_completion", {
            "model": f"hostile/{mode}", "messages": [{"role": "user", "content": "say hello"}],
            "no_cache": True})
    assert result.is_error
    return result.content[0].text


@pytest.mark.parametrize(("mode", "said"), [
    ("tool_calls_text", "its message.tool_calls was a string, not an array of objects"),
    ("reasoning_object", "its message.reasoning was an object, not text"),
    ("finish_reason_number", "its choice.finish_reason was a number, not text"),
])
async def test_a_malformed_billed_answer_is_the_upstreams_failure(hostile: HostileUpstream, tmp_path: Path,
                                                                  mode: str, said: str) -> None:
    """It read "INVALID_INPUT ... Check the arguments against the tool's input schema" while the
    ledger recorded the call ok at its cost: the caller was blamed and would pay again."""
    settings = hostile_settings(hostile, tmp_path)
    text = await failure(settings, mode)
    [row] = await ledger_rows(settings)
    assert f"UPSTREAM_ERROR: hostile/{mode} returned a malformed answer: {said}; the answer was dropped." \
        in text, text
    assert f"The unusable answers cost $0.00001 (request {row.request_id})." in text
    assert (row.status, row.error_code, row.cost_usd) == ("error", "UPSTREAM_ERROR", 0.00001)


@pytest.mark.parametrize(("mode", "said"), [
    ("html_page", "a body that is not JSON (content type 'text/html; charset=utf-8')"),
    ("cut_json", "JSON that was cut off (content type 'application/json')"),
    ("json_array", "JSON that is an array, not an object (content type 'application/json')"),
    ("empty_body", "an empty body (content type 'application/json')"),
])
async def test_a_200_that_is_no_json_object_says_what_it_was(hostile: HostileUpstream, tmp_path: Path,
                                                            mode: str, said: str) -> None:
    """It read "the upstream answer had no choices", whatever had come."""
    text = await failure(hostile_settings(hostile, tmp_path), mode)
    assert f"UPSTREAM_ERROR: openrouter answered HTTP 200 with {said}, not a chat completion" in text, text
    assert "<html>" not in text and KEY[10:30] not in text
