"""Log notifications: a tool call's log lines reach the client that made it, at the level it set
with logging/setLevel (warning until then), scrubbed, and never another client's."""

from __future__ import annotations

import logging
from typing import Any

import anyio
import pytest
from mcp import Client, MCPDeprecationWarning
from mcp.server.mcpserver import MCPServer
from mcp.types import LoggingMessageNotificationParams

from gatewise.mcpkit.server import build_server
from gatewise.redact import remember

KEY = "sk-or-v1-5f0c1a2b3c4d5e6f7a8b9c0d1e2f3a4b"


def noisy_server() -> MCPServer[Any]:
    server = build_server("noisy", instructions="")

    @server.tool()
    async def noisy(tag: str) -> str:
        log = logging.getLogger("gatewise.noisy")
        log.info("detail for %s", tag)
        log.warning("upstream slow for %s (key %s)", tag, KEY)
        return "ok"

    return server


async def collect(client: Client, received: list[LoggingMessageNotificationParams], tag: str,
                  expected: int) -> list[LoggingMessageNotificationParams]:
    await client.call_tool("noisy", {"tag": tag})
    with anyio.fail_after(5):  # notifications may land just after the result
        while len([r for r in received if tag in str(r.data)]) < expected:
            await anyio.sleep(0.01)
    return [r for r in received if tag in str(r.data)]


async def test_levels_scrubbing_and_the_right_client(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="gatewise")  # as GATEWISE_LOG_LEVEL's default does
    remember([KEY])
    server = noisy_server()
    first: list[LoggingMessageNotificationParams] = []
    second: list[LoggingMessageNotificationParams] = []

    async def to_first(params: LoggingMessageNotificationParams) -> None:
        first.append(params)

    async def to_second(params: LoggingMessageNotificationParams) -> None:
        second.append(params)

    async with Client(server, mode="legacy", logging_callback=to_first) as one, \
            Client(server, mode="legacy", logging_callback=to_second) as two:
        assert one.server_capabilities.logging is not None
        [warning] = await collect(one, first, "call-a", 1)  # warning and above by default
        assert warning.level == "warning" and warning.logger == "gatewise.noisy"
        assert KEY not in str(warning.data) and "upstream slow for call-a" in str(warning.data)
        with pytest.warns(MCPDeprecationWarning):  # logging/setLevel: handshake-era clients use it
            await one.set_logging_level("info")
        levels = {r.level for r in await collect(one, first, "call-b", 2)}
        assert levels == {"info", "warning"}
        with pytest.warns(MCPDeprecationWarning):
            await one.set_logging_level("error")
        await one.call_tool("noisy", {"tag": "call-c"})
        await anyio.sleep(0.2)
        assert not [r for r in first if "call-c" in str(r.data)]
        assert (await two.list_tools()).tools
        assert second == []  # the other client made no call and hears nothing
