"""Resumable Streamable HTTP streams: each session's recent events, kept in memory, so a client
whose SSE stream broke can reconnect with ``Last-Event-ID`` and receive what it missed (the MCP
Streamable HTTP transport's resumability). With a store the SDK opens every SSE stream with a
priming event (an id and empty data) carrying ``retry``, the wait it asks a client to reconnect after.

The SDK keeps one store for all sessions of a server and names a stream by the JSON-RPC id it
answers (``"1"``, ``"2"``…) or ``_GET_stream``, names every session reuses. So every event is also
tagged with the session it belongs to. The SDK does not hand the session to the store: the tag is
a context variable set by :class:`SessionEvents` around each request to a server's ``/mcp`` — a
new log for a request that opens a session (the session's own tasks start from that request and
inherit it), that session's log for a request that names it. A replay returns only events of the
asking session, and only to the caller that opened it; an id of another session, an unknown id
or one that has aged out replays nothing.

Bounds: per session ``max_events`` events and ``max_bytes``; across all sessions ``total_bytes``
(oldest first) and ``max_sessions`` session logs; nothing older than ``max_age_s``.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field

from mcp.server.streamable_http import EventCallback, EventId, EventMessage, EventStore, StreamId
from mcp_types import JSONRPCMessage, jsonrpc_message_adapter
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gatewise.caller import CALLER, Caller
from gatewise.serving.sessions import RecentSessions

# Suggested to clients in the priming event: reconnect after a second.
RETRY_MS = 1000


@dataclass(eq=False)
class SessionLog:
    """One session's stored events (ids, oldest first) and who may replay them."""

    caller: Caller | None
    ids: deque[EventId] = field(default_factory=deque)
    size: int = 0


@dataclass(frozen=True)
class _Event:
    log: SessionLog
    stream: StreamId
    payload: str | None  # the message as JSON; None for a priming event
    at: float

    @property
    def size(self) -> int:
        return len(self.payload or "")


_LOG: ContextVar[SessionLog | None] = ContextVar("gatewise_session_events", default=None)


@dataclass(frozen=True)
class EventBounds:
    max_events: int = 256
    max_bytes: int = 1 << 20
    total_bytes: int = 8 << 20
    max_age_s: float = 30.0
    max_sessions: int = 10_000


class EventLog(EventStore):
    """The SDK's event store, bounded, with every event tagged by its session."""

    def __init__(self, bounds: EventBounds = EventBounds(),
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.bounds = bounds
        self.clock = clock
        self._events: OrderedDict[EventId, _Event] = OrderedDict()  # oldest first, across sessions
        self._size = 0
        self.sessions = RecentSessions[SessionLog](bounds.max_sessions)  # session id → its log

    # No __len__: the SDK tests the store for truth, and an empty store must still count as one.
    @property
    def size(self) -> int:
        """Bytes of messages held."""
        return self._size

    @property
    def count(self) -> int:
        """Events held."""
        return len(self._events)

    async def store_event(self, stream_id: StreamId, message: JSONRPCMessage | None) -> EventId:
        log = _LOG.get()
        event_id = secrets.token_urlsafe(12)
        if log is None:  # not reached through SessionEvents: nothing can replay it
            return event_id
        payload = None if message is None else message.model_dump_json(by_alias=True, exclude_unset=True)
        event = _Event(log, stream_id, payload, self.clock())
        self._events[event_id] = event
        log.ids.append(event_id)
        log.size += event.size
        self._size += event.size
        self._trim(log)
        return event_id

    async def replay_events_after(self, last_event_id: EventId,
                                  send_callback: EventCallback) -> StreamId | None:
        self._expire()
        log = _LOG.get()
        last = self._events.get(last_event_id)
        if log is None or last is None or last.log is not log or log.caller != CALLER.get():
            return None
        ids = list(log.ids)  # stored events may come and go while this one sends
        for event_id in ids[ids.index(last_event_id) + 1:]:
            event = self._events.get(event_id)
            if event is not None and event.stream == last.stream and event.payload is not None:
                message = jsonrpc_message_adapter.validate_json(event.payload)
                await send_callback(EventMessage(message, event_id))
        return last.stream

    def opened(self, session: str, log: SessionLog) -> None:
        """Remember which log a new session's requests use (the least recently used is forgotten)."""
        for forgotten in self.sessions.put(session, log):
            self._drop(forgotten.ids)

    def of_session(self, session: str) -> SessionLog | None:
        return self.sessions.get(session)

    def ended(self, session: str) -> None:
        log = self.sessions.pop(session)
        if log is not None:
            self._drop(log.ids)

    def _trim(self, log: SessionLog) -> None:
        while log.ids and (len(log.ids) > self.bounds.max_events or log.size > self.bounds.max_bytes):
            self._drop([log.ids[0]])
        while self._events and self._size > self.bounds.total_bytes:
            self._drop([next(iter(self._events))])
        self._expire()

    def _expire(self) -> None:
        oldest = self.clock() - self.bounds.max_age_s
        while self._events and next(iter(self._events.values())).at < oldest:
            self._drop([next(iter(self._events))])

    def _drop(self, ids: Iterable[EventId]) -> None:
        """Forget events; each is its session's oldest (both orders are the order of storing)."""
        for event_id in list(ids):
            event = self._events.pop(event_id)
            event.log.ids.popleft()
            event.log.size -= event.size
            self._size -= event.size


class SessionEvents:
    """ASGI middleware: runs each request to a server's ``/mcp`` with its session's event log."""

    def __init__(self, app: ASGIApp, servers: Iterable[str], log: EventLog) -> None:
        self.app = app
        self.paths = frozenset(f"/{server}/mcp" for server in servers)
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "").rstrip("/") not in self.paths:
            await self.app(scope, receive, send)
            return
        named = Headers(scope=scope).get("mcp-session-id")
        log = self.log.of_session(named) if named else None
        if log is None:  # a new session (or an unknown one, which the SDK answers 404)
            log = SessionLog(CALLER.get())
        ends = scope.get("method") == "DELETE"

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start" and message.get("status", 500) < 300:
                session = Headers(raw=message.get("headers", [])).get("mcp-session-id")
                if session and ends:
                    self.log.ended(session)
                elif session and not named:
                    self.log.opened(session, log)
            await send(message)

        token = _LOG.set(log)
        try:
            await self.app(scope, receive, watch)
        finally:
            _LOG.reset(token)
