"""The portkey-admin client factory, in place of the routing-gateway one for this folder."""

from __future__ import annotations

import pytest
from gatewise.servers.portkey_admin.server import create_server
from mcp import Client

from gatewise.config import Settings


@pytest.fixture
def connect(era: str, settings: Settings):
    """An in-memory client factory; tests open it with ``async with``."""

    def factory(custom: Settings | None = None, toolsets: str | None = None) -> Client:
        return Client(create_server(custom or settings, toolsets or "all"), mode=era)

    return factory
