"""``gatewise-openrouter-search``: run the web search server over stdio, Streamable HTTP or SSE."""

from __future__ import annotations

from gatewise.mcpkit.startup import loading

with loading():
    from gatewise.config import Settings
    from gatewise.mcpkit.transport import console_main
    from gatewise.runtime import offline_catalog
    from gatewise.search.service import search_model

    from .server import create_server


def check_model(settings: Settings) -> None:
    """A configured default model must be in the catalogue, so a retired one fails before serving."""
    search_model(settings, offline_catalog(settings))


def main(argv: list[str] | None = None) -> None:
    console_main("gatewise-openrouter-search", __doc__ or "", create_server, argv, preflight=check_model)


if __name__ == "__main__":
    main()
