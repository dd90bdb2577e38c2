"""The SDK's OpenTelemetry span per request, only when a tracer provider is set.

The SDK wraps every request in a span; with no tracer provider set (gatewise sets none), the span
is a no-op that still costs about as much as the rest of gatewise's request handling. The span is
made as before as soon as a provider is set, at start-up or later.
"""

from __future__ import annotations

from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerMiddleware, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from opentelemetry import trace

try:  # a private module of the SDK: a release that moves it leaves the spans as they are
    from mcp.server._otel import OpenTelemetryMiddleware
except ImportError:  # pragma: no cover - depends on the installed SDK
    OpenTelemetryMiddleware = None  # type: ignore[assignment,misc]


def trace_only_when_traced(server: MCPServer[Any]) -> None:
    """Put the SDK's span middleware on ``server`` behind a check that a tracer provider is set."""
    if OpenTelemetryMiddleware is None:
        return

    def when_traced(spans: OpenTelemetryMiddleware) -> ServerMiddleware[Any]:
        async def spans_when_traced(ctx: ServerRequestContext[Any, Any], call_next: CallNext
                                    ) -> HandlerResult:
            if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
                return await call_next(ctx)  # none set: every span would be a no-op
            return await spans(ctx, call_next)

        return spans_when_traced

    server.middleware[:] = [when_traced(m) if isinstance(m, OpenTelemetryMiddleware) else m
                            for m in server.middleware]
