"""The guardrail audit trail on a real ledger file: rows from verdicts, filters, paging, purge."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gatewise.guardrails import GuardrailPipeline
from gatewise.ledger import open_ledger
from gatewise.ledger.guardrail_events import (
    DAY_S,
    PURGE_EVERY_S,
    EventFilter,
    GuardrailEvent,
    GuardrailEvents,
)
from store_support import FakeClock, sqlite_rows

KEY = b"k" * 32
CARD = "4111 1111 1111 1111"


def event(**overrides: Any) -> GuardrailEvent:
    fields: dict[str, Any] = {"request_id": "req-1", "server": "routing-gateway", "tool": "routed_complete",
                              "direction": "input", "check_id": "pii", "verdict": "flag",
                              "action": "redact", "reason": "1 CREDIT_CARD", "ts": 1_000_000.0}
    fields.update(overrides)
    return GuardrailEvent(**fields)


@pytest.fixture
async def path(tmp_path: Path):
    ledger = open_ledger(tmp_path / "ledger.sqlite3")
    await ledger.close()
    return ledger.path


async def test_a_verdict_is_stored_with_hashes_and_never_the_value(path: Path) -> None:
    pipeline = GuardrailPipeline(pii={"CREDIT_CARD": "block"}, audit_key=KEY)
    verdict = pipeline.scan_input(f"pay with {CARD} please")
    rows = verdict.audit_rows("req-9")
    store = GuardrailEvents(path)
    await store.record([GuardrailEvent.from_audit(r, server="s", tool="t", project="p") for r in rows])

    page = await store.query(EventFilter())
    assert [(e.check_id, e.verdict, e.entities, e.project) for e in page.events] == [
        ("pii", "block", {"CREDIT_CARD": 1}, "p")]
    assert len(page.events[0].value_hashes) == 1 and len(page.events[0].value_hashes[0]) == 32
    raw = repr(sqlite_rows(path, "SELECT * FROM guardrail_events"))
    assert "4111" not in raw and "1111" not in raw


async def test_filters_paging_and_counts(path: Path) -> None:
    store = GuardrailEvents(path)
    await store.record([event(ts=1000.0 + i, check_id="pii" if i % 2 else "custom_blocklist",
                              verdict="block" if i % 3 == 0 else "flag",
                              direction="output" if i >= 8 else "input") for i in range(10)])

    newest = await store.query(EventFilter(), limit=4)
    assert [e.ts for e in newest.events] == [1009.0, 1008.0, 1007.0, 1006.0]
    assert (newest.total, newest.next_offset) == (10, 4)
    last = await store.query(EventFilter(), limit=4, offset=8)
    assert ([e.ts for e in last.events], last.next_offset) == ([1001.0, 1000.0], None)

    pii = await store.query(EventFilter(check_id="pii", direction="input"))
    assert [e.ts for e in pii.events] == [1007.0, 1005.0, 1003.0, 1001.0]
    window = await store.query(EventFilter(since=1002.0, until=1004.0))
    assert [e.ts for e in window.events] == [1003.0, 1002.0]
    assert {(c.check_id, c.blocked, c.flagged) for c in newest.by_check} == {
        ("custom_blocklist", 2, 3), ("pii", 2, 3)}
    assert await store.counts(EventFilter(verdict="block", direction="output")) == \
        (await store.query(EventFilter(verdict="block", direction="output"))).by_check


async def test_purge_removes_only_rows_older_than_the_cutoff(path: Path) -> None:
    clock = FakeClock(100 * DAY_S)
    store = GuardrailEvents(path, retention_days=30, clock=clock)
    await store.record([event(ts=clock.now - 31 * DAY_S, request_id="old"),
                        event(ts=clock.now - 29 * DAY_S, request_id="kept")])
    assert await store.purge_expired() == 1
    assert [e.request_id for e in (await store.query(EventFilter())).events] == ["kept"]
    assert await store.count() == 1


async def test_a_long_running_writer_purges_again_after_the_interval(path: Path) -> None:
    clock = FakeClock(100 * DAY_S)
    store = GuardrailEvents(path, retention_days=1, clock=clock)
    await store.record([event(ts=clock.now, request_id="a")])
    clock.advance(2 * DAY_S)
    await store.record([event(ts=clock.now, request_id="b")])  # purged 2 days ago: due again
    assert [e.request_id for e in (await store.query(EventFilter())).events] == ["b"]
    clock.advance(PURGE_EVERY_S / 2)
    await store.record([event(ts=clock.now - 5 * DAY_S, request_id="late")])  # not due: kept
    assert await store.count() == 2


async def test_reading_a_missing_ledger_is_empty_and_bad_pages_are_refused(tmp_path: Path) -> None:
    store = GuardrailEvents(tmp_path / "none.sqlite3")
    assert (await store.query(EventFilter())).total == 0
    assert await store.count() == 0
    assert not (tmp_path / "none.sqlite3").exists()
    with pytest.raises(ValueError):
        await store.query(EventFilter(), limit=0)
