"""The event log that lets a Streamable HTTP client resume a broken stream: what it replays, to
whom, and how much it keeps."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from mcp.server.streamable_http import EventMessage
from mcp_types import JSONRPCNotification

from gatewise.caller import CALLER, Caller
from gatewise.serving.events import _LOG, EventBounds, EventLog, SessionLog

ALICE, BOB = Caller("alice"), Caller("bob")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def note(text: str) -> JSONRPCNotification:
    return JSONRPCNotification(jsonrpc="2.0", method="notifications/message", params={"data": text})


@pytest.fixture
def as_alice() -> Iterator[SessionLog]:
    log = SessionLog(ALICE)
    tokens = _LOG.set(log), CALLER.set(ALICE)
    yield log
    CALLER.reset(tokens[1])
    _LOG.reset(tokens[0])


def replay(store: EventLog, after: str) -> tuple[str | None, list[str]]:
    sent: list[str] = []

    async def send(event: EventMessage) -> None:
        sent.append(event.message.params["data"])  # type: ignore[union-attr]

    stream = asyncio.run(store.replay_events_after(after, send))
    return stream, sent


def store(log: EventLog, stream: str, *texts: str | None) -> list[str]:
    return [asyncio.run(log.store_event(stream, None if t is None else note(t))) for t in texts]


def test_a_replay_sends_the_streams_later_events_in_order(as_alice: SessionLog) -> None:
    log = EventLog()
    priming, first, _ = store(log, "1", None, "a", "b")
    store(log, "2", "other stream")
    assert replay(log, priming) == ("1", ["a", "b"])
    assert replay(log, first) == ("1", ["b"])


def test_another_session_or_caller_replays_nothing(as_alice: SessionLog) -> None:
    log = EventLog()
    priming, _ = store(log, "1", None, "secret")
    _LOG.set(SessionLog(ALICE))  # the same caller's other session
    assert replay(log, priming) == (None, [])
    _LOG.set(as_alice)
    CALLER.set(BOB)
    assert replay(log, priming) == (None, [])
    CALLER.set(ALICE)
    assert replay(log, "never-issued") == (None, [])
    assert replay(log, priming) == ("1", ["secret"])


def test_a_session_keeps_at_most_its_count_and_bytes(as_alice: SessionLog) -> None:
    log = EventLog(EventBounds(max_events=3, max_bytes=10_000))
    ids = store(log, "1", *"abcde")
    assert log.count == 3 and len(as_alice.ids) == 3
    assert replay(log, ids[0]) == (None, [])  # aged out of the log
    assert replay(log, ids[2]) == ("1", ["d", "e"])
    small = EventLog(EventBounds(max_bytes=300))
    _LOG.set(SessionLog(ALICE))
    store(small, "1", *("x" * 100 for _ in range(5)))
    assert 0 < small.size <= 300


def test_all_sessions_share_a_byte_bound_oldest_first(as_alice: SessionLog) -> None:
    log = EventLog(EventBounds(total_bytes=700))
    store(log, "1", *("a" * 100 for _ in range(3)))
    _LOG.set(bob := SessionLog(BOB))
    store(log, "1", *("b" * 100 for _ in range(3)))
    assert log.size <= 700 and len(bob.ids) == 3 and len(as_alice.ids) < 3


def test_events_older_than_the_age_bound_are_dropped(as_alice: SessionLog) -> None:
    clock = Clock()
    log = EventLog(EventBounds(max_age_s=30), clock=clock)
    (old,) = store(log, "1", "old")
    clock.now = 31
    store(log, "1", "new")
    assert log.count == 1 and replay(log, old) == (None, [])


def test_an_ended_or_forgotten_session_frees_its_events(as_alice: SessionLog) -> None:
    log = EventLog(EventBounds(max_sessions=1))
    log.opened("s1", as_alice)
    store(log, "1", "a", "b")
    log.ended("s1")
    assert log.count == 0 and log.size == 0 and log.of_session("s1") is None
    log.opened("s1", as_alice)
    store(log, "1", "a")
    log.opened("s2", SessionLog(ALICE))  # over the bound: the least recently used goes
    assert log.of_session("s1") is None and log.count == 0
