"""A throwaway PostgreSQL database per test, on the server named by ``GATEWISE_TEST_POSTGRES``
(default: the local one, trust auth). No MCP import, so child processes can use it.

Tests that need the server skip, saying why, when it cannot be reached within two seconds; the
probe runs once per process.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

ADMIN_URL = os.environ.get("GATEWISE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


@functools.cache
def unreachable_reason() -> str | None:
    """None when the server answers; otherwise why not, for the skip message."""
    try:
        with psycopg.connect(ADMIN_URL, connect_timeout=2) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"no PostgreSQL reachable at {urlsplit(ADMIN_URL).netloc} (GATEWISE_TEST_POSTGRES): {first}"
    return None


def require_postgres() -> None:
    reason = unreachable_reason()
    if reason is not None:
        pytest.skip(reason)


def database_url(name: str) -> str:
    return urlunsplit(urlsplit(ADMIN_URL)._replace(path=f"/{name}"))


@contextmanager
def throwaway_database() -> Iterator[str]:
    """The URL of a new empty database ``gatewise_test_<uuid>``, dropped afterwards (connections
    still open are ended: a test that failed halfway must not leave it behind)."""
    require_postgres()
    name = f"gatewise_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield database_url(name)
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_rows(url: str, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Rows read straight from the database, past the code under test."""
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def with_password(url: str, password: str, port: int | None = None) -> str:
    """``url`` as user postgres with ``password`` (trust auth ignores it), on ``port`` if given."""
    rest = url.split("@", 1)[1]
    if port is not None:
        rest = f"127.0.0.1:{port}/" + rest.split("/", 1)[1]
    return f"postgresql://postgres:{password}@{rest}"


def server_port(url: str) -> int:
    return int(urlsplit(url).port or 5432)


class Proxy:
    """A TCP relay on loopback to the real server, which the test can cut and bring back, or
    freeze: the only ways to lose a real database mid-flight without stopping it for everyone else."""

    def __init__(self, target_port: int) -> None:
        self.port = free_port()
        self._target = target_port
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()
        self.frozen = False

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._links):
            writer.close()
        await self._server.wait_closed()

    def freeze(self) -> None:
        """Keep every connection open, and accept new ones, but forward nothing more: a frozen
        host behind a network that still acknowledges every byte."""
        self.frozen = True

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._links.add(writer)
        if self.frozen:
            await self._swallow(reader)
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._target)
        self._links.add(up_writer)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    if self.frozen:
                        continue
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    @staticmethod
    async def _swallow(reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while await reader.read(65536):
                pass
