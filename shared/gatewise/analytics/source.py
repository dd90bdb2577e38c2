"""Read-only access to the ``calls`` table of a ledger file that servers may be writing."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

T = TypeVar("T")

BUSY_TIMEOUT_S = 5.0
# SQL fragment: true for an attempt answered from a cache (its spend is zero whatever was stored).
IS_HIT = "cache_status IN ('hit_exact', 'hit_semantic')"


class LedgerReader:
    """One read transaction over the ledger, so every query of a report sees the same rows.

    A missing file, or one no server has migrated yet, reads as an empty ledger.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None

    async def __aenter__(self) -> LedgerReader:
        self._conn = await asyncio.to_thread(self._open)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._conn is not None:
            await asyncio.to_thread(self._conn.close)
            self._conn = None

    async def rows(self, sql: str, params: list[Any] | tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        conn = self._conn
        if conn is None:
            return []
        return await asyncio.to_thread(lambda: conn.execute(sql, params).fetchall())

    async def fold(self, sql: str, params: list[Any] | tuple[Any, ...],
                   consume: Callable[[Iterable[sqlite3.Row]], T]) -> T:
        """``consume`` over the rows as SQLite yields them, on the reader's thread: for answers
        with a row per request, which would not fit in memory at once."""
        conn = self._conn
        if conn is None:
            return consume(())
        return await asyncio.to_thread(lambda: consume(conn.execute(sql, params)))

    def _open(self) -> sqlite3.Connection | None:
        if not self.path.is_file():
            return None
        # A URI so the file opens read-only; as_uri() escapes '?', '#' and '%' in the path.
        uri = self.path.resolve().as_uri() + "?mode=ro"
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, check_same_thread=False,
                               isolation_level=None)
        try:
            conn.row_factory = sqlite3.Row
            # In WAL mode an open read transaction pins one snapshot while writers carry on.
            conn.execute("BEGIN")
            found = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'calls'"
            ).fetchone()
        except BaseException:
            conn.close()
            raise
        if found is None:
            conn.close()
            return None
        return conn
