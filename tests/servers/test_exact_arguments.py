"""Every tool of every server takes its arguments as JSON gives them: booleans only as true or
false, numbers only as numbers, and no name it does not declare; nothing is changed, spent or
written by a call refused for it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from gatewise.servers.openrouter_multimodal.server import create_server as multimodal_server
from gatewise.servers.openrouter_search.server import create_server as search_server
from gatewise.servers.portkey_admin.server import create_server as portkey_server
from gatewise.servers.routing_gateway.server import create_server as gateway_server
from mcp import Client
from pydantic import BaseModel

from gatewise.config import Settings
from gatewise.mcpkit.server import build_server
from tool_support import call, error_text, ledger_rows

SERVERS = {"routing-gateway": gateway_server, "portkey-admin": portkey_server,
           "openrouter-multimodal": multimodal_server, "openrouter-search": search_server}
LONG_KEY = "k" * 5000


@pytest.mark.parametrize("name", SERVERS)
async def test_every_tool_refuses_an_unknown_argument_and_publishes_closed_arguments(
        settings: Settings, name: str) -> None:
    async with Client(SERVERS[name](settings)) as client:
        tools = (await client.list_tools()).tools
        for tool in tools:
            assert tool.input_schema["additionalProperties"] is False, tool.name
            text = await error_text(client, tool.name, {LONG_KEY: 1})
            assert text.startswith(f"Error executing tool {tool.name}: INVALID_INPUT: unknown argument "
                                   f"'{'k' * 59}…'"), text
            assert "k" * 61 not in text and len(text) < 1024
    assert len(tools) >= 2


async def test_a_misspelt_argument_is_refused_with_the_name_meant(settings: Settings,
                                                                   upstream: object) -> None:
    async with Client(gateway_server(settings)) as client:
        tokens = await error_text(client, "routed_complete", {"prompt": "hi", "max_token": 300})
        temperature = await error_text(client, "routed_complete", {"prompt": "hi", "temprature": 0.2,
                                                                   "zz": 1, "yy": 2})
        unlike = await error_text(client, "get_budget_status", {"xyzzy": 1})
    assert tokens == ("Error executing tool routed_complete: INVALID_INPUT: unknown argument 'max_token' "
                      "(did you mean 'max_tokens'?) Hint: Check the arguments against the tool's input "
                      "schema.")
    assert "unknown argument 'temprature' (did you mean 'temperature'?) (and 2 more unknown)" in temperature
    assert "unknown argument 'xyzzy'; the arguments are scope Hint:" in unlike
    assert await ledger_rows(settings) == []  # nothing was sent upstream


@pytest.mark.parametrize(("args", "message"), [
    ({"limit_usd": True}, "limit_usd: must be a number, not true"),
    ({"limit_usd": "10"}, "limit_usd: must be a number, not the string '10'"),
    ({"limit_usd": 5, "dry_run": "false"}, "dry_run: must be true or false, not the string 'false'"),
    ({"limit_usd": 5, "dry_run": 0}, "dry_run: must be true or false, not a number"),
])
async def test_set_budget_takes_only_json_numbers_and_booleans(settings: Settings, args: dict[str, Any],
                                                               message: str) -> None:
    async with Client(gateway_server(settings)) as client:
        text = await error_text(client, "set_budget", args)
        status = await call(client, "get_budget_status", {})
        applied = await call(client, "set_budget", {"limit_usd": 10, "dry_run": False})
    assert text.startswith(f"Error executing tool set_budget: INVALID_INPUT: {message} Hint: "), text
    assert status["budgets"] == []  # nothing was set
    assert applied["applied"] is True and applied["after"]["limit_usd"] == 10.0


@pytest.mark.parametrize(("args", "message"), [
    ({"prompt": "hi", "web_search": "yes"},
     "web_search: must be true or false or null, not the string 'yes'"),
    ({"prompt": "hi", "explain": 1}, "explain: must be true or false, not a number"),
    ({"prompt": "hi", "max_tokens": "300"}, "max_tokens: must be a number or null, not the string '300'"),
    ({"prompt": "hi", "temperature": False}, "temperature: must be a number or null, not false"),
    ({"prompt": "hi", "max_cost_usd": "0.01"},
     "max_cost_usd: must be a number or null, not the string '0.01'"),
])
async def test_routed_complete_refuses_lax_scalars_before_spending(settings: Settings, upstream,
                                                                  args: dict[str, Any], message: str) -> None:
    async with Client(gateway_server(settings)) as client:
        text = await error_text(client, "routed_complete", args)
        whole = await call(client, "routed_complete", {"prompt": "What is 6*7?", "max_tokens": 300.0})
    assert text.startswith(f"Error executing tool routed_complete: INVALID_INPUT: {message} Hint: "), text
    assert "42" in whole["answer"]  # a whole number sent as 300.0 is a JSON integer
    assert len(await ledger_rows(settings)) == 1  # only the call that went through


async def test_generate_image_refuses_a_path_it_would_have_ignored(settings: Settings, upstream,
                                                                   tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere" / "pwn.png"
    async with Client(multimodal_server(settings)) as client:
        text = await error_text(client, "generate_image", {"prompt": "x", "save": True,
                                                           "output_path": str(elsewhere)})
        account = await error_text(client, "check_account", {"x": 1})
    assert "INVALID_INPUT: unknown argument 'output_path'" in text
    assert not elsewhere.parent.exists()
    assert account.startswith("Error executing tool check_account: INVALID_INPUT: unknown argument 'x'; "
                              "the tool takes none Hint: ")
    assert await ledger_rows(settings) == []


class Options(BaseModel):
    flag: bool = False
    ratio: float = 0.5
    count: int = 1
    label: str = ""


async def test_nested_booleans_and_numbers_are_exact_and_json_text_still_parses() -> None:
    server = build_server("nested", instructions="")

    @server.tool()
    async def configure(options: Options, tags: list[int] | None = None) -> str:
        return f"{options.flag} {options.ratio} {options.count} {options.label!r} {tags}"

    async with Client(server) as client:
        flag = await error_text(client, "configure", {"options": {"flag": "yes"}})
        ratio = await error_text(client, "configure", {"options": {"ratio": True}})
        tags = await error_text(client, "configure", {"options": {}, "tags": '["1", 2]'})
        label = await error_text(client, "configure", {"options": {"label": 5}})
        fine = await call(client, "configure", {"options": '{"flag": true, "ratio": 1, "count": 2.0}',
                                                "tags": "[1, 2]"})
    assert "INVALID_INPUT: options.flag: must be true or false, not the string 'yes'" in flag
    assert "INVALID_INPUT: options.ratio: must be a number, not true" in ratio
    assert "INVALID_INPUT: tags.0: must be a number, not the string '1'" in tags
    assert "INVALID_INPUT: options.label: Input should be a valid string" in label  # pydantic's own words
    assert fine == {"result": "True 1.0 2 '' [1, 2]"}


@pytest.mark.parametrize("name", SERVERS)
async def test_null_for_every_optional_argument_means_its_default(settings: Settings, upstream,
                                                                 name: str) -> None:
    """As clients that send every declared argument do: null where the caller left one unset."""
    async with Client(SERVERS[name](settings)) as client:
        for tool in (await client.list_tools()).tools:
            required = set(tool.input_schema.get("required", []))
            if required:
                continue  # the tools that need nothing show it plainly; the others need real values
            nulls = {key: None for key in tool.input_schema["properties"]}
            result = await client.call_tool(tool.name, nulls)
            plain = await client.call_tool(tool.name, {})
            assert result.is_error == plain.is_error, (tool.name, result.content)
            if result.is_error:  # refused for what is missing, not for a null
                assert "should be a valid" not in result.content[0].text, (tool.name, result.content)
