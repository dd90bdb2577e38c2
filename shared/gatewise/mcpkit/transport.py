"""Command-line options shared by every server: ``--transport stdio|http|sse --host --port``."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from mcp.server.mcpserver import MCPServer

from gatewise.config import Settings
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
