"""The server's log lines, sent to the client that caused them (``notifications/message``), and
``logging/setLevel`` to choose how much.

A record logged by a ``gatewise`` logger while a tool call runs goes, besides stderr, to the
session that made the call, tied to that request, when it is at or above the level the session
set (``warning`` until it sets one). Text is scrubbed of every known secret and capped, like every
other exit. Clients of the 2026 protocol era receive them only for a request that opted in (the
SDK's rule); nothing is ever written to stdout.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
import weakref
from contextvars import ContextVar
from typing import Any

from mcp import MCPDeprecationWarning
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, LoggingLevel, SetLevelRequestParams
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import ValidationError

from gatewise.redact import scrub

LEVELS: tuple[LoggingLevel, ...] = ("debug", "info", "notice", "warning", "error", "critical",
                                    "alert", "emergency")
DEFAULT_LEVEL: LoggingLevel = "warning"
MAX_CHARS = 2000

# id of a connection's client_params → the level it asked for (the entry goes with the params;
# by id, as pydantic models cannot be dictionary keys)
_levels: dict[int, LoggingLevel] = {}
# (session, request id, event loop, notifications in flight) of the tool call running here
_Call = tuple[Any, Any, asyncio.AbstractEventLoop, set["asyncio.Future[Any]"]]
_call: ContextVar[_Call | None] = ContextVar("gatewise_call", default=None)
FLUSH_S = 2.0  # the most a call's result waits for its log notifications to go out


def _connection(session: Any) -> int:
    """What a connection's requests share: the SDK makes a session object per request, but each
    hands out its connection's one ``client_params`` (what the client sent at initialize)."""
    return id(session.client_params)


def _level_of(record: logging.LogRecord) -> LoggingLevel:
    if record.levelno >= logging.CRITICAL:
        return "critical"
    if record.levelno >= logging.ERROR:
        return "error"
    if record.levelno >= logging.WARNING:
        return "warning"
    return "info" if record.levelno >= logging.INFO else "debug"


class _ToClient(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        call = _call.get()
        if call is None:
            return
        session, request_id, loop, sending = call
        level = _level_of(record)
        if LEVELS.index(level) < LEVELS.index(_levels.get(_connection(session), DEFAULT_LEVEL)):
            return
        text = scrub(record.getMessage())[:MAX_CHARS]
        with warnings.catch_warnings():
            # Deprecated for 2026-era clients, whose per-request opt-in the SDK still enforces;
            # handshake-era clients rely on it, so the notice would only be noise on stderr.
            warnings.simplefilter("ignore", MCPDeprecationWarning)
            send = session.send_log_message(level, text, logger=record.name, related_request_id=request_id)
        # emit is synchronous and may run on a worker thread: the send is scheduled on the loop.
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        future: asyncio.Future[Any] = (loop.create_task(send) if running is loop
                                       else asyncio.wrap_future(asyncio.run_coroutine_threadsafe(send, loop),
                                                                loop=loop))
        sending.add(future)
        future.add_done_callback(_sent)


def _sent(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()  # a closed connection: the line still went to stderr


async def _client_logging(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """One middleware frame: a tool call's log lines bound to it, ``logging/setLevel`` answered."""
    if ctx.method != "tools/call":
        return await _set_level(ctx, call_next)
    sending: set[asyncio.Future[Any]] = set()
    token = _call.set((ctx.session, ctx.request_id, asyncio.get_running_loop(), sending))
    try:
        return await call_next(ctx)
    finally:
        _call.reset(token)
        # The notifications ride the request's own stream, which closes with the result.
        if sending:
            await asyncio.wait(sending, timeout=FLUSH_S)


async def _set_level(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """Answer ``logging/setLevel`` (and say so at initialize) for the protocol versions that have
    it, through the public middleware: MCPServer has no public way to register the handler."""
    if ctx.method == "initialize":
        result = await call_next(ctx)
        if isinstance(result, dict) and isinstance(result.get("capabilities"), dict):
            result["capabilities"].setdefault("logging", {})
        return result
    if (ctx.method != "logging/setLevel" or ctx.protocol_version in MODERN_PROTOCOL_VERSIONS
            or ctx.session.client_params is None):
        return await call_next(ctx)  # no handler: the SDK answers "method not found" (or not ready)
    try:
        params = SetLevelRequestParams.model_validate(ctx.params or {}, by_name=False)
    except ValidationError:
        raise MCPError(code=INVALID_PARAMS, message="Invalid request parameters", data="") from None
    key = _connection(ctx.session)
    if key not in _levels:
        weakref.finalize(ctx.session.client_params, _levels.pop, key, None)
    _levels[key] = params.level
    return {}


_handler = _ToClient()


def add_client_logging(server: MCPServer[Any]) -> None:
    """Answer ``logging/setLevel`` and forward each tool call's log lines to its client."""
    gatewise_log = logging.getLogger("gatewise")
    if _handler not in gatewise_log.handlers:
        gatewise_log.addHandler(_handler)
    server.middleware.append(_client_logging)
