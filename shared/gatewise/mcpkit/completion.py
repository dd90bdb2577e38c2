"""Argument completion (``completion/complete``) with the server's state in reach.

The SDK's ``@server.completion()`` hands its function only the reference and the argument, not
the request context, so a completion that needs the model catalogue or the Portkey client could
not reach them. This registers the handler one level lower, where the context arrives; the
server then advertises the ``completions`` capability as usual.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.types import CompleteRequestParams, CompleteResult, Completion

T = TypeVar("T")
MAX_VALUES = 100  # the most one answer may hold (MCP spec)
MAX_TYPED = 200  # characters of the partial value looked at

Complete = Callable[[T, CompleteRequestParams], Awaitable[Iterable[str]]]


def matching(candidates: Iterable[str], typed: str) -> Completion:
    """The candidates that start with (or, failing that, contain) what was typed, case aside;
    at most MAX_VALUES, with the total and whether more exist."""
    typed = typed[:MAX_TYPED].lower()
    pool = sorted(set(candidates))
    found = [c for c in pool if c.lower().startswith(typed)] or [c for c in pool if typed in c.lower()]
    return Completion(values=found[:MAX_VALUES], total=len(found), has_more=len(found) > MAX_VALUES)


def add_completion(server: MCPServer[T], complete: Complete[T]) -> None:
    """Answer ``completion/complete`` with ``complete(state, params)``'s candidates, filtered by
    the partial value; ``state`` is what the server's lifespan yielded."""

    async def handler(ctx: Any, params: CompleteRequestParams) -> CompleteResult:
        candidates = await complete(ctx.lifespan_context, params)
        return CompleteResult(completion=matching(candidates, params.argument.value))

    server._lowlevel_server.add_request_handler("completion/complete", CompleteRequestParams, handler)
