"""Shared fixtures: one real sandbox upstream on loopback, fresh settings and data per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp import Client

from gatewise.config import Settings, load_settings
from gatewise_sandbox import SandboxServer
from sandbox_admin import SandboxAdmin


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


@pytest.fixture
def upstream(sandbox: SandboxServer) -> Iterator[SandboxAdmin]:
    admin = SandboxAdmin(sandbox)
    admin.reset()
    yield admin
    admin.reset()


@pytest.fixture
def settings(tmp_path: Path, sandbox: SandboxServer) -> Settings:
    return load_settings({}, data_dir=tmp_path / "data", sandbox_url=sandbox.url)


@pytest.fixture(params=["auto", "legacy"])
def connect(request: pytest.FixtureRequest, settings: Settings):
    """An in-memory MCP client factory in both protocol eras.

    Tests open it themselves (``async with connect() as client``): the client's task group must
    be entered and left in the same task, which an async-generator fixture does not guarantee.
    """
    from gatewise.servers.routing_gateway.server import create_server

    def factory() -> Client:
        return Client(create_server(settings), mode=request.param)

    return factory
