"""One bounded connection pool per process, and the error every store raises when it is gone.

Every statement runs under ``statement_timeout`` and every wait for a connection under the
connect timeout. Neither helps when the server, or something between, keeps the connection open
but stops answering (a frozen host, a firewall dropping packets, a proxy that accepts and never
forwards): the client would wait for ever. So every exchange with the server is also bounded on
this side: an answer that has not come within ``StorageConfig.answer_within_s`` (the statement
timeout and a grace) shuts
the connection's socket down, the call fails with STORAGE_UNAVAILABLE, and the pool discards the
connection instead of taking it back. A call on a connection the server dropped fails the same
way; the pool opens new connections in the background, retrying at least every
``RECONNECT_EVERY_S``, so calls recover by themselves soon after the server is back.

Connections are not pinged before each use (that would add a round trip to every budget hold),
but one the server closed while it sat in the pool (an outage, a restart) has its end already
waiting on the socket: that is read, without a round trip, when the connection is handed out,
and such a connection is discarded and another taken before any statement is sent, so a call
after an outage does not fail on a connection broken during it. A connection that breaks during
a statement is not tried again: the statement may have committed.

Errors name no address (they reach remote callers); the log says which database, once per
change between reachable and not.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from types import TracebackType
from typing import Any

import psycopg
from psycopg.abc import RV, PQGen
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from psycopg_pool.pool_async import AddConnection, MaintenanceTask

from gatewise.config import STALL_GRACE_S, StorageConfig
from gatewise.ledger.store import LedgerError
from gatewise.storage.dsn import describe_dsn, without_password
from gatewise.storage.outage import StorageUnavailable

log = logging.getLogger(__name__)
# The pool logs every failed reconnection attempt, each second of an outage; this module logs
# when the database is lost and when it answers again.
logging.getLogger("psycopg.pool").setLevel(logging.ERROR)


class BadRow(LedgerError):
    """The server refused a row's own values (a number out of range, a constraint), not the
    connection: the other rows of its batch can still be written."""

class Connection(psycopg.AsyncConnection[tuple[Any, ...]]):
    """A connection whose every wait for the server ends within ``answer_within_s``: past it the
    socket is shut down, so the wait ends with an OperationalError and the connection is broken
    (the pool discards it). Shutting down rather than cancelling: a cancelled query makes psycopg
    ask the server to cancel it, and wait for that, which a stalled server never answers."""

    answer_within_s: float = 10.0  # set from the settings whenever the connection is handed out
    stalled: bool = False

    async def wait(self, gen: PQGen[RV], interval: float = 0.1, timeout: float | None = None) -> RV:
        watchdog = asyncio.get_running_loop().call_later(self.answer_within_s, self._cut)
        try:
            return await super().wait(gen, interval, timeout)
        finally:
            watchdog.cancel()

    def _cut(self) -> None:
        self.stalled = True
        # A duplicate of the descriptor: shutting it down ends the connection itself, and closing
        # it leaves the descriptor psycopg waits on open, so that is never reused meanwhile.
        # (Already closed: nothing to cut.)
        with suppress(OSError, psycopg.OperationalError), \
                socket.socket(fileno=os.dup(self.pgconn.socket)) as sock:
            sock.shutdown(socket.SHUT_RDWR)


def pg_marks(sql: str) -> str:
    """SQL shared with the SQLite stores, with psycopg's placeholders in place of its ``?``
    (for text that holds no other ``?`` or ``%``)."""
    return sql.replace("?", "%s")


# A lost server is tried again at least this often, however long it has been away: the pool's
# own backoff doubles without bound, which kept calls failing long after the server was back.
RECONNECT_EVERY_S = 1.0


class _Pool(AsyncConnectionPool[Connection]):
    async def schedule_task(self, task: MaintenanceTask, delay: float) -> None:
        if isinstance(task, AddConnection):  # a reconnection attempt, not the idle shrinking
            delay = min(delay, RECONNECT_EVERY_S)
        await super().schedule_task(task, delay)


class SkippedWhileDown:
    """A block whose ``StorageUnavailable`` is swallowed when ``skip`` (see
    ``Database.skipped_while_down``)."""

    def __init__(self, skip: bool) -> None:
        self._skip = skip

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> bool:
        return self._skip and isinstance(exc, StorageUnavailable)


def _closed_by_server(conn: Connection) -> bool:
    """Whether the server ended an idle connection: its end (or a last error) already waits on
    the socket. Read without a round trip; with nothing waiting, nothing is read."""
    try:
        conn.pgconn.consume_input()
    except psycopg.OperationalError:
        return True
    return conn.pgconn.status != psycopg.pq.ConnStatus.OK


class Database:
    """The pool and its settings. ``open`` reaches the server and migrates it before returning."""

    def __init__(self, config: StorageConfig) -> None:
        if config.url is None:
            raise ValueError("storage.url is not set")
        self.config = config
        self._url = config.url.get_secret_value()
        self.label = describe_dsn(self._url)
        self.fails_open = config.on_unavailable == "fail_open"
        # Why the database was last found unreachable; None while it answers.
        self.down: str | None = None
        self.pool: AsyncConnectionPool[Connection] = _Pool(
            self._url,
            min_size=config.pool_min_size,
            max_size=config.pool_max_size,
            timeout=config.connect_timeout_s,  # the longest a call waits for a connection
            kwargs=self._connect_options(),
            connection_class=Connection,
            name="gatewise",
            open=False,
        )

    @classmethod
    async def open(cls, config: StorageConfig, *, migrate: bool = True) -> Database:
        """Reach the server (one clear error if it cannot be reached) and bring the schema up
        to date under an advisory lock, so instances starting together migrate once."""
        from gatewise.storage.postgres.schema import MIGRATION_TIMEOUT_MS
        from gatewise.storage.postgres.schema import migrate as apply

        db = cls(config)
        options = db._connect_options()
        # One direct connection first: an unreachable server is then one error naming the cause,
        # rather than the pool retrying in the background until its timeout.
        try:
            conn = await Connection.connect(db._url, **options)
        except psycopg.Error as exc:
            raise db._unreachable(exc) from None
        conn.answer_within_s = max(config.answer_within_s, MIGRATION_TIMEOUT_MS / 1000 + STALL_GRACE_S)
        async with conn:
            if migrate:
                try:
                    await apply(conn, name=db.label)
                except psycopg.OperationalError as exc:
                    raise db._unreachable(exc, conn) from None
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
    async def connection(self, within_s: float | None = None) -> AsyncIterator[Connection]:
        """A pooled connection; a lost or stalled server or a timeout becomes ``StorageUnavailable``.
        ``within_s`` bounds both the wait for the connection and each answer (default: the
        connect timeout and ``storage.answer_within_s``)."""
        conn: Connection | None = None
        try:
            conn = await self._checkout(within_s or self.config.connect_timeout_s)
            try:
                # A report raises it for its own statements.
                conn.answer_within_s = within_s or self.config.answer_within_s
                async with conn:  # commits, or rolls back on an error, as the pool's own would
                    yield conn
            finally:
                # Shielded: a caller cancelled again while giving it back would lose it for good.
                await asyncio.shield(self.pool.putconn(conn))
        except PoolTimeout as exc:
            raise self._went_down(self._unreachable(exc)) from None
        except psycopg.OperationalError as exc:
            raise self._went_down(self._unreachable(exc, conn)) from None
        except (psycopg.DataError, psycopg.IntegrityError) as exc:
            raise BadRow(f"{self.label}: {self.scrub(str(exc))}") from None
        except psycopg.Error as exc:
            raise LedgerError(f"{self.label}: {self.scrub(str(exc))}") from None
        self._answered()

    async def _checkout(self, within_s: float) -> Connection:
        """A pooled connection the server has not closed, within ``within_s``. One it closed is
        given back (the pool replaces it) before any statement is sent on it, and another taken."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_s
        for _ in range(self.config.pool_max_size):
            conn = await self.pool.getconn(timeout=max(0.0, deadline - loop.time()))
            if not _closed_by_server(conn):
                return conn
            await asyncio.shield(self.pool.putconn(conn))
        # Every connection the pool held was closed: the ones it opens meanwhile are new.
        return await self.pool.getconn(timeout=max(0.0, deadline - loop.time()))

    def skipped_while_down(self) -> SkippedWhileDown:
        """Under ``fail_open``, what a call can do without (a cache read or write, an audit row)
        is skipped rather than failing the call when the database cannot be reached."""
        return SkippedWhileDown(self.fails_open)

    async def ping(self, within_s: float) -> None:
        """One round trip to the server within ``within_s``, else ``StorageUnavailable``."""
        async with self.connection(within_s) as conn:
            await conn.execute("SELECT 1")

    def scrub(self, text: str) -> str:
        return without_password(text, self._url)

    def _unreachable(self, exc: BaseException, conn: Connection | None = None) -> StorageUnavailable:
        """The error: for callers, why without where; for the operator, both."""
        if conn is not None and conn.stalled:
            reason = detail = f"no answer within {conn.answer_within_s:g} s"
        else:
            detail = self.scrub(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
            # The driver's own words name the host and port; a pool that ran dry names nothing.
            reason = detail if isinstance(exc, PoolTimeout) else "the connection failed or was lost"
        return StorageUnavailable(reason, f"PostgreSQL at {self.label} is unavailable: {detail}")

    def _went_down(self, error: StorageUnavailable) -> StorageUnavailable:
        """Remember ``error`` (the log names the database once an outage begins)."""
        if self.down is None:
            log.warning("%s", error.detail)
        self.down = error.detail
        return error

    def _answered(self) -> None:
        if self.down is not None:
            log.warning("PostgreSQL at %s answers again", self.label)
        self.down = None

    async def close(self) -> None:
        await self.pool.close()
