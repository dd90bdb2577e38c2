"""``gatewise-openrouter-multimodal``: run the multimodal server over stdio, Streamable HTTP or SSE."""

from __future__ import annotations

from gatewise.mcpkit.startup import loading

with loading():
    from gatewise.mcpkit.transport import console_main

    from .server import create_server


def main(argv: list[str] | None = None) -> None:
    console_main("gatewise-openrouter-multimodal", __doc__ or "", create_server, argv)


if __name__ == "__main__":
    main()
