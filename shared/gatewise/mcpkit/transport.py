"""Command-line options shared by every server: ``--transport stdio|http|sse --host --port``."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from typing import Any

from mcp.server.mcpserver import MCPServer

from gatewise.config import Settings, load_settings_or_exit
from gatewise.errors import GatewiseError
from gatewise.redact import RedactingFilter

TRANSPORTS = ("stdio", "http", "sse")


def transport_parser(prog: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--transport", choices=TRANSPORTS, default="stdio",
                        help="stdio (default, for desktop clients), http (Streamable HTTP) or sse")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind for http/sse (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=8000, help="port for http/sse (default 8000)")
    return parser


def configure_logging(settings: Settings) -> None:
    """Log to stderr only (stdout carries the protocol in stdio mode), with secrets scrubbed."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(settings.secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)


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
    if preflight is not None:
        try:
            preflight(settings)
        except GatewiseError as exc:
            print(f"{prog}: {exc.message}", file=sys.stderr)
            raise SystemExit(2) from None
    configure_logging(settings)
    run(create_server(settings), args)


def run(server: MCPServer[Any], args: argparse.Namespace) -> None:
    if args.transport == "stdio":
        server.run("stdio")
        return
    # Served here rather than by server.run() so uvicorn logs go through our stderr handler
    # (its defaults print access lines to stdout) and per-request access lines stay off.
    import uvicorn

    if args.transport == "http":
        app = server.streamable_http_app(host=args.host)
    else:
        app = server.sse_app(host=args.host)
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, access_log=False,
                log_level=logging.getLogger().getEffectiveLevel())
