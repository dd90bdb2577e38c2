"""The call ledger on real SQLite files: schema, durability, group commit, sharing, summaries."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import stat
import subprocess
import sys
import textwrap
import threading
from calendar import timegm
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import pytest

from gatewise.ledger import (
    MIGRATIONS,
    SCHEMA_VERSION,
    CallRecord,
    LedgerClosedError,
    LedgerError,
    LedgerSchemaError,
    LedgerStore,
    SQLiteLedger,
    open_ledger,
)
from gatewise.ledger import writer as writer_module
from gatewise.ledger.writer import GroupCommitWriter
from store_support import call_record, count_elsewhere, sqlite_rows

DAY1 = float(timegm((2024, 3, 1, 23, 59, 0)))
DAY2 = float(timegm((2024, 3, 2, 0, 1, 0)))


@pytest.fixture
async def ledger(tmp_path: Path):
    store = open_ledger(tmp_path / "data" / "ledger.sqlite3")
    yield store
    await store.close()


def versions(path: Path) -> list[int]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
    conn.close()
    return [v for (v,) in rows]


# --- schema and migrations ---------------------------------------------------------------------


def test_migrations_are_an_ordered_list_from_one() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert MIGRATIONS[-1].version == SCHEMA_VERSION


async def test_fresh_file_is_migrated_private_and_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "ledger.sqlite3"
    store = open_ledger(path)
    await store.record(call_record())
    assert isinstance(store, LedgerStore)
    assert versions(path) == list(range(1, SCHEMA_VERSION + 1))
    for file in path.parent.iterdir():  # the database and its -wal/-shm companions
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file.name
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        indexes = {row[1] for row in conn.execute("PRAGMA index_list(calls)")}
    conn.close()
    assert {"calls_ts", "calls_project_ts", "calls_model_ts"} <= indexes
    await store.close()


async def test_reopening_is_a_no_op_and_keeps_rows(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    first = open_ledger(path)
    await first.record(call_record())
    await first.close()
    second = open_ledger(path)
    assert versions(path) == list(range(1, SCHEMA_VERSION + 1))
    assert await second.count() == 1
    await second.close()


def test_newer_unknown_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at)")
        conn.execute("INSERT INTO schema_migrations VALUES (?, 0)", [SCHEMA_VERSION + 1])
    conn.close()
    with pytest.raises(LedgerSchemaError, match=f"schema version {SCHEMA_VERSION + 1}.*upgrade"):
        SQLiteLedger(path)


async def test_a_file_at_the_previous_version_gains_callers_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    with sqlite3.connect(path) as conn:  # the schema as the release before callers left it
        conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at REAL NOT NULL)")
        for migration in MIGRATIONS[:4]:
            for statement in migration.statements:
                conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations VALUES (?, 0)", [migration.version])
        conn.execute(
            "INSERT INTO calls (ts, server, tool, provider, model, tokens_in, tokens_out, cost_usd,"
            " latency_ms, status, cache_status, route_reason, project, request_id, attempt)"
            " VALUES (1, 's', 't', 'p', 'm', 1, 2, 0.5, 10, 'ok', 'miss', 'r', 'acme', 'old-call', 0)")
    conn.close()
    assert "caller" not in columns(path)

    store = open_ledger(path)
    try:
        assert "caller" in columns(path) and versions(path) == list(range(1, SCHEMA_VERSION + 1))
        [old] = await store.recent(1)
        assert (old.request_id, old.project, old.caller) == ("old-call", "acme", None)
        await store.record(call_record(request_id="new-call", caller="ci", ts=2.0))
        by_caller = {row.key: row.requests for row in await store.summary(group_by="caller")}
        assert by_caller == {None: 1, "ci": 1}
    finally:
        await store.close()


def columns(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        found = {row[1] for row in conn.execute("PRAGMA table_info(calls)")}
    conn.close()
    return found


# --- records -----------------------------------------------------------------------------------


async def test_every_field_round_trips(ledger: SQLiteLedger) -> None:
    rec = CallRecord(
        ts=1_700_000_000.123456,
        server="vision",
        tool="describe_image",
        provider="openrouter",
        model="vendor/vision-1",
        tokens_in=1234,
        tokens_out=56,
        cost_usd=0.00123,
        latency_ms=842.5,
        status="error",
        error_code="UPSTREAM_TIMEOUT",
        cache_status="hit_semantic",
        route_reason="vision needed; cheapest with images",
        project="acme",
        caller="jwt:user-7",
        request_id="3f2a",
        attempt=2,
        task="vision",
    )
    await ledger.record(rec)
    assert await ledger.recent(5) == [rec]


async def test_recent_is_newest_first_and_limited(ledger: SQLiteLedger) -> None:
    await ledger.record_many([call_record(ts=float(i), request_id=str(i)) for i in range(5)])
    assert [r.request_id for r in await ledger.recent(3)] == ["4", "3", "2"]


def test_malformed_records_are_rejected_up_front() -> None:
    with pytest.raises(ValueError, match="status"):
        call_record(status="fine")
    with pytest.raises(ValueError, match="cache_status"):
        call_record(cache_status="warm")
    with pytest.raises(ValueError, match="negative"):
        call_record(attempt=-1)
    with pytest.raises(ValueError, match="64-bit"):
        call_record(tokens_out=2**63)
    for cost in (-5.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="cost_usd"):
            call_record(cost_usd=cost)
    with pytest.raises(ValueError, match="latency_ms"):
        call_record(latency_ms=float("inf"))


def unstorable(request_id: str) -> CallRecord:
    """A row past the checks (as a future field or a bug could make one) that SQLite refuses."""
    row = call_record(request_id=request_id)
    object.__setattr__(row, "tokens_out", 10**20)  # forced: CallRecord itself refuses such a row
    return row


# --- durability and concurrency ----------------------------------------------------------------


async def test_concurrent_records_share_commits(ledger: SQLiteLedger) -> None:
    await asyncio.gather(*(ledger.record(call_record(request_id=str(i))) for i in range(2000)))
    assert await ledger.count() == 2000
    assert 1 <= ledger.commits < 100


_WRITER_SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from gatewise.ledger import CallRecord, open_ledger

    async def main(path, tag):
        ledger = open_ledger(Path(path))
        print("ready", flush=True)
        sys.stdin.readline()
        for start in range(0, 500, 5):
            await asyncio.gather(*(
                ledger.record(CallRecord(
                    server="s", tool="t", provider="sandbox", model=tag, tokens_in=1,
                    tokens_out=1, cost_usd=0.0, latency_ms=1.0, status="ok",
                    cache_status="miss", route_reason="", request_id=f"{tag}-{i}", attempt=0))
                for i in range(start, start + 5)))
        await ledger.close()

    asyncio.run(main(sys.argv[1], sys.argv[2]))
    """
)


async def test_two_processes_share_one_file_without_losing_rows(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER_SCRIPT, str(path), tag],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for tag in ("p1", "p2")
    ]
    try:
        # Both open (and race to migrate) the fresh file, then start writing together.
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        for proc in procs:
            _, err = await asyncio.to_thread(proc.communicate, timeout=30)
            assert proc.returncode == 0, err
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    store = open_ledger(path)
    assert await store.count() == 1000
    assert {r.key: r.requests for r in await store.summary(group_by="model")} == {
        "p1": 500,
        "p2": 500,
    }
    assert versions(path) == list(range(1, SCHEMA_VERSION + 1))
    await store.close()


async def test_a_second_open_in_one_process_keeps_the_wal_shared(tmp_path: Path) -> None:
    """A server opens the file twice (budgets, then the ledger). Had the second open dropped the
    first's locks, another process closing its connection would take itself for the last user
    and delete the WAL, and every later commit of the server would be lost to everyone else."""
    path = tmp_path / "ledger.sqlite3"
    first, second = open_ledger(path), open_ledger(path)
    await first.record(call_record(request_id="before"))
    assert count_elsewhere(path, "calls") == 1
    await first.record(call_record(request_id="after"))
    assert count_elsewhere(path, "calls") == 2
    assert path.with_name("ledger.sqlite3-wal").exists()
    await first.close()
    await second.close()


async def test_close_flushes_pending_writes(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    store = open_ledger(path)
    tasks = [asyncio.create_task(store.record(call_record(request_id=str(i)))) for i in range(300)]
    await asyncio.sleep(0)  # every task has queued its row
    assert not any(task.done() for task in tasks)
    await store.close()
    await asyncio.gather(*tasks)
    reopened = open_ledger(path)
    assert await reopened.count() == 300
    await reopened.close()


async def test_use_after_close_is_a_clear_error(tmp_path: Path) -> None:
    store = open_ledger(tmp_path / "ledger.sqlite3")
    await store.close()
    await store.close()
    with pytest.raises(LedgerClosedError, match="closed"):
        await store.record(call_record())
    with pytest.raises(LedgerClosedError):
        await store.record_many([])
    with pytest.raises(LedgerClosedError):
        await store.count()
    with pytest.raises(LedgerClosedError):
        await store.summary()


def test_unwritable_location_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    with pytest.raises(LedgerError, match="cannot open the call ledger"):
        open_ledger(blocker / "ledger.sqlite3")


@contextlib.contextmanager
def another_writer(path: Path) -> Iterator[None]:
    """Another process's connection holding the file's write lock until the block ends."""
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


T = TypeVar("T")


async def turns_while_locked(path: Path, start: Callable[[], T]) -> tuple[T, int]:
    """``start()``'s result, called while another writer holds the file's lock, and the turns a
    task sleeping 5 ms at a time got in the 0.3 s that followed (the lock still held)."""
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    with another_writer(path):
        ticker = asyncio.create_task(tick())
        try:
            started = start()
            await asyncio.sleep(0.3)
            return started, ticks
        finally:
            ticker.cancel()


async def test_failed_write_reaches_every_waiting_caller(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    store = SQLiteLedger(path, busy_timeout_ms=50)
    with another_writer(path):  # holding the write lock too long
        results = await asyncio.gather(
            *(store.record(call_record(request_id=str(i))) for i in range(20)), return_exceptions=True
        )
    assert all(isinstance(r, LedgerError) and "locked" in str(r) for r in results), results
    assert await store.count() == 0
    await store.record(call_record())  # the writer survives the failure
    assert await store.count() == 1
    await store.close()


async def test_a_lone_call_is_durable_when_recorded_and_a_burst_shares_a_commit(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    store = SQLiteLedger(path)
    for i in range(3):
        await store.record(call_record(request_id=f"lone{i}"))
        assert count_elsewhere(path, "calls") == i + 1  # committed before record() returned
    await asyncio.gather(*(store.record(call_record(request_id=f"burst{i}")) for i in range(10)))
    assert count_elsewhere(path, "calls") == 13 and store.commits == 4
    await store.close()


async def test_a_locked_ledger_never_stalls_the_loop(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    store = SQLiteLedger(path)
    await store.record(call_record())
    waiting, turns = await turns_while_locked(
        path, lambda: asyncio.create_task(store.record(call_record(request_id="waits"))))
    assert not waiting.done() and turns >= 10  # the row waits for the lock; the loop runs on
    await waiting
    assert count_elsewhere(path, "calls") == 2
    await store.close()


async def test_the_wal_is_checkpointed_while_calls_are_committed_one_by_one(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    store = SQLiteLedger(path)
    for i in range(3000):
        await store.record(call_record(request_id=f"r{i}"))
    # Each commit adds a few 4 KiB pages: without checkpoints the WAL would pass 40 MiB.
    assert path.with_name(path.name + "-wal").stat().st_size < 12 * 2**20
    assert count_elsewhere(path, "calls") == 3000
    await store.close()


# --- rows recorded without waiting (record_soon) ------------------------------------------------

HOUR = 3600.0  # a delay no test outlives: only a read, a flush or close commits the rows


async def test_rows_recorded_soon_reach_the_file_by_themselves(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    store = SQLiteLedger(path)
    assert store.record_soon([call_record(request_id=str(i)) for i in range(3)]) is None

    async def on_disk() -> None:
        while count_elsewhere(path, "calls") != 3:
            await asyncio.sleep(0.01)  # the loop runs on: the commit is due on it

    await asyncio.wait_for(on_disk(), 30)  # bounds a hang, times nothing
    await store.close()


async def test_reads_see_rows_recorded_soon_here_and_through_another_open_ledger(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    store, other = SQLiteLedger(path, defer_delay_s=HOUR), SQLiteLedger(path, defer_delay_s=HOUR)
    store.record_soon([call_record(request_id="a"), call_record(request_id="b")])
    other.record_soon([call_record(request_id="c")])
    assert count_elsewhere(path, "calls") == 0  # held back
    assert {r.request_id for r in await store.recent()} == {"a", "b", "c"}
    assert count_elsewhere(path, "calls") == 3 and store.commits + other.commits == 2
    await store.close()
    await other.close()


async def test_close_commits_every_row_recorded_soon(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    store = SQLiteLedger(path, defer_delay_s=HOUR)
    for i in range(300):
        store.record_soon([call_record(request_id=str(i))])
    await store.close()
    assert count_elsewhere(path, "calls") == 300


async def test_one_unstorable_row_recorded_soon_loses_only_itself(tmp_path: Path,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "ledger.sqlite3"
    store = SQLiteLedger(path, defer_delay_s=HOUR)
    store.record_soon([call_record(request_id="good-1"), unstorable("bad-1")])
    store.record_soon([call_record(request_id="good-2")])
    await store.close()
    assert sorted(r[0] for r in sqlite_rows(path, "SELECT request_id FROM calls")) == ["good-1", "good-2"]
    [dropped] = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert dropped.startswith(f"1 call(s) dropped from the call ledger at {path}, their values cannot be "
                              "stored: bad-1 routed_complete vendor/model-a: ")
    assert "could not be written" not in caplog.text


async def test_an_unstorable_row_fails_only_its_own_caller(tmp_path: Path,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    store = SQLiteLedger(tmp_path / "ledger.sqlite3")
    outcomes = await asyncio.gather(
        *(store.record_many([call_record(request_id=f"good-{i}")]) for i in range(30)),
        store.record_many([call_record(request_id="bad-call"), unstorable("bad-call")]),
        return_exceptions=True)
    assert outcomes[:30] == [None] * 30
    assert isinstance(outcomes[30], LedgerError) and "could not write 1 call(s)" in str(outcomes[30])
    assert await store.count() == 31  # the bad call's storable row is kept
    [dropped] = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert dropped.startswith("1 call(s) dropped from the call ledger at ")
    assert ": bad-call routed_complete vendor/model-a: " in dropped
    await store.close()


async def test_rows_recorded_soon_survive_a_locked_file_without_stalling_the_loop(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    store = SQLiteLedger(path, busy_timeout_ms=50, defer_delay_s=0.0)
    kept, turns = await turns_while_locked(path, lambda: store.record_soon([call_record(request_id="kept")]))
    assert kept is None
    assert turns >= 10  # the loop ran on while the thread's commit failed
    # Kept for the next commit, which the read asks for.
    assert await store.count() == 1
    assert count_elsewhere(path, "calls") == 1
    await store.close()


async def test_a_full_backlog_makes_callers_wait_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writer_module, "MAX_DEFERRED_ROWS", 2)
    stored: list[CallRecord] = []
    writer = GroupCommitWriter(stored.extend, label="ledger", delay_s=HOUR)
    assert writer.defer([call_record(request_id="1"), call_record(request_id="2")]) is None
    waiting = writer.defer([call_record(request_id="3")])
    assert waiting is not None
    await asyncio.wait_for(waiting, 10)  # bounds a hang, times nothing
    # The waiting caller's commit takes the deferred rows with it.
    assert [r.request_id for r in stored] == ["3", "1", "2"] and writer.commits == 1
    assert writer.defer([call_record(request_id="4")]) is None  # room again
    await writer.close()
    assert stored[-1].request_id == "4"


# --- summaries ---------------------------------------------------------------------------------


async def test_summary_figures_per_group(ledger: SQLiteLedger) -> None:
    await ledger.record_many(
        [
            # request a: model-a failed, model-b answered as the fallback
            call_record(request_id="a", model="m-a", status="error", error_code="RATE_LIMITED",
                 cost_usd=0.0, tokens_in=0, tokens_out=0, latency_ms=50.0, project="x",
                 task="code", ts=DAY1),
            call_record(request_id="a", attempt=1, model="m-b", cost_usd=0.25, tokens_in=100,
                 tokens_out=40, latency_ms=400.0, project="x", task="code", ts=DAY1),
            # requests b and c answered first time by model-b and model-a
            call_record(request_id="b", model="m-b", cost_usd=0.5, tokens_in=200, tokens_out=10,
                 latency_ms=200.0, project="y", task="chat", ts=DAY2),
            call_record(request_id="c", model="m-a", cost_usd=0.125, tokens_in=50, tokens_out=5,
                 latency_ms=150.0, ts=DAY2),
        ]
    )
    (total,) = await ledger.summary()
    assert (total.key, total.requests, total.attempts, total.errors) == (None, 3, 4, 1)
    assert total.cost_usd == pytest.approx(0.875)
    assert (total.tokens_in, total.tokens_out) == (350, 55)
    assert total.avg_latency_ms == pytest.approx(200.0)
    assert (total.p50_latency_ms, total.p95_latency_ms) == (150.0, 400.0)

    by_model = {r.key: r for r in await ledger.summary(group_by="model")}
    assert [r.key for r in await ledger.summary(group_by="model")] == ["m-b", "m-a"]  # by cost
    assert (by_model["m-a"].requests, by_model["m-a"].errors) == (2, 1)
    assert by_model["m-b"].cost_usd == pytest.approx(0.75)

    by_project = {r.key: r.requests for r in await ledger.summary(group_by="project")}
    assert by_project == {"x": 1, "y": 1, None: 1}
    by_task = {r.key: r.attempts for r in await ledger.summary(group_by="task")}
    assert by_task == {"code": 2, "chat": 1, None: 1}
    by_status = {r.key: r.attempts for r in await ledger.summary(group_by="status")}
    assert by_status == {"ok": 3, "error": 1}
    by_provider = await ledger.summary(group_by="provider")
    assert [(r.key, r.requests) for r in by_provider] == [("sandbox", 3)]
    by_day = await ledger.summary(group_by="day")
    assert [(r.key, r.requests, r.attempts) for r in by_day] == [
        ("2024-03-01", 1, 2),
        ("2024-03-02", 2, 2),
    ]


async def test_latency_percentiles_use_nearest_rank(ledger: SQLiteLedger) -> None:
    base = call_record()
    await ledger.record_many(
        [replace(base, latency_ms=float(ms), request_id=str(ms)) for ms in range(20, 0, -1)]
    )
    (row,) = await ledger.summary()
    assert (row.p50_latency_ms, row.p95_latency_ms, row.avg_latency_ms) == (10.0, 19.0, 10.5)


async def test_summary_time_window_includes_since_and_excludes_until(
    ledger: SQLiteLedger,
) -> None:
    await ledger.record_many(
        [call_record(ts=t, request_id=str(t), cost_usd=t / 1000) for t in (1000.0, 2000.0, 3000.0)]
    )
    (row,) = await ledger.summary(since=2000.0)
    assert (row.attempts, row.cost_usd) == (2, pytest.approx(5.0))
    (row,) = await ledger.summary(until=3000.0)
    assert (row.attempts, row.cost_usd) == (2, pytest.approx(3.0))
    (row,) = await ledger.summary(since=2000.0, until=3000.0)
    assert row.attempts == 1
    assert await ledger.summary(since=5000.0, group_by="model") == []
    (empty,) = await ledger.summary(since=5000.0)
    assert (empty.requests, empty.cost_usd) == (0, 0.0)


async def test_summary_rejects_unknown_grouping(ledger: SQLiteLedger) -> None:
    with pytest.raises(ValueError, match="group_by"):
        await ledger.summary(group_by="colour")  # type: ignore[arg-type]


async def test_rows_the_loop_hands_back_after_another_loop_closed_the_writer_get_an_error() -> None:
    # Another thread's event loop closes the writer while this loop commits: the thread has
    # stopped by the time the loop's commit is refused, so the rows cannot be queued for it.
    def refused_while_closed_elsewhere(rows: list[CallRecord]) -> bool:
        closing = threading.Thread(target=asyncio.run, args=(writer.close(),))
        closing.start()
        closing.join()
        return False

    writer = GroupCommitWriter(lambda rows: None, label="ledger", write_now=refused_while_closed_elsewhere)
    with pytest.raises(LedgerClosedError, match="ledger is closed"):
        await asyncio.wait_for(writer.submit((call_record(),)), 10)  # bounds a hang, times nothing


async def test_closing_waits_for_a_read_in_progress_without_stalling_the_loop(tmp_path: Path) -> None:
    store = SQLiteLedger(tmp_path / "ledger.sqlite3")
    with store._read_lock:  # a read in progress on a worker thread holds it while its query runs
        closing = asyncio.create_task(store.close())
        for _ in range(20):
            await asyncio.sleep(0)  # the loop keeps turning while close() waits for the read
        assert not closing.done()
    await asyncio.wait_for(closing, 10)  # bounds a hang, times nothing
    with pytest.raises(LedgerClosedError):
        await store.count()
