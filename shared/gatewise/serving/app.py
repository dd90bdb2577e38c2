"""The ASGI app of ``gatewise serve``: every server under its own path, health, and extensions.

Each server answers Streamable HTTP at ``/<server>/mcp`` and legacy SSE at ``/<server>/sse``
(posting to ``/<server>/messages/``). ``/healthz`` says the process is up; ``/readyz`` says every
server has started, none is draining for shutdown and the shared database (if any) answers.
Other parts of the product add pages through :class:`Extension`: routes built, once the app has
started, from a runtime of their own, behind the same authentication as the servers (a grant's
``servers`` names the area, e.g. ``dashboard``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mcp.server.context import CallNext, HandlerResult, ServerMiddleware, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp

from gatewise.config import ServerConfig, Settings
from gatewise.ledger.store import LedgerError
from gatewise.mcpkit.grants import Ownership
from gatewise.mcpkit.http_limits import BodyLimits, SessionCap
from gatewise.mcpkit.server import GatewiseServer
from gatewise.runtime import Runtime
from gatewise.serving.client_faults import ClientFaults
from gatewise.serving.cors import Cors
from gatewise.serving.events import RETRY_MS, EventLog, SessionEvents
from gatewise.serving.gate import CREDENTIAL, AuthGate, Resources
from gatewise.storage.outage import StorageUnavailable

if TYPE_CHECKING:
    from gatewise.storage.postgres.database import Database

logger = logging.getLogger(__name__)

# How long a database probe's answer stands for every /readyz asked meanwhile: a flood of
# probes costs the database at most one round trip a second.
PROBE_REUSE_S = 1.0


@dataclass(frozen=True)
class Extension:
    """Pages served beside the servers under ``/<area>``: ``routes(runtime)`` is called once at
    start-up with a runtime opened for them (closed at shutdown); its paths start with ``/<area>``."""

    area: str
    routes: Callable[[Runtime], Sequence[BaseRoute]]


@dataclass
class ServeState:
    """What ``/readyz`` reports."""

    started: bool = False
    draining: bool = False
    servers: list[str] = field(default_factory=list)
    storage: StorageProbe | None = None


class StorageProbe:
    """Whether the shared database answers within ``within_s``: one probe at a time, its answer
    reused for ``PROBE_REUSE_S``."""

    def __init__(self, database: Database, within_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.database = database
        self.within_s = within_s
        self.clock = clock
        self._lock = asyncio.Lock()
        self._last: tuple[float, str | None] | None = None

    async def problem(self) -> str | None:
        """None while the database answers; otherwise why not."""
        async with self._lock:
            if self._last is None or self.clock() - self._last[0] >= PROBE_REUSE_S:
                try:
                    await self.database.ping(self.within_s)
                    problem = None
                except StorageUnavailable as exc:  # unreachable or stalled
                    problem = exc.detail
                except LedgerError as exc:  # answering, but refusing the probe itself
                    problem = str(exc)
                if problem != (self._last[1] if self._last else None):  # a change is logged, once
                    logger.warning("readiness: %s", problem or "the database answers again")
                self._last = (self.clock(), problem)
            return self._last[1]


def build_app(servers: Mapping[str, MCPServer[Any]], settings: Settings, limits: ServerConfig,
              security: TransportSecuritySettings, *, base_url: str, state: ServeState,
              extensions: Sequence[Extension] = ()) -> ASGIApp:
    """The whole app, outermost first: body limits, CORS, authentication (when configured), each
    session's event log (so a broken SSE stream can be resumed), routes."""
    routes: list[BaseRoute] = [Route("/healthz", _healthz), Route("/readyz", _readyz(state))]
    events = EventLog()
    ownership = {name: server.ownership if isinstance(server, GatewiseServer) else Ownership()
                 for name, server in servers.items()}
    for name, server in servers.items():
        server.middleware.append(granted_lists(ownership[name]))
        http = server.streamable_http_app(
            streamable_http_path="/mcp", transport_security=security,
            event_store=events, retry_interval=RETRY_MS,
            max_request_body_size=limits.max_body_bytes, max_sessions=limits.max_sessions,
            session_idle_timeout=limits.session_idle_timeout_s)
        sse = server.sse_app(sse_path="/sse", message_path="/messages/", transport_security=security,
                             max_request_body_size=limits.max_body_bytes)
        routes.append(Mount(f"/{name}", app=Starlette(routes=[*http.routes, *sse.routes])))
    app = Starlette(routes=routes, lifespan=_lifespan(servers, settings, state, extensions))
    guarded: ASGIApp = SessionEvents(ClientFaults(app), servers, events)
    for name in servers:  # SSE sessions are not counted by the SDK
        guarded = SessionCap(guarded, limits, path=f"/{name}/sse")
    if limits.auth.enabled:
        resources = Resources(base_url, servers, [e.area for e in extensions], limits.auth)
        guarded = AuthGate(guarded, limits, resources, ownership)
    return BodyLimits(Cors(guarded, security.allowed_origins), limits)


def _lifespan(servers: Mapping[str, MCPServer[Any]], settings: Settings, state: ServeState,
              extensions: Sequence[Extension]) -> Callable[[Starlette], Any]:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            # Mounted apps' own lifespans do not run: each server's session manager (which opens
            # its runtime) is run here.
            for server in servers.values():
                await stack.enter_async_context(server.session_manager.run())
            if extensions or settings.storage.url is not None:
                runtime = await Runtime.open(settings)
                stack.push_async_callback(runtime.close)
                for extension in extensions:
                    app.router.routes.extend(extension.routes(runtime))
                if runtime.database is not None:
                    state.storage = StorageProbe(runtime.database, settings.server.ready_timeout_s)
            state.servers = list(servers)
            state.started = True
            yield
            state.draining = True

    return lifespan


# Each list a grant filters: the result's field (Python name, wire name) and its items' key.
LISTS = {
    "tools/list": ("tools", "tools", "name", "name"),
    "resources/list": ("resources", "resources", "uri", "uri"),
    "resources/templates/list": ("resource_templates", "resourceTemplates", "uri_template", "uriTemplate"),
    "prompts/list": ("prompts", "prompts", "name", "name"),
}


def granted_lists(ownership: Ownership) -> ServerMiddleware[Any]:
    """The lists show a caller only what its grant lets it use (the rest would get 403): its
    tools, and the resources, templates and prompts those tools own."""

    def owners(method: str, key: str) -> frozenset[str]:
        if method == "tools/list":
            return frozenset({key})
        return ownership.of_prompt(key) if method == "prompts/list" else ownership.of_uri(key)

    async def granted(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        result = await call_next(ctx)
        credential, shape = CREDENTIAL.get(), LISTS.get(ctx.method)
        if shape is None or credential is None or "*" in credential.tools:
            return result
        field, wire, item_field, item_wire = shape
        if isinstance(result, BaseModel):
            kept = [item for item in getattr(result, field)
                    if credential.may_use(owners(ctx.method, str(getattr(item, item_field))))]
            return result.model_copy(update={field: kept})
        if isinstance(result, dict) and isinstance(result.get(wire), list):
            return {**result, wire: [item for item in result[wire] if isinstance(item, dict)
                                     and credential.may_use(owners(ctx.method, str(item.get(item_wire))))]}
        return result

    return granted


async def _healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def _readyz(state: ServeState) -> Callable[[Request], Any]:
    async def readyz(request: Request) -> Response:
        if not state.started or state.draining:
            status = "draining" if state.draining else "starting"
            return JSONResponse({"status": status}, status_code=503)
        problem = await state.storage.problem() if state.storage is not None else None
        if problem is not None:  # the reason (which names the database) goes to the log only
            return JSONResponse({"status": "storage_unavailable"}, status_code=503)
        return JSONResponse({"status": "ready", "servers": state.servers})

    return readyz
