"""``gatewise-openrouter-search``: run the web search server over stdio, Streamable HTTP or SSE."""

from __future__ import annotations

from gatewise.servers.openrouter_search.server import create_server

from gatewise.mcpkit.transport import console_main


def main(argv: list[str] | None = None) -> None:
    console_main("gatewise-openrouter-search", __doc__ or "", create_server, argv)


if __name__ == "__main__":
    main()
