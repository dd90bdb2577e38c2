"""CORS for browser clients of ``gatewise serve``, from the origins ``server.allowed_origins`` lists.

A browser asks before a cross-origin call with an Authorization header (a preflight: OPTIONS, no
credentials), so a preflight from an allowed origin is answered here, before authentication,
which would refuse it for lack of a token. Answers to an allowed origin name that origin (never
``*``) and expose the session and challenge headers a client must read. An origin not listed gets
none of this, and its requests stay refused by the servers' Origin check.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

METHODS = "GET, POST, DELETE, OPTIONS"
REQUEST_HEADERS = "Authorization, Content-Type, Mcp-Session-Id, Mcp-Protocol-Version, Last-Event-ID"
EXPOSED = "Mcp-Session-Id, WWW-Authenticate"
PREFLIGHT_CACHE_S = 600


def origin_allowed(origin: str, allowed: Sequence[str]) -> bool:
    """``origin`` is listed, or matches a listed ``scheme://host:*`` on some port."""
    return any(origin == pattern or (pattern.endswith(":*") and origin.startswith(pattern[:-1])
                                     and origin[len(pattern) - 1:].isdigit())
               for pattern in allowed)


class Cors:
    def __init__(self, app: ASGIApp, allowed_origins: Sequence[str]) -> None:
        self.app = app
        self.allowed = tuple(allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope) if scope["type"] == "http" else None
        origin = headers.get("origin") if headers is not None else None
        if headers is None or not origin or not origin_allowed(origin, self.allowed):
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await Response(status_code=204, headers={
                "access-control-allow-origin": origin, "access-control-allow-methods": METHODS,
                "access-control-allow-headers": REQUEST_HEADERS,
                "access-control-max-age": str(PREFLIGHT_CACHE_S), "vary": "Origin"})(scope, receive, send)
            return

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer = MutableHeaders(scope=message)
                answer["access-control-allow-origin"] = origin
                answer["access-control-expose-headers"] = EXPOSED
                answer.add_vary_header("Origin")
            await send(message)

        await self.app(scope, receive, with_cors)
