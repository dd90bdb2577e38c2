"""The server factory every gatewise server uses."""

from __future__ import annotations

import importlib.metadata
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar

from mcp import MCPError
from mcp.server.mcpserver import MCPServer
from mcp.types import INVALID_PARAMS

from gatewise.config import Settings
from gatewise.mcpkit.redaction import scrub_tool_results
from gatewise.runtime import Runtime

T = TypeVar("T")


def package_version() -> str:
    try:
        return importlib.metadata.version("gatewise")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


def runtime_lifespan(settings: Settings, make: Callable[[Runtime], T]
                     ) -> Callable[[MCPServer[Any]], AbstractAsyncContextManager[T]]:
    """A lifespan that opens the shared runtime, hands tools ``make(runtime)``, and closes it."""

    @asynccontextmanager
    async def lifespan(server: MCPServer[Any]) -> AsyncIterator[T]:
        runtime = await Runtime.open(settings)
        try:
            yield make(runtime)
        finally:
            await runtime.close()

    return lifespan


def build_server(
    name: str,
    *,
    instructions: str,
    lifespan: Callable[[MCPServer[Any]], AbstractAsyncContextManager[Any]] | None = None,
) -> MCPServer[Any]:
    """An MCPServer with the version set, static lists, and unknown tools rejected per spec."""
    server: MCPServer[Any] = MCPServer(
        name,
        instructions=instructions,
        version=package_version(),
        lifespan=lifespan,
        subscriptions=False,
    )
    known: set[str] = set()

    async def reject_unknown_tools(ctx: Any, call_next: Any) -> Any:
        # The SDK answers an unknown tool with an isError result; the spec asks for -32602.
        if ctx.method == "tools/call" and isinstance(ctx.params, dict):
            if not known:
                known.update(tool.name for tool in await server.list_tools())
            name = ctx.params.get("name")
            if not isinstance(name, str) or name not in known:
                raise MCPError(code=INVALID_PARAMS, message=f"Unknown tool: {name}")
        return await call_next(ctx)

    server.middleware.append(reject_unknown_tools)
    server.middleware.append(scrub_tool_results)  # innermost: sees each result as the tool made it
    return server
