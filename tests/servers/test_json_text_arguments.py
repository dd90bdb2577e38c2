"""Arguments a client sends as JSON text reach a gatewise tool as they reach a plain MCPServer
tool: arrays, objects and literals parsed, any other text left as it is."""

from __future__ import annotations

import json

import pytest
from mcp import Client
from mcp.server.mcpserver.utilities.func_metadata import func_metadata

from gatewise.mcpkit.exact_arguments import exact_arguments
from gatewise.mcpkit.server import build_server

SENT = ['["a", "b"]', ' {"k": 1} ', "null", " true", "false\n", "tell me", "[not json", "42", '"quoted"',
        "nothing", "-Infinity", "", "  ", "{", "nul"]


async def echo(text: str | None = None, items: list[str] | str | None = None,
               flag: bool | str | None = None, plain: str = "") -> str:
    return json.dumps([text, items, flag, plain])


@pytest.mark.parametrize("value", SENT)
def test_json_text_is_parsed_as_the_sdk_parses_it_where_the_argument_can_be_a_list(value: str) -> None:
    sdk = func_metadata(echo)
    ours = exact_arguments(sdk)
    for name in ("text", "items", "flag", "plain"):
        arguments = {name: value, "other": value}
        expected = sdk.pre_parse_json(arguments)
        if name in ("text", "flag") and isinstance(expected[name], list | dict):
            expected[name] = value  # no array or object fits there: the text stays text
        assert ours.pre_parse_json(arguments) == expected


async def test_a_gatewise_tool_receives_a_list_sent_as_json_text() -> None:
    server = build_server("echo", instructions="")
    server.tool()(echo)
    async with Client(server) as client:
        result = await client.call_tool("echo", {"items": '["a", "b"]', "text": "null", "plain": "[1]"})
    assert result.structured_content == {"result": json.dumps([None, ["a", "b"], None, "[1]"])}
