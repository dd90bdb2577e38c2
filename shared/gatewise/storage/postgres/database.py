"""One bounded connection pool per process, and the error every store raises when it is gone.

Every statement runs under ``statement_timeout`` and every wait for a connection under the
connect timeout, so a stalled server fails a call within seconds rather than hanging it. A call
on a connection the server dropped fails with STORAGE_UNAVAILABLE; the pool discards that
connection and opens new ones in the background with exponential backoff, so calls recover by
themselves once the server is back. (Connections are not pinged before each use: that would add
a round trip to every budget hold.)
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from gatewise.config import StorageConfig
from gatewise.errors import ErrorCode, GatewiseError
from gatewise.ledger.store import LedgerError
from gatewise.storage.dsn import describe_dsn, without_password

log = logging.getLogger(__name__)

Connection = psycopg.AsyncConnection[tuple[Any, ...]]


def pg_marks(sql: str) -> str:
    """SQL shared with the SQLite stores, with psycopg's placeholders in place of its ``?``
    (for text that holds no other ``?`` or ``%``)."""
    return sql.replace("?", "%s")


class StorageUnavailable(GatewiseError):
    """The database cannot be reached (or answered too slowly); the pool keeps reconnecting."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.STORAGE_UNAVAILABLE, message)


class Database:
    """The pool and its settings. ``open`` reaches the server and migrates it before returning."""

    def __init__(self, config: StorageConfig) -> None:
        if config.url is None:
            raise ValueError("storage.url is not set")
        self.config = config
        self._url = config.url.get_secret_value()
        self.label = describe_dsn(self._url)
        self.pool: AsyncConnectionPool[Connection] = AsyncConnectionPool(
            self._url,
            min_size=config.pool_min_size,
            max_size=config.pool_max_size,
            timeout=config.connect_timeout_s,  # the longest a call waits for a connection
            kwargs=self._connect_options(),
            name="gatewise",
            open=False,
        )

    @classmethod
    async def open(cls, config: StorageConfig, *, migrate: bool = True) -> Database:
        """Reach the server (one clear error if it cannot be reached) and bring the schema up
        to date under an advisory lock, so instances starting together migrate once."""
        from gatewise.storage.postgres.schema import migrate as apply

        db = cls(config)
        options = db._connect_options()
        # One direct connection first: an unreachable server is then one error naming the cause,
        # rather than the pool retrying in the background until its timeout.
        try:
            conn = await psycopg.AsyncConnection.connect(db._url, **options)
        except psycopg.Error as exc:
            raise StorageUnavailable(db._unreachable(exc)) from None
        async with conn:
            if migrate:
                try:
                    await apply(conn, name=db.label)
                except psycopg.Error as exc:
                    raise LedgerError(f"cannot migrate {db.label}: {db.scrub(str(exc))}") from None
        await db.pool.open(wait=False)
        return db

    def _connect_options(self) -> dict[str, Any]:
        return {
            "autocommit": True,  # transactions are explicit (conn.transaction())
            # libpq takes whole seconds and treats 1 as 2
            "connect_timeout": max(2, math.ceil(self.config.connect_timeout_s)),
            "options": f"-c statement_timeout={self.config.statement_timeout_ms}",
        }

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        """A pooled connection; a lost server or a timeout becomes ``StorageUnavailable``."""
        try:
            async with self.pool.connection() as conn:
                yield conn
        except PoolTimeout as exc:
            raise StorageUnavailable(self._unreachable(exc)) from None
        except psycopg.OperationalError as exc:
            raise StorageUnavailable(self._unreachable(exc)) from None
        except psycopg.Error as exc:
            raise LedgerError(f"{self.label}: {self.scrub(str(exc))}") from None

    def scrub(self, text: str) -> str:
        return without_password(text, self._url)

    def _unreachable(self, exc: BaseException) -> str:
        reason = self.scrub(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
        return f"PostgreSQL at {self.label} is unavailable: {reason}"

    async def close(self) -> None:
        await self.pool.close()
