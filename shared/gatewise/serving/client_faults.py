"""What the MCP SDK raises after it has answered a client's own mistake, kept out of the log's
tracebacks.

Refusing an SSE stream for its Host or Origin, the SDK sends its 421 or 403 and then raises
``ValueError("Request validation failed")``; a message POSTed to an SSE session whose stream has
just closed is answered 202 and then raises ``anyio.ClosedResourceError``. Both reached the server
as an "Exception in ASGI application" traceback and dropped the connection: any client could fill
the log with them. Once the answer has started, they are one debug line each; anything else, or
anything raised before an answer, still propagates as the fault it is.
"""

from __future__ import annotations

import logging

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

_REFUSED = "Request validation failed"


class ClientFaults:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        answered = False

        async def sending(message: Message) -> None:
            nonlocal answered
            answered = answered or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except ValueError as exc:
            if not (answered and str(exc) == _REFUSED):
                raise
            log.debug("refused %s %s (its answer was sent)", scope.get("method"), _path(scope))
        except anyio.ClosedResourceError:
            if not answered:
                raise
            log.debug("%s %s reached a stream that had closed", scope.get("method"), _path(scope))


def _path(scope: Scope) -> str:
    return str(scope.get("path", ""))[:80]
