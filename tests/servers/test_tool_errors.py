"""Every failed tool call reads ``Error executing tool <name>: CODE: message Hint: ...``, short:
unexpected faults as INTERNAL with a request id that is also in the log, arguments the input
schema rejects without echoing them, and upstream requests httpx refuses as the caller's error."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest
from gatewise.servers.openrouter_multimodal.server import create_server as multimodal_server
from gatewise.servers.openrouter_search.server import create_server as search_server
from gatewise.servers.portkey_admin.server import create_server as portkey_server
from gatewise.servers.routing_gateway.server import create_server as gateway_server
from mcp import Client, MCPError
from mcp.types import INVALID_PARAMS
from pydantic import SecretStr

from gatewise.config import Settings
from gatewise.errors import ErrorCode, GatewiseError
from gatewise.gateway import RoutingGateway
from gatewise.mcpkit.errors import MAX_ERROR_CHARS
from gatewise.mcpkit.server import build_server
from gatewise.upstream.http import HttpUpstream
from gatewise_sandbox import SandboxServer
from tool_support import error_text

REQUEST_ID = re.compile(r"INTERNAL: an unexpected error occurred \(request id ([0-9a-f]{12})\)\.")
BIG = 500_000
SERVERS = {"routing-gateway": gateway_server, "portkey-admin": portkey_server,
           "openrouter-multimodal": multimodal_server, "openrouter-search": search_server}


def logged_with(caplog: pytest.LogCaptureFixture, request_id: str) -> str:
    [record] = [r for r in caplog.records if request_id in r.getMessage()]
    assert record.levelno == logging.ERROR
    return record.getMessage()


async def test_an_unexpected_fault_is_internal_with_a_request_id_in_the_log(
        settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    async def broken(self: RoutingGateway, request: Any) -> Any:
        raise RuntimeError("ledger handle vanished")

    monkeypatch.setattr(RoutingGateway, "complete", broken)
    async with Client(gateway_server(settings)) as client:
        text = await error_text(client, "routed_complete", {"prompt": "What is 6*7?"})
    assert text.startswith("Error executing tool routed_complete: INTERNAL: ")
    assert "report it with the request id" in text and "ledger handle" not in text
    found = REQUEST_ID.search(text)
    assert found, text
    log = logged_with(caplog, found.group(1))
    assert "Traceback" in log and "RuntimeError: ledger handle vanished" in log


async def test_a_fault_outside_a_wrapped_tool_body_is_internal_too(
        caplog: pytest.LogCaptureFixture) -> None:
    server = build_server("bare", instructions="")

    @server.tool()
    async def unwrapped(n: int) -> int:
        return n // 0

    async with Client(server) as client:
        text = await error_text(client, "unwrapped", {"n": 1})
    found = REQUEST_ID.search(text)
    assert found and text.startswith("Error executing tool unwrapped: INTERNAL: "), text
    assert "ZeroDivisionError" in logged_with(caplog, found.group(1))


def wrong_type_argument(schema: dict[str, Any]) -> dict[str, Any] | None:
    """An array for the first argument that takes only scalars: every such schema rejects it."""
    for name, prop in schema.get("properties", {}).items():
        text = json.dumps(prop)
        if prop and not any(t in text for t in ('"array"', '"object"', "$ref")):
            return {name: ["x" * BIG]}
    return None


@pytest.mark.parametrize("name", SERVERS)
async def test_every_tool_rejects_bad_arguments_in_the_project_form_and_briefly(
        settings: Settings, name: str) -> None:
    async with Client(SERVERS[name](settings)) as client:
        tools = (await client.list_tools()).tools
        checked = 0
        for tool in tools:
            args = wrong_type_argument(tool.input_schema)
            if args is None:
                continue  # no arguments to get wrong
            text = await error_text(client, tool.name, args)
            assert re.match(rf"Error executing tool {tool.name}: INVALID_INPUT: [\w.]+: ", text), text
            assert "Hint: " in text and len(text) <= MAX_ERROR_CHARS and "xxxxx" not in text
            checked += 1
    assert checked >= len(tools) - 1


async def test_a_huge_bad_argument_gets_a_capped_error_quoting_only_a_prefix(
        settings: Settings) -> None:
    async with Client(gateway_server(settings)) as client:
        text = await error_text(client, "routed_complete", {"prompt": "hi", "temperature": "x" * BIG})
        listed = await error_text(client, "routed_complete", {"messages": [1] * 100_000})
        keyed = await error_text(client, "routed_complete", {"prompt": "hi", "metadata": {"k" * BIG: [1]}})
    assert text.startswith("Error executing tool routed_complete: INVALID_INPUT: temperature: ")
    assert "not the string 'xxxx" in text and text.count("x") < 100
    assert "messages.0: " in listed and "(and 99999 more)" in listed
    for each in (text, listed, keyed):
        assert len(each) <= MAX_ERROR_CHARS


@pytest.mark.both_eras
@pytest.mark.parametrize("name", SERVERS)
async def test_an_unknown_tool_is_a_protocol_error(settings: Settings, era: str, name: str) -> None:
    async with Client(SERVERS[name](settings), mode=era) as client:
        with pytest.raises(MCPError) as info:
            await client.call_tool("no_such_tool", {})
    assert info.value.code == INVALID_PARAMS


async def test_an_unknown_prompt_or_a_missing_prompt_argument_is_invalid_params(settings: Settings) -> None:
    async with Client(gateway_server(settings)) as client:
        with pytest.raises(MCPError) as unknown:
            await client.get_prompt("no_such_prompt")
        with pytest.raises(MCPError) as missing:
            await client.get_prompt("cheapest_model", {"request": "summarise this"})
        found = await client.get_prompt("cheapest_model", {"task": "math"})
    assert (unknown.value.code, unknown.value.message) == (INVALID_PARAMS, "Unknown prompt: no_such_prompt")
    assert (missing.value.code, missing.value.message) == (INVALID_PARAMS, "Missing prompt arguments: task")
    assert "routed_complete" in found.messages[0].content.text


async def test_a_huge_unknown_tool_name_is_rejected_briefly(settings: Settings) -> None:
    async with Client(gateway_server(settings)) as client:
        with pytest.raises(MCPError) as rejected:
            await client.call_tool("n" * BIG, {})
    assert rejected.value.message.startswith("Unknown tool: nnn")
    assert len(rejected.value.message) <= MAX_ERROR_CHARS


async def test_a_portkey_query_string_too_long_for_a_url_is_the_callers_error(
        settings: Settings, sandbox: SandboxServer) -> None:
    keyed = settings.model_copy(update={"portkey_api_key": SecretStr("pk-org-0123456789abcdef"),
                                        "portkey_base_url": sandbox.root_url + "/v1"})
    async with Client(portkey_server(keyed, "all")) as client:
        text = await error_text(client, "get_audit_logs", {"timeframe": "1h", "uri": "/" + "u" * 100_000})
    assert text.startswith("Error executing tool get_audit_logs: TOO_LARGE: "), text
    assert "64 KB" in text and len(text) <= MAX_ERROR_CHARS


@pytest.mark.parametrize(("path", "kwargs", "code"), [
    ("/models", {"params": {"q": "x" * 100_000}}, ErrorCode.TOO_LARGE),
    ("/mod\x00els", {}, ErrorCode.INVALID_INPUT),
    ("ftp://example.com/models", {}, ErrorCode.INVALID_INPUT),
    ("/models", {"headers": {"x-note": "a\nb"}}, ErrorCode.INVALID_INPUT),
])
async def test_requests_httpx_refuses_map_to_the_taxonomy_without_retries(
        settings: Settings, upstream, path: str, kwargs: dict[str, Any], code: ErrorCode) -> None:
    async with HttpUpstream(settings.sandbox_url or "", limits=settings.limits) as client:
        with pytest.raises(GatewiseError) as failed:
            await client.request("GET", path, **kwargs)
    assert failed.value.code is code and not failed.value.retryable
    assert not failed.value.details.get("connection")


@pytest.mark.parametrize(("tool", "args", "where"), [
    ("routed_complete", {"prompt": "half a pair \ud800 here"}, "prompt"),
    ("routed_complete", {"prompt": "hi", "metadata": {"k": "v\udfff"}}, "metadata.k"),
    ("routed_complete", {"messages": [{"role": "user", "content": "x\udc00"}]}, "messages[0].content"),
])
async def test_text_with_a_lone_surrogate_is_invalid_input_naming_the_argument(
        settings: Settings, tool: str, args: dict[str, Any], where: str) -> None:
    """An in-process client can pass half a UTF-16 pair; the first encoder it met used to crash."""
    async with Client(gateway_server(settings)) as client:
        text = await error_text(client, tool, args)
    assert text.startswith(f"Error executing tool {tool}: INVALID_INPUT: {where}: "), text
