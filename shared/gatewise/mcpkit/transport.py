"""Command-line options shared by every server: ``--transport stdio|http|sse --host --port``
and, for http/sse, ``--allowed-host`` / ``--allowed-origin``."""

from __future__ import annotations

import argparse
import logging
import socket
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import ValidationError
from starlette.types import ASGIApp

from gatewise.config import ServerConfig, Settings, describe_validation_error, load_settings_or_exit
from gatewise.errors import ErrorCode, GatewiseError
from gatewise.mcpkit.http_access import access_settings
from gatewise.mcpkit.http_limits import BodyLimits, SessionCap, uvicorn_options
from gatewise.mcpkit.stdio import serve_stdio
from gatewise.redact import RedactingFilter
from gatewise.storage.backends import check_storage

TRANSPORTS = ("stdio", "http", "sse")


@contextmanager
def exit_on_failed_check(prog: str) -> Iterator[None]:
    """A failed check before serving is one line on stderr and exit code 2, never a traceback."""
    try:
        yield
    except GatewiseError as exc:
        print(f"{prog}: {exc.message}", file=sys.stderr)
        raise SystemExit(2) from None


def run_checks(settings: Settings, preflights: Iterable[Callable[[Settings], object] | None]) -> None:
    """The servers' own checks, then the storage's, before any transport opens."""
    for preflight in preflights:
        if preflight is not None:
            preflight(settings)
    check_storage(settings)  # an unreachable database: one line here, not a traceback later


def port_number(text: str) -> int:
    """An argparse type: a TCP port, 0 (a free one) to 65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is outside 0-65535")
    return port


def bind(prog: str, host: str, port: int) -> socket.socket:
    """The listening socket, bound before serving: an address in use or not this machine's is
    one line on stderr and exit code 2."""
    address = host.strip("[]")
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit it: without it a streamed answer's last bytes wait for the
    # client's delayed ACK, about 40 ms a call (uvicorn's own bind gets it from asyncio).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setblocking(False)
    try:
        sock.bind((address, port))
    except OSError as exc:
        sock.close()
        print(f"{prog}: cannot bind {host}:{port}: {exc.strerror}", file=sys.stderr)
        raise SystemExit(2) from None
    return sock


def transport_parser(prog: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--transport", choices=TRANSPORTS, default="stdio",
                        help="stdio (default, for desktop clients), http (Streamable HTTP) or sse")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind for http/sse (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=port_number, default=8000, help="port for http/sse (default 8000)")
    parser.add_argument("--allowed-host", action="append", dest="allowed_hosts", metavar="HOST",
                        help="Host header value clients use (name or name:port; repeatable); "
                             "needed to bind beyond loopback. Replaces server.allowed_hosts")
    parser.add_argument("--allowed-origin", action="append", dest="allowed_origins",
                        metavar="ORIGIN", help="browser origin allowed to call, e.g. "
                        "https://app.example.com (repeatable). Replaces server.allowed_origins")
    return parser


class HttpServing(NamedTuple):
    limits: ServerConfig
    security: TransportSecuritySettings


def http_serving(settings: Settings, args: argparse.Namespace) -> HttpServing:
    """The ``server`` settings with the command-line lists in place, checked against the bind."""
    given = {"allowed_hosts": args.allowed_hosts, "allowed_origins": args.allowed_origins}
    try:
        limits = ServerConfig.model_validate(
            {**settings.server.model_dump(), **{k: v for k, v in given.items() if v}})
    except ValidationError as exc:
        raise GatewiseError(ErrorCode.CONFIG_ERROR, describe_validation_error(exc, "option")) from None
    return HttpServing(limits, access_settings(args.host, limits, args.port))


def configure_logging(settings: Settings) -> None:
    """Log to stderr only (stdout carries the protocol in stdio mode), with secrets scrubbed.

    The filter sits on the one handler, so it sees every record, whichever logger made it
    (uvicorn's and the SDK's included); Python warnings are routed through it too.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(settings.secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    logging.captureWarnings(True)


def console_main(
    prog: str,
    description: str,
    create_server: Callable[[Settings], MCPServer[Any]],
    argv: list[str] | None = None,
    *,
    preflight: Callable[[Settings], object] | None = None,
) -> None:
    """A server's console script: options, settings, checks before the transport opens, serve.

    A failed check is one line on stderr and exit code 2, never a traceback.
    """
    args = transport_parser(prog, description).parse_args(argv)
    settings = load_settings_or_exit()
    with exit_on_failed_check(prog):
        http = None if args.transport == "stdio" else http_serving(settings, args)
        run_checks(settings, [preflight])
    sock = None if http is None else bind(prog, args.host, args.port)
    configure_logging(settings)
    run(create_server(settings), args, http, sock,
        stdio_frame_bytes=settings.limits.max_stdio_frame_bytes)


def run(server: MCPServer[Any], args: argparse.Namespace, http: HttpServing | None,
        sock: socket.socket | None, *, stdio_frame_bytes: int) -> None:
    if args.transport == "stdio":
        serve_stdio(server, max_frame_bytes=stdio_frame_bytes)
        return
    # Served here rather than by server.run() so uvicorn logs go through our stderr handler
    # (its defaults print access lines to stdout) and per-request access lines stay off.
    import uvicorn

    assert http is not None and sock is not None, "console_main binds for http/sse"
    limits, security = http
    app: ASGIApp
    if args.transport == "http":
        app = server.streamable_http_app(
            host=args.host, transport_security=security, max_request_body_size=limits.max_body_bytes,
            max_sessions=limits.max_sessions, session_idle_timeout=limits.session_idle_timeout_s)
    else:
        app = SessionCap(server.sse_app(host=args.host, transport_security=security,
                                        max_request_body_size=limits.max_body_bytes), limits)
    host, port = sock.getsockname()[:2]
    logging.getLogger(__name__).info("serving %s on %s:%d", args.transport, host, port)
    uvicorn.Server(uvicorn.Config(BodyLimits(app, limits), **uvicorn_options(limits))).run(sockets=[sock])
