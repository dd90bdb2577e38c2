"""Helpers for tests that drive a server through a real MCP client."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from mcp import Client
from mcp.client._memory import InMemoryTransport
from mcp.types import JSONRPCRequest

from gatewise.config import Settings
from gatewise.ledger import open_ledger

CONTRACT_FIELDS = ("description", "inputSchema", "outputSchema", "annotations")
FENCED = re.compile(r'(?P<notice>[^\n]*)\n'
                    r'<untrusted_model_output id="(?P<id>[0-9a-f]{16})" model="[^"\n]*">\n'
                    r'(?P<body>.*)\n</untrusted_model_output id="(?P=id)">', re.S)


def unfence(text: str) -> str:
    """The text inside a fence, once the fence is checked: it opens on the second line, and the
    one closing marker with its id is the last line."""
    match = FENCED.fullmatch(text)
    assert match, text
    assert f'id="{match["id"]}"' not in match["body"] and match["id"] in match["notice"]
    return match["body"]


def check_contract(tools: list[Any], path: Path) -> dict[str, dict[str, Any]]:
    """The listed tools as they go on the wire, compared with the snapshot at ``path``
    (rewritten when UPDATE_CONTRACT is set or the snapshot is missing)."""
    wire = [t.model_dump(by_alias=True, mode="json", exclude_none=True) for t in tools]
    current = {t["name"]: {k: t.get(k) for k in CONTRACT_FIELDS} for t in wire}
    if os.environ.get("UPDATE_CONTRACT") or not path.exists():
        path.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
    assert current == json.loads(path.read_text()), "rerun with UPDATE_CONTRACT=1"
    return current


class RawArgsTransport(InMemoryTransport):
    """An in-memory transport that hands ``tools/call`` arguments to the server as given.

    The SDK client serialises arguments in JSON mode, turning NaN and infinities into null, yet
    a frame read from stdio or HTTP can carry NaN, Infinity or 1e309; so the next call's raw
    arguments are swapped back in on their way out.
    """

    pending: dict[str, Any] | None = None

    async def __aenter__(self) -> Any:
        read, write = await super().__aenter__()
        return read, _SwapArguments(write, self)


class _SwapArguments:
    def __init__(self, inner: Any, transport: RawArgsTransport) -> None:
        self._inner = inner
        self._transport = transport

    async def send(self, item: Any) -> None:
        message, raw = item.message, self._transport.pending
        if raw is not None and isinstance(message, JSONRPCRequest) and message.method == "tools/call":
            message.params["arguments"] = raw
            self._transport.pending = None
        await self._inner.send(item)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> _SwapArguments:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


async def ledger_rows(settings: Settings) -> list:
    ledger = open_ledger(settings.ledger_path)
    try:
        return await ledger.recent(100)
    finally:
        await ledger.close()


async def call(client: Client, tool: str, args: dict, **kw: Any) -> dict:
    result = await client.call_tool(tool, args, **kw)
    assert not result.is_error, result.content
    return result.structured_content


async def routed_once(settings: Settings, **args: Any) -> dict:
    """One routed_complete call on a fresh routing-gateway server built from ``settings``."""
    from gatewise.servers.routing_gateway.server import create_server

    async with Client(create_server(settings)) as client:
        return await call(client, "routed_complete", args)


async def error_text(client: Client, tool: str, args: dict) -> str:
    result = await client.call_tool(tool, args)
    assert result.is_error, result
    text = result.content[0].text
    assert "Traceback" not in text
    return text


def server_env(sandbox_url: str, data_dir: Path) -> dict[str, str]:
    """The environment for a server subprocess: this one's, minus keys, pointed at the sandbox."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(GATEWISE_SANDBOX_URL=sandbox_url, GATEWISE_DATA_DIR=str(data_dir))
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "exited"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the server did not open its port")
