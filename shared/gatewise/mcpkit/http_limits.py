"""Limits that keep slow or greedy HTTP clients from holding the server (``server`` settings).

uvicorn has no deadline for a request's headers (a fresh connection that sends nothing, or drips
a byte at a time, stays open for ever) and no hard cap on open connections, so its h11 protocol
is extended here. The deadline and size for a request's body are an ASGI middleware, and SSE
sessions, which the SDK does not count, are capped by another one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import anyio
import h11
from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from gatewise.config import ServerConfig

logger = logging.getLogger(__name__)

_BUSY = (b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n"
         b"content-length: 20\r\nconnection: close\r\n\r\nToo many connections")
_HEADERS_TOO_LARGE = (b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain; "
                      b"charset=utf-8\r\ncontent-length: 25\r\nconnection: close\r\n\r\n"
                      b"Request headers too large")
_END_OF_HEADERS = b"\r\n\r\n"


class RefusalLog:
    """One WARNING line a minute at most for a kind of refusal, with how many there were: a flood
    of refused connections must not become a flood of log lines."""

    def __init__(self, what: str, every_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.what = what
        self.every_s = every_s
        self.clock = clock
        self._since = 0
        self._last: float | None = None

    def refused(self, limit: int) -> None:
        self._since += 1
        now = self.clock()
        if self._last is None or now - self._last >= self.every_s:
            logger.warning("refused %d %s in the last %g s: %d are open", self._since, self.what,
                           self.every_s, limit)
            self._since, self._last = 0, now


def _refusal(status: int, text: str) -> PlainTextResponse:
    # The connection closes after the answer: the rest of a refused request is never read.
    return PlainTextResponse(text, status_code=status, headers={"connection": "close"})


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a cap on open connections, a deadline for request headers and
    a bound on their size however they arrive (h11's own bound holds only for headers that come
    in pieces: a header block that arrives in one read is parsed whole, whatever its size)."""

    limits: ServerConfig  # set on the subclass made by protocol_for()
    refusals: RefusalLog

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_deadline: asyncio.TimerHandle | None = None
        self._head = b""  # the current request's first bytes, up to the end of its headers

    # Narrower than asyncio's BaseTransport, as in uvicorn's own H11Protocol: a server's protocol
    # is always handed a full Transport.
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            # Answered before the request is read, so a flood costs no parsing and no task.
            self.refusals.refused(self.limits.max_connections)
            transport.write(_BUSY)
            transport.close()
            return
        self._await_headers()

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE:
            # Between requests on a kept-alive connection the clock starts with the next first byte.
            if self._header_deadline is None:
                self._await_headers()
            if self._headers_too_large(data):
                self._stop_clock()
                self.transport.write(_HEADERS_TOO_LARGE)
                self.transport.close()
                return
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # the headers are in
            self._stop_clock()
            self._head = b""

    def _headers_too_large(self, data: bytes) -> bool:
        """Whether the request's headers, with ``data``, run past ``max_header_bytes``; only that
        much (and the end marker) is ever kept to look at."""
        limit = self.limits.max_header_bytes
        kept = limit + len(_END_OF_HEADERS)
        self._head = (self._head + data[:kept])[:kept]
        end = self._head.find(_END_OF_HEADERS)
        return end > limit or (end < 0 and len(self._head) > limit)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_clock()
        super().connection_lost(exc)

    def _await_headers(self) -> None:
        self._header_deadline = self.loop.call_later(self.limits.header_timeout_s, self._headers_late)

    def _stop_clock(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_late(self) -> None:
        self._header_deadline = None
        if self.conn.their_state is h11.IDLE:
            self.transport.close()


def protocol_for(limits: ServerConfig) -> type[GuardedH11Protocol]:
    """The protocol class to hand uvicorn (it instantiates the class itself, once per connection)."""
    return type("GuardedH11Protocol", (GuardedH11Protocol,),
                {"limits": limits, "refusals": RefusalLog("connections")})


def uvicorn_options(limits: ServerConfig) -> dict[str, Any]:
    """uvicorn settings for a guarded server: the h11 protocol above, and logs through the root
    logger's stderr handler with per-request access lines off (uvicorn's defaults print to stdout)."""
    return {"http": protocol_for(limits),
            # uvicorn annotates this int but hands it to loop.call_later, which takes seconds as a float
            "timeout_keep_alive": limits.keep_alive_timeout_s,
            "h11_max_incomplete_event_size": limits.max_header_bytes,
            "log_config": None, "access_log": False,
            "log_level": logging.getLogger().getEffectiveLevel()}


class BodyLimits:
    """Reads a request's whole body within ``body_timeout_s`` (else 408) and ``max_body_bytes``
    (else 413) before the application sees it."""

    def __init__(self, app: ASGIApp, limits: ServerConfig) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = _refusal(413, "Request body too large")
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.limits.max_body_bytes:
            await too_large(scope, receive, send)
            return
        body = bytearray()
        with anyio.move_on_after(self.limits.body_timeout_s) as deadline:
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return  # the client went away
                body += message.get("body", b"")
                if len(body) > self.limits.max_body_bytes:
                    await too_large(scope, receive, send)
                    return
                if not message.get("more_body", False):
                    break
        if deadline.cancelled_caught:
            await _refusal(408, "Request body too slow")(scope, receive, send)
            return
        request: list[Message] = [{"type": "http.request", "body": bytes(body), "more_body": False}]

        async def replay() -> Message:
            return request.pop() if request else await receive()

        await self.app(scope, replay, send)


class SessionCap:
    """At most ``max_sessions`` SSE sessions: each is one open ``GET`` stream on ``path``."""

    def __init__(self, app: ASGIApp, limits: ServerConfig, path: str = "/sse") -> None:
        self.app = app
        self.limits = limits
        self.path = path
        self.open = 0
        self.refusals = RefusalLog(f"SSE sessions on {path}")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        if self.open >= self.limits.max_sessions:
            self.refusals.refused(self.open)
            await _refusal(503, "Too many open sessions")(scope, receive, send)
            return
        self.open += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.open -= 1
