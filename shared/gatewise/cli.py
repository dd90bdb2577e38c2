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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="gatewise", description="gatewise MCP servers")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run one server (stdio by default)")
    serve.add_argument("server", choices=sorted(SERVERS))
    serve.add_argument("rest", nargs=argparse.REMAINDER,
                       help="server options: --transport stdio|http|sse --host --port")

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
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "serve":
        module = __import__(SERVERS[args.server], fromlist=["main"])
        module.main(args.rest)
    elif args.command == "demo":
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
