"""``gatewise``: serve | demo | sandbox | doctor | migrate."""

from __future__ import annotations

import argparse
import asyncio

from gatewise.client_config import add_arguments as add_install_arguments
from gatewise.client_config import run_install
from gatewise.config import load_settings_or_exit
from gatewise.upstream.local_sandbox import run_in_foreground

SERVERS = {"routing-gateway": "gatewise.servers.routing_gateway.__main__",
           "portkey-admin": "gatewise.servers.portkey_admin.__main__",
           "openrouter-multimodal": "gatewise.servers.openrouter_multimodal.__main__",
           "openrouter-search": "gatewise.servers.openrouter_search.__main__"}


def serve(argv: list[str]) -> None:
    """``serve <server> [options]`` runs that server alone; ``serve [options]`` all of them over HTTP."""
    if argv and argv[0] in SERVERS:
        __import__(SERVERS[argv[0]], fromlist=["main"]).main(argv[1:])
        return
    from gatewise.serving.main import main as serve_all

    serve_all(argv)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="gatewise", description="gatewise MCP servers")
    commands = parser.add_subparsers(dest="command", required=True)

    # Its options belong to `gatewise serve --help` (every server) or the server's own command line.
    commands.add_parser("serve", add_help=False, help="every server over HTTP with authentication, or "
                        "one: serve <server> [--transport stdio|http|sse]")

    commands.add_parser("demo", help="every server end to end against the local sandbox")

    # Its options belong to the sandbox's own command line (`gatewise sandbox --help`).
    commands.add_parser("sandbox", add_help=False, help="run the local stand-in for OpenRouter and Portkey")

    commands.add_parser("doctor", help="check configuration, keys and upstreams")

    commands.add_parser("migrate", help="bring the ledger's schema up to date (SQLite or storage.url)")

    add_install_arguments(commands.add_parser(
        "install", help="print an MCP client's config entries for the servers, or merge them (--write)"))

    args, extra = parser.parse_known_args(argv)
    if args.command == "sandbox":
        run_in_foreground(extra)
    if args.command == "serve":
        serve(extra)
        return
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "demo":
        from gatewise.demo import run_demo

        raise SystemExit(asyncio.run(run_demo()))
    elif args.command == "install":
        raise SystemExit(run_install(args))
    elif args.command == "doctor":
        from gatewise.doctor import run_doctor

        raise SystemExit(asyncio.run(run_doctor(load_settings_or_exit())))
    elif args.command == "migrate":
        raise SystemExit(run_migrate())


def run_migrate() -> int:
    """``gatewise migrate``: one line saying which backend is at which schema version."""
    import sys

    from gatewise.errors import GatewiseError
    from gatewise.ledger.store import LedgerError
    from gatewise.storage.backends import migrate_storage

    try:
        backend, version = asyncio.run(migrate_storage(load_settings_or_exit()))
    except (GatewiseError, LedgerError) as exc:
        print(f"gatewise migrate: {exc.message if isinstance(exc, GatewiseError) else exc}", file=sys.stderr)
        return 2
    print(f"gatewise migrate: {backend} is at schema version {version}", file=sys.stderr)
    return 0



if __name__ == "__main__":
    main()
