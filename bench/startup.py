"""How long a server takes from spawn to answering ``tools/list`` over stdio, beside a bare MCP
server (one trivial tool on the SDK's MCPServer) started the same way in the same run.

Each server gets a fake OpenRouter/Portkey key and a sandbox URL that nothing listens on, so it
starts as it would with real keys (no local sandbox process) and never calls out. Runs are
interleaved so drift hits every server alike.

Usage: python bench/startup.py [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from mcp import Client, StdioServerParameters

BARE = "bare MCP server (baseline)"
BARE_SERVER = """
from mcp.server.mcpserver import MCPServer
server = MCPServer("bare")

@server.tool()
def echo(text: str) -> str:
    return text

server.run("stdio")
"""
SERVERS = ("routing-gateway", "openrouter-multimodal", "openrouter-search", "portkey-admin")


def commands(data: Path) -> dict[str, StdioServerParameters]:
    env = {"PATH": os.environ.get("PATH", ""), "GATEWISE_DATA_DIR": str(data),
           "OPENROUTER_API_KEY": "sk-or-v1-" + "0" * 64, "PORTKEY_API_KEY": "pk-bench-000000000000",
           "OPENROUTER_BASE_URL": "http://127.0.0.1:9/api/v1", "PORTKEY_BASE_URL": "http://127.0.0.1:9/v1"}
    bin_dir = Path(sys.executable).parent
    out = {BARE: StdioServerParameters(command=sys.executable, args=["-c", BARE_SERVER], env=env)}
    for name in SERVERS:
        out[name] = StdioServerParameters(command=str(bin_dir / f"gatewise-{name}"), env=env)
    return out


async def time_to_tools(params: StdioServerParameters) -> float:
    start = time.perf_counter()
    async with Client(params) as client:
        tools = await client.list_tools()
        elapsed = time.perf_counter() - start
    assert tools.tools, "a server listed no tools"
    return elapsed


async def main(runs: int) -> None:
    with tempfile.TemporaryDirectory() as data:
        servers = commands(Path(data))
        samples: dict[str, list[float]] = {name: [] for name in servers}
        for _ in range(runs):
            for name, params in servers.items():
                samples[name].append(await time_to_tools(params))
    base = statistics.median(samples[BARE])
    print(f"Spawn to tools/list over stdio, median of {runs} interleaved runs\n")
    print("| server | median s | min s | max s | added to bare s | ratio vs bare |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, values in samples.items():
        mid = statistics.median(values)
        print(f"| {name} | {mid:.3f} | {min(values):.3f} | {max(values):.3f} | {mid - base:+.3f} | "
              f"{mid / base:.2f}x |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    asyncio.run(main(parser.parse_args().runs))
