"""Spend leases on a real SQLite file: one hold admits many calls in memory and is settled once
with what they cost; near a limit or an alert threshold calls hold one by one again."""

from __future__ import annotations

from calendar import timegm
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from gatewise.config import BudgetRule, BudgetsConfig
from gatewise.errors import ErrorCode, GatewiseError
from gatewise.ledger.budgets import BudgetManager
from gatewise.ledger.leases import lease_end
from store_support import FakeClock, sqlite_rows

NOW = float(timegm((2026, 11, 29, 12, 0, 0)))
Opener = Callable[..., BudgetManager]


def config(*rules: BudgetRule, lease_calls: int = 8) -> BudgetsConfig:
    return BudgetsConfig(rules=list(rules), alert_thresholds=[0.8], spend_lease_calls=lease_calls,
                         spend_lease_s=2.0)


def block(limit: float) -> BudgetRule:
    return BudgetRule(scope="global", window="daily", limit_usd=limit, on_exceed="block")


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "ledger.sqlite3"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
async def open_manager(path: Path, clock: FakeClock) -> AsyncIterator[Opener]:
    opened: list[BudgetManager] = []

    def opener(cfg: BudgetsConfig) -> BudgetManager:
        opened.append(BudgetManager(path, cfg, clock=clock))
        return opened[-1]

    yield opener
    for manager in opened:
        await manager.close()


def holds(path: Path) -> list[tuple[Any, ...]]:
    return sqlite_rows(path, "SELECT request_id, state, reserved_usd, cost_usd FROM budget_reservations"
                             " ORDER BY id")


async def test_calls_under_a_lease_hold_once_and_settle_once(path: Path, open_manager: Opener) -> None:
    manager = open_manager(config(block(10.0)))
    for i in range(5):
        held = await manager.reserve(["global"], 0.01, f"r{i}")
        assert held.verdict == "ok" and held.lease_id is not None
        await manager.commit(held, 0.005)
    [(lease_id, state, reserved, _)] = holds(path)  # one hold for five calls, still open
    assert lease_id.startswith("lease-") and state == "reserved" and reserved == pytest.approx(0.08)
    [status] = await manager.status("global")  # gives this process's lease back first
    assert status.spent_usd == pytest.approx(0.025) and status.reserved_usd == 0
    assert holds(path) == [(lease_id, "committed", pytest.approx(0.08), pytest.approx(0.025))]


async def test_a_second_commit_of_a_leased_call_changes_nothing(open_manager: Opener) -> None:
    manager = open_manager(config(block(10.0)))
    held = await manager.reserve(["global"], 0.01, "r")
    assert not (await manager.commit(held, 0.01)).settled_before
    assert (await manager.commit(held, 0.01)).settled_before
    assert not await manager.release(held)
    [status] = await manager.status("global")
    assert status.spent_usd == pytest.approx(0.01)


async def test_failed_calls_cost_nothing_and_close_settles_the_lease(path: Path,
                                                                    open_manager: Opener) -> None:
    manager = open_manager(config())
    failed = await manager.reserve(["global", "project:a"], 0.01, "failed")
    done = await manager.reserve(["global", "project:a"], 0.01, "done")
    assert await manager.release(failed)
    await manager.commit(done, 0.004)
    await manager.close()
    rows = holds(path)
    assert [(state, cost) for _, state, _, cost in rows] == [("committed", 0.004)] * 2  # one per scope


async def test_no_lease_near_a_limit_or_threshold(path: Path, open_manager: Opener) -> None:
    manager = open_manager(config(block(1.0)))
    # Eight calls' worth of 0.1 would reach the 80% alert threshold: each call holds its own.
    first = await manager.reserve(["global"], 0.1, "big")
    assert first.lease_id is None and holds(path)[0][0] == "big"
    await manager.commit(first, 0.1)
    for i in range(10):
        try:
            held = await manager.reserve(["global"], 0.1, f"r{i}")
        except GatewiseError as exc:
            assert exc.code == ErrorCode.BUDGET_EXCEEDED
            break
        assert held.lease_id is None
        await manager.commit(held, 0.1)
    [status] = await manager.status("global")
    assert status.spent_usd == pytest.approx(1.0) and status.reserved_usd == 0
    assert not [r for r in holds(path) if r[0].startswith("lease-")]


async def test_a_lease_ends_after_its_time_and_the_next_call_takes_a_new_one(
        path: Path, clock: FakeClock, open_manager: Opener) -> None:
    manager = open_manager(config(block(10.0)))
    first = await manager.reserve(["global"], 0.01, "r1")
    await manager.commit(first, 0.01)
    clock.advance(2.5)
    second = await manager.reserve(["global"], 0.01, "r2")
    assert second.lease_id not in (None, first.lease_id)
    await manager.commit(second, 0.02)
    await manager.settle_leases()
    assert [(r[1], r[3]) for r in holds(path)] == [("committed", 0.01), ("committed", 0.02)]


async def test_a_call_in_flight_keeps_its_retired_lease_until_it_finishes(
        path: Path, clock: FakeClock, open_manager: Opener) -> None:
    manager = open_manager(config(block(10.0)))
    slow = await manager.reserve(["global"], 0.01, "slow")
    clock.advance(2.5)
    await manager.commit(await manager.reserve(["global"], 0.01, "quick"), 0.01)
    await manager.settle_leases()
    assert [r[1] for r in holds(path)] == ["reserved", "committed"]  # the slow call's lease waits
    await manager.commit(slow, 0.03)
    await manager.settle_leases()
    assert [(r[1], r[3]) for r in holds(path)] == [("committed", 0.03), ("committed", 0.01)]


async def test_set_budget_gives_the_lease_back_first(path: Path, open_manager: Opener) -> None:
    manager = open_manager(config())
    await manager.commit(await manager.reserve(["global"], 0.01, "r"), 0.01)
    after = await manager.set_budget(block(0.05))
    assert after.spent_usd == pytest.approx(0.01) and after.reserved_usd == 0


def test_a_lease_never_spans_two_utc_days() -> None:
    late = float(timegm((2026, 11, 29, 23, 59, 59)))
    assert lease_end(late, 2.0) == float(timegm((2026, 11, 30, 0, 0, 0)))
    assert lease_end(NOW, 2.0) == NOW + 2.0


async def test_leases_off_hold_every_call(path: Path, open_manager: Opener) -> None:
    manager = open_manager(config(lease_calls=0))
    held = await manager.reserve(["global"], 0.01, "r")
    assert held.lease_id is None and holds(path)[0][0] == "r"
