"""Shared fixtures: one real sandbox upstream on loopback, fresh settings and data per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client

from gatewise.config import Settings, load_settings
from gatewise_sandbox import SandboxServer


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


class SandboxAdmin:
    """Test-side control of the sandbox: faults and request counts."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.url = server.url

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        reply = httpx.request(method, f"{self.server.root_url}/_sandbox/{path}", timeout=10, **kw)
        reply.raise_for_status()
        return reply.json() if reply.content else None

    def reset(self) -> None:
        self._call("POST", "reset")

    def fault(self, model: str, **rule: Any) -> None:
        self._call("PUT", "faults", json={"model": model, **rule})

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "stats")

    def reject_server_tool(self, *models: str) -> dict[str, Any]:
        """Make these models (``"*"``: all) refuse the web search server tool; none: accept."""
        return self._call("PUT", "search", json={"reject_server_tool": list(models)})


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
