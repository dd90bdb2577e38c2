"""How many MCP sessions each caller has open, so that one caller cannot take them all.

The SDK caps the sessions of all callers together (``server.max_sessions``); once one token has
opened that many, nobody else gets one until they idle out (30 minutes by default). Each caller is
therefore held to ``server.max_sessions_per_caller``. The SDK does not say when it ends a session,
so a session counts as open from the answer that opened it until it is deleted, answered 404 (the
SDK has forgotten it), or has had no request in flight for the SDK's idle timeout; an SSE session
is open while its stream is.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from gatewise.caller import Caller


@dataclass
class _Open:
    caller: Caller
    last_used: float
    in_flight: int = 0


class OpenSessions:
    def __init__(self, idle_timeout_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.idle_timeout_s = idle_timeout_s
        self.clock = clock
        self._sessions: dict[str, _Open] = {}

    def __len__(self) -> int:
        self._expire()
        return len(self._sessions)

    def count(self, caller: Caller) -> int:
        self._expire()
        return sum(1 for entry in self._sessions.values() if entry.caller == caller)

    def frees_in(self, caller: Caller) -> float:
        """Seconds until one of ``caller``'s sessions idles out, if it stays unused."""
        now = self.clock()
        idle = [entry.last_used + self.idle_timeout_s - now for entry in self._sessions.values()
                if entry.caller == caller and not entry.in_flight]
        return max(1.0, min(idle, default=self.idle_timeout_s))

    def opened(self, session: str, caller: Caller) -> None:
        self._sessions.setdefault(session, _Open(caller, self.clock()))

    def begin(self, session: str) -> None:
        """A request naming ``session`` is in flight (an unknown session is not counted)."""
        entry = self._sessions.get(session)
        if entry is not None:
            entry.in_flight += 1
            entry.last_used = self.clock()

    def end(self, session: str) -> None:
        entry = self._sessions.get(session)
        if entry is not None and entry.in_flight:
            entry.in_flight -= 1
            entry.last_used = self.clock()

    def ended(self, session: str) -> None:
        self._sessions.pop(session, None)

    def _expire(self) -> None:
        oldest = self.clock() - self.idle_timeout_s
        for session in [s for s, entry in self._sessions.items()
                        if not entry.in_flight and entry.last_used < oldest]:
            del self._sessions[session]
