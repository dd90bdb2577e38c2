"""``gatewise-routing-gateway``: run the routing gateway over stdio, Streamable HTTP or SSE."""

from __future__ import annotations

import sys

from gatewise.servers.routing_gateway.server import create_server

from gatewise.config import load_settings_or_exit
from gatewise.errors import GatewiseError
from gatewise.mcpkit.transport import configure_logging, run, transport_parser
from gatewise.routing.policy import resolve_routing
from gatewise.runtime import offline_catalog


def main(argv: list[str] | None = None) -> None:
    args = transport_parser("gatewise-routing-gateway", __doc__ or "").parse_args(argv)
    settings = load_settings_or_exit()
    try:  # model names are checked before the transport opens: one line, exit code 2
        resolve_routing(settings.routing, offline_catalog(settings),
                        allow_unlisted=settings.allow_unlisted_models)
    except GatewiseError as exc:
        print(f"gatewise-routing-gateway: {exc.message}", file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging(settings)
    run(create_server(settings), args)


if __name__ == "__main__":
    main()
