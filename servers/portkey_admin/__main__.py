"""``gatewise-portkey-admin``: run the Portkey admin server over stdio, Streamable HTTP or SSE.

``GATEWISE_PORTKEY_TOOLSETS`` (comma-separated: keys, analytics, workspaces, users, config,
guardrails, prompts, limits, logs, integrations, or all) selects the tools a client sees.
"""

from __future__ import annotations

from gatewise.mcpkit.startup import loading

with loading():
    from gatewise.config import Settings
    from gatewise.mcpkit.transport import console_main
    from gatewise.portkey.toolsets import parse_toolsets

    from .server import create_server


def check_toolsets(settings: Settings) -> None:
    parse_toolsets(settings.portkey_toolsets)


def main(argv: list[str] | None = None) -> None:
    console_main("gatewise-portkey-admin", __doc__ or "", create_server, argv,
                 preflight=check_toolsets)


if __name__ == "__main__":
    main()
