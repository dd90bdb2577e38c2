"""``python -m gatewise_sandbox``: run the stand-in upstream (``gatewise sandbox`` runs this).

With ``--announce`` it serves for a parent process: it prints its API URL as the first line of
stdout once it listens, and stops when its stdin closes, so it never outlives the parent.
"""

from __future__ import annotations

import argparse
import os
import sys

from gatewise_sandbox.faults import FaultRule
from gatewise_sandbox.runner import SandboxServer, serve
from gatewise_sandbox.state import SandboxConfig


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="gatewise sandbox",
                                     description="the local stand-in for OpenRouter and Portkey")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8799, help="0: any free port")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="base latency added to every answer")
    parser.add_argument("--fault", action="append", default=[], metavar="MODEL:RATE[:STATUS]",
                        help="inject failures, e.g. 'openai/gpt-4o:0.3:503' (repeatable)")
    parser.add_argument("--announce", action="store_true",
                        help="print the API URL on stdout once listening; stop when stdin closes")
    args = parser.parse_args(argv)
    config = SandboxConfig(faults=_faults(args.fault), base_latency_ms=args.latency_ms)
    if args.announce:
        _serve_for_parent(args.host, args.port, config)
    else:
        serve(args.host, args.port, config)


def _faults(specs: list[str]) -> dict[str, FaultRule]:
    faults = {}
    for spec in specs:
        parts = spec.split(":")
        try:
            model, rate = parts[0], float(parts[1])
            status = int(parts[2]) if len(parts) > 2 else 503
            faults[model] = FaultRule(error_rate=rate, statuses=(status,))
        except (IndexError, ValueError):
            print(f"gatewise sandbox: bad --fault {spec!r}; expected MODEL:RATE[:STATUS]", file=sys.stderr)
            raise SystemExit(2) from None
    return faults


def _serve_for_parent(host: str, port: int, config: SandboxConfig) -> None:
    with SandboxServer(config, host=host, port=port) as server:
        print(server.url, flush=True)
        os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # the parent reads one line, no more
        sys.stdin.buffer.read()  # returns when the parent closes the pipe or exits


if __name__ == "__main__":
    main()
