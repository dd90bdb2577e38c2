"""The store contract, run on both backends: SQLite files (the default) and PostgreSQL (a
throwaway database per test; skipped, with the reason, when no server is reachable).

What a server sees through the store interfaces must not depend on the backend: the same rows,
summaries, budget verdicts, alerts and audit pages.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from gatewise.config import BudgetRule, BudgetsConfig, load_settings
from gatewise.errors import ErrorCode, GatewiseError
from gatewise.ledger.budgets import BudgetManager
from gatewise.ledger.guardrail_events import EventFilter, GuardrailEvent, GuardrailEvents
from gatewise.storage.backends import Stores, open_stores
from gatewise.storage.interfaces import AuditTrail, BudgetBackend
from pg_support import throwaway_database
from store_support import FakeClock, call_record

NOW = 1_796_000_000.0  # 2026-11-30T01:33:20Z
DAY = 86_400.0


@pytest.fixture(params=["sqlite", "postgres"])
def backend_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {"GATEWISE_DATA_DIR": str(tmp_path / "data")}
    if request.param == "sqlite":
        yield env
        return
    with throwaway_database() as url:
        yield {**env, "GATEWISE_DATABASE_URL": url}


@pytest.fixture
async def stores(backend_env: dict[str, str]) -> AsyncIterator[Stores]:
    opened = await open_stores(load_settings(backend_env))
    yield opened
    await opened.budgets.close()
    await opened.ledger.close()
    if opened.database is not None:
        await opened.database.close()


Opener = Callable[..., Any]


@pytest.fixture
async def open_budgets(backend_env: dict[str, str], stores: Stores) -> AsyncIterator[Opener]:
    """Budget stores on the test's backend with a hand-moved clock (several share one backend)."""
    opened: list[BudgetBackend] = []

    async def opener(config: BudgetsConfig, clock: FakeClock, **kw: Any) -> BudgetBackend:
        manager: BudgetBackend
        if stores.database is None:
            manager = BudgetManager(Path(backend_env["GATEWISE_DATA_DIR"]) / "ledger.sqlite3", config,
                                    clock=clock, **kw)
        else:
            from gatewise.storage.postgres.budgets import PostgresBudgets

            manager = await PostgresBudgets.open(stores.database, config, clock=clock, **kw)
        opened.append(manager)
        return manager

    yield opener
    for manager in opened:
        await manager.close()


def rule(limit: float, scope: str = "global", window: str = "daily", on_exceed: str = "block") -> BudgetRule:
    return BudgetRule(scope=scope, window=window, limit_usd=limit, on_exceed=on_exceed)  # type: ignore[arg-type]


def config(*rules: BudgetRule, thresholds: tuple[float, ...] = (0.8,)) -> BudgetsConfig:
    return BudgetsConfig(rules=list(rules), alert_thresholds=list(thresholds))


# --- ledger --------------------------------------------------------------------------------------


async def test_ledger_rows_summaries_and_recent(stores: Stores) -> None:
    ledger = stores.ledger
    assert await ledger.count() == 0
    [empty] = await ledger.summary()
    assert (empty.key, empty.requests, empty.attempts, empty.cost_usd) == (None, 0, 0, 0.0)
    rows = [call_record(request_id=f"r{i // 2}", attempt=i % 2, model="m-a" if i < 6 else "m-b",
                        latency_ms=float(10 * (i + 1)), cost_usd=0.01 * (i + 1), ts=NOW + i,
                        status="error" if i == 7 else "ok", project="p" if i % 3 == 0 else None,
                        caller="jwt:alice" if i < 2 else None)
            for i in range(10)]
    await ledger.record_many(rows[:4])
    await asyncio.gather(*(ledger.record(rec) for rec in rows[4:]))
    assert await ledger.count() == 10

    [total] = await ledger.summary()
    assert (total.requests, total.attempts, total.errors) == (5, 10, 1)
    assert total.cost_usd == pytest.approx(0.55)
    assert (total.tokens_in, total.tokens_out) == (100, 50)
    # nearest rank over 10, 20, ... 100 ms: the 5th and the 10th
    assert (total.avg_latency_ms, total.p50_latency_ms, total.p95_latency_ms) == (55.0, 50.0, 100.0)

    by_model = await ledger.summary(group_by="model")
    assert [(r.key, r.attempts) for r in by_model] == [("m-b", 4), ("m-a", 6)]  # most spend first
    by_project = await ledger.summary(group_by="project")
    assert [(r.key, r.attempts) for r in by_project] == [(None, 6), ("p", 4)]
    by_caller = await ledger.summary(group_by="caller")
    assert [(r.key, r.attempts) for r in by_caller] == [(None, 8), ("jwt:alice", 2)]
    [day] = await ledger.summary(since=NOW + 2, until=NOW + 5, group_by="day")
    assert (day.key, day.attempts) == ("2026-11-30", 3)

    recent = await ledger.recent(3)
    assert [r.ts for r in recent] == [NOW + 9, NOW + 8, NOW + 7]
    assert recent[0] == rows[9]
    assert (await ledger.recent(10))[-1] == rows[0]  # the caller round-trips
    with pytest.raises(ValueError, match="group_by"):
        await ledger.summary(group_by="nonsense")  # type: ignore[arg-type]


async def test_concurrent_records_share_commits_and_none_is_lost(stores: Stores) -> None:
    await asyncio.gather(*(stores.ledger.record(call_record(request_id=f"r{i}")) for i in range(300)))
    assert await stores.ledger.count() == 300
    assert stores.ledger.commits < 300  # group commit: far fewer transactions than rows


# --- budgets -------------------------------------------------------------------------------------


async def one(manager: BudgetBackend, scope: str = "global", window: str = "daily") -> Any:
    [status] = [s for s in await manager.status(scope) if s.window == window]
    return status


async def test_reserve_commit_release_are_idempotent(open_budgets: Opener) -> None:
    clock = FakeClock(NOW)
    manager = await open_budgets(config(rule(1.0), rule(5.0, scope="project:x", window="monthly")), clock)
    held = await manager.reserve(["global", "project:x"], 0.4, "req-1")
    assert held.verdict == "ok" and len(held.ids) == 2
    status = await one(manager)
    assert (status.spent_usd, status.reserved_usd, status.remaining_usd) == (0.0, 0.4, pytest.approx(0.6))
    first = await manager.commit(held, 0.25)
    again = await manager.commit(held, 0.99)
    assert (first.cost_usd, first.settled_before) == (0.25, False)
    assert (again.cost_usd, again.settled_before) == (0.25, True)  # the first charge stands
    assert await manager.release(held) is False  # already committed
    status = await one(manager)
    assert (status.spent_usd, status.reserved_usd) == (0.25, 0.0)
    assert (await one(manager, "project:x", "monthly")).spent_usd == 0.25

    dropped = await manager.reserve(["global"], 0.3, "req-2")
    assert await manager.release(dropped) is True
    assert await manager.release(dropped) is False
    assert (await one(manager)).reserved_usd == 0.0
    with pytest.raises(ValueError, match="not in this budget store"):
        await manager.commit(replace(dropped, request_id="someone-else"), 0.1)


async def test_sums_of_holds_are_reported_without_float_residue(open_budgets: Opener) -> None:
    # Spend leases off: each call holds its own amount.
    manager = await open_budgets(BudgetsConfig(rules=[rule(5.0)], spend_lease_calls=0), FakeClock(NOW))
    first = await manager.reserve(["global"], 0.1, "req-1")
    second = await manager.reserve(["global"], 0.2, "req-2")
    status = await one(manager)
    assert 0.1 + 0.2 != 0.3  # what the sum would report unrounded
    assert (status.reserved_usd, status.remaining_usd, status.warning) == (0.3, 4.7, None)
    await manager.release(second)
    assert (await one(manager)).reserved_usd == 0.1
    await manager.commit(first, 0.1)
    status = await one(manager)
    assert (status.spent_usd, status.reserved_usd, status.remaining_usd) == (0.1, 0.0, 4.9)
    assert status.reserved_usd.hex() == "0x0.0p+0"  # not -0.0, nor a residue of the holds


async def test_block_downgrade_and_warn_verdicts(open_budgets: Opener) -> None:
    clock = FakeClock(NOW)
    manager = await open_budgets(config(rule(1.0), rule(0.5, scope="project:d", on_exceed="downgrade"),
                                        rule(0.2, scope="project:w", on_exceed="warn")), clock)
    await manager.commit(await manager.reserve(["global"], 0.7, "a"), 0.7)
    with pytest.raises(GatewiseError) as blocked:
        await manager.reserve(["global"], 0.31, "b")
    assert blocked.value.code is ErrorCode.BUDGET_EXCEEDED and "$0.30 left" in blocked.value.message
    assert (await one(manager)).reserved_usd == 0.0  # nothing held

    down = await manager.reserve(["project:d"], 0.6, "c")
    assert (down.verdict, down.ids, down.headroom_usd) == ("downgrade", (), pytest.approx(0.5))
    warned = await manager.reserve(["project:w"], 0.25, "d")
    assert warned.verdict == "warn" and warned.ids and "only warns" in warned.warnings[0]
    exact = await manager.reserve(["global"], 0.3, "e")  # fits to the cent despite float sums
    assert exact.verdict == "ok"


async def test_concurrent_reserves_never_pass_a_block_budget(open_budgets: Opener) -> None:
    manager = await open_budgets(config(rule(1.0)), FakeClock(NOW))

    async def attempt(i: int) -> bool:
        try:
            await manager.reserve(["global"], 0.1, f"r{i}")
        except GatewiseError as exc:
            assert exc.code is ErrorCode.BUDGET_EXCEEDED
            return False
        return True

    admitted = await asyncio.gather(*(attempt(i) for i in range(40)))
    assert sum(admitted) == 10
    status = await one(manager)
    assert status.reserved_usd == pytest.approx(1.0) and status.remaining_usd == pytest.approx(0.0)


async def test_alerts_fire_once_per_threshold_even_from_two_stores(open_budgets: Opener) -> None:
    clock = FakeClock(NOW)
    cfg = config(rule(1.0, on_exceed="warn"), thresholds=(0.5, 0.8))
    first, second = await open_budgets(cfg, clock), await open_budgets(cfg, clock)

    async def spend(manager: BudgetBackend, amount: float, rid: str) -> list[float]:
        result = await manager.commit(await manager.reserve(["global"], amount, rid), amount)
        return [a.threshold for a in result.alerts]

    assert await spend(first, 0.6, "a") == [0.5]
    assert await spend(second, 0.1, "b") == []
    assert await spend(second, 0.2, "c") == [0.8]
    assert await spend(first, 0.3, "d") == [1.0]
    assert await spend(first, 0.3, "e") == []
    clock.advance(DAY)
    assert await spend(second, 1.0, "f") == [0.5, 0.8, 1.0]
    alerts = await first.alerts()
    assert len(alerts) == 6 and alerts[0].message.startswith("Budget alert: the global daily budget")


async def test_a_threshold_a_lease_crosses_as_it_settles_reaches_its_last_call(open_budgets: Opener) -> None:
    """Spend a lease charges as it settles can cross a threshold (its calls cost more than they
    held, or others' spend rose meanwhile): the call that settled it reports the alert."""
    clock = FakeClock(NOW)
    cfg = BudgetsConfig(rules=[rule(10.0, on_exceed="warn")], alert_thresholds=[0.5], spend_lease_calls=4)
    manager = await open_budgets(cfg, clock)
    one = await manager.reserve(["global"], 1.0, "a")  # a lease of four such calls: 4.0 of 10.0
    two = await manager.reserve(["global"], 1.0, "b")
    assert one.lease_id is not None and two.lease_id == one.lease_id
    assert (await manager.commit(one, 3.0)).alerts == ()  # in memory: nothing charged yet
    three = await manager.reserve(["global"], 1.0, "c")  # no room left in the lease: it admits no more
    assert three.lease_id != one.lease_id
    settled = await manager.commit(two, 3.0)  # the lease's last call: it settles at 6.0
    assert [a.threshold for a in settled.alerts] == [0.5]
    assert [a.threshold for a in (await manager.commit(three, 1.0)).alerts] == []
    (status,) = await manager.status("global")
    assert status.spent_usd == pytest.approx(7.0) and status.reserved_usd == 0


async def spent_alerts(manager: BudgetBackend, scopes: list[str], amount: float, rid: str) -> list[float]:
    result = await manager.commit(await manager.reserve(scopes, amount, rid), amount)
    return [a.threshold for a in result.alerts]


async def test_a_changed_limit_alerts_at_its_own_thresholds(open_budgets: Opener) -> None:
    clock = FakeClock(NOW)
    manager = await open_budgets(config(rule(1.0, on_exceed="warn"), thresholds=(0.5, 0.8)), clock)
    assert await spent_alerts(manager, ["global"], 0.6, "a") == [0.5]
    await manager.set_budget(rule(10.0, on_exceed="warn"))  # raised mid-window
    assert await spent_alerts(manager, ["global"], 4.5, "b") == [0.5]  # 5.1 of 10
    assert await spent_alerts(manager, ["global"], 0.1, "c") == []
    assert await spent_alerts(manager, ["global"], 3.0, "d") == [0.8]  # 8.2 of 10
    await manager.set_budget(rule(2.0, on_exceed="warn"))  # lowered below what is spent: alerts once
    assert await spent_alerts(manager, ["global"], 0.1, "e") == [0.5, 0.8, 1.0]
    assert await spent_alerts(manager, ["global"], 0.1, "f") == []
    await manager.set_budget(rule(1.0, on_exceed="warn"))  # back: its 50% alert stands, the rest fire
    assert await spent_alerts(manager, ["global"], 0.1, "g") == [0.8, 1.0]
    assert [(a.threshold, a.limit_usd) for a in await manager.alerts()] == [
        (1.0, 1.0), (0.8, 1.0), (1.0, 2.0), (0.8, 2.0), (0.5, 2.0), (0.8, 10.0), (0.5, 10.0), (0.5, 1.0)]
    clock.advance(DAY)
    assert await spent_alerts(manager, ["global"], 0.6, "h") == [0.5]  # a new window


async def test_alerts_of_one_scope_are_filtered_before_the_limit(open_budgets: Opener) -> None:
    clock = FakeClock(NOW)
    scopes = [f"project:{p}" for p in "pqr"]
    manager = await open_budgets(config(*(rule(1.0, scope, on_exceed="warn") for scope in scopes),
                                        thresholds=(0.25, 0.5, 0.75)), clock)
    for i, scope in enumerate(scopes):  # p's alerts first, so q's and r's are all newer
        clock.advance(1)
        assert await spent_alerts(manager, [scope], 1.0, f"r{i}") == [0.25, 0.5, 0.75, 1.0]
    assert [(a.scope, a.threshold) for a in await manager.alerts(3, "project:p")] == [
        ("project:p", 1.0), ("project:p", 0.75), ("project:p", 0.5)]
    assert {a.scope for a in await manager.alerts(50, "project:p")} == {"project:p"}
    assert len(await manager.alerts(50, "project:p")) == 4
    assert [a.scope for a in await manager.alerts(5)] == ["project:r"] * 4 + ["project:q"]  # every scope
    assert await manager.alerts(5, "global") == []
    with pytest.raises(GatewiseError, match="budget scope"):
        await manager.alerts(5, "team:x")


async def test_an_alert_carries_its_amounts_rounded_wherever_it_goes(open_budgets: Opener) -> None:
    manager = await open_budgets(config(rule(0.2, on_exceed="warn"), thresholds=(0.5,)), FakeClock(NOW))
    result = await manager.commit(await manager.reserve(["global"], 0.2, "a"), 0.1234567891234)
    [fired] = result.alerts
    [stored] = await manager.alerts()
    assert (fired.spent_usd, fired.limit_usd) == (stored.spent_usd, stored.limit_usd) == (0.123456789, 0.2)
    assert fired == stored


async def test_stale_holds_expire_and_a_late_commit_still_counts(open_budgets: Opener) -> None:
    clock = FakeClock(NOW)
    manager = await open_budgets(config(rule(1.0)), clock, reservation_ttl_s=60)
    held = await manager.reserve(["global"], 0.9, "slow")
    clock.advance(61)
    await manager.reconcile()  # what the upkeep does every interval
    assert (await one(manager)).reserved_usd == 0.0
    assert (await manager.reserve(["global"], 0.5, "next")).verdict == "ok"
    assert (await manager.commit(held, 0.2)).settled_before is False  # the money was spent
    assert (await one(manager)).spent_usd == pytest.approx(0.2)


async def test_budget_tools_set_status_delete(open_budgets: Opener) -> None:
    manager = await open_budgets(config(rule(2.0)), FakeClock(NOW))
    status = await manager.set_budget(rule(3.0, scope="project:new", window="monthly"))
    assert (status.scope, status.limit_usd, status.source, status.window_key) == (
        "project:new", 3.0, "runtime", "2026-11")
    listed = [(s.scope, s.source) for s in await manager.status()]
    assert listed == [("global", "config"), ("project:new", "runtime")]
    assert await manager.delete_budget("project:new", "monthly") is True
    assert await manager.delete_budget("project:new", "monthly") is False
    with pytest.raises(GatewiseError, match="budget scope"):
        await manager.status("nobody")


def rules_of(statuses: list[Any]) -> list[tuple[Any, ...]]:
    return [(s.scope, s.window, s.limit_usd, s.on_exceed, s.source, s.config_limit_usd) for s in statuses]


async def test_a_restart_keeps_run_time_budgets_and_those_the_config_lacks(open_budgets: Opener) -> None:
    on_disk = config(rule(0.002, scope="project:alpha"), rule(100.0, scope="project:beta"))
    running = await open_budgets(on_disk, FakeClock(NOW))
    await running.set_budget(rule(0.5, scope="project:alpha"))  # over the config's rule
    await running.set_budget(rule(0.05, scope="project:beta", window="monthly"))  # beside the config's
    await running.set_budget(rule(0.05, scope="project:gamma", window="monthly"))  # a scope it never names
    expected = [("project:alpha", "daily", 0.5, "block", "runtime", 0.002),
                ("project:beta", "daily", 100.0, "block", "config", None),
                ("project:beta", "monthly", 0.05, "block", "runtime", None),
                ("project:gamma", "monthly", 0.05, "block", "runtime", None)]
    assert rules_of(await running.status()) == expected

    restarted = await open_budgets(on_disk, FakeClock(NOW))  # another instance starts on the same config
    assert rules_of(await restarted.status()) == expected
    assert (await restarted.reserve(["project:alpha"], 0.4, "r")).verdict == "ok"  # the 0.5 holds
    with pytest.raises(GatewiseError) as blocked:
        await restarted.reserve(["project:beta"], 0.06, "s")
    assert blocked.value.code is ErrorCode.BUDGET_EXCEEDED and "monthly" in blocked.value.message


async def test_a_changed_config_rule_replaces_the_run_time_one(open_budgets: Opener) -> None:
    first = await open_budgets(config(rule(0.002, scope="project:alpha"), rule(1.0, scope="project:old")),
                               FakeClock(NOW))
    await first.set_budget(rule(0.5, scope="project:alpha", on_exceed="warn"))
    # The operator edits the config: a new alpha limit, and project:old's rule taken out.
    edited = await open_budgets(config(rule(0.003, scope="project:alpha")), FakeClock(NOW))
    assert rules_of(await edited.status()) == [("project:alpha", "daily", 0.003, "block", "config", None)]

    await edited.set_budget(rule(0.7, scope="project:alpha"))
    dropped = await open_budgets(config(), FakeClock(NOW))  # the config no longer has alpha's rule
    assert rules_of(await dropped.status()) == [("project:alpha", "daily", 0.7, "block", "runtime", None)]
    readded = await open_budgets(config(rule(0.003, scope="project:alpha")), FakeClock(NOW))
    assert rules_of(await readded.status()) == [("project:alpha", "daily", 0.003, "block", "config", None)]


async def test_removing_a_run_time_rule_gives_its_key_back_to_the_config(open_budgets: Opener) -> None:
    manager = await open_budgets(config(rule(2.0)), FakeClock(NOW))
    await manager.set_budget(rule(9.0, on_exceed="warn"))
    assert await manager.delete_budget("global", "daily") is True
    assert rules_of(await manager.status()) == [("global", "daily", 2.0, "block", "config", None)]
    assert await manager.delete_budget("global", "daily") is True  # now the config's rule itself
    assert await manager.status() == []


# --- guardrail audit trail -------------------------------------------------------------------------


def event(i: int, **kw: Any) -> GuardrailEvent:
    fields: dict[str, Any] = {"ts": NOW + i, "request_id": f"r{i}", "server": "routing_gateway",
                              "tool": "routed_complete", "direction": "input", "check_id": "pii",
                              "verdict": "block" if i % 2 else "flag", "action": "redact",
                              "reason": "EMAIL_ADDRESS x1", "entities": {"EMAIL_ADDRESS": 1},
                              "spans": [{"start": 0, "end": 5}], "value_hashes": ["h"]}
    return GuardrailEvent(**{**fields, **kw})


async def test_audit_rows_pages_counts_and_purge(stores: Stores) -> None:
    audit: AuditTrail = stores.guardrail_events
    await audit.record([event(i) for i in range(5)] + [event(9, check_id="custom_blocklist")])
    page = await audit.query(EventFilter(check_id="pii"), limit=2)
    assert page.total == 5 and page.next_offset == 2
    assert [e.request_id for e in page.events] == ["r4", "r3"]
    assert page.events[0].spans == [{"start": 0, "end": 5}] and page.events[0].id is not None
    assert [(c.check_id, c.blocked, c.flagged) for c in page.by_check] == [("pii", 2, 3)]
    counts = await audit.counts(EventFilter(since=NOW + 2))
    assert [(c.check_id, c.blocked, c.flagged) for c in counts] == [("pii", 1, 2), ("custom_blocklist", 1, 0)]
    assert await audit.purge(NOW + 3) == 3
    assert await audit.count() == 3
    with pytest.raises(ValueError, match="limit"):
        await audit.query(EventFilter(), limit=0)


def test_the_sqlite_audit_store_meets_the_interface(tmp_path: Path) -> None:
    store: AuditTrail = GuardrailEvents(tmp_path / "ledger.sqlite3")
    assert store is not None
