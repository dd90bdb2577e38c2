"""Budget holds left by a killed process: settled from the ledger or released on the next start
and by the periodic reconcile, never while their owner still runs, and never charged twice."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from calendar import timegm
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gatewise.config import BudgetRule, BudgetsConfig
from gatewise.errors import GatewiseError
from gatewise.ledger import MIGRATIONS, SCHEMA_VERSION, CallRecord, open_ledger
from gatewise.ledger.budgets import BudgetManager, Reconciled
from gatewise.ledger.owners import process_start
from repo_paths import TESTS
from store_support import FakeClock, call_record, sqlite_rows

NOW = float(timegm((2026, 11, 29, 12, 0, 0)))
LIMIT = 1.0
RULE = BudgetRule(scope="global", window="monthly", limit_usd=LIMIT, on_exceed="block")
CONFIG = BudgetsConfig(rules=[RULE])


def ledger_cost(path: Path) -> float:
    return sqlite_rows(path, "SELECT TOTAL(cost_usd) FROM calls")[0][0]


async def global_status(manager: BudgetManager) -> tuple[float, float]:
    [status] = await manager.status("global")
    return status.spent_usd, status.reserved_usd


def call_row(request_id: str, cost: float, attempt: int = 0) -> CallRecord:
    return call_record(model="vendor/m", cost_usd=cost, latency_ms=1.0, status="ok" if cost else "error",
                       route_reason="test", request_id=request_id, attempt=attempt, project="acme")


# --- a real process, killed with SIGKILL ----------------------------------------------------------

# Three calls in the states a kill can leave them in, then it waits to be killed.
CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from gatewise.ledger import open_ledger
    from gatewise.ledger.budgets import BudgetManager, budget_scopes
    sys.path[:0] = sys.argv[2:]  # this file's folder and tests/
    from test_budget_recovery import CONFIG, call_row

    async def main(path):
        ledger, budgets = open_ledger(path), BudgetManager(path, CONFIG)
        scopes = budget_scopes("acme")
        done = await budgets.reserve(scopes, 0.3, "done")  # settled in full
        await ledger.record(call_row("done", 0.2))
        await budgets.commit(done, 0.2)
        await budgets.reserve(scopes, 0.3, "unsettled")  # its ledger rows are in, its settle is not
        await ledger.record_many([call_row("unsettled", 0.0, 0), call_row("unsettled", 0.25, 1)])
        await budgets.reserve(scopes, 0.3, "in-flight")  # still waiting for the upstream
        print("ready", flush=True)
        await asyncio.sleep(3600)

    asyncio.run(main(sys.argv[1]))
    """
)


@contextlib.contextmanager
def killed_when_done(script: str, path: Path) -> Iterator[None]:
    """Runs a child script on the ledger at path until it prints "ready", lets the body look at
    its live holds, then kills it with SIGKILL (no clean-up of its own can run)."""
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(path), str(Path(__file__).parent), str(TESTS)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == "ready\n", child.stderr
        yield
        child.send_signal(signal.SIGKILL)
        child.wait()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()  # type: ignore[union-attr]
        child.stderr.close()  # type: ignore[union-attr]


async def test_a_killed_process_holds_stop_counting_and_its_finished_call_is_charged(
    tmp_path: Path,
) -> None:
    path = tmp_path / "data" / "ledger.sqlite3"
    with killed_when_done(CHILD, path):
        # While the child runs, its holds are its own: a process starting now must not release them.
        watcher = BudgetManager(path, CONFIG)
        assert await global_status(watcher) == (pytest.approx(0.2), pytest.approx(0.6))
        with pytest.raises(GatewiseError):
            await watcher.reserve(["global"], 0.5, "blocked")

    # A fresh start (as a new Runtime opens it) settles the dead child's holds at once.
    restarted = BudgetManager(path, CONFIG)
    assert ledger_cost(path) == pytest.approx(0.45)
    assert await global_status(restarted) == (pytest.approx(0.45), 0.0)
    # Two scopes per call: "unsettled" is charged in both, "in-flight" released in both.
    assert restarted.recovered == Reconciled(owners=1, charged=2, released=2)
    acme = await restarted.set_budget(BudgetRule(scope="project:acme", window="monthly", limit_usd=5.0))
    assert (acme.spent_usd, acme.reserved_usd) == (pytest.approx(0.45), 0.0)
    # The room the stale holds took is free again, right away.
    room = await restarted.reserve(["global"], 0.55, "fits")
    assert room.verdict == "ok"
    # The periodic reconcile of the process that was already running finds nothing left to do:
    # each hold was settled once, and the settle that did run is not counted again.
    assert await watcher.reconcile() == Reconciled()
    assert await global_status(watcher) == (pytest.approx(0.45), pytest.approx(0.55))
    states = sqlite_rows(path, "SELECT request_id, state, cost_usd FROM budget_reservations"
                        " WHERE scope = 'global' ORDER BY id")
    assert states == [("done", "committed", 0.2), ("unsettled", "committed", 0.25),
                      ("in-flight", "expired", None), ("fits", "reserved", None)]
    await watcher.close()
    await restarted.close()


LEASE_CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from gatewise.config import BudgetsConfig
    from gatewise.ledger import open_ledger
    from gatewise.ledger.budgets import BudgetManager, budget_scopes
    sys.path[:0] = sys.argv[2:]
    from test_budget_recovery import RULE, call_row

    async def main(path):
        ledger = open_ledger(path)
        budgets = BudgetManager(path, BudgetsConfig(rules=[RULE], spend_lease_calls=8))
        scopes = budget_scopes("acme")
        for request_id, cost in (("a", 0.01), ("b", 0.005)):  # spent from the lease, in memory
            held = await budgets.reserve(scopes, 0.02, request_id)
            assert held.lease_id is not None
            await ledger.record(call_row(request_id, cost))
            await budgets.commit(held, cost)
        await budgets.reserve(scopes, 0.02, "in-flight")
        print("ready", flush=True)
        await asyncio.sleep(3600)

    asyncio.run(main(sys.argv[1]))
    """
)


async def test_a_killed_process_lease_is_charged_what_the_ledger_shows(tmp_path: Path) -> None:
    path = tmp_path / "data" / "ledger.sqlite3"
    with killed_when_done(LEASE_CHILD, path):
        pass

    restarted = BudgetManager(path, CONFIG)
    # The lease (a hold in each of two scopes) is charged its calls' ledger rows, not its size.
    assert restarted.recovered == Reconciled(owners=1, charged=2, released=0)
    assert await global_status(restarted) == (pytest.approx(ledger_cost(path)), 0.0)
    assert ledger_cost(path) == pytest.approx(0.015)
    await restarted.close()


# --- owners that look alive but are not ---------------------------------------------------------


def owner_of(path: Path, request_id: str) -> str:
    return sqlite_rows(path, "SELECT DISTINCT owner FROM budget_reservations WHERE request_id = ?",
                (request_id,))[0][0]


async def test_a_reused_pid_does_not_keep_a_dead_owner_alive(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    clock = FakeClock(NOW)
    first = BudgetManager(path, CONFIG, clock=clock)
    await first.reserve(["global"], 0.4, "mine")
    await first.reserve(["global"], 0.4, "ghost")
    # The "ghost" hold's owner had this very pid, but the process holding it now started later.
    ghost = owner_of(path, "ghost")
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO budget_owners SELECT ?, host, pid, ?, heartbeat_at FROM budget_owners",
                     ("ghost-owner", "another-boot:1"))
        conn.execute("UPDATE budget_reservations SET owner = 'ghost-owner' WHERE request_id = 'ghost'")
    conn.close()
    assert ghost == owner_of(path, "mine")  # both were first's until the pid changed hands
    assert process_start(os.getpid()) is not None

    second = BudgetManager(path, CONFIG, clock=clock)
    assert second.recovered == Reconciled(owners=1, charged=0, released=1)
    # The live owner with the same pid and its real start time keeps its hold.
    assert await global_status(second) == (0.0, pytest.approx(0.4))
    await first.close()
    await second.close()


async def test_an_owner_elsewhere_is_gone_once_its_lease_lapses(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    clock = FakeClock(NOW)
    lease = BudgetsConfig(rules=[RULE], reconcile_interval_s=30, owner_lease_s=120)
    remote = BudgetManager(path, lease, clock=clock)
    ledger = open_ledger(path)
    finished = await remote.reserve(["global"], 0.3, "finished")
    await ledger.record(call_row("finished", 0.1))
    slow = await remote.reserve(["global"], 0.3, "slow")
    with sqlite3.connect(path) as conn:  # pretend it runs on another host sharing the file
        conn.execute("UPDATE budget_owners SET host = 'elsewhere'")
    conn.close()

    local = BudgetManager(path, lease, clock=clock)
    assert local.recovered == Reconciled()
    clock.now += 100
    await remote.reconcile()  # renews the lease
    clock.now += 100
    assert await local.reconcile() == Reconciled()  # renewed 100 s ago: within the lease
    assert await global_status(local) == (0.0, pytest.approx(0.6))
    clock.now += 21
    assert await local.reconcile() == Reconciled(owners=1, charged=1, released=1)
    assert await global_status(local) == (pytest.approx(0.1), 0.0)

    # The owner was only slow: its own settles still land, each exactly once.
    again = await remote.commit(finished, 0.1)
    assert (again.settled_before, again.cost_usd) == (True, 0.1)
    late = await remote.commit(slow, 0.05)
    assert late.settled_before is False
    assert await global_status(local) == (pytest.approx(0.15), 0.0)
    await remote.reconcile()  # it registers itself again
    assert sqlite_rows(path, "SELECT COUNT(*) FROM budget_owners") == [(2,)]
    for closing in (remote, local, ledger):
        await closing.close()


async def test_close_settles_what_it_still_holds(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    manager = BudgetManager(path, CONFIG)
    manager.start_upkeep()
    await manager.reserve(["global"], 0.5, "abandoned")
    await manager.close()
    assert sqlite_rows(path, "SELECT state FROM budget_reservations") == [("expired",)]
    assert sqlite_rows(path, "SELECT COUNT(*) FROM budget_owners") == [(0,)]


async def test_the_upkeep_reconciles_every_interval(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    config = BudgetsConfig(rules=[RULE], reconcile_interval_s=0.05, owner_lease_s=1)
    manager = BudgetManager(path, config)
    manager.start_upkeep()
    [(first,)] = sqlite_rows(path, "SELECT heartbeat_at FROM budget_owners")
    for _ in range(200):  # renewed within a few intervals; bounded so a failure cannot hang
        await asyncio.sleep(0.05)
        if sqlite_rows(path, "SELECT heartbeat_at FROM budget_owners")[0][0] > first:
            break
    else:
        raise AssertionError("the lease was never renewed")
    await manager.close()


def test_the_lease_must_outlast_the_interval() -> None:
    with pytest.raises(ValueError, match="owner_lease_s"):
        BudgetsConfig(reconcile_interval_s=60, owner_lease_s=60)


async def test_holds_from_before_owners_were_recorded_keep_their_ttl(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    with sqlite3.connect(path) as conn:  # a file written by the previous schema, one hold open
        conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at REAL)")
        for migration in MIGRATIONS[:2]:
            for statement in migration.statements:
                conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations VALUES (?, 0)", (migration.version,))
        now = time.time()
        conn.execute(
            "INSERT INTO budget_reservations (request_id, scope, day_key, month_key, reserved_usd,"
            " state, created_at) VALUES ('old', 'global', ?, ?, 0.4, 'reserved', ?)",
            (time.strftime("%Y-%m-%d", time.gmtime(now)), time.strftime("%Y-%m", time.gmtime(now)), now),
        )
    conn.close()
    manager = BudgetManager(path, CONFIG)
    assert sqlite_rows(path, "SELECT MAX(version) FROM schema_migrations") == [(SCHEMA_VERSION,)]
    assert manager.recovered == Reconciled()
    assert await global_status(manager) == (0.0, pytest.approx(0.4))
    await manager.close()
    assert sqlite_rows(path, "SELECT owner, state FROM budget_reservations") == [(None, "reserved")]


# --- the routing-gateway server over stdio, killed mid-call -------------------------------------

SERVER = Path(sys.executable).parent / "gatewise-routing-gateway"
CHEAP = "openai/gpt-4o-mini"


class StdioServer:
    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([str(SERVER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, env=env)
        self.next_id = 0

    def send(self, method: str, params: dict[str, Any] | None = None, *, notify: bool = False) -> int:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params or {}}
        if not notify:
            self.next_id += 1
            message["id"] = self.next_id
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()
        return self.next_id

    def answer(self, request_id: int) -> dict[str, Any]:
        assert self.proc.stdout is not None
        while True:
            line = self.proc.stdout.readline()
            assert line, "the server closed stdout"
            message = json.loads(line)
            if message.get("id") == request_id:
                return message["result"]


def wait_for_row(path: Path, count_sql: str, expected: int | None, failure: str) -> None:
    """Poll ``count_sql`` until it gives ``expected`` (any row when None); bounded so a failure
    cannot hang."""
    for _ in range(600):
        count = sqlite_rows(path, count_sql)[0][0]
        if count == expected or (expected is None and count):
            return
        time.sleep(0.05)
    raise AssertionError(failure)


def test_a_gateway_killed_mid_call_frees_its_hold_on_the_next_start(
    sandbox, upstream, tmp_path: Path,
) -> None:
    from tool_support import server_env  # imports the MCP client, which the child process above skips

    config = tmp_path / "gatewise.json"
    config.write_text(json.dumps({"budgets": {"rules": [RULE.model_dump()]}}))
    env = {**server_env(sandbox.url, tmp_path / "data"), "GATEWISE_CONFIG": str(config)}
    ledger = tmp_path / "data" / "ledger.sqlite3"
    server = StdioServer(env)
    try:
        server.answer(server.send("initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                                                  "clientInfo": {"name": "t", "version": "0"}}))
        server.send("notifications/initialized", notify=True)
        call = {"name": "routed_complete",
                "arguments": {"prompt": "What is 2+2?", "model": CHEAP, "max_tokens": 40, "no_cache": True}}
        for _ in range(3):
            assert server.answer(server.send("tools/call", call))["isError"] is False
        # The answered calls' rows are committed within the ledger's 10 ms batch window: wait for
        # them, so the kill below tests a hold left behind, not the rows of that window.
        wait_for_row(ledger, "SELECT COUNT(*) FROM calls", 3, "the answered calls never reached the ledger")
        upstream.fault(CHEAP, timeout_rate=1.0)  # the next call hangs in the upstream
        server.send("tools/call", call)
        wait_for_row(ledger, "SELECT COUNT(*) FROM budget_reservations WHERE state = 'reserved'", None,
                     "the hanging call never reserved")
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait()
    finally:
        if server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait()
        server.proc.stdin.close()  # type: ignore[union-attr]
        server.proc.stdout.close()  # type: ignore[union-attr]

    doctor = subprocess.run([sys.executable, "-m", "gatewise.cli", "doctor"], capture_output=True,
                            text=True, timeout=120, env=env, stdin=subprocess.DEVNULL)
    assert doctor.returncode == 0, doctor.stdout
    assert sqlite_rows(ledger, "SELECT COUNT(*) FROM budget_reservations WHERE state = 'reserved'") == [(0,)]
    [(spent,)] = sqlite_rows(
        ledger, "SELECT TOTAL(cost_usd) FROM budget_reservations WHERE state = 'committed'")
    assert 0 < spent == pytest.approx(ledger_cost(ledger))
    # The hanging call held its own hold or a share of the server's spend lease; either way its
    # process is found gone and what it held is settled from the ledger.
    assert re.search(r"budgets: \d+ stale hold\(s\) released and \d+ charged from the ledger, left by 1 "
                     r"stopped process\(es\)", doctor.stdout), doctor.stdout
    assert "budget spend leases: 32 calls' worth of headroom each, settled every 2s" in doctor.stdout
