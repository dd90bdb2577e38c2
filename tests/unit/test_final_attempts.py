"""The ledger marks each request's final attempt (the one that answered it, else its last) as the
rows are written, on both engines; the migration marks the rows written before it. The usage
analytics count requests by this mark. The PostgreSQL side skips, saying why, when no server is
reachable."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from gatewise.config import load_settings
from gatewise.ledger import CallRecord
from gatewise.ledger.migrations import MIGRATIONS
from gatewise.ledger.sqlite import open_ledger
from gatewise.storage.backends import open_stores
from gatewise.storage.postgres.ledger import INSERT_ROWS
from gatewise.storage.postgres.schema import SCHEMA_VERSION, migrate
from pg_support import pg_rows, throwaway_database
from store_support import call_record

# (request, attempt, status) in the order written; the final ones are marked with a star below.
ATTEMPTS = [
    ("answered-first", 0, "ok"),
    ("fell-back", 0, "error"),
    ("fell-back", 1, "ok"),
    ("all-failed", 0, "error"),
    ("all-failed", 1, "error"),
    ("all-failed", 2, "error"),
    ("retried-same", 0, "error"),
    ("retried-same", 0, "error"),  # the later row of two equal attempts stands for the request
    ("ok-written-last-first", 1, "ok"),  # rows may arrive out of attempt order
    ("ok-written-last-first", 0, "error"),
]
FINAL = [1, 0, 1, 0, 0, 1, 0, 1, 1, 0]


def records() -> list[CallRecord]:
    return [call_record(request_id=request, attempt=attempt, status=status, ts=float(n),
                        error_code=None if status == "ok" else "UPSTREAM_ERROR")
            for n, (request, attempt, status) in enumerate(ATTEMPTS)]


def sqlite_marks(path: Path) -> list[int]:
    with sqlite3.connect(path) as conn:
        marks = [row[0] for row in conn.execute("SELECT final_attempt FROM calls ORDER BY id")]
    conn.close()
    return marks


@pytest.mark.parametrize("batch", [1, len(ATTEMPTS)])
async def test_sqlite_rows_are_marked_as_written(tmp_path: Path, batch: int) -> None:
    ledger = open_ledger(tmp_path / "ledger.sqlite3")
    try:
        rows = records()
        for first in range(0, len(rows), batch):
            await ledger.record_many(rows[first:first + batch])
    finally:
        await ledger.close()
    assert sqlite_marks(tmp_path / "ledger.sqlite3") == FINAL


async def test_sqlite_migration_marks_the_rows_already_there(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    with sqlite3.connect(path) as conn:  # the schema as the release before the mark left it
        conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at REAL NOT NULL)")
        for migration in MIGRATIONS[:5]:
            for statement in migration.statements:
                conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations VALUES (?, 0)", [migration.version])
        for n, (request, attempt, status) in enumerate(ATTEMPTS):
            conn.execute(
                "INSERT INTO calls (ts, server, tool, provider, model, tokens_in, tokens_out, cost_usd,"
                " latency_ms, status, cache_status, route_reason, request_id, attempt)"
                " VALUES (?, 's', 't', 'p', 'm', 1, 2, 0.5, 10, ?, 'miss', 'r', ?, ?)",
                [float(n), status, request, attempt])
    conn.close()
    await open_ledger(path).close()
    assert sqlite_marks(path) == FINAL


@pytest.fixture
def database_url() -> Iterator[str]:
    with throwaway_database() as url:
        yield url


# One INSERT per row, one INSERT of all, or one COPY of all (a batch past INSERT_ROWS).
@pytest.mark.parametrize("batch", [1, len(ATTEMPTS), len(ATTEMPTS) + INSERT_ROWS])
async def test_postgres_rows_are_marked_as_written(tmp_path: Path, database_url: str, batch: int) -> None:
    stores = await open_stores(load_settings({"GATEWISE_DATA_DIR": str(tmp_path),
                                              "GATEWISE_DATABASE_URL": database_url}))
    others = [call_record(request_id=f"alone-{n}", ts=100.0 + n) for n in range(batch - len(ATTEMPTS))]
    try:
        rows = records() + others
        for first in range(0, len(rows), batch):
            await stores.ledger.record_many(rows[first:first + batch])
    finally:
        await stores.budgets.close()
        await stores.ledger.close()
        assert stores.database is not None
        await stores.database.close()
    marks = [row[0] for row in pg_rows(database_url, "SELECT final_attempt FROM calls ORDER BY id")]
    assert marks == FINAL + [1] * len(others)


async def test_postgres_migration_marks_the_rows_already_there(database_url: str) -> None:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        assert await migrate(conn, upto=8) == 8
        for n, (request, attempt, status) in enumerate(ATTEMPTS):
            await conn.execute(
                "INSERT INTO calls (ts, server, tool, provider, model, tokens_in, tokens_out, cost_usd,"
                " latency_ms, status, cache_status, route_reason, request_id, attempt)"
                " VALUES (%s, 's', 't', 'p', 'm', 1, 2, 0.5, 10, %s, 'miss', 'r', %s, %s)",
                [float(n), status, request, attempt])
        assert await migrate(conn) == SCHEMA_VERSION
    assert [row[0] for row in pg_rows(database_url, "SELECT final_attempt FROM calls ORDER BY id")] == FINAL
