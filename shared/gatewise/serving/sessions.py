"""Which authenticated caller opened each MCP session, so that no other caller can use it.

A Streamable HTTP session's id comes back in the ``mcp-session-id`` header of the answer that
opened it. A legacy SSE session's id is only in the first event of its stream (``endpoint``: the
URL to post messages to, ``/<server>/messages/?session_id=<hex>``), so that event is read as it
goes out, before the client can learn the id; the binding is dropped when the stream ends.

The owner is the whole :class:`Caller` (name and project): the same JWT subject under another
project is another caller. Both maps are bounded; the least recently used entry goes first.
An SSE message whose session is not bound to its poster is refused, whether the session is
another caller's, has ended or was never opened, with one answer that says nothing about which.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import Generic, TypeVar
from uuid import UUID

from starlette.datastructures import Headers, QueryParams
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gatewise.caller import Caller
from gatewise.serving.open_sessions import OpenSessions

MAX_SESSIONS_TRACKED = 10_000
# The endpoint event is the stream's first; it is looked for no further than this.
ENDPOINT_EVENT_BYTES = 4096
_ENDPOINT_SESSION = re.compile(rb"[?&]session_id=([0-9a-f]{32})")


V = TypeVar("V")


class RecentSessions(Generic[V]):
    """Session id → a value, at most ``limit`` of them; the least recently used is forgotten first."""

    def __init__(self, limit: int = MAX_SESSIONS_TRACKED) -> None:
        self.limit = limit
        self._values: OrderedDict[str, V] = OrderedDict()

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, session: str) -> bool:
        return session in self._values

    def put(self, session: str, value: V) -> list[V]:
        """Remember ``value`` for ``session``; answers the values forgotten to stay within the bound."""
        self._values[session] = value
        forgotten = []
        while len(self._values) > self.limit:
            forgotten.append(self._values.popitem(last=False)[1])
        return forgotten

    def get(self, session: str) -> V | None:
        value = self._values.get(session)
        if value is not None:
            self._values.move_to_end(session)
        return value

    def pop(self, session: str) -> V | None:
        return self._values.pop(session, None)


class SessionOwners(RecentSessions[Caller]):
    """Session id → the caller that opened it, at most ``limit`` of them."""

    def bind(self, session: str, caller: Caller) -> None:
        """Record the opener; a bound session keeps its first owner."""
        if session not in self:
            self.put(session, caller)

    def owner(self, session: str) -> Caller | None:
        return self.get(session)

    def release(self, session: str) -> None:
        self.pop(session)


class Sessions:
    """The sessions of every server: Streamable HTTP ones by header, legacy SSE ones by stream;
    and how many each caller has open."""

    def __init__(self, limit: int = MAX_SESSIONS_TRACKED, idle_timeout_s: float = 1800.0) -> None:
        self.streamable = SessionOwners(limit)
        self.sse = SessionOwners(limit)
        self.open = OpenSessions(idle_timeout_s)

    @staticmethod
    def opens_one(scope: Scope, servers: frozenset[str], initializes: bool) -> bool:
        """Whether the request would open a session: an ``initialize`` POSTed to ``/mcp`` naming
        none (``initializes``; other requests without one are stateless and open nothing), or an
        SSE stream."""
        endpoint, method = _endpoint(scope, servers), scope.get("method")
        if endpoint == "/sse":
            return method == "GET"
        return endpoint == "/mcp" and method == "POST" and initializes \
            and "mcp-session-id" not in Headers(scope=scope)

    def may_use(self, caller: Caller, scope: Scope, servers: frozenset[str]) -> bool:
        """Whether the request names no session, or only sessions this caller opened."""
        streamable = Headers(scope=scope).get("mcp-session-id")
        if streamable:
            owner = self.streamable.owner(streamable)
            # An unknown id is left to the SDK, which answers 404 (ended or never opened).
            if owner is not None and owner != caller:
                return False
        if (_endpoint(scope, servers) or "").startswith("/messages"):
            sse = sse_session_of(scope)
            if sse is not None and self.sse.owner(sse) != caller:
                return False
        return True

    async def run(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send, caller: Caller,
                  servers: frozenset[str], *, reserved: bool = False) -> None:
        """Run the request as ``caller``, binding any session its answer opens to it; a ``reserved``
        opening is released once its answer starts (or the request ends without one)."""
        opens_sse = scope.get("method") == "GET" and _endpoint(scope, servers) == "/sse"
        held = reserved
        ends_streamable = scope.get("method") == "DELETE"
        named = Headers(scope=scope).get("mcp-session-id")
        opened: str | None = None
        scanned = 0

        async def bind(message: Message) -> None:
            nonlocal opened, scanned, held
            if message["type"] == "http.response.start":
                if held:
                    self.open.release(caller)
                    held = False
                status = message.get("status", 500)
                session = Headers(raw=message.get("headers", [])).get("mcp-session-id")
                if session and ends_streamable and status < 300:
                    self.streamable.release(session)
                    self.open.ended(session)
                elif session:
                    self.streamable.bind(session, caller)
                    if status < 300:
                        self.open.opened(session, caller, scope.get("path", ""))
                if named and status == 404:  # the SDK no longer knows it
                    self.open.ended(named)
            elif opens_sse and opened is None and scanned < ENDPOINT_EVENT_BYTES:
                chunk = message.get("body", b"")
                scanned += len(chunk)
                found = _ENDPOINT_SESSION.search(chunk)
                if found is not None:
                    opened = found.group(1).decode()
                    self.sse.bind(opened, caller)
                    self.open.opened(opened, caller)
                    self.open.begin(opened)  # open while its stream is
            await send(message)

        # A GET holds a stream open for the server's messages, maybe long after the client left:
        # it marks the session used but does not keep it from being ended for another.
        busy = scope.get("method") != "GET"
        if named:
            self.open.begin(named, busy=busy)
        try:
            await app(scope, receive, bind)
        finally:
            if held:
                self.open.release(caller)
            if named:
                self.open.end(named, busy=busy)
            if opened is not None:
                self.sse.release(opened)
                self.open.ended(opened)


def sse_session_of(scope: Scope) -> str | None:
    """The SSE session a message names, read as the SDK reads it (any spelling of the UUID)."""
    value = QueryParams(scope.get("query_string", b"")).get("session_id")
    if value is None:
        return None
    try:
        return UUID(hex=value).hex
    except ValueError:
        return None  # the SDK answers 400: nothing reaches a session


def _endpoint(scope: Scope, servers: frozenset[str]) -> str | None:
    """``/routing-gateway/messages/`` → ``/messages/``; None outside the servers' paths."""
    path: str = scope.get("path", "")
    server = path.lstrip("/").split("/", 1)[0]
    return path[len(server) + 1:] if server in servers else None
