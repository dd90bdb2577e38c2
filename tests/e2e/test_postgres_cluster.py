"""Several OS processes on one PostgreSQL database, as several gateway instances would be: together
they never pass a block budget, each alert threshold fires once, and the holds of an instance
killed with SIGKILL are released (or charged from its ledger rows) by the others. A throwaway
database per test; skipped, saying why, when no server is reachable."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gatewise.config import load_settings
from gatewise.storage.backends import open_stores
from pg_support import Proxy, pg_rows, server_port, throwaway_database, with_password
from repo_paths import TESTS

LIMIT = 1.0
HOLD = 0.05  # so exactly 20 holds fit the budget
CONFIG = textwrap.dedent(f"""
    [budgets]
    alert_thresholds = [0.5, 0.8]
    [[budgets.rules]]
    scope = "global"
    window = "daily"
    limit_usd = {LIMIT}
    on_exceed = "block"
""")

# One instance: `count` concurrent calls, each holding HOLD, writing its ledger row and committing
# what it cost, all started at `start_at` so the instances race. Prints what it saw as JSON.
INSTANCE = textwrap.dedent("""
    import asyncio, json, os, sys, time
    sys.path.insert(0, sys.argv[4])
    from store_support import call_record
    from gatewise.config import load_settings
    from gatewise.errors import ErrorCode, GatewiseError
    from gatewise.storage.backends import open_stores

    async def main(tag, count, start_at):
        stores = await open_stores(load_settings())
        time.sleep(max(0.0, start_at - time.time()))
        alerts, blocked = [], 0

        async def call(i):
            nonlocal blocked
            rid = f"{tag}-{i}"
            try:
                held = await stores.budgets.reserve(["global"], %(hold)r, rid)
            except GatewiseError as exc:
                assert exc.code is ErrorCode.BUDGET_EXCEEDED, exc
                blocked += 1
                return
            await stores.ledger.record(call_record(request_id=rid, cost_usd=%(hold)r))
            result = await stores.budgets.commit(held, %(hold)r)
            alerts.extend(a.threshold for a in result.alerts)

        await asyncio.gather(*(call(i) for i in range(count)))
        await stores.budgets.close(); await stores.ledger.close(); await stores.database.close()
        print(json.dumps({"blocked": blocked, "alerts": alerts}))

    asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3])))
""") % {"hold": HOLD}

# An instance that holds one call's estimate, writes the ledger row of a second call, and then
# waits to be killed before either is settled.
VICTIM = textwrap.dedent("""
    import asyncio, sys
    sys.path.insert(0, sys.argv[1])
    from store_support import call_record
    from gatewise.config import load_settings
    from gatewise.storage.backends import open_stores

    async def main():
        stores = await open_stores(load_settings())
        await stores.budgets.reserve(["global"], 0.3, "never-ran")
        await stores.budgets.reserve(["global"], 0.4, "finished")
        await stores.ledger.record(call_record(request_id="finished", cost_usd=0.25))
        print("held", flush=True)
        await asyncio.sleep(600)

    asyncio.run(main())
""")


@pytest.fixture
def cluster_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    with throwaway_database() as url:
        config = tmp_path / "gatewise.toml"
        config.write_text(CONFIG)
        yield {"PATH": "/usr/bin:/bin", "GATEWISE_DATABASE_URL": url, "GATEWISE_CONFIG": str(config),
               "GATEWISE_DATA_DIR": str(tmp_path / "data")}


def test_three_instances_racing_never_pass_the_budget_and_alert_once(cluster_env: dict[str, str]) -> None:
    start_at = time.time() + 4  # after every instance has opened its pool
    instances = [subprocess.Popen([sys.executable, "-c", INSTANCE, tag, "30", str(start_at), str(TESTS)],
                                  env=cluster_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for tag in ("a", "b", "c")]
    outputs = []
    for proc in instances:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        outputs.append(json.loads(out))
    url = cluster_env["GATEWISE_DATABASE_URL"]
    [(committed, count)] = pg_rows(url, "SELECT SUM(cost_usd), COUNT(*) FROM budget_reservations"
                                        " WHERE state = 'committed'")
    assert count == LIMIT / HOLD and committed == pytest.approx(LIMIT)  # full, never over
    assert sum(o["blocked"] for o in outputs) == 90 - count
    assert pg_rows(url, "SELECT COUNT(*) FROM calls") == [(count,)]  # one ledger row per admitted call
    assert pg_rows(url, "SELECT COUNT(*) FROM budget_reservations WHERE state = 'reserved'") == [(0,)]
    # Each threshold once in the table, and announced by exactly one instance.
    assert pg_rows(url, "SELECT threshold FROM alerts ORDER BY threshold") == [(0.5,), (0.8,), (1.0,)]
    assert sorted(t for o in outputs for t in o["alerts"]) == [0.5, 0.8, 1.0]


async def test_a_killed_instance_holds_are_released_or_charged_by_another(
        cluster_env: dict[str, str]) -> None:
    victim = subprocess.Popen([sys.executable, "-c", VICTIM, str(TESTS)], env=cluster_env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert victim.stdout is not None and victim.stdout.readline() == "held\n", victim.stderr
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
    finally:
        if victim.poll() is None:
            victim.kill()
        victim.communicate()
    url = cluster_env["GATEWISE_DATABASE_URL"]
    assert pg_rows(url, "SELECT COUNT(*) FROM budget_reservations WHERE state = 'reserved'") == [(2,)]

    survivor = await open_stores(load_settings(cluster_env))  # start-up reconciles
    try:
        found = survivor.budgets.recovered
        assert (found.owners, found.charged, found.released) == (1, 1, 1)
        [status] = await survivor.budgets.status("global")
        assert (status.spent_usd, status.reserved_usd) == (0.25, 0.0)  # what the ledger shows
    finally:
        await survivor.budgets.close()
        await survivor.ledger.close()
        assert survivor.database is not None
        await survivor.database.close()


async def test_an_answer_one_gateway_paid_for_is_served_from_the_cache_by_another(
        cluster_env: dict[str, str]) -> None:
    from gatewise.gateway import CompletionRequest, RoutingGateway
    from gatewise.runtime import Runtime

    settings = load_settings({key: value for key, value in cluster_env.items() if key != "GATEWISE_CONFIG"})
    first = await Runtime.open(settings)
    try:
        second = await Runtime.open(settings)
        try:
            question = CompletionRequest(prompt="What is 2+2?")
            asked = await RoutingGateway.from_runtime(first).complete(question)
            again = await RoutingGateway.from_runtime(second).complete(question)
        finally:
            await second.close()
    finally:
        await first.close()
    assert (asked.cache_status, again.cache_status) == ("miss", "hit_exact")
    assert again.answer == asked.answer and again.cost_usd == 0.0
    url = cluster_env["GATEWISE_DATABASE_URL"]
    assert pg_rows(url, "SELECT cache_status FROM calls ORDER BY id") == [("miss",), ("hit_exact",)]


async def test_a_routed_call_fails_clearly_while_the_database_is_away(cluster_env: dict[str, str]) -> None:
    from gatewise.errors import ErrorCode, GatewiseError
    from gatewise.gateway import CompletionRequest, RoutingGateway
    from gatewise.runtime import Runtime

    url = cluster_env["GATEWISE_DATABASE_URL"]
    proxy = Proxy(server_port(url))
    await proxy.start()
    env = {**cluster_env, "GATEWISE_DATABASE_URL": with_password(url, "pw-of-the-db", proxy.port)}
    runtime = await Runtime.open(load_settings(env))
    try:
        gateway = RoutingGateway.from_runtime(runtime)
        await gateway.complete(CompletionRequest(prompt="Say hi", no_cache=True))
        await proxy.cut()
        with pytest.raises(GatewiseError) as caught:
            await gateway.complete(CompletionRequest(prompt="Say hi again", no_cache=True))
        assert caught.value.code is ErrorCode.STORAGE_UNAVAILABLE
        assert "pw-of-the-db" not in str(caught.value)
    finally:
        await proxy.start()  # so close() can settle this instance's holds
        await runtime.close()
        await proxy.cut()
