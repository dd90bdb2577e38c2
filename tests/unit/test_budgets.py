"""Budgets on real SQLite files: reservations, verdicts, windows, expiry, alerts and webhooks,
and a race between two OS processes sharing one ledger file."""

from __future__ import annotations

import asyncio
import json
import math
import runpy
import socket
import sqlite3
import sys
import textwrap
import threading
import time
from calendar import timegm
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from compression_support import MB, gzip_zeros, peak_while
from gatewise.config import BudgetRule, BudgetsConfig
from gatewise.errors import ErrorCode, GatewiseError
from gatewise.ledger import SCHEMA_VERSION, LedgerClosedError, open_ledger
from gatewise.ledger.alerts import slack_payload
from gatewise.ledger.budgets import (
    BudgetManager,
    Reservation,
    budget_scopes,
    iso_utc,
    window_key,
    window_reset,
)
from gatewise.ledger.migrations import MIGRATIONS
from store_support import FakeClock, sqlite_rows

NOW = float(timegm((2026, 11, 29, 12, 0, 0)))
DAY = 86_400.0


def rule(limit: float, scope: str = "global", window: str = "daily", on_exceed: str = "block") -> BudgetRule:
    return BudgetRule(scope=scope, window=window, limit_usd=limit, on_exceed=on_exceed)


def budgets(*rules: BudgetRule, thresholds: tuple[float, ...] = (0.8,), webhook: str | None = None):
    # Spend leases off: these tests check the arithmetic of holds taken one call at a time.
    return BudgetsConfig(rules=list(rules), alert_thresholds=list(thresholds), webhook_url=webhook,
                         spend_lease_calls=0)


Opener = Callable[..., BudgetManager]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "ledger.sqlite3"


@pytest.fixture
async def open_manager(path: Path, clock: FakeClock) -> AsyncIterator[Opener]:
    opened: list[BudgetManager] = []

    def opener(config: BudgetsConfig | None = None, **kw: Any) -> BudgetManager:
        kw.setdefault("clock", clock)
        manager = BudgetManager(path, config or budgets(), **kw)
        opened.append(manager)
        return manager

    yield opener
    for manager in opened:
        await manager.close()


async def one(manager: BudgetManager, scope: str = "global", window: str = "daily"):
    [status] = [s for s in await manager.status(scope) if s.window == window]
    return status


# --- windows, schema, configuration ------------------------------------------------------------


def test_window_keys_and_reset_times() -> None:
    assert window_key("daily", NOW) == "2026-11-29"
    assert window_key("monthly", NOW) == "2026-11"
    last_second = float(timegm((2026, 12, 31, 23, 59, 59)))
    assert window_key("daily", last_second) == "2026-12-31"
    assert window_key("daily", last_second + 1) == "2027-01-01"
    assert iso_utc(window_reset("daily", "2026-11-29")) == "2026-11-30T00:00:00Z"
    assert iso_utc(window_reset("daily", "2026-12-31")) == "2027-01-01T00:00:00Z"
    assert iso_utc(window_reset("monthly", "2026-11")) == "2026-12-01T00:00:00Z"
    assert iso_utc(window_reset("monthly", "2026-12")) == "2027-01-01T00:00:00Z"
    assert budget_scopes(None) == ["global"]
    assert budget_scopes("acme") == ["global", "project:acme"]


async def test_migrations_add_budget_tables_beside_the_calls(path: Path, open_manager: Opener) -> None:
    ledger = open_ledger(path)
    open_manager()
    versions = sqlite_rows(path, "SELECT version FROM schema_migrations ORDER BY version")
    assert [v for (v,) in versions] == list(range(1, SCHEMA_VERSION + 1))
    tables = {name for (name,) in sqlite_rows(path, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    expected = {"calls", "budgets", "budget_reservations", "alerts", "budget_owners", "guardrail_events"}
    assert expected <= tables
    await ledger.close()


async def test_a_file_whose_alerts_fired_once_per_window_keeps_them_and_alerts_per_limit(
        path: Path, clock: FakeClock, open_manager: Opener) -> None:
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as conn:  # the schema as the release before alerts per limit left it
        conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at REAL NOT NULL)")
        for migration in MIGRATIONS[:7]:
            for statement in migration.statements:
                conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations VALUES (?, 0)", [migration.version])
        conn.execute("INSERT INTO alerts VALUES (7, ?, 'global', 'daily', '2026-11-29', 0.8, 0.85, 1.0,"
                     " 'Budget alert: old', 'delivered', NULL)", [NOW - 60])
    conn.close()
    manager = open_manager(budgets(rule(1.0, on_exceed="warn"), thresholds=(0.5, 0.8)))
    [old] = await manager.alerts()
    assert (old.id, old.threshold, old.limit_usd, old.message, old.delivered) == (
        7, 0.8, 1.0, "Budget alert: old", "delivered")
    await manager.commit(await manager.reserve(["global"], 0.9, "r1"), 0.9)  # 0.8 of $1 fired before
    assert [a.threshold for a in await manager.alerts()] == [0.5, 0.8]
    await manager.set_budget(rule(1.5, on_exceed="warn"))
    result = await manager.commit(await manager.reserve(["global"], 0.1, "r2"), 0.1)
    assert [(a.threshold, a.limit_usd) for a in result.alerts] == [(0.5, 1.5)]
    assert sqlite_rows(path, "SELECT MAX(version) FROM schema_migrations") == [(SCHEMA_VERSION,)]


async def test_config_rules_are_loaded_beside_run_time_ones(path: Path, open_manager: Opener) -> None:
    first = open_manager(budgets(rule(5.0), rule(50.0, "project:acme", "monthly", "warn")))
    assert [(s.scope, s.window, s.limit_usd, s.on_exceed, s.source) for s in await first.status()] == [
        ("global", "daily", 5.0, "block", "config"),
        ("project:acme", "monthly", 50.0, "warn", "config"),
    ]
    await first.set_budget(rule(1.0, "global", "monthly"))  # a scope the config names
    await first.set_budget(rule(2.0, "project:other"))  # a scope it does not
    await first.close()

    # Next start-up: the config no longer mentions project:acme and says something new for global.
    second = open_manager(budgets(rule(7.0, on_exceed="downgrade")))
    assert [(s.scope, s.window, s.limit_usd, s.source) for s in await second.status()] == [
        ("global", "daily", 7.0, "config"),
        ("global", "monthly", 1.0, "runtime"),
        ("project:other", "daily", 2.0, "runtime"),
    ]


async def test_duplicate_config_rules_are_a_config_error(open_manager: Opener) -> None:
    with pytest.raises(GatewiseError) as caught:
        open_manager(budgets(rule(1.0), rule(2.0)))
    assert caught.value.code == ErrorCode.CONFIG_ERROR
    assert "two daily budgets for global" in caught.value.message


async def test_set_and_delete_budget(open_manager: Opener) -> None:
    manager = open_manager()
    assert await manager.status() == []
    status = await manager.set_budget(rule(3.0, "project:acme", "monthly", "warn"))
    assert (status.scope, status.window, status.window_key, status.limit_usd) == (
        "project:acme", "monthly", "2026-11", 3.0,
    )
    assert (status.spent_usd, status.remaining_usd, status.resets_at) == (0.0, 3.0, "2026-12-01T00:00:00Z")
    updated = await manager.set_budget(rule(4.0, "project:acme", "monthly", "block"))
    assert (updated.limit_usd, updated.on_exceed, updated.source) == (4.0, "block", "runtime")
    assert await manager.status("global") == []
    assert await manager.delete_budget("project:acme", "monthly") is True
    assert await manager.delete_budget("project:acme", "monthly") is False
    assert await manager.status() == []


# --- reservations ------------------------------------------------------------------------------


async def test_reserve_commit_release_arithmetic(path: Path, open_manager: Opener) -> None:
    manager = open_manager(budgets(rule(1.0)))
    first = await manager.reserve(["global"], 0.3, "r1")
    assert (first.verdict, first.warnings, len(first.ids)) == ("ok", (), 1)
    status = await one(manager)
    assert (status.spent_usd, status.reserved_usd, status.remaining_usd) == (0.0, 0.3, pytest.approx(0.7))

    result = await manager.commit(first, 0.2)  # cheaper than estimated: the rest goes back
    assert (result.cost_usd, result.alerts, result.settled_before) == (0.2, (), False)
    status = await one(manager)
    assert (status.spent_usd, status.reserved_usd, status.fraction) == (0.2, 0.0, pytest.approx(0.2))

    again = await manager.commit(first, 0.9)  # idempotent: the first real cost stands
    assert (again.settled_before, again.cost_usd) == (True, 0.2)
    assert await manager.release(first) is False

    failed = await manager.reserve(["global"], 0.5, "r2")
    assert (await one(manager)).reserved_usd == 0.5
    assert await manager.release(failed) is True
    assert await manager.release(failed) is False
    assert (await manager.commit(failed, 0.5)).settled_before is True
    status = await one(manager)
    assert (status.spent_usd, status.reserved_usd) == (0.2, 0.0)

    over = await manager.reserve(["global"], 0.1, "r3")
    await manager.commit(over, 0.4)  # dearer than estimated: the real cost wins
    assert (await one(manager)).spent_usd == pytest.approx(0.6)
    assert sqlite_rows(path, "SELECT request_id, state, cost_usd FROM budget_reservations ORDER BY id") == [
        ("r1", "committed", 0.2),
        ("r2", "released", None),
        ("r3", "committed", 0.4),
    ]


async def test_spend_is_charged_per_scope_and_window(clock: FakeClock, open_manager: Opener) -> None:
    manager = open_manager(
        budgets(rule(10.0), rule(100.0, window="monthly"), rule(5.0, "project:acme"))
    )
    for i, project in enumerate(["acme", None, "acme"]):
        held = await manager.reserve(budget_scopes(project), 1.0, f"r{i}")
        await manager.commit(held, 1.0)
    spent = {(s.scope, s.window): s.spent_usd for s in await manager.status()}
    assert spent == {("global", "daily"): 3.0, ("global", "monthly"): 3.0, ("project:acme", "daily"): 2.0}

    clock.now += DAY  # a new UTC day: daily budgets start afresh, the month keeps counting
    by_key = {(s.scope, s.window): (s.window_key, s.spent_usd, s.resets_at) for s in await manager.status()}
    assert by_key == {
        ("global", "daily"): ("2026-11-30", 0.0, "2026-12-01T00:00:00Z"),
        ("global", "monthly"): ("2026-11", 3.0, "2026-12-01T00:00:00Z"),
        ("project:acme", "daily"): ("2026-11-30", 0.0, "2026-12-01T00:00:00Z"),
    }


async def test_a_budget_added_mid_window_sees_the_spend_so_far(open_manager: Opener) -> None:
    manager = open_manager()
    held = await manager.reserve(["global", "project:acme"], 0.5, "r1")
    assert held.verdict == "ok"
    await manager.commit(held, 0.4)
    status = await manager.set_budget(rule(1.0, "project:acme"))
    assert status.spent_usd == 0.4


async def test_block_raises_budget_exceeded_and_holds_nothing(path: Path, open_manager: Opener) -> None:
    manager = open_manager(budgets(rule(1.0, "project:acme")))
    await manager.reserve(budget_scopes("acme"), 0.6, "r1")
    with pytest.raises(GatewiseError) as caught:
        await manager.reserve(budget_scopes("acme"), 0.5, "r2")
    err = caught.value
    # Nothing is spent yet: the call's worst case would pass what is left, and the message says so.
    assert err.code == ErrorCode.BUDGET_EXCEEDED
    assert err.message == (
        "Budget would be exceeded: this call may cost up to $0.50 (its worst case), more than the $0.40 "
        "left of the project:acme daily budget of $1.00 for 2026-11-29 ($0 spent, $0.60 held by calls in "
        "flight). It resets at 2026-11-30T00:00:00Z.")
    assert err.details["requested_usd"] == 0.5 and err.details["limit_usd"] == 1.0
    assert sqlite_rows(path, "SELECT DISTINCT request_id FROM budget_reservations") == [("r1",)]
    assert (await one(manager, "project:acme")).reserved_usd == 0.6
    # Another project is not held back by acme's budget, and a free call always fits.
    assert (await manager.reserve(budget_scopes("other"), 0.5, "r3")).verdict == "ok"
    assert (await manager.reserve(budget_scopes("acme"), 0.0, "r4")).verdict == "ok"


async def test_exact_fit_is_allowed_despite_float_rounding(open_manager: Opener) -> None:
    manager = open_manager(budgets(rule(0.3)))
    for i in range(3):
        await manager.commit(await manager.reserve(["global"], 0.1, f"r{i}"), 0.1)
    with pytest.raises(GatewiseError):
        await manager.reserve(["global"], 0.000001, "r3")


async def test_downgrade_verdict_holds_nothing_and_names_the_headroom(open_manager: Opener) -> None:
    manager = open_manager(budgets(rule(1.0, on_exceed="downgrade"), rule(10.0, window="monthly")))
    await manager.commit(await manager.reserve(["global"], 0.7, "r1"), 0.7)
    verdict = await manager.reserve(["global"], 0.5, "r2")
    assert (verdict.verdict, verdict.ids, verdict.headroom_usd) == ("downgrade", (), pytest.approx(0.3))
    assert "at most $0.30" in verdict.warnings[0]
    assert (await one(manager)).reserved_usd == 0.0
    with pytest.raises(ValueError, match="downgrade"):
        await manager.commit(verdict, 0.5)
    assert await manager.release(verdict) is False
    cheaper = await manager.reserve(["global"], 0.25, "r2")
    assert (cheaper.verdict, len(cheaper.ids)) == ("ok", 1)


async def test_warn_reserves_anyway_with_a_warning(open_manager: Opener) -> None:
    manager = open_manager(budgets(rule(1.0, on_exceed="warn")))
    held = await manager.reserve(["global"], 1.5, "r1")
    assert (held.verdict, len(held.ids)) == ("warn", 1)
    assert held.warnings == (
        "Budget may be exceeded: this call may cost up to $1.50 (its worst case), more than the $1.00 left "
        "of the global daily budget of $1.00 for 2026-11-29 ($0 spent, $0 held by calls in flight); the "
        "call goes ahead because this budget only warns.",)
    await manager.commit(held, 1.5)
    status = await one(manager)
    assert (status.spent_usd, status.remaining_usd, status.fraction) == (1.5, 0.0, 1.5)
    over = await manager.reserve(["global"], 0.25, "r2")
    assert over.verdict == "warn" and over.warnings[0].startswith(
        "Over budget: this call may cost up to $0.25 (its worst case), more than the $0 left of the global "
        "daily budget of $1.00 for 2026-11-29 ($1.50 spent, $0 held by calls in flight); the call goes ahead")


async def test_a_block_budget_whose_spend_reached_the_limit_says_it_is_used_up(open_manager: Opener) -> None:
    manager = open_manager(budgets(rule(1.0)))
    await manager.commit(await manager.reserve(["global"], 1.0, "r1"), 1.0)
    with pytest.raises(GatewiseError) as caught:
        await manager.reserve(["global"], 0.01, "r2")
    assert caught.value.code == ErrorCode.BUDGET_EXCEEDED
    assert caught.value.message == (
        "Budget used up: this call may cost up to $0.01 (its worst case), more than the $0 left of the "
        "global daily budget of $1.00 for 2026-11-29 ($1.00 spent, $0 held by calls in flight). It resets "
        "at 2026-11-30T00:00:00Z.")
    assert (await one(manager)).reserved_usd == 0.0  # nothing held


async def test_block_wins_over_downgrade_and_warn(open_manager: Opener) -> None:
    manager = open_manager(budgets(
        rule(1.0, on_exceed="warn"), rule(1.0, window="monthly", on_exceed="downgrade"),
        rule(1.0, "project:acme"),
    ))
    with pytest.raises(GatewiseError) as caught:
        await manager.reserve(budget_scopes("acme"), 2.0, "r1")
    assert caught.value.details["scope"] == "project:acme"
    assert (await manager.reserve(["global"], 2.0, "r2")).verdict == "downgrade"


async def test_stale_reservations_expire(path: Path, clock: FakeClock, open_manager: Opener) -> None:
    manager = open_manager(budgets(rule(1.0)), reservation_ttl_s=600)
    crashed = await manager.reserve(["global"], 0.9, "crashed")
    with pytest.raises(GatewiseError):
        await manager.reserve(["global"], 0.9, "too-soon")
    clock.now += 601
    assert (await one(manager)).reserved_usd == 0.0  # status already ignores the stale hold
    later = await manager.reserve(["global"], 0.9, "later")
    states = dict(sqlite_rows(path, "SELECT request_id, state FROM budget_reservations"))
    assert states == {"crashed": "expired", "later": "reserved"}
    # A late commit still charges its real cost: the money was spent.
    await manager.commit(crashed, 0.05)
    await manager.commit(later, 0.9)
    assert (await one(manager)).spent_usd == pytest.approx(0.95)


async def test_a_cancelled_reserve_leaves_no_hold(path: Path, open_manager: Opener) -> None:
    manager = open_manager(budgets(rule(1.0)))
    task = asyncio.create_task(manager.reserve(["global"], 0.9, "gone"))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await manager.close()
    assert sqlite_rows(path, "SELECT state FROM budget_reservations WHERE state = 'reserved'") == []


# --- alerts ------------------------------------------------------------------------------------


async def test_alerts_fire_once_per_threshold_per_window(clock: FakeClock, open_manager: Opener) -> None:
    manager = open_manager(budgets(rule(1.0, on_exceed="warn"), rule(10.0, window="monthly"),
                                   thresholds=(0.5, 0.8)))

    async def spend(amount: float) -> list[tuple[str, float]]:
        result = await manager.commit(await manager.reserve(["global"], amount, "r"), amount)
        assert result.warnings == tuple(a.message for a in result.alerts)
        return [(a.window, a.threshold) for a in result.alerts]

    assert await spend(0.4) == []
    assert await spend(0.2) == [("daily", 0.5)]
    assert await spend(0.1) == []
    assert await spend(0.2) == [("daily", 0.8)]
    assert await spend(0.3) == [("daily", 1.0)]
    assert await spend(0.5) == []
    clock.now += DAY
    assert await spend(1.0) == [("daily", 0.5), ("daily", 0.8), ("daily", 1.0)]
    assert await spend(3.0) == [("monthly", 0.5)]  # 5.7 of 10 this month

    recent = await manager.alerts()
    assert [(a.window_key, a.threshold) for a in recent[:2]] == [("2026-11", 0.5), ("2026-11-30", 1.0)]
    assert len(recent) == 7 and len(await manager.alerts(limit=2)) == 2
    newest = recent[0]
    assert (newest.spent_usd, newest.limit_usd) == (pytest.approx(5.7), 10.0)
    assert newest.delivered == "not_configured"
    assert newest.message == (
        "Budget alert: the global monthly budget for 2026-11 has reached 50%: $5.70 of $10.00 spent. "
        "It resets at 2026-12-01T00:00:00Z."
    )
    assert recent[1].message.startswith("Budget alert: the global daily budget for 2026-11-30 is used up")


class Receiver:
    """A webhook endpoint on loopback that records every POST."""

    def __init__(self, delay_s: float = 0.0, answer: bytes = b"ok", encoding: str = "") -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []
        received = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((self.headers["Content-Type"], json.loads(body)))
                time.sleep(delay_s)
                self.send_response(200)
                self.send_header("Content-Length", str(len(answer)))
                if encoding:
                    self.send_header("Content-Encoding", encoding)
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/T000/B000/secret"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


async def test_webhook_gets_a_slack_shaped_post(receiver: Receiver, open_manager: Opener) -> None:
    config = budgets(rule(1.0, "project:acme"), webhook=receiver.url)
    manager = open_manager(config)
    result = await manager.commit(await manager.reserve(budget_scopes("acme"), 0.85, "r1"), 0.85)
    assert [(a.threshold, a.delivered) for a in result.alerts] == [(0.8, "pending")]
    await manager.close()  # waits for the post in flight
    assert len(receiver.posts) == 1
    content_type, body = receiver.posts[0]
    assert content_type == "application/json"
    assert body["text"] == result.alerts[0].message
    assert "project:acme daily budget" in body["text"]
    assert body["gatewise_alert"] == {
        "scope": "project:acme", "window": "daily", "window_key": "2026-11-29", "threshold": 0.8,
        "spent_usd": 0.85, "limit_usd": 1.0, "resets_at": "2026-11-30T00:00:00Z",
    }
    [alert] = await open_manager(config).alerts()
    assert (alert.delivered, alert.delivery_error) == ("delivered", None)


async def test_every_output_of_an_alert_shows_its_amounts_rounded(receiver: Receiver,
                                                                  open_manager: Opener) -> None:
    config = budgets(rule(1.0, on_exceed="warn"), thresholds=(0.3,), webhook=receiver.url)
    manager = open_manager(config)
    for amount in (0.1, 0.2):  # summed by SQLite: 0.30000000000000004
        result = await manager.commit(await manager.reserve(["global"], amount, "r"), amount)
    [fired] = result.alerts
    await manager.close()
    [stored] = await open_manager(config).alerts()
    [(_, body)] = receiver.posts
    assert fired.spent_usd == stored.spent_usd == body["gatewise_alert"]["spent_usd"] == 0.3
    assert body == slack_payload(stored)


async def test_webhook_through_a_given_client(receiver: Receiver, open_manager: Opener) -> None:
    async with httpx.AsyncClient() as client:
        manager = open_manager(budgets(rule(1.0), webhook=receiver.url), http=client)
        await manager.commit(await manager.reserve(["global"], 1.0, "r1"), 1.0)
        await manager.close()
        assert not client.is_closed  # the caller's client stays the caller's
    assert [body["gatewise_alert"]["threshold"] for _, body in receiver.posts] == [0.8, 1.0]


async def test_a_slow_webhook_does_not_hold_up_the_commit(open_manager: Opener) -> None:
    slow = Receiver(delay_s=1.0)
    try:
        manager = open_manager(budgets(rule(1.0), webhook=slow.url))
        held = await manager.reserve(["global"], 0.9, "r1")
        started = time.perf_counter()
        result = await manager.commit(held, 0.9)
        assert time.perf_counter() - started < 0.9  # before the webhook's answer, a second away
        assert len(result.alerts) == 1
        await manager.close()
        assert len(slow.posts) == 1
    finally:
        slow.close()


async def test_a_webhook_answer_is_never_read(open_manager: Opener) -> None:
    """Only its status counts: a compressed answer of 100 MB of zeros is not decoded at all."""
    bomb = Receiver(answer=gzip_zeros(100), encoding="gzip")
    try:
        config = budgets(rule(1.0), webhook=bomb.url)
        manager = open_manager(config)
        await manager.commit(await manager.reserve(["global"], 0.9, "r1"), 0.9)
        _, peak = await peak_while(manager.close())  # waits for the post in flight
    finally:
        bomb.close()
    assert len(bomb.posts) == 1 and peak < 6 * MB
    [alert] = await open_manager(config).alerts()
    assert (alert.delivered, alert.delivery_error) == ("delivered", None)


async def test_an_unreachable_webhook_is_recorded_not_raised(open_manager: Opener) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago and has no listener now
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = budgets(rule(1.0), webhook=f"http://127.0.0.1:{port}/hook")
    manager = open_manager(config)
    result = await manager.commit(await manager.reserve(["global"], 0.9, "r1"), 0.9)
    assert len(result.alerts) == 1
    await manager.close()
    [alert] = await open_manager(config).alerts()
    assert alert.delivered == "failed"
    assert alert.delivery_error is not None and alert.delivery_error.startswith("ConnectError")


# --- bad inputs and lifecycle ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scopes", "amount", "request_id", "problem"),
    [
        (["global"], -0.01, "r", "amount_usd must be a finite, non-negative"),
        (["global"], math.nan, "r", "amount_usd must be a finite, non-negative"),
        (["global"], math.inf, "r", "amount_usd must be a finite, non-negative"),
        (["global"], True, "r", "amount_usd must be a finite, non-negative"),
        (["team:acme"], 0.1, "r", "'global' or 'project:<tag>'"),
        (["project:"], 0.1, "r", "'global' or 'project:<tag>'"),
        (["global\n"], 0.1, "r", "'global' or 'project:<tag>'"),
        (["project:a b"], 0.1, "r", "'global' or 'project:<tag>'"),
        ("global", 0.1, "r", "scopes must be a list"),
        ([], 0.1, "r", "at least one"),
        (["global"], 0.1, " ", "request_id"),
    ],
)
async def test_bad_reserve_inputs_are_clear_errors(
    open_manager: Opener, scopes: Any, amount: Any, request_id: str, problem: str
) -> None:
    manager = open_manager(budgets(rule(1.0)))
    with pytest.raises(GatewiseError) as caught:
        await manager.reserve(scopes, amount, request_id)
    assert caught.value.code == ErrorCode.INVALID_INPUT
    assert problem in caught.value.message


async def test_other_bad_inputs_are_clear_errors(open_manager: Opener) -> None:
    manager = open_manager(budgets(rule(1.0)))
    held = await manager.reserve(["global"], 0.1, "r1")
    for call in (
        manager.commit(held, -1.0),
        manager.status("everything"),
        manager.delete_budget("global", "weekly"),  # type: ignore[arg-type]
        manager.delete_budget("project", "daily"),
    ):
        with pytest.raises(GatewiseError) as caught:
            await call
        assert caught.value.code == ErrorCode.INVALID_INPUT
    forged = Reservation("someone-else", 0.1, "ok", ("global",), held.ids)
    with pytest.raises(ValueError, match="not in this budget store"):
        await manager.commit(forged, 0.1)
    with pytest.raises(ValueError):
        BudgetManager(Path("unused"), budgets(), reservation_ttl_s=0)


async def test_a_closed_manager_refuses_work(open_manager: Opener) -> None:
    manager = open_manager(budgets(rule(1.0)))
    held = await manager.reserve(["global"], 0.1, "r1")
    await manager.close()
    await manager.close()
    with pytest.raises(LedgerClosedError):
        await manager.reserve(["global"], 0.1, "r2")
    with pytest.raises(LedgerClosedError):
        await manager.commit(held, 0.1)


# --- the race: two processes, one file -----------------------------------------------------------

RACE_SCRIPT = textwrap.dedent(
    """
    import asyncio
    import json
    import random
    import sys
    import time

    from gatewise.config import BudgetRule, BudgetsConfig
    from gatewise.errors import ErrorCode, GatewiseError
    from gatewise.ledger.budgets import BudgetManager


    def open_manager(path, limit, lease_calls):
        rule = BudgetRule(scope="global", window="monthly", limit_usd=limit, on_exceed="block")
        return BudgetManager(path, BudgetsConfig(rules=[rule], spend_lease_calls=lease_calls))


    async def burst(manager, tag, count, amount, exact):
        rng = random.Random(tag)

        async def call(i):
            request_id = f"{tag}-{i}"
            # Requests arrive over a second: on a loaded machine one process may wake up late.
            await asyncio.sleep(rng.uniform(0, 1.0))
            try:
                held = await manager.reserve(["global"], amount, request_id)
            except GatewiseError as exc:
                assert exc.code == ErrorCode.BUDGET_EXCEEDED, exc
                return [request_id, None, time.time()]
            reserved_at = time.time()
            await asyncio.sleep(rng.uniform(0, 0.003))  # the upstream call
            cost = amount if exact else round(rng.uniform(0.2, 1.0) * amount, 6)
            await manager.commit(held, cost)
            return [request_id, cost, reserved_at]

        return await asyncio.gather(*(call(i) for i in range(count)))


    async def start_together(start_at):
        await asyncio.sleep(max(0.0, start_at - time.time()))


    async def main(path, limit, amount, exact, lease_calls):
        manager = open_manager(path, limit, lease_calls)
        print("ready", flush=True)
        await start_together(float(await asyncio.to_thread(sys.stdin.readline)))
        results = await burst(manager, "child", 100, amount, exact)
        await manager.close()
        print(json.dumps(results), flush=True)


    if __name__ == "__main__":
        asyncio.run(main(sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4] == "exact",
                         int(sys.argv[5])))
    """
)

LIMIT, AMOUNT = 10.0, 0.1


@pytest.mark.parametrize("lease_calls", [0, 16], ids=["per-call holds", "spend leases"])
@pytest.mark.parametrize("costs", ["exact", "random"])
async def test_two_processes_racing_never_pass_the_budget(tmp_path: Path, path: Path, costs: str,
                                                         lease_calls: int) -> None:
    script = tmp_path / "race.py"
    script.write_text(RACE_SCRIPT)
    race = runpy.run_path(str(script))
    manager = race["open_manager"](path, LIMIT, lease_calls)
    child = await asyncio.create_subprocess_exec(
        sys.executable, str(script), str(path), str(LIMIT), str(AMOUNT), costs, str(lease_calls),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert await asyncio.wait_for(child.stdout.readline(), 30) == b"ready\n"  # type: ignore[union-attr]
        # Both processes open their burst at the same instant.
        start_at = time.time() + 1.0
        child.stdin.write(f"{start_at!r}\n".encode())  # type: ignore[union-attr]
        await child.stdin.drain()  # type: ignore[union-attr]
        await race["start_together"](start_at)
        mine = await race["burst"](manager, "parent", 100, AMOUNT, costs == "exact")
        out, err = await asyncio.wait_for(child.communicate(), 60)
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    assert child.returncode == 0, err.decode()
    await manager.close()

    results = mine + json.loads(out)
    assert len(results) == 200
    wins = {request_id: cost for request_id, cost, _ in results if cost is not None}
    held = sqlite_rows(path, "SELECT request_id, state, cost_usd, created_at FROM budget_reservations")
    assert not [row for row in held if row[1] == "reserved"]  # every hold and lease settled
    # Each success is charged exactly once: by its own hold, or within a lease's charge.
    own = Counter(request_id for request_id, state, _, _ in held
                  if state == "committed" and not request_id.startswith("lease-"))
    assert own == Counter(r for r in wins if r in own) and (lease_calls or len(own) == len(wins))
    spent = sum(cost or 0.0 for _, state, cost, _ in held if state == "committed")
    assert spent == pytest.approx(sum(wins.values()))
    assert spent <= LIMIT * (1 + 1e-9)
    floor = int(LIMIT / AMOUNT)
    if costs == "exact" and not lease_calls:
        assert len(wins) == floor
    elif costs == "exact":  # headroom resting in the other process's lease may refuse a few calls
        assert floor - 2 * lease_calls <= len(wins) <= floor
    else:  # cheaper real costs hand back headroom that later reservations may use
        assert floor <= len(wins) < 200
    by_process = Counter(request_id.split("-")[0] for request_id in wins)
    print(f"\nrace ({costs} costs): {len(wins)} of 200 reserved, {dict(by_process)}, spent ${spent:.6f} "
          f"of ${LIMIT:.2f}")
    # Both processes were really racing: their reservations interleave in time. Timed by each call,
    # since a call served from a lease leaves no row of its own.
    parent_times = [t for rid, cost, t in results if cost is not None and rid.startswith("parent")]
    child_times = [t for rid, cost, t in results if cost is not None and rid.startswith("child")]
    assert parent_times and child_times
    assert min(child_times) < max(parent_times) and min(parent_times) < max(child_times)
