"""``gatewise-routing-gateway``: run the routing gateway over stdio, Streamable HTTP or SSE."""

from __future__ import annotations

from gatewise.mcpkit.startup import loading

with loading():
    from gatewise.config import Settings
    from gatewise.mcpkit.transport import console_main
    from gatewise.routing.policy import resolve_routing
    from gatewise.runtime import offline_catalog

    from .server import create_server


def check_models(settings: Settings) -> None:
    """Model names in the routing config must be in the catalogue (or explicitly allowed)."""
    resolve_routing(settings.routing, offline_catalog(settings),
                    allow_unlisted=settings.allow_unlisted_models)


def main(argv: list[str] | None = None) -> None:
    console_main("gatewise-routing-gateway", __doc__ or "", create_server, argv,
                 preflight=check_models)


if __name__ == "__main__":
    main()
