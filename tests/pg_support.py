"""A throwaway PostgreSQL database per test, on the server named by ``GATEWISE_TEST_POSTGRES``
(default: the local one, trust auth). No MCP import, so child processes can use it.

Tests that need the server skip, saying why, when it cannot be reached within two seconds; the
probe runs once per process.
"""

from __future__ import annotations

import functools
import os
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
