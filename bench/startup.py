"""How long a server takes from spawn to answering ``tools/list`` over stdio, beside a bare MCP
server (one trivial tool on the SDK's MCPServer) started the same way in the same run.

Beside wall time, each start's CPU is reported twice: its main thread's up to the moment the
listing arrives (read from ``/proc`` then; Linux, 10 ms ticks), which is the work on the way to the
answer, as a server loads what only tool calls need on another thread meanwhile; and the whole
process's from spawn to exit (the kernel's accounting of reaped children, so it includes what a
server does after its first answer, and its exit). On a busy machine the wall time mostly measures
the wait for a core, the CPU time what the server itself spent.

Each server gets a fake OpenRouter/Portkey key and a sandbox URL that nothing listens on, so it
starts as it would with real keys (no local sandbox process) and never calls out. Runs are
interleaved so drift hits every server alike.

With ``--slow-models-ms N`` the OpenRouter URL is a sandbox whose ``/models`` answers after N ms,
and every start gets a data directory of its own holding a catalogue past its TTL: a start an
hour or more after the last one, against a slow upstream.

With ``--baseline-tree DIR`` each server also starts from the ``gatewise`` package in DIR (for
instance the previous commit's ``shared/gatewise`` with ``servers`` as its ``servers``
subpackage), interleaved with the others: a before/after comparison in one run.

Usage: python bench/startup.py [--runs 3] [--slow-models-ms 2000] [--baseline-tree DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from mcp import Client, StdioServerParameters

from gatewise.catalog import CatalogCache, snapshot_json
from gatewise.config import Limits
from gatewise.upstream.local_sandbox import SandboxProcess

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


def commands(data: Path, openrouter_url: str, baseline_tree: Path | None = None
             ) -> dict[str, StdioServerParameters]:
    env = {"PATH": os.environ.get("PATH", ""), "GATEWISE_DATA_DIR": str(data),
           "OPENROUTER_API_KEY": "sk-or-v1-" + "0" * 64, "PORTKEY_API_KEY": "pk-bench-000000000000",
           "OPENROUTER_BASE_URL": openrouter_url, "PORTKEY_BASE_URL": "http://127.0.0.1:9/v1"}
    bin_dir = Path(sys.executable).parent
    out = {BARE: StdioServerParameters(command=sys.executable, args=["-c", BARE_SERVER], env=env)}
    for name in SERVERS:
        out[name] = StdioServerParameters(command=str(bin_dir / f"gatewise-{name}"), env=env)
        if baseline_tree is not None:  # as the console script starts it, from the other tree
            module = f"gatewise.servers.{name.replace('-', '_')}.__main__"
            out[f"{name} (baseline tree)"] = StdioServerParameters(
                command=sys.executable, args=["-c", f"from {module} import main; main()"],
                env={**env, "PYTHONPATH": str(baseline_tree)})
    return out


async def time_to_tools(params: StdioServerParameters) -> tuple[float, float]:
    """Wall seconds from spawn to the listing, and the server's main-thread CPU seconds by then."""
    start = time.perf_counter()
    async with Client(params) as client:
        tools = await client.list_tools()
        elapsed = time.perf_counter() - start
        cpu = children_main_thread_cpu_s()
    assert tools.tools, "a server listed no tools"
    return elapsed, cpu


def children_main_thread_cpu_s() -> float:
    """CPU seconds (user + system) of the main threads of this process's running children, from
    /proc; NaN where there is no /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    try:
        pids = {pid for task in Path("/proc/self/task").iterdir()
                for pid in (task / "children").read_text().split()}
        for pid in pids:
            fields = Path(f"/proc/{pid}/task/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    except OSError:
        return math.nan
    return total


def children_cpu_s() -> float:
    """CPU seconds of every child process reaped so far (a server is reaped when its client closes)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


@contextmanager
def openrouter(slow_models_ms: float | None) -> Iterator[str]:
    """The OpenRouter URL the servers get: nothing listening, or a sandbox with a slow /models."""
    if slow_models_ms is None:
        yield "http://127.0.0.1:9/api/v1"
        return
    with SandboxProcess() as sandbox:
        httpx.put(f"{sandbox.root_url}/_sandbox/faults",
                  json={"model": "/models", "latency_ms": slow_models_ms}).raise_for_status()
        yield sandbox.url


def stale_catalogue(data: Path) -> Path:
    """A data dir holding the bundled catalogue as if fetched two TTLs ago."""
    cache = CatalogCache(data / "catalog-openrouter.json", Limits().catalog_ttl_s)
    cache.store(snapshot_json(), "openrouter")
    stored = json.loads(cache.path.read_text())
    stored["fetched_at"] -= 2 * cache.ttl_s
    cache.path.write_text(json.dumps(stored))
    return data


async def main(runs: int, slow_models_ms: float | None, baseline_tree: Path | None) -> None:
    with tempfile.TemporaryDirectory() as data, openrouter(slow_models_ms) as url:
        names = commands(Path(data), url, baseline_tree)
        samples: dict[str, list[float]] = {name: [] for name in names}
        cpu: dict[str, list[float]] = {name: [] for name in names}
        listed_cpu: dict[str, list[float]] = {name: [] for name in names}
        for run in range(runs):
            for name in names:
                here = Path(data)
                if slow_models_ms is not None:  # each start refreshes its own stale catalogue
                    here = stale_catalogue(Path(data) / f"{run}-{name}")
                before = children_cpu_s()
                wall, by_listing = await time_to_tools(commands(here, url, baseline_tree)[name])
                samples[name].append(wall)
                listed_cpu[name].append(by_listing)
                cpu[name].append(children_cpu_s() - before)
    base, base_cpu = statistics.median(samples[BARE]), statistics.median(cpu[BARE])
    base_listed = statistics.median(listed_cpu[BARE])
    slow = f", /models answering after {slow_models_ms:.0f} ms" if slow_models_ms is not None else ""
    print(f"Spawn to tools/list over stdio, median of {runs} interleaved runs{slow}; "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end\n")
    print("| server | median s | min s | max s | added to bare s | ratio vs bare "
          "| main-thread CPU to listing s | added to bare s | CPU spawn to exit s | added to bare s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, values in samples.items():
        mid, mid_cpu = statistics.median(values), statistics.median(cpu[name])
        mid_listed = statistics.median(listed_cpu[name])
        print(f"| {name} | {mid:.3f} | {min(values):.3f} | {max(values):.3f} | {mid - base:+.3f} | "
              f"{mid / base:.2f}x | {mid_listed:.2f} | {mid_listed - base_listed:+.2f} | "
              f"{mid_cpu:.3f} | {mid_cpu - base_cpu:+.3f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--slow-models-ms", type=float, default=None,
                        help="serve the catalogue from a sandbox that answers /models this late")
    parser.add_argument("--baseline-tree", type=Path, default=None,
                        help="also start each server from the gatewise package in this directory")
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.slow_models_ms, args.baseline_tree))
