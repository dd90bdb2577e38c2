"""The stdio transport, with an answer for every line the client sends.

The SDK's stdio transport hands a line that is not a JSON-RPC message (invalid JSON, nesting or
numbers its parser refuses, a non-object) to the session as an exception, which is logged and
never answered: the client waits forever. It also reads a line of any length into memory. Lines
are therefore read here, at most ``max_frame_bytes`` each, and parsed once, by the SDK's parser;
a bad one is answered with a JSON-RPC error (-32700 parse error, -32600 invalid request)
carrying the request id when it can be read off the raw line. Answers are written as the SDK
writes them, one a line.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.server.mcpserver import MCPServer
from mcp.shared.message import SessionMessage
from mcp.types import (
    INVALID_REQUEST,
    PARSE_ERROR,
    ErrorData,
    JSONRPCError,
    JSONRPCMessage,
    RequestId,
    jsonrpc_message_adapter,
)
from pydantic import ValidationError

from gatewise.mcpkit.errors import cap_error_text
from gatewise.mcpkit.stdio_wire import FrameWriter, LineReader

log = logging.getLogger(__name__)

# An integer or a plain string id, read off a line that may not parse (the first one wins).
_ID = re.compile(r'"id"\s*:\s*(-?\d{1,15}(?![\d.eE])|"[^"\\]{0,200}")')
_DISCARD_CHUNK = 1 << 20


def serve_stdio(server: MCPServer[Any], *, max_frame_bytes: int) -> None:
    anyio.run(_serve, server, max_frame_bytes)


async def _serve(server: MCPServer[Any], max_frame_bytes: int) -> None:
    incoming, from_wire = anyio.create_memory_object_stream[SessionMessage]()
    to_wire, outgoing = anyio.create_memory_object_stream[SessionMessage]()
    with _wire(0, os.open(os.devnull, os.O_RDONLY)) as stdin, _wire(1, os.dup(2)) as stdout:
        async with anyio.create_task_group() as tasks:
            frames = Frames(LineReader(stdin), max_frame_bytes)
            tasks.start_soon(frames.run, incoming, to_wire.clone())
            tasks.start_soon(_write_frames, FrameWriter(stdout), outgoing)
            # As MCPServer.run_stdio_async does; only the transport differs.
            lowlevel = server._lowlevel_server
            await lowlevel.run(from_wire, to_wire, lowlevel.create_initialization_options())


@contextmanager
def _wire(fd: int, stand_in: int) -> Iterator[int]:
    """A private duplicate of standard descriptor ``fd`` for the protocol, ``fd`` itself on
    ``stand_in`` meanwhile (as the SDK does: stdin on the null device, stdout on stderr), so no
    child process, stray read or print touches the wire. The duplicate is left open: a worker
    thread may still be blocked on it when serving ends."""
    wire = os.dup(fd)
    os.dup2(stand_in, fd)
    os.close(stand_in)
    try:
        yield wire
    finally:
        os.dup2(wire, fd)


async def _write_frames(wire: FrameWriter, outgoing: MemoryObjectReceiveStream[SessionMessage]) -> None:
    async with outgoing:
        async for session_message in outgoing:
            frame = session_message.message.model_dump_json(by_alias=True, exclude_unset=True)
            await wire.write(frame.encode() + b"\n")


class Frames:
    """The wire's lines: each JSON-RPC message goes to the session, any other line is answered."""

    def __init__(self, wire: LineReader, max_bytes: int) -> None:
        self._wire = wire
        self._max = max_bytes

    async def run(self, incoming: MemoryObjectSendStream[SessionMessage],
                  replies: MemoryObjectSendStream[SessionMessage]) -> None:
        async with incoming, replies:
            while line := await self._wire.readline(self._max + 1):
                message = await self._message(line)
                if isinstance(message, ErrorData):
                    await replies.send(_refusal(line, message))
                elif message is not None:
                    await incoming.send(SessionMessage(message))

    async def _message(self, line: bytes) -> JSONRPCMessage | ErrorData | None:
        """The message on ``line``, why it is refused, or None for a blank line (no request)."""
        if len(line) > self._max and not line.endswith(b"\n"):
            while (chunk := await self._wire.readline(_DISCARD_CHUNK)) and not chunk.endswith(b"\n"):
                pass  # the rest of the line is dropped a chunk at a time, never held whole
            return ErrorData(code=INVALID_REQUEST,
                             message=f"Invalid request: a message is limited to {self._max} bytes "
                                     "(limits.max_stdio_frame_bytes)")
        text = line.decode("utf-8", errors="replace")  # as the SDK decodes
        return _parse(text) if text.strip() else None


def _parse(text: str) -> JSONRPCMessage | ErrorData:
    """The message, or why the SDK's parser refuses it."""
    try:
        return jsonrpc_message_adapter.validate_json(text, by_name=False)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        if first["type"] == "json_invalid":
            return ErrorData(code=PARSE_ERROR, message=cap_error_text(f"Parse error: {first['msg']}"))
        return ErrorData(code=INVALID_REQUEST, message="Invalid request: not a JSON-RPC 2.0 "
                         "request, notification or response object")


def _refusal(line: bytes, error: ErrorData) -> SessionMessage:
    request_id = _request_id(line.decode("utf-8", errors="replace"))
    log.warning("answered a stdin message (id %r) with %d: %s", request_id, error.code,
                error.message)
    return SessionMessage(JSONRPCError(jsonrpc="2.0", id=request_id, error=error))


def _request_id(text: str) -> RequestId | None:
    match = _ID.search(text)
    return json.loads(match.group(1)) if match else None
