"""Several gateway instances on one PostgreSQL database. Three ``gatewise serve`` processes, each
with a data dir of its own, take 3 x 100 concurrent ``routed_complete`` calls over Streamable HTTP,
round-robin: together they never pass a block budget, each alert threshold fires once, an answer
one instance paid for is served from the shared cache by another, and when one is killed with
SIGKILL mid-run no acknowledged call is missing from the ledger and its holds are released by the
others. Smaller cases run as plain processes. A throwaway database per test; skipped, saying why,
when no server is reachable."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from gatewise.config import load_settings
from gatewise.storage.backends import open_stores
from pg_support import Proxy, free_port, pg_rows, server_port, throwaway_database, with_password
from repo_paths import TESTS
from tool_support import server_env

LIMIT = 1.0
CONFIG = textwrap.dedent(f"""
    [budgets]
    alert_thresholds = [0.5, 0.8]
    [[budgets.rules]]
    scope = "global"
    window = "daily"
    limit_usd = {LIMIT}
    on_exceed = "block"
""")

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


TOKEN = "cluster-" + "c" * 40
CALLS_EACH = 100
# Small enough that many of the 300 calls are refused: a sandbox call holds about $0.0005 (its
# worst case at max_tokens) and costs less.
CLUSTER_LIMIT = 0.03


def _serve_config() -> dict[str, Any]:
    return {
        # One caller sends 100 calls at once to each instance: its rate limit is not under test.
        "server": {"auth": {"burst": 4 * CALLS_EACH, "rate_per_minute": 100_000,
                            "tokens": [{"name": "ops",
                                        "sha256": hashlib.sha256(TOKEN.encode()).hexdigest()}]}},
        # 300 calls at once on a busy 2-core machine queue for the one global spend row: waits of
        # several seconds are expected here, and are not what this test is about.
        "storage": {"pool_max_size": 20, "connect_timeout_s": 30, "statement_timeout_ms": 30000},
        # Crashed instances are noticed within a second (same host: by their pid).
        # Both thresholds sit well below where refusals start (holds are worst cases, about twice
        # what a call costs, and 300 calls race for them): seen as low as 39 % committed.
        "budgets": {"alert_thresholds": [0.2, 0.3], "reconcile_interval_s": 1, "owner_lease_s": 5,
                    "rules": [{"scope": "global", "window": "daily", "limit_usd": CLUSTER_LIMIT,
                               "on_exceed": "block"}]},
    }


def _start_all(stack: ExitStack, root: Path, env: dict[str, str], names: list[str]) -> dict[str, Any]:
    """``gatewise serve`` per name, each with its own data dir and port, all started before any is
    waited for; name → (process, base URL)."""
    config = root / "serve.json"
    config.write_text(json.dumps(_serve_config()))
    started = {}
    for name in names:
        port = free_port()
        log = stack.enter_context((root / f"{name}.log").open("wb"))
        proc = subprocess.Popen([sys.executable, "-m", "gatewise.cli", "serve", "--port", str(port)],
                                env={**env, "GATEWISE_DATA_DIR": str(root / name),
                                     "GATEWISE_CONFIG": str(config),
                                     "GATEWISE_AUDIT_KEY_FILE": str(root / "audit.key")},
                                stdout=subprocess.DEVNULL, stderr=log)
        stack.callback(_stop, proc)
        started[name] = (proc, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 60
    for name, (proc, base) in started.items():
        while True:
            assert proc.poll() is None, (root / f"{name}.log").read_text()
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"{name} did not become ready"
            time.sleep(0.2)
    return started


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=15)


@asynccontextmanager
async def _client(base: str) -> AsyncIterator[Client]:
    limits = httpx2.Limits(max_connections=CALLS_EACH + 10)
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60,
                                  limits=limits) as http, \
            Client(streamable_http_client(f"{base}/routing-gateway/mcp", http_client=http)) as client:
        yield client


async def _ask(client: Client, prompt: str, **options: Any) -> dict[str, Any] | str:
    """The call's structured result, or its error text."""
    result = await client.call_tool("routed_complete", {"prompt": prompt, "max_tokens": 16, **options})
    if result.is_error:
        return result.content[0].text  # type: ignore[union-attr]
    assert result.structured_content is not None
    return result.structured_content


async def _wait_for(url: str, sql: str, want: list[tuple[object, ...]], timeout_s: float = 60) -> list[Any]:
    deadline = time.monotonic() + timeout_s
    while (rows := pg_rows(url, sql)) != want and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    return rows


async def test_three_served_instances_share_one_budget_one_ledger_and_one_cache(
        sandbox: Any, tmp_path: Path) -> None:
    with throwaway_database() as url, ExitStack() as stack:
        env = {**server_env(sandbox.url, tmp_path), "GATEWISE_DATABASE_URL": url}
        served = _start_all(stack, tmp_path, env, ["a", "b", "c"])
        (_, a), (victim, b), (_, c) = served["a"], served["b"], served["c"]
        async with _client(a) as on_a, _client(c) as on_c:
            # An answer instance a paid for is served by instance c from the shared exact cache.
            paid = await _ask(on_a, "What is the capital of France?")
            again = await _ask(on_c, "What is the capital of France?")
        assert isinstance(paid, dict) and isinstance(again, dict), (paid, again)
        assert (paid["cache_status"], again["cache_status"]) == ("miss", "hit_exact")
        assert again["answer"] == paid["answer"] and again["cost_usd"] == 0.0

        # 3 x 100 calls at once, round-robin; instance b is killed once it has answered three (or,
        # when the others spent the budget first, once it has returned all of its calls).
        answered: dict[int, dict[str, Any] | str] = {}
        b_answered = asyncio.Event()

        async def instance(base: str, first: int) -> None:
            async def call(i: int) -> None:
                answered[i] = await _ask(client, f"Question {i}: what is {i} plus {i}?", no_cache=True)
                on_b = [answered[j] for j in answered if j % 3 == 1]
                if sum(isinstance(o, dict) for o in on_b) >= 3 or len(on_b) == CALLS_EACH:
                    b_answered.set()

            try:
                async with _client(base) as client:
                    await asyncio.gather(*(call(i) for i in range(first, 3 * CALLS_EACH, 3)))
            except Exception:  # its connection was cut: the calls it never answered are lost
                if base != b:
                    raise

        running = asyncio.gather(*(instance(base, first) for first, base in enumerate((a, b, c))))
        await asyncio.wait_for(b_answered.wait(), 240)
        victim.send_signal(signal.SIGKILL)
        await running
        outcomes = list(answered.values())
        lost = 3 * CALLS_EACH - len(outcomes)

        acknowledged = [o for o in outcomes if isinstance(o, dict)]
        refused = [o for o in outcomes if isinstance(o, str)]
        assert all("BUDGET_EXCEEDED" in text for text in refused), {t[:200] for t in refused}
        assert refused and len(acknowledged) >= 3 and lost <= CALLS_EACH
        # Every answered call is in the shared ledger, once per attempt; the killed instance may
        # have written rows for calls it never answered, but no more than it was sent.
        # no attempts listed: the one that answered
        attempts = {o["request_id"]: len(o["attempts"]) if "attempts" in o else 1 for o in acknowledged}
        assert dict(pg_rows(url, "SELECT request_id, COUNT(*) FROM calls WHERE request_id = ANY(%s)"
                                 " GROUP BY 1", (list(attempts),))) == attempts
        assert pg_rows(url, "SELECT request_id, attempt FROM calls GROUP BY 1, 2 HAVING COUNT(*) > 1") == []
        [(answered_elsewhere,)] = pg_rows(url, "SELECT COUNT(DISTINCT request_id) FROM calls"
                                               " WHERE NOT request_id = ANY(%s)", (list(attempts),))
        assert answered_elsewhere <= 2 + lost  # the cached question's two calls and b's unanswered
        # The killed instance's holds are settled by the others (charged or released) ...
        assert await _wait_for(url, "SELECT COUNT(*) FROM budget_reservations WHERE state = 'reserved'",
                               [(0,)]) == [(0,)]
        # ... and spend never passed the budget, whoever admitted the calls.
        [(committed, spent)] = pg_rows(
            url, "SELECT s.committed_usd::float8, (SELECT SUM(cost_usd) FROM calls) FROM budget_spend s"
                 " WHERE s.scope = 'global' AND s.\"window\" = 'daily'")
        assert spent <= committed + 1e-9 <= CLUSTER_LIMIT + 1e-9
        # It came close (holds are worst cases, about twice what a call costs, so refusals start
        # well before the last cent): both
        # thresholds were crossed, and each alert was raised once however many instances crossed it.
        assert committed >= 0.3 * CLUSTER_LIMIT
        thresholds = pg_rows(url, "SELECT threshold, COUNT(*) FROM alerts GROUP BY 1 ORDER BY 1")
        assert [row for row in thresholds if row[0] < 1] == [(0.2, 1), (0.3, 1)]


@pytest.fixture
def cluster_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    with throwaway_database() as url:
        config = tmp_path / "gatewise.toml"
        config.write_text(CONFIG)
        yield {"PATH": "/usr/bin:/bin", "GATEWISE_DATABASE_URL": url, "GATEWISE_CONFIG": str(config),
               "GATEWISE_DATA_DIR": str(tmp_path / "data")}


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
        # The caller is told the storage is unavailable, never where it is.
        for where in ("pw-of-the-db", "postgres@", "127.0.0.1", str(proxy.port), url.rsplit("/", 1)[1]):
            assert where not in str(caught.value)
    finally:
        await proxy.start()  # so close() can settle this instance's holds
        await runtime.close()
        await proxy.cut()


async def test_under_fail_open_calls_go_ahead_while_the_database_is_away_and_their_rows_come_after(
        cluster_env: dict[str, str]) -> None:
    from gatewise.gateway import CompletionRequest, RoutingGateway
    from gatewise.runtime import Runtime
    from gatewise.storage.outage import FAIL_OPEN_NOTE

    url = cluster_env["GATEWISE_DATABASE_URL"]
    proxy = Proxy(server_port(url))
    await proxy.start()
    via = with_password(url, "pw-of-the-db", proxy.port)
    # Every call holds its own budget (no lease), so every call needs the database.
    settings = load_settings({**cluster_env, "GATEWISE_DATABASE_URL": via},
                             storage={"url": via, "connect_timeout_s": 1, "on_unavailable": "fail_open"},
                             budgets={"spend_lease_calls": 0, "rules": [
                                 {"scope": "global", "window": "daily", "limit_usd": LIMIT,
                                  "on_exceed": "block"}]})
    runtime = await Runtime.open(settings)
    try:
        gateway = RoutingGateway.from_runtime(runtime)
        before = await gateway.complete(CompletionRequest(prompt="Say hi"))
        assert FAIL_OPEN_NOTE not in before.warnings
        await proxy.cut()
        away = [await gateway.complete(CompletionRequest(prompt="Say hi")),  # cached, but the cache is away
                await gateway.complete(CompletionRequest(prompt="Say hi again", no_cache=True))]
        for result in away:
            assert FAIL_OPEN_NOTE in result.warnings and result.cost_usd > 0
        assert away[0].cache_status == "miss"
        ids = [result.request_id for result in away]
        count = "SELECT COUNT(*) FROM calls WHERE request_id = ANY(%s)"
        assert pg_rows(url, count, (ids,)) == [(0,)]  # kept in memory meanwhile
        await proxy.start()
        deadline = time.monotonic() + 20
        while pg_rows(url, count, (ids,)) != [(2,)] and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert pg_rows(url, count, (ids,)) == [(2,)]  # each written once
        after = await gateway.complete(CompletionRequest(prompt="Say hi once more", no_cache=True))
        assert FAIL_OPEN_NOTE not in after.warnings
        assert pg_rows(url, "SELECT COUNT(*) FROM budget_reservations WHERE request_id = %s",
                       (after.request_id,)) == [(1,)]  # budgets are held again
    finally:
        await runtime.close()
        await proxy.cut()


async def test_a_stalled_database_fails_a_served_call_within_seconds_and_readyz_says_so(
        sandbox: Any, tmp_path: Path) -> None:
    """The database's host freezes: connections stay open, nothing is answered. A served call
    fails with STORAGE_UNAVAILABLE within its bound instead of hanging; /readyz turns 503."""
    with throwaway_database() as url, ExitStack() as stack:
        proxy = Proxy(server_port(url))
        await proxy.start()
        try:
            config = tmp_path / "serve.json"
            # Each exchange with the database is bounded at 0.5 + 2 s; /readyz waits 1 s.
            config.write_text(json.dumps({"server": {"ready_timeout_s": 1},
                                          "storage": {"statement_timeout_ms": 500, "connect_timeout_s": 1}}))
            port = free_port()
            log = tmp_path / "serve.log"
            env = {**server_env(sandbox.url, tmp_path / "data"), "GATEWISE_CONFIG": str(config),
                   "GATEWISE_DATABASE_URL": with_password(url, "pw-of-the-db", proxy.port)}
            proc = subprocess.Popen([sys.executable, "-m", "gatewise.cli", "serve", "--port", str(port)],
                                    env=env, stdout=subprocess.DEVNULL,
                                    stderr=stack.enter_context(log.open("wb")))
            stack.callback(_stop, proc)
            base = f"http://127.0.0.1:{port}"
            async with httpx.AsyncClient(timeout=30) as http:
                deadline = time.monotonic() + 60
                while True:  # the proxy runs on this loop: wait without blocking it
                    assert proc.poll() is None, log.read_text()
                    with contextlib.suppress(httpx.HTTPError):
                        if (await http.get(f"{base}/readyz")).status_code == 200:
                            break
                    assert time.monotonic() < deadline, "gatewise serve did not become ready"
                    await asyncio.sleep(0.2)
                async with _client(base) as client:
                    assert isinstance(await _ask(client, "Say hi", no_cache=True), dict)
                    proxy.freeze()
                    started = time.monotonic()
                    failed = await _ask(client, "Say hi again", no_cache=True)
                    took = time.monotonic() - started
                assert isinstance(failed, str) and "STORAGE_UNAVAILABLE" in failed
                assert "no answer within 2.5 s" in failed
                assert "postgres@" not in failed and str(proxy.port) not in failed  # where is for the log
                assert took < 2 * 2.5 + 2, took  # a hold and a ledger row at most, each bounded
                started = time.monotonic()
                ready = await http.get(f"{base}/readyz")
                assert (ready.status_code, ready.json()) == (503, {"status": "storage_unavailable"})
                assert time.monotonic() - started < 1 + 1.5
                assert (await http.get(f"{base}/healthz")).status_code == 200
            proxy.frozen = False
            text = log.read_text()
            assert "pw-of-the-db" not in text and "Traceback" not in text
            assert "readiness: PostgreSQL at postgresql://postgres@127.0.0.1" in text
        finally:
            await proxy.cut()  # its socket and the frozen links, not left to the collector
