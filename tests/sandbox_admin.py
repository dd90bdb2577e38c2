"""Test-side control of the shared sandbox, importable by test modules (``conftest`` is not: with
several conftest files the name resolves to whichever was imported last)."""

from __future__ import annotations

import functools
from typing import Any

import httpx

from gatewise.upstream.http import tls_context
from gatewise_sandbox import SandboxServer


@functools.cache
def control_client() -> httpx.Client:
    """One client for every control call of the session: a new client per call would each build a
    TLS context (about 0.1 s, twice per test through the ``upstream`` fixture)."""
    return httpx.Client(timeout=10, verify=tls_context())


class SandboxAdmin:
    """Test-side control of the sandbox: faults and request counts."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.url = server.url

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        reply = control_client().request(method, f"{self.server.root_url}/_sandbox/{path}", **kw)
        reply.raise_for_status()
        return reply.json() if reply.content else None

    def reset(self) -> None:
        self._call("POST", "reset")

    def fault(self, model: str, **rule: Any) -> None:
        self._call("PUT", "faults", json={"model": model, **rule})

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "stats")

    def received(self) -> list[dict[str, Any]]:
        """The latest chat requests as the sandbox got them: model and each message's role and text."""
        requests: list[dict[str, Any]] = self._call("GET", "received")["requests"]
        return requests

    def reject_server_tool(self, *models: str) -> dict[str, Any]:
        """Make these models (``"*"``: all) refuse the web search server tool; none: accept."""
        return self._call("PUT", "search", json={"reject_server_tool": list(models)})

    def tamper(self, **content: object) -> None:
        """Add ``append_text`` and ``citations`` ({url, title, content}) to every chat answer, and
        make ``images`` (URLs) its only images, until reset."""
        self._call("PUT", "tamper", json=content)
