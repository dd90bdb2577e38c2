"""The Starlette application: OpenRouter's paths under ``/api/v1``, Portkey's Admin API under
``/v1``, plus the admin routes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gatewise_sandbox import admin, endpoints
from gatewise_sandbox.chat import chat_completions
from gatewise_sandbox.portkey.routes import routes as portkey_routes
from gatewise_sandbox.state import SandboxConfig, SandboxState
from gatewise_sandbox.wire import error_response

log = logging.getLogger(__name__)

BASE_PATH = "/api/v1"


def create_app(config: SandboxConfig | SandboxState | None = None) -> Starlette:
    """The sandbox as an ASGI app; its state is ``app.state.sandbox``."""
    state = config if isinstance(config, SandboxState) else SandboxState(config)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state.attach()
        yield
        state.close()

    api = [
        Route("/chat/completions", chat_completions, methods=["POST"]),
        Route("/models", endpoints.models, methods=["GET"]),
        Route("/embeddings/models", endpoints.embedding_models, methods=["GET"]),
        Route("/embeddings", endpoints.embeddings, methods=["POST"]),
        Route("/key", endpoints.key, methods=["GET"]),
        Route("/auth/key", endpoints.key, methods=["GET"]),  # the legacy path
        Route("/credits", endpoints.credits, methods=["GET"]),
        Route("/generation", endpoints.generation, methods=["GET"]),
    ]
    routes = [Route(BASE_PATH + r.path, r.endpoint, methods=r.methods) for r in api] + [
        Route("/_sandbox/faults", admin.get_faults, methods=["GET"]),
        Route("/_sandbox/faults", admin.put_faults, methods=["PUT", "POST"]),
        Route("/_sandbox/faults", admin.delete_faults, methods=["DELETE"]),
        Route("/_sandbox/search", admin.get_search, methods=["GET"]),
        Route("/_sandbox/search", admin.put_search, methods=["PUT"]),
        Route("/_sandbox/tamper", admin.put_tamper, methods=["PUT"]),
        Route("/_sandbox/stats", admin.stats, methods=["GET"]),
        Route("/_sandbox/received", admin.received, methods=["GET"]),
        Route("/_sandbox/reset", admin.reset, methods=["POST"]),
        Route("/_sandbox/health", admin.health, methods=["GET"]),
        *portkey_routes(),
    ]
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={HTTPException: _http_error, Exception: _crash})
    app.state.sandbox = state
    return app


async def _http_error(request: Request, exc: Exception) -> Response:
    """Unknown paths and wrong methods get OpenRouter's error shape, not plain text."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    return error_response(status, None if status != 405 else "Method not allowed",
                          error_type="not_found" if status == 404 else None)


async def _crash(request: Request, exc: Exception) -> Response:
    log.error("sandbox handler failed on %s: %s", request.url.path, type(exc).__name__)
    return error_response(500)  # masked, as upstream masks its 500s
