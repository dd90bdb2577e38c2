"""``gatewise serve``: all four servers in one process over Streamable HTTP and SSE.

``gatewise serve <server> [--transport stdio|http|sse]`` still runs one server on its own.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import math
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from types import FrameType
from typing import Any

import uvicorn
from mcp.server.mcpserver import MCPServer

from gatewise.config import Settings, load_settings_or_exit
from gatewise.dashboard import DashboardSources, dashboard_routes
from gatewise.errors import ErrorCode, GatewiseError
from gatewise.mcpkit.http_access import is_loopback
from gatewise.mcpkit.http_limits import uvicorn_options
from gatewise.mcpkit.transport import (
    HttpServing,
    bind,
    configure_logging,
    exit_on_failed_check,
    http_serving,
    port_number,
    run_checks,
)
from gatewise.serving.app import Extension, ServeState, build_app
from gatewise.serving.credentials import new_token
from gatewise.upstream.local_sandbox import SandboxProcess

logger = logging.getLogger("gatewise.serve")

Preflight = Callable[[Settings], object]
Suite = dict[str, tuple[Callable[[Settings], MCPServer[Any]], Preflight | None]]


# Each server's package, and the check its console script runs before serving (if any).
SUITE = {"routing-gateway": ("routing_gateway", "check_models"),
         "openrouter-multimodal": ("openrouter_multimodal", None),
         "openrouter-search": ("openrouter_search", "check_model"),
         "portkey-admin": ("portkey_admin", "check_toolsets")}


def suite() -> Suite:
    """Every server by its path name: its factory and its check before serving."""
    found: Suite = {}
    for name, (package, check) in SUITE.items():
        factory = importlib.import_module(f"gatewise.servers.{package}.server").create_server
        script = importlib.import_module(f"gatewise.servers.{package}.__main__")
        found[name] = (factory, getattr(script, check) if check else None)
    return found


def extensions() -> list[Extension]:
    """Pages served beside the servers (see :class:`gatewise.serving.app.Extension`)."""
    return [Extension("dashboard", lambda runtime: dashboard_routes(DashboardSources.from_runtime(runtime)))]


def serve_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gatewise serve", description="Serve every server over HTTP: /<server>/mcp (Streamable "
        "HTTP), /<server>/sse (legacy SSE), /healthz, /readyz. `gatewise serve <server> --transport "
        "stdio|http|sse` runs one server on its own.")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default 127.0.0.1); beyond loopback needs authentication "
                             "and --allowed-host")
    parser.add_argument("--port", type=port_number, default=8000,
                        help="port (default 8000; 0 picks a free one)")
    parser.add_argument("--allowed-host", action="append", dest="allowed_hosts", metavar="HOST",
                        help="Host header value clients use (repeatable); replaces server.allowed_hosts")
    parser.add_argument("--allowed-origin", action="append", dest="allowed_origins", metavar="ORIGIN",
                        help="browser origin allowed to call (repeatable); replaces server.allowed_origins")
    parser.add_argument("--new-token", metavar="NAME",
                        help="print a new random token and the server.auth.tokens entry that accepts it")
    return parser


def main(argv: Sequence[str]) -> None:
    args = serve_parser().parse_args(argv)
    if args.new_token is not None:
        _print_new_token(args.new_token)
        return
    settings = load_settings_or_exit()
    servers = suite()
    with exit_on_failed_check("gatewise serve"):
        if not (is_loopback(args.host) or settings.server.auth.enabled):
            raise GatewiseError(ErrorCode.CONFIG_ERROR, (
                f"refusing to serve on {args.host} without authentication: configure server.auth.tokens, "
                "server.auth.jwt or GATEWISE_AUTH_TOKENS, or use --host 127.0.0.1"))
        http = http_serving(settings, args)
        run_checks(settings, [preflight for _, preflight in servers.values()])
    configure_logging(settings)
    sock = bind("gatewise serve", args.host, args.port)
    asyncio.run(_serve(settings, http, sock, servers))


def _print_new_token(name: str) -> None:
    from pydantic import ValidationError

    from gatewise.config import TokenEntry

    token, entry = new_token(name)
    try:
        TokenEntry.model_validate(entry)  # a name the config would refuse is refused here
    except ValidationError:  # only the name comes from the user
        print(f"gatewise serve: --new-token: {name!r} is not a token name: use 1 to 64 letters, digits, "
              "'.', '_' or '-', beginning with a letter or digit", file=sys.stderr)
        raise SystemExit(2) from None
    print(f"token (give it to the client; it is not stored): {token}")
    print('entry for "server": {"auth": {"tokens": [...]}}:')
    print(json.dumps(entry))


class _Server(uvicorn.Server):
    """uvicorn's server, marking the app as draining (``/readyz`` 503) as soon as a signal arrives."""

    def __init__(self, config: uvicorn.Config, state: ServeState) -> None:
        super().__init__(config)
        self.state = state

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.state.draining = True
        if sig == signal.SIGTERM and not self.should_exit:
            logger.info("SIGTERM: finishing in-flight calls, then stopping")
        super().handle_exit(sig, frame)


async def _serve(settings: Settings, http: HttpServing, sock: socket.socket, servers: Suite) -> None:
    limits = http.limits
    async with _one_sandbox(settings) as shared:
        host, port = sock.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        base_url = limits.auth.resource_url or f"http://{shown}:{port}"
        state = ServeState()
        app = build_app({name: create(shared) for name, (create, _) in servers.items()}, shared, limits,
                        http.security, base_url=base_url, state=state, extensions=extensions())
        config = uvicorn.Config(app, timeout_graceful_shutdown=math.ceil(limits.shutdown_grace_s),
                                **uvicorn_options(limits))
        auth = "authentication required" if limits.auth.enabled else "no authentication (loopback only)"
        logger.info("serving %s on http://%s:%d/<server>/mcp; %s", ", ".join(servers), shown, port, auth)
        await _Server(config, state).serve(sockets=[sock])


@asynccontextmanager
async def _one_sandbox(settings: Settings) -> AsyncIterator[Settings]:
    """With no upstream key, one local sandbox for all four servers (each would start its own)."""
    if not (settings.uses_sandbox and settings.sandbox_url is None):
        yield settings
        return
    async with SandboxProcess() as sandbox:
        yield settings.model_copy(update={"sandbox_url": sandbox.url})
