"""What only the PostgreSQL backend has: migrations under an advisory lock, a server that is
unreachable at start-up or lost while running, and a password that never shows. Each test runs
on a throwaway database; the file skips, saying why, when no server is reachable."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from gatewise.config import StorageConfig, load_settings
from gatewise.errors import ErrorCode, GatewiseError
from gatewise.ledger.store import LedgerError
from gatewise.redact import RedactingFilter
from gatewise.storage.backends import open_stores
from gatewise.storage.dsn import describe_dsn
from gatewise.storage.outage import FAIL_OPEN_NOTE, StorageUnavailable
from gatewise.storage.postgres.database import Database
from gatewise.storage.postgres.schema import SCHEMA_VERSION, migrate
from pg_support import (
    Proxy,
    free_port,
    pg_rows,
    require_postgres,
    server_port,
    throwaway_database,
    with_password,
)
from store_support import FakeClock, call_record

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def url() -> Iterator[str]:
    with throwaway_database() as made:
        yield made


def storage(url: str, **kw: object) -> StorageConfig:
    return StorageConfig.model_validate({"url": url, "connect_timeout_s": 2, **kw})


async def close_all(*opened: Any) -> None:
    """Close each in the order given: the stores before the pools they draw on."""
    for thing in opened:
        await thing.close()


# --- migrations ------------------------------------------------------------------------------------


async def test_instances_starting_together_migrate_once(url: str) -> None:
    opened = await asyncio.gather(*(Database.open(storage(url)) for _ in range(6)))
    await close_all(*opened)
    versions = pg_rows(url, "SELECT version FROM schema_migrations ORDER BY version")
    assert versions == [(v,) for v in range(1, SCHEMA_VERSION + 1)]
    tables = {row[0] for row in pg_rows(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert {"calls", "budgets", "budget_reservations", "budget_spend", "alerts", "budget_owners",
            "guardrail_events"} <= tables


async def test_a_database_at_the_previous_version_is_migrated_with_its_rows(url: str,
                                                                             tmp_path: Path) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        assert await migrate(conn, upto=SCHEMA_VERSION - 1) == SCHEMA_VERSION - 1
        await conn.execute(
            "INSERT INTO calls (ts, server, tool, provider, model, tokens_in, tokens_out, cost_usd,"
            " latency_ms, status, cache_status, route_reason, request_id, attempt)"
            " VALUES (1, 's', 't', 'p', 'm', 1, 2, 0.5, 10, 'ok', 'miss', 'r', 'old-call', 0)")
        await conn.execute(  # an alert of the release before alerts fired once per limit
            'INSERT INTO alerts (ts, scope, "window", window_key, threshold, spent_usd, limit_usd, message,'
            " delivered) VALUES (1, 'global', 'daily', '1970-01-01', 0.8, 0.85, 1.0, 'old', 'delivered')")
    settings = load_settings({"GATEWISE_DATABASE_URL": url, "GATEWISE_DATA_DIR": str(tmp_path)})
    stores = await open_stores(settings)
    try:
        [old] = await stores.ledger.recent(1)
        assert (old.request_id, old.cost_usd, old.request_hash, old.caller) == ("old-call", 0.5, None, None)
        await stores.ledger.record(call_record(request_id="new-call", caller="ci", ts=2.0))
        assert pg_rows(url, "SELECT request_id, caller FROM calls ORDER BY ts") == [
            ("old-call", None), ("new-call", "ci")]
        [alert] = await stores.budgets.alerts()
        assert (alert.scope, alert.threshold, alert.limit_usd, alert.message) == ("global", 0.8, 1.0, "old")
        unique = pg_rows(url, "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
                              " WHERE conrelid = 'alerts'::regclass AND contype = 'u'")
        assert unique == [('UNIQUE (scope, "window", window_key, threshold, limit_usd)',)]
    finally:
        await stores.budgets.close()
        await stores.ledger.close()
        assert stores.database is not None
        await stores.database.close()
    assert pg_rows(url, "SELECT MAX(version) FROM schema_migrations") == [(SCHEMA_VERSION,)]


async def test_a_newer_schema_is_refused(url: str) -> None:
    await (await Database.open(storage(url))).close()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES (%s, 0)", [SCHEMA_VERSION + 1])
    with pytest.raises(LedgerError, match=f"schema version {SCHEMA_VERSION + 1}"):
        await Database.open(storage(url))


# --- an unreachable server, and the password -------------------------------------------------------


async def test_an_unreachable_server_is_named_to_the_operator_never_to_callers() -> None:
    port = free_port()
    dead = f"postgresql://bob:{PASSWORD}@127.0.0.1:{port}/gw"
    with pytest.raises(StorageUnavailable) as caught:
        await open_stores(load_settings({"GATEWISE_DATABASE_URL": dead, "GATEWISE_DATA_DIR": "/nonexistent"}))
    assert caught.value.code is ErrorCode.STORAGE_UNAVAILABLE
    # What a caller is shown: no user, host, port or database name.
    assert caught.value.message == "the shared database is unavailable: the connection failed or was lost"
    for where in ("bob", "127.0.0.1", str(port), "/gw", PASSWORD):
        assert where not in str(caught.value)
    # What the operator is shown (start-up, migrate, doctor, the log): which database and why.
    detail = caught.value.detail
    assert detail.startswith(f"PostgreSQL at postgresql://bob@127.0.0.1:{port}/gw is unavailable: ")
    assert "refused" in detail and PASSWORD not in detail and "\n" not in detail


def test_gatewise_migrate_says_which_backend_and_exits_2_when_it_cannot(tmp_path: object) -> None:
    require_postgres()
    port = free_port()
    env = {"PATH": "/usr/bin:/bin", "GATEWISE_DATA_DIR": str(tmp_path),
           "GATEWISE_DATABASE_URL": f"postgresql://bob:{PASSWORD}@127.0.0.1:{port}/gw"}
    done = subprocess.run([sys.executable, "-m", "gatewise.cli", "migrate"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and PASSWORD not in done.stderr
    assert done.stderr.startswith(f"gatewise migrate: PostgreSQL at postgresql://bob@127.0.0.1:{port}/gw "
                                  "is unavailable: ")
    with throwaway_database() as url:
        env["GATEWISE_DATABASE_URL"] = with_password(url, PASSWORD)
        done = subprocess.run([sys.executable, "-m", "gatewise.cli", "migrate"], env=env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert f"is at schema version {SCHEMA_VERSION}" in done.stderr and PASSWORD not in done.stderr


def test_a_bad_database_url_is_a_config_error_that_does_not_echo_it() -> None:
    with pytest.raises(GatewiseError) as caught:
        load_settings({"GATEWISE_DATABASE_URL": f"mysql://bob:{PASSWORD}@db/gw"})
    assert caught.value.code is ErrorCode.CONFIG_ERROR
    assert "storage.url" in caught.value.message and PASSWORD not in caught.value.message


def test_the_password_is_scrubbed_from_log_lines(caplog: pytest.LogCaptureFixture) -> None:
    settings = load_settings({"GATEWISE_DATABASE_URL": f"postgresql://bob:{PASSWORD}@db:5432/gw"})
    assert PASSWORD in settings.secrets
    record = logging.LogRecord("t", logging.WARNING, __file__, 1, "connecting to %s", (
        f"postgresql://bob:{PASSWORD}@db:5432/gw",), None)
    RedactingFilter(settings.secrets).filter(record)
    assert PASSWORD not in record.getMessage()


# --- lost while running ------------------------------------------------------------------------------


@pytest.fixture
async def proxied(url: str) -> AsyncIterator[tuple[Proxy, str]]:
    proxy = Proxy(server_port(url))
    await proxy.start()
    yield proxy, with_password(url, PASSWORD, proxy.port)
    with contextlib.suppress(Exception):
        await proxy.cut()


@pytest.mark.parametrize("mode", ["fail_closed", "fail_open"])
async def test_a_lost_database_fails_calls_clearly_then_they_recover(
        proxied: tuple[Proxy, str], mode: str, tmp_path: Path) -> None:
    proxy, via = proxied
    # Every call holds on its own (no lease), so each one needs the database.
    settings = load_settings({"GATEWISE_DATABASE_URL": via, "GATEWISE_DATA_DIR": str(tmp_path)},
                             storage={"url": via, "connect_timeout_s": 1, "on_unavailable": mode},
                             budgets={"spend_lease_calls": 0})
    stores = await open_stores(settings)
    budgets = stores.budgets
    try:
        held = await budgets.reserve(["global"], 0.1, "before")
        await budgets.commit(held, 0.1)
        await proxy.cut()
        if mode == "fail_closed":
            with pytest.raises(GatewiseError) as caught:
                await budgets.reserve(["global"], 0.1, "during")
            assert caught.value.code is ErrorCode.STORAGE_UNAVAILABLE
            assert PASSWORD not in str(caught.value)
        else:
            during = await budgets.reserve(["global"], 0.1, "during")
            assert (during.verdict, during.ids, during.warnings) == ("ok", (), (FAIL_OPEN_NOTE,))
            assert (await budgets.commit(during, 0.1)).alerts == ()
        with pytest.raises(GatewiseError, match="STORAGE_UNAVAILABLE"):
            await stores.ledger.count()
        await proxy.start()  # the server is back: the pool reconnects by itself

        async def held() -> None:  # fails, or under fail_open goes ahead unheld, until then
            nonlocal after
            after = await budgets.reserve(["global"], 0.1, "after")
            if not after.ids:
                raise GatewiseError(ErrorCode.STORAGE_UNAVAILABLE, "not held")

        after = None
        await seconds_until_it_succeeds(held)
        assert after is not None and after.verdict == "ok" and after.ids
    finally:
        await budgets.close()
        await stores.ledger.close()
        assert stores.database is not None
        await stores.database.close()


async def test_a_stalled_database_fails_each_call_within_its_bound_and_is_not_pooled_again(
        proxied: tuple[Proxy, str], tmp_path: Path) -> None:
    proxy, via = proxied
    # A statement is bounded at 0.1 s on the server, so a call waits at most 2.1 s for an answer.
    settings = load_settings({"GATEWISE_DATABASE_URL": via, "GATEWISE_DATA_DIR": str(tmp_path)},
                             storage={"url": via, "connect_timeout_s": 1, "statement_timeout_ms": 100,
                                      "pool_min_size": 1, "pool_max_size": 2},
                             budgets={"spend_lease_calls": 0})
    stores = await open_stores(settings)
    db = stores.database
    assert db is not None and db.config.answer_within_s == pytest.approx(2.1)
    try:
        assert await stores.ledger.count() == 0
        proxy.freeze()  # connections stay open, every byte is acknowledged, nothing is answered
        messages = []
        for attempt in (lambda: stores.ledger.count(), lambda: stores.budgets.reserve(["global"], 0.1, "r")):
            started = time.monotonic()
            with pytest.raises(GatewiseError) as caught:
                await attempt()
            waited = time.monotonic() - started
            assert caught.value.code is ErrorCode.STORAGE_UNAVAILABLE and waited < 2.1 + 1.5, waited
            assert PASSWORD not in str(caught.value)
            messages.append(caught.value.message.split(": ", 1)[1])
        assert messages == ["no answer within 2.1 s"] * 2  # each pooled connection, cut after 2.1 s
        assert db.pool.get_stats().get("returns_bad", 0) >= 1  # the stalled connection was dropped
        proxy.frozen = False  # the server answers again: new connections work, no stalled one is reused
        for _ in range(50):
            try:
                assert await stores.ledger.count() == 0
                break
            except GatewiseError:
                await asyncio.sleep(0.1)
        else:
            pytest.fail("the pool did not reconnect")
    finally:
        proxy.frozen = False
        await close_all(stores.budgets, stores.ledger, db)


async def seconds_until_it_succeeds(attempt: Callable[[], Awaitable[object]], within_s: float = 10) -> float:
    """How long ``attempt`` kept failing with a GatewiseError (tried every 0.1 s) before it succeeded."""
    started = time.monotonic()
    while True:
        try:
            await attempt()
            return time.monotonic() - started
        except GatewiseError:
            assert time.monotonic() - started < within_s, "it never succeeded"
            await asyncio.sleep(0.1)


async def test_under_fail_open_ledger_rows_wait_for_the_database_up_to_a_bound_and_are_written_once(
        url: str, proxied: tuple[Proxy, str], caplog: pytest.LogCaptureFixture) -> None:
    from gatewise.storage.postgres.ledger import PostgresLedger

    proxy, via = proxied
    db = await Database.open(storage(via, on_unavailable="fail_open", spool_max_rows=4))
    ledger = PostgresLedger(db)
    try:
        written = call_record(request_id="written")
        await ledger.record(written)
        # A write whose answer was lost may have committed: kept, it is not written twice.
        ledger.spool.keep([written])
        await proxy.cut()
        # Each caller is told its row is recorded; three of them fit beside the one kept.
        await asyncio.gather(*(ledger.record(call_record(request_id=f"away-{i}")) for i in range(5)))
        assert db.down is not None and len(ledger.spool.rows) == 4
        await proxy.start()
        deadline = time.monotonic() + 15
        while pg_rows(url, "SELECT COUNT(*) FROM calls") != [(4,)] and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.2)  # nothing more comes
        assert sorted(r[0] for r in pg_rows(url, "SELECT request_id FROM calls")) == [
            "away-0", "away-1", "away-2", "written"]
        assert db.down is None
        logged = [r.getMessage() for r in caplog.records]
        assert any(m.endswith("answers again: 4 kept row(s) written, 2 dropped while it was away")
                   for m in logged), logged
        assert not any(PASSWORD in m for m in logged)
    finally:
        await close_all(ledger, db)


async def test_a_connection_the_server_closed_while_pooled_is_not_handed_out(
        proxied: tuple[Proxy, str]) -> None:
    proxy, via = proxied
    db = await Database.open(storage(via, pool_min_size=3, pool_max_size=3))
    try:
        async def busy() -> None:
            async with db.connection() as conn:
                await conn.execute("SELECT pg_sleep(0.2)")

        await asyncio.gather(busy(), busy(), busy())  # three connections now wait in the pool
        await proxy.cut()  # the server's side of each is closed
        await proxy.start()
        await asyncio.sleep(0.2)
        await db.ping(5)  # the first use after the outage answers: the closed ones were set aside
        assert db.pool.get_stats().get("returns_bad", 0) >= 1
    finally:
        await db.close()


async def test_the_pool_reconnects_within_a_second_or_two_however_long_the_outage(
        proxied: tuple[Proxy, str]) -> None:
    proxy, via = proxied
    db = await Database.open(storage(via, pool_min_size=1, pool_max_size=2))
    try:
        await db.ping(5)
        await proxy.cut()
        outage_ends = time.monotonic() + 9  # long enough for a doubling backoff to reach 8 s
        while time.monotonic() < outage_ends:  # probed meanwhile, as /readyz is
            with contextlib.suppress(GatewiseError):
                await db.ping(0.5)
            await asyncio.sleep(0.5)
        await proxy.start()
        assert await seconds_until_it_succeeds(lambda: db.ping(0.5)) < 2.5
    finally:
        await db.close()


async def test_connections_come_back_to_the_pool_when_callers_are_cancelled(
        proxied: tuple[Proxy, str]) -> None:
    import anyio

    proxy, via = proxied
    db = await Database.open(storage(via, pool_max_size=3, statement_timeout_ms=500))

    async def hold(in_transaction: bool) -> None:
        async with db.connection() as conn:
            if in_transaction:
                async with conn.transaction():
                    await conn.execute("SELECT pg_sleep(0.3)")
            else:
                await conn.execute("SELECT pg_sleep(0.3)")

    async def cancelled_soon(i: int) -> None:
        # Cancelled again at every wait until it ends (anyio, as the MCP server cancels a request).
        with anyio.move_on_after(0.05 * (i % 8)), contextlib.suppress(GatewiseError):
            await hold(i % 2 == 0)

    try:
        for frozen in (False, True, False):
            proxy.frozen = frozen
            async with anyio.create_task_group() as group:
                for i in range(24):
                    group.start_soon(cancelled_soon, i)
        # Every connection at once.
        await seconds_until_it_succeeds(lambda: asyncio.gather(hold(False), hold(False), hold(False)))
    finally:
        proxy.frozen = False
        await db.close()


# --- spend leases on shared budgets ---------------------------------------------------------------


async def test_a_lease_admits_many_calls_with_one_hold_every_instance_sees(url: str) -> None:
    from gatewise.config import BudgetRule, BudgetsConfig
    from gatewise.storage.postgres.budgets import PostgresBudgets

    rule = BudgetRule(scope="global", window="daily", limit_usd=10, on_exceed="block")
    config = BudgetsConfig(rules=[rule], alert_thresholds=[0.8], spend_lease_calls=8, spend_lease_s=30)
    first, second = await Database.open(storage(url)), await Database.open(storage(url))
    a, b = await PostgresBudgets.open(first, config), await PostgresBudgets.open(second, config)
    try:
        held = [await a.reserve(["global"], 0.1, f"call-{i}") for i in range(8)]
        assert all(h.lease_id is not None and h.verdict == "ok" for h in held)
        assert pg_rows(url, "SELECT COUNT(*), SUM(reserved_usd) FROM budget_reservations") == [(1, 0.8)]
        [seen] = await b.status("global")
        assert seen.reserved_usd == pytest.approx(0.8)  # a's lease counts against every instance
        for h in held[:6]:
            assert not (await a.commit(h, 0.05)).settled_before
        assert (await a.commit(held[0], 0.05)).settled_before  # idempotent
        ninth = await a.reserve(["global"], 0.5, "call-8")  # past what is left: another lease is taken
        assert ninth.lease_id not in (None, held[0].lease_id)
        assert await a.release(held[6]) and not await a.release(held[6])
        await a.commit(held[7], 0.05)
        await a.commit(ninth, 0.05)
        [status] = await a.status("global")  # gives the leases back, charged what their calls cost
        assert (status.spent_usd, status.reserved_usd) == (pytest.approx(0.4), 0.0)

        # Near an alert threshold a lease would cross, calls hold one by one again.
        await a.set_budget(BudgetRule(scope="global", window="daily", limit_usd=1.0, on_exceed="block"))
        near = await b.reserve(["global"], 0.1, "near")
        assert near.lease_id is None and near.ids
        await b.commit(near, 0.1)
    finally:
        await close_all(a, b, first, second)


async def test_a_crashed_instances_lease_is_charged_what_the_ledger_shows(url: str) -> None:
    from gatewise.config import BudgetsConfig
    from gatewise.ledger.owners import this_process
    from gatewise.storage.postgres.budgets import PostgresBudgets
    from gatewise.storage.postgres.ledger import PostgresLedger

    db = await Database.open(storage(url))
    dead = this_process()
    try:
        with psycopg.connect(url, autocommit=True) as conn:  # a lease of a process that is gone
            conn.execute("INSERT INTO budget_owners VALUES (%s, %s, 999999, 'gone', 0)", [dead.id, dead.host])
            conn.execute(
                "INSERT INTO budget_spend VALUES"
                " ('global', 'daily', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD'), 0, 0.8),"
                " ('global', 'monthly', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM'), 0, 0.8)")
            conn.execute(
                "INSERT INTO budget_reservations (request_id, scope, day_key, month_key, reserved_usd, state,"
                " created_at, owner) VALUES ('lease-dead', 'global', to_char(now() AT TIME ZONE 'UTC',"
                " 'YYYY-MM-DD'), to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM'), 0.8, 'reserved', %s, %s)",
                [time.time() - 5, dead.id])
        ledger = PostgresLedger(db)
        await ledger.record_many([call_record(request_id=f"leased-{i}", cost_usd=0.05) for i in range(3)])
        await ledger.record(call_record(request_id="before", cost_usd=1.0, ts=time.time() - 60))
        survivor = await PostgresBudgets.open(db, BudgetsConfig())  # start-up reconciles
        try:
            assert (survivor.recovered.owners, survivor.recovered.charged) == (1, 1)
            assert pg_rows(url, "SELECT state, cost_usd FROM budget_reservations") == [
                ("committed", pytest.approx(0.15))]
            assert pg_rows(url, "SELECT committed_usd::float8, held_usd::float8 FROM budget_spend") == [
                (pytest.approx(0.15), 0.0)] * 2
        finally:
            await survivor.close()
            await ledger.close()
    finally:
        await db.close()


# --- the exact cache, shared -------------------------------------------------------------------------


async def test_an_answer_cached_by_one_instance_is_served_by_another(url: str) -> None:
    from gatewise.storage.postgres.response_cache import PostgresResponseCache

    first, second = await Database.open(storage(url)), await Database.open(storage(url))
    clock = FakeClock(1000.0)
    a = PostgresResponseCache(first, ttl_s=60, max_bytes=400, clock=clock)
    c = PostgresResponseCache(second, ttl_s=60, max_bytes=400, clock=clock)
    try:
        assert await c.lookup("k1") == ("miss", None)
        await a.put("k1", {"answer": "from A"}, namespace="routed_complete", project="p")
        status, hit = await c.lookup("k1")
        assert status == "hit_exact" and hit is not None and hit.value == {"answer": "from A"}
        assert await c.lookup("k1", no_cache=True) == ("bypass", None)
        assert await c.get("k1", max_age_s=0.5) is not None
        clock.advance(1)
        assert await c.get("k1", max_age_s=0.5) is None  # older than the caller accepts

        for i in range(2, 12):  # 55 bytes each: the least recently used go once 400 is passed
            clock.advance(1)
            await a.put(f"k{i}", {"answer": "x" * 40})
        stats = await c.stats()
        assert stats.bytes <= 400 and stats.entries == 7
        assert await c.get("k11") is not None
        assert await c.get("k1") is None and await c.get("k2") is None
        clock.advance(61)
        assert await c.get("k11") is None  # expired
        assert (await a.stats()).entries == 0
        await a.put("big", {"answer": "y" * 500})  # could never fit: not stored
        assert await c.get("big") is None
    finally:
        await close_all(first, second)


async def test_entries_last_used_together_are_evicted_oldest_stored_first(url: str) -> None:
    from gatewise.storage.postgres.response_cache import PostgresResponseCache

    db = await Database.open(storage(url))
    clock = FakeClock(1000.0)
    roomy = PostgresResponseCache(db, ttl_s=60, max_bytes=10**6, clock=clock)
    tight = PostgresResponseCache(db, ttl_s=60, max_bytes=10**6, clock=clock)
    try:
        for key in ("k1", "k2"):
            clock.advance(1)
            await roomy.put(key, {"answer": key})
        clock.advance(1)
        for key in ("k2", "k1"):  # both last used at the same instant
            assert await roomy.get(key) is not None
        [(size,)] = pg_rows(url, "SELECT MAX(size) FROM cache_entries")
        assert isinstance(size, int)
        tight.max_bytes = 2 * size + 1  # room for two of the three
        await tight.put("k3", {"answer": "k3"})
        assert pg_rows(url, "SELECT key FROM cache_entries ORDER BY key") == [("k2",), ("k3",)]
    finally:
        await close_all(roomy, tight, db)


# --- the semantic cache, shared ----------------------------------------------------------------------


async def test_a_semantic_answer_stored_by_one_instance_is_served_by_another(url: str) -> None:
    from gatewise.cache.embedders import HashEmbedder
    from gatewise.cache.semantic import Scope
    from gatewise.storage.postgres.semantic_cache import PostgresSemanticCache

    scope = Scope("routing-gateway:routed_complete", ("simple_queries",), {"temperature": 0}, [], "p")
    first, second = await Database.open(storage(url)), await Database.open(storage(url))
    clock = FakeClock(1000.0)

    def cache(db: Database, max_bytes: int = 10**6) -> PostgresSemanticCache:
        return PostgresSemanticCache(db, HashEmbedder(), threshold=0.85, ttl_s=60, max_bytes=max_bytes,
                                     clock=clock)

    a, b = cache(first), cache(second)
    try:
        await b.warm()  # b's index is loaded before a writes: it must follow a's writes
        assert (await b.lookup(scope, "How do I reset my password?")).hit is None
        await a.store(scope, "How do I reset my password?", {"content": "Use the reset link."})
        found = await b.lookup(scope, "how do i reset my password")
        assert found.hit is not None and found.hit.value == {"content": "Use the reset link."}
        other = Scope(scope.namespace, scope.models, scope.params, [], "other-project")
        assert (await b.lookup(other, "How do I reset my password?")).hit is None  # scopes never mix
        assert (await b.stats()).entries == 1

        await b.clear()  # a follows the removal log and forgets the entry
        assert (await a.lookup(scope, "How do I reset my password?")).hit is None
        assert len(a._scope_of) == 0 and (await a.stats()).entries == 0

        await a.store(scope, "What are your opening hours?", {"content": "9 to 5."})
        clock.advance(61)  # expired: served by neither, and dropped on the next write
        assert (await b.lookup(scope, "What are your opening hours?")).hit is None
        await a.store(scope, "Where is my order?", {"content": "On its way."})
        assert pg_rows(url, "SELECT question FROM semantic_entries") == [("Where is my order?",)]
        clock.advance(5)  # a fresh answer to the same question replaces the stored one everywhere
        await b.store(scope, "Where is my order?", {"content": "Delivered."})
        assert pg_rows(url, "SELECT question FROM semantic_entries") == [("Where is my order?",)]
        assert (await a.lookup(scope, "where is my order")).hit.value == {"content": "Delivered."}
    finally:
        await close_all(a, b, first, second)


async def test_a_paraphrase_one_gateway_paid_for_is_served_by_another(url: str, sandbox: Any,
                                                                       tmp_path: Path) -> None:
    from gatewise.gateway import CompletionRequest, RoutingGateway
    from gatewise.runtime import Runtime

    def settings(name: str) -> Any:  # each instance on a machine of its own: its own data dir
        return load_settings({"GATEWISE_DATABASE_URL": url,  # and the cluster's audit key
                              "GATEWISE_AUDIT_KEY_FILE": str(tmp_path / "audit.key")},
                             data_dir=tmp_path / name,
                             sandbox_url=sandbox.url, caching={"semantic_cache": {"enabled": True}})

    first = await Runtime.open(settings("a"))
    try:
        second = await Runtime.open(settings("b"))
        try:
            asked = await RoutingGateway.from_runtime(first).complete(
                CompletionRequest(prompt="How do I reset my password?", model="gpt-4o-mini"))
            again = await RoutingGateway.from_runtime(second).complete(
                CompletionRequest(prompt="How can I reset my password?", model="gpt-4o-mini"))
        finally:
            await second.close()
    finally:
        await first.close()
    assert (asked.cache_status, again.cache_status) == ("miss", "hit_semantic")
    assert again.answer == asked.answer and again.cost_usd == 0.0
    assert not (tmp_path / "a" / "semantic.sqlite3").exists()  # the entry is in the shared tables
    assert pg_rows(url, "SELECT question FROM semantic_entries") == [("How do I reset my password?",)]


async def test_the_shared_semantic_store_keeps_to_its_byte_bound(url: str) -> None:
    from gatewise.cache.embedders import HashEmbedder
    from gatewise.cache.semantic import Scope
    from gatewise.storage.postgres.semantic_cache import PostgresSemanticCache

    scope = Scope("routing-gateway:routed_complete", ("simple_queries",))
    first, second = await Database.open(storage(url)), await Database.open(storage(url))
    clock = FakeClock(1000.0)
    a, b = (PostgresSemanticCache(db, HashEmbedder(), threshold=0.85, ttl_s=600, max_bytes=8000, clock=clock)
            for db in (first, second))
    questions = [f"What is the delivery time to city number {i}?" for i in range(40)]
    try:
        for i, question in enumerate(questions):
            clock.advance(1)
            await (a if i % 2 else b).store(scope, question, {"content": f"answer {i}"})
        totals = pg_rows(url, "SELECT entries, bytes FROM semantic_totals")
        assert totals == pg_rows(url, "SELECT COUNT(*), SUM(size) FROM semantic_entries")
        [(entries, size)] = totals
        assert 0 < entries < 40 and size <= 8000
        assert (await a.lookup(scope, questions[-1])).hit is not None  # the newest stay
        assert (await b.lookup(scope, questions[0])).hit is None  # the least recently used went
        live = {row[0] for row in pg_rows(url, "SELECT id FROM semantic_entries")}
        await b.warm()
        assert set(a._scope_of) == live and set(b._scope_of) == live  # evictions followed by both
        assert a._evictions + b._evictions == 40 - entries
    finally:
        await close_all(a, b, first, second)


async def test_cache_stats_and_clearing_read_the_shared_tables(url: str) -> None:
    from gatewise.cache.admin import Selection, clear_cache, store_usage
    from gatewise.cache.embedders import HashEmbedder
    from gatewise.cache.semantic import Scope
    from gatewise.storage.postgres.response_cache import PostgresResponseCache
    from gatewise.storage.postgres.semantic_cache import PostgresSemanticCache

    first, second = await Database.open(storage(url)), await Database.open(storage(url))
    clock = FakeClock(1000.0)
    exact = PostgresResponseCache(first, ttl_s=60, max_bytes=10**6, clock=clock)
    a, b = (PostgresSemanticCache(db, HashEmbedder(), threshold=0.85, ttl_s=60, max_bytes=10**6, clock=clock)
            for db in (first, second))
    tool = "routing-gateway:routed_complete"
    try:
        for i, project in enumerate(["support", "support", "sales"]):
            await exact.put(f"k{i}", {"answer": "x" * 10}, namespace=tool, project=project)
            await a.store(Scope(tool, ("m",), project=project), f"Where is parcel number {i}?",
                          {"content": "here"})
        await exact.put("search", {"answer": "y"}, namespace="openrouter-search:web_search")
        usage = {u.store: u for u in await store_usage(second, clock=clock)}
        assert (usage["exact"].entries, usage["semantic"].entries) == (4, 3)
        assert usage["exact"].bytes == pg_rows(url, "SELECT SUM(size) FROM cache_entries")[0][0]
        assert {(o.project, o.entries) for o in usage["semantic"].owners} == {("support", 2), ("sales", 1)}

        preview = await clear_cache(second, "all", Selection(namespace="routing-gateway", project="support"),
                                    confirm=False, dry_run=True)
        assert (preview.applied, preview.entries) == (False, 4)
        assert pg_rows(url, "SELECT COUNT(*) FROM cache_entries") == [(4,)]
        done = await clear_cache(second, "all", Selection(project="support"), confirm=True, dry_run=False)
        assert (done.entries, [s.entries for s in done.stores]) == (4, [2, 2])
        assert pg_rows(url, "SELECT project FROM semantic_entries") == [("sales",)]
        await b.warm()
        assert (await a.stats()).entries == 1 and len(a._scope_of) == len(b._scope_of) == 1
        clock.advance(61)  # expired entries are not counted as held
        assert [u.entries for u in await store_usage(first, clock=clock)] == [0, 0]
    finally:
        await close_all(exact, a, b, first, second)


# --- alert delivery across instances -------------------------------------------------------------------


class Webhook:
    """A loopback webhook answering each post with the next status of ``replies`` (then 200)."""

    def __init__(self, replies: list[int]) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.posts: list[dict[str, object]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                owner.posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(replies.pop(0) if replies else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


async def delivered(url: str, want: str) -> list[tuple[object, ...]]:
    """The alerts' (threshold, delivered, attempts) once every one is ``want`` (or after 10 s)."""
    for _ in range(100):
        rows = pg_rows(url, "SELECT threshold, delivered, attempts FROM alerts ORDER BY threshold")
        if rows and all(row[1] == want for row in rows):
            return rows
        await asyncio.sleep(0.1)
    return rows


async def test_an_alert_is_posted_by_one_instance_and_posted_again_after_a_failure(url: str) -> None:
    from gatewise.config import BudgetRule, BudgetsConfig
    from gatewise.storage.postgres.budgets import CLAIM_S, PostgresBudgets

    hook = Webhook([500])
    db = await Database.open(storage(url))
    clock = FakeClock(1_796_000_000.0)
    rule = BudgetRule(scope="global", window="daily", limit_usd=1.0, on_exceed="warn")
    config = BudgetsConfig(rules=[rule], alert_thresholds=[0.5], webhook_url=hook.url)
    first = await PostgresBudgets.open(db, config, clock=clock)
    second = await PostgresBudgets.open(db, config, clock=clock)
    try:
        result = await first.commit(await first.reserve(["global"], 0.6, "a"), 0.6)
        assert [a.threshold for a in result.alerts] == [0.5]
        again = await second.commit(await second.reserve(["global"], 0.1, "b"), 0.1)
        assert again.alerts == ()  # the other instance crossed nothing new: it posts nothing
        assert await delivered(url, "failed") == [(0.5, "failed", 1)]  # the webhook answered 500

        await second.reconcile()  # still claimed by the first poster: not posted again yet
        clock.advance(CLAIM_S + 1)
        await second.reconcile()
        assert await delivered(url, "delivered") == [(0.5, "delivered", 2)]
        clock.advance(CLAIM_S + 1)
        await first.reconcile()  # delivered: nobody posts it again
        await asyncio.sleep(0.3)
        assert len(hook.posts) == 2
        assert {p["gatewise_alert"]["threshold"] for p in hook.posts} == {0.5}  # type: ignore[index]
    finally:
        await close_all(first, second, db)
        hook.close()


async def test_one_unstorable_row_loses_only_itself_in_postgres(url: str,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    from gatewise.storage.postgres.ledger import PostgresLedger

    db = await Database.open(storage(url))
    ledger = PostgresLedger(db)
    bad = call_record(request_id="bad-call")
    object.__setattr__(bad, "tokens_out", 10**20)  # forced: CallRecord itself refuses such a row
    try:
        outcomes = await asyncio.gather(
            *(ledger.record(call_record(request_id=f"good-{i}")) for i in range(5)),
            ledger.record_many([call_record(request_id="bad-call", attempt=1), bad]),
            return_exceptions=True)
        assert outcomes[:5] == [None] * 5 and isinstance(outcomes[5], LedgerError)
        assert sorted(r[0] for r in pg_rows(url, "SELECT request_id FROM calls")) == [
            "bad-call", *(f"good-{i}" for i in range(5))]
        [dropped] = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
        assert dropped.startswith("1 call(s) dropped from the call ledger at ")
        assert ": bad-call routed_complete vendor/model-a: " in dropped
    finally:
        await close_all(ledger, db)


# --- one audit key per cluster ------------------------------------------------------------------------


async def test_instances_sharing_a_database_hash_with_one_key_and_another_key_is_refused(
        url: str, sandbox: Any, tmp_path: Path) -> None:
    from gatewise.analytics import optimization_report
    from gatewise.analytics.cache_stats import cache_stats
    from gatewise.gateway import CompletionRequest, RoutingGateway
    from gatewise.runtime import Runtime
    from gatewise.storage.backends import check_storage

    shared_key = tmp_path / "audit.key"

    def settings(name: str, key: Path = shared_key) -> Any:  # each on a machine of its own
        return load_settings({"GATEWISE_DATABASE_URL": url, "GATEWISE_AUDIT_KEY_FILE": str(key)},
                             data_dir=tmp_path / name, sandbox_url=sandbox.url)

    first = await Runtime.open(settings("a"))
    try:
        second = await Runtime.open(settings("b"))
        try:
            question = CompletionRequest(prompt="What is the capital of France?", model="gpt-4o-mini")
            paid = await RoutingGateway.from_runtime(first).complete(question)
            served = await RoutingGateway.from_runtime(second).complete(question)
            assert (paid.cache_status, served.cache_status) == ("miss", "hit_exact")
            stats = await cache_stats(second.analytics, second.cache_home, second.catalog,
                                      since=None, until=None)
            report = await optimization_report(second.analytics, second.catalog, since=None, until=None)
        finally:
            await second.close()
    finally:
        await first.close()
    # The hit on b is priced from the miss a paid for, and counted as a repeat served.
    assert (stats.saved_from_ledger, stats.saved_from_catalog) == (1, 0)
    assert (report.cache.exact_repeats, report.cache.exact_repeats_served) == (1, 1)
    hashes = pg_rows(url, "SELECT DISTINCT request_hash FROM calls")
    assert len(hashes) == 1 and hashes[0][0]
    [(recorded,)] = pg_rows(url, "SELECT value FROM cluster_settings WHERE name = 'audit_key_fingerprint'")
    assert shared_key.read_bytes().hex() not in recorded and len(recorded) == 64  # a fingerprint only

    # An instance with a key of its own (its data dir's) is refused before it serves, in one line.
    alone = settings("c", tmp_path / "c" / "guardrail-audit.key")
    with pytest.raises(GatewiseError) as caught:
        await asyncio.to_thread(check_storage, alone)  # as a server checks before it serves
    assert caught.value.code is ErrorCode.CONFIG_ERROR and "\n" not in caught.value.message
    assert caught.value.message == (
        f"the audit key {tmp_path / 'c' / 'guardrail-audit.key'} is not the one the other instances on "
        f"{describe_dsn(url)} use: copy their key file here (or point storage.audit_key_file, "
        "GATEWISE_AUDIT_KEY_FILE, at it)")
    with pytest.raises(GatewiseError, match="is not the one the other instances"):
        await Runtime.open(alone)
    assert pg_rows(url, "SELECT value FROM cluster_settings") == [(recorded,)]  # still the cluster's
