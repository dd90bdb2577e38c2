"""The stdio transport, with an answer for every line the client sends.

The SDK's stdio reader hands a line that is not a JSON-RPC message (invalid JSON, nesting or
numbers its parser refuses, a non-object) to the session as an exception, which is logged and
never answered: the client waits forever. It also reads a line of any length into memory. Lines
are therefore read here, at most ``max_frame_bytes`` each, and checked; a bad one is answered
with a JSON-RPC error (-32700 parse error, -32600 invalid request) carrying the request id when
it can be read off the raw line. Good lines go to the SDK's ``stdio_server`` unchanged.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage
from mcp.types import (
    INVALID_REQUEST,
    PARSE_ERROR,
    ErrorData,
    JSONRPCError,
    RequestId,
    jsonrpc_message_adapter,
)
from pydantic import ValidationError

from gatewise.mcpkit.errors import cap_error_text

log = logging.getLogger(__name__)

# An integer or a plain string id, read off a line that may not parse (the first one wins).
_ID = re.compile(r'"id"\s*:\s*(-?\d{1,15}(?![\d.eE])|"[^"\\]{0,200}")')
_DISCARD_CHUNK = 1 << 20


def serve_stdio(server: MCPServer[Any], *, max_frame_bytes: int) -> None:
    anyio.run(_serve, server, max_frame_bytes)


async def _serve(server: MCPServer[Any], max_frame_bytes: int) -> None:
    with _wire_stdin() as wire:
        frames = Frames(wire, max_frame_bytes)
        # stdio_server only iterates stdin line by line; its annotation names anyio's file class,
        # which Frames stands in for (it bounds each frame).
        async with stdio_server(stdin=frames) as (read_stream, write_stream):  # type: ignore[arg-type]
            frames.answer_on(write_stream)
            # As MCPServer.run_stdio_async does; only the stdin side differs.
            lowlevel = server._lowlevel_server
            await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())


@contextmanager
def _wire_stdin() -> Iterator[BinaryIO]:
    """The protocol's stdin on a private descriptor, fd 0 on the null device meanwhile (as the
    SDK does when it reads stdin itself), so no child process or stray read takes its bytes."""
    wire = os.dup(0)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    try:
        # closefd=False: a reader thread may still be blocked on it when serving ends.
        yield os.fdopen(wire, "rb", closefd=False)
    finally:
        os.dup2(wire, 0)


class Frames:
    """The lines of the wire that are JSON-RPC messages, as text; the others are answered here."""

    def __init__(self, wire: BinaryIO, max_bytes: int) -> None:
        self._wire = wire
        self._max = max_bytes
        self._replies: Any = None
        self._ready = anyio.Event()

    def answer_on(self, write_stream: Any) -> None:
        """Where error answers go: the transport's own write stream, once it is open."""
        self._replies = write_stream
        self._ready.set()

    def __aiter__(self) -> Frames:
        return self

    async def __anext__(self) -> str:
        while True:
            line = await self._readline(self._max + 1)
            if not line:
                raise StopAsyncIteration
            text = line.decode("utf-8", errors="replace")  # as the SDK decodes
            if len(line) > self._max and not line.endswith(b"\n"):
                await self._discard_rest_of_line()
                await self._answer(text, ErrorData(
                    code=INVALID_REQUEST,
                    message=f"Invalid request: a message is limited to {self._max} bytes "
                            "(limits.max_stdio_frame_bytes)"))
                continue
            if not text.strip():
                continue  # a blank line is no request: nobody waits for an answer
            problem = _problem(text)
            if problem is None:
                return text
            await self._answer(text, problem)

    async def _readline(self, limit: int) -> bytes:
        """Up to ``limit`` bytes, ending at the first newline (in a thread, as the SDK reads)."""
        return await anyio.to_thread.run_sync(self._wire.readline, limit)

    async def _discard_rest_of_line(self) -> None:
        while True:
            chunk = await self._readline(_DISCARD_CHUNK)
            if not chunk or chunk.endswith(b"\n"):
                return

    async def _answer(self, text: str, error: ErrorData) -> None:
        request_id = _request_id(text)
        log.warning("answered a stdin message (id %r) with %d: %s", request_id, error.code,
                    error.message)
        await self._ready.wait()
        await self._replies.send(SessionMessage(JSONRPCError(jsonrpc="2.0", id=request_id,
                                                             error=error)))


def _problem(text: str) -> ErrorData | None:
    """Why the SDK would drop this line, or None when it takes it."""
    try:
        jsonrpc_message_adapter.validate_json(text, by_name=False)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        if first["type"] == "json_invalid":
            return ErrorData(code=PARSE_ERROR, message=cap_error_text(f"Parse error: {first['msg']}"))
        return ErrorData(code=INVALID_REQUEST, message="Invalid request: not a JSON-RPC 2.0 "
                         "request, notification or response object")
    return None


def _request_id(text: str) -> RequestId | None:
    match = _ID.search(text)
    return json.loads(match.group(1)) if match else None
