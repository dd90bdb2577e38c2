"""Light helpers for tests of the stores (no MCP import, so child processes can use them)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any


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
