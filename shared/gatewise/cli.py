"""``gatewise``: serve | demo | sandbox | doctor."""

from __future__ import annotations

import argparse
import asyncio
import sys

from gatewise.config import load_settings_or_exit

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

    sandbox = commands.add_parser("sandbox", help="run the local stand-in for OpenRouter")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8799)
    sandbox.add_argument("--latency-ms", type=float, default=0.0,
                         help="base latency added to every answer")
    sandbox.add_argument("--fault", action="append", default=[], metavar="MODEL:RATE[:STATUS]",
                         help="inject failures, e.g. 'openai/gpt-4o:0.3:503' (repeatable)")

    commands.add_parser("doctor", help="check configuration, keys and upstreams")

    args = parser.parse_args(argv)
    if args.command == "serve":
        module = __import__(SERVERS[args.server], fromlist=["main"])
        module.main(args.rest)
    elif args.command == "demo":
        from gatewise.demo import run_demo

        raise SystemExit(asyncio.run(run_demo()))
    elif args.command == "sandbox":
        _sandbox(args)
    elif args.command == "doctor":
        from gatewise.doctor import run_doctor

        raise SystemExit(asyncio.run(run_doctor(load_settings_or_exit())))


def _sandbox(args: argparse.Namespace) -> None:
    from gatewise.sandbox import FaultRule, SandboxConfig, serve

    faults = {}
    for spec in args.fault:
        parts = spec.split(":")
        try:
            model, rate = parts[0], float(parts[1])
            status = int(parts[2]) if len(parts) > 2 else 503
            faults[model] = FaultRule(error_rate=rate, statuses=(status,))
        except (IndexError, ValueError):
            print(f"gatewise sandbox: bad --fault {spec!r}; expected MODEL:RATE[:STATUS]",
                  file=sys.stderr)
            raise SystemExit(2) from None
    serve(args.host, args.port, SandboxConfig(faults=faults, base_latency_ms=args.latency_ms))


if __name__ == "__main__":
    main()
