"""Light helpers for tests of the stores (no MCP import, so child processes can use them)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path
from typing import Any

from gatewise.ledger import CallRecord, open_ledger


class FakeClock:
    """A clock the test moves by hand, for TTLs, windows and leases."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def sqlite_rows(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows read straight from a SQLite file, past the code under test."""
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql, params).fetchall()


def committed_rows(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """``sqlite_rows`` once it finds any: a server in another process commits a call's ledger
    rows within its 10 ms batch window, not before the call returns. Bounded, so a row that
    never comes fails the test instead of hanging it."""
    for _ in range(200):
        if rows := sqlite_rows(path, sql, params):
            return rows
        time.sleep(0.05)
    return []


def count_elsewhere(path: Path, table: str) -> int:
    """Rows of ``table`` counted by another process, whose connection closes as soon as it has
    counted."""
    script = ("import sqlite3, sys; "
              f"print(sqlite3.connect(sys.argv[1]).execute('SELECT COUNT(*) FROM {table}').fetchone()[0])")
    done = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True,
                          check=True)
    return int(done.stdout)


async def write_calls(path: Path, records: list[CallRecord]) -> Path:
    """``records`` stored in the ledger file at ``path`` (created if need be) through its store."""
    ledger = open_ledger(path)
    try:
        await ledger.record_many(records)
    finally:
        await ledger.close()
    return path


def call_record(**overrides: Any) -> CallRecord:
    """A successful routed_complete call on the sandbox, with ``overrides`` on top."""
    fields: dict[str, Any] = {
        "server": "routing_gateway",
        "tool": "routed_complete",
        "provider": "sandbox",
        "model": "vendor/model-a",
        "tokens_in": 10,
        "tokens_out": 5,
        "cost_usd": 0.001,
        "latency_ms": 100.0,
        "status": "ok",
        "cache_status": "miss",
        "route_reason": "cheapest capable",
        "request_id": "req-0",
        "attempt": 0,
    }
    fields.update(overrides)
    return CallRecord(**fields)
