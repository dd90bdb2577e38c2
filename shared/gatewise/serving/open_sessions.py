"""How many MCP sessions each caller has open, so that one caller cannot take them all.

The SDK caps the sessions of all callers together (``server.max_sessions``); once one token has
opened that many, nobody else gets one until they idle out (30 minutes by default). Each caller is
therefore held to ``server.max_sessions_per_caller``: a caller at its limit that opens another
ends its own least recently used session with no request in flight (clients that reconnect
without ending the old one keep working; a GET stream held open for server messages does not
keep a session); only when every one is busy is it refused. The SDK does not say when it ends a session,
so a session counts as open from the answer that opened it until it is deleted, answered 404 (the
SDK has forgotten it), or has had no request in flight for the SDK's idle timeout; an SSE session
is open while its stream is.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from gatewise.caller import Caller


@dataclass
class _Open:
    caller: Caller
    last_used: float
    path: str  # where it was opened: a Streamable HTTP session is ended by a DELETE there
    in_flight: int = 0


class OpenSessions:
    def __init__(self, idle_timeout_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.idle_timeout_s = idle_timeout_s
        self.clock = clock
        self._sessions: dict[str, _Open] = {}
        # Openings admitted whose answer has not started yet: counted, so that a burst of them
        # sent at once cannot pass the cap before any of them is answered.
        self._pending: Counter[Caller] = Counter()

    def count(self, caller: Caller) -> int:
        self._expire()
        return self._pending[caller] + sum(1 for entry in self._sessions.values() if entry.caller == caller)

    def reserve(self, caller: Caller) -> None:
        self._pending[caller] += 1

    def release(self, caller: Caller) -> None:
        """The reserved opening was answered (its session, if any, is counted from now) or failed."""
        self._pending[caller] -= 1
        if self._pending[caller] <= 0:
            del self._pending[caller]

    def opened(self, session: str, caller: Caller, path: str = "") -> None:
        self._sessions.setdefault(session, _Open(caller, self.clock(), path))

    def least_recently_used(self, caller: Caller) -> tuple[str, str] | None:
        """``caller``'s idle session used longest ago (on any server: the cap counts them all), with
        its path; None when all are busy."""
        idle = [(entry.last_used, session, entry.path) for session, entry in self._sessions.items()
                if entry.caller == caller and not entry.in_flight and entry.path]
        if not idle:
            return None
        _, session, path = min(idle)
        return session, path

    def begin(self, session: str, *, busy: bool = True) -> None:
        """A request naming ``session`` is in flight (an unknown session is not counted); one not
        ``busy`` (a stream held open for server messages) marks it used without keeping it."""
        entry = self._sessions.get(session)
        if entry is not None:
            entry.in_flight += busy
            entry.last_used = self.clock()

    def end(self, session: str, *, busy: bool = True) -> None:
        entry = self._sessions.get(session)
        if entry is not None:
            entry.in_flight -= busy and entry.in_flight > 0
            entry.last_used = self.clock()

    def ended(self, session: str) -> None:
        self._sessions.pop(session, None)

    def _expire(self) -> None:
        oldest = self.clock() - self.idle_timeout_s
        for session in [s for s, entry in self._sessions.items()
                        if not entry.in_flight and entry.last_used < oldest]:
            del self._sessions[session]
