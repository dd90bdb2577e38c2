"""A gatewise server still makes the SDK's span for each request once a tracer provider is set."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from mcp import Client
from opentelemetry import trace

from gatewise.mcpkit.server import build_server


class Recording(trace.NoOpTracer):
    def __init__(self) -> None:
        self.names: list[str] = []

    @contextmanager
    def start_as_current_span(self, name: str, *args: Any, **kwargs: Any) -> Iterator[trace.Span]:
        self.names.append(name)
        with super().start_as_current_span(name, *args, **kwargs) as span:
            yield span


class Provider(trace.NoOpTracerProvider):
    def __init__(self) -> None:
        self.tracer = Recording()

    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
        return self.tracer


async def called_tool(server: Any) -> None:
    @server.tool()
    async def ping() -> str:
        return "pong"

    async with Client(server) as client:
        assert not (await client.call_tool("ping", {})).is_error


async def test_requests_are_traced_once_a_provider_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    provider = Provider()
    server = build_server("traced", instructions="")  # built before the provider is set
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: provider)
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", provider)  # what the SDK's proxy tracer follows
    await called_tool(server)
    assert "tools/call ping" in provider.tracer.names
