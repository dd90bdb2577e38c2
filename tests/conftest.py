"""Shared fixtures: one real sandbox upstream on loopback, fresh settings and data per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp import Client

from gatewise.config import Settings, load_settings
from gatewise_sandbox import SandboxServer
from sandbox_admin import SandboxAdmin


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every end-to-end test starts processes, so all of them count as slow."""
    e2e = Path(__file__).parent / "e2e"
    for item in items:
        if item.path.is_relative_to(e2e):
            item.add_marker(pytest.mark.slow)


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
    # Retries keep their count but not their real back-off: a faulted call would sleep up to 0.75 s.
    return load_settings({}, data_dir=tmp_path / "data", sandbox_url=sandbox.url,
                         limits={"backoff_base_s": 0.001, "backoff_max_s": 0.01})


ERAS = ("auto", "legacy")  # the 2026-07-28 protocol, and the 2025-11-25 initialize handshake


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests marked ``both_eras`` run in both protocol eras, the rest in ``auto`` only: a tool's own
    behaviour and errors are the same in both, the protocol layer (listing tools, protocol errors,
    progress notifications) is where the eras differ."""
    if "era" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_eras"):
        metafunc.parametrize("era", ERAS, indirect=True)


@pytest.fixture
def era(request: pytest.FixtureRequest) -> str:
    """The client's protocol mode for in-memory clients (see ``pytest_generate_tests``)."""
    return getattr(request, "param", "auto")


@pytest.fixture
def connect(era: str, settings: Settings):
    """An in-memory MCP client factory for routing-gateway.

    Tests open it themselves (``async with connect() as client``): the client's task group must
    be entered and left in the same task, which an async-generator fixture does not guarantee.
    """
    from gatewise.servers.routing_gateway.server import create_server

    def factory() -> Client:
        return Client(create_server(settings), mode=era)

    return factory
