"""What the routing gateway adds to a call, against a direct httpx call to the same upstream.

The sandbox upstream runs in its own process on loopback (so it does not share this process's
GIL); three ways of making the same chat call are interleaved in rounds so drift hits them all
alike:

- direct:     one pooled httpx.AsyncClient POSTing /chat/completions (the baseline);
- in-process: RoutingGateway.complete() — validation, analysis, route plan, budget hold (from
              the process's spend lease), upstream call, ledger commit to a real SQLite file,
              result model;
- no leases:  the same with budgets.spend_lease_calls 0: each call holds and settles its own
              budget reservation (two SQLite transactions on the budget thread);
- mcp:        the routed_complete tool through the in-memory MCP client (adds the protocol);
- bare mcp:   the floor for that row: a trivial tool on the SDK's MCPServer that makes the same
              single upstream call with one pooled httpx client, through the same in-memory client;
- stdio:      routed_complete on a routing-gateway subprocess over stdio, as a desktop client
              runs it; its floor is a bare MCP server subprocess whose one tool makes the same
              upstream call (the CPU column counts this process only, not the servers');
- guarded:    in-process again, with every input guardrail on (PII with redaction, standard
              content safety, a blocklist, prompt injection) and the answer's compliance check,
              on a runtime of its own;
- litellm:    LiteLLM's Router.acompletion() to the same upstream, when the bench extra is
              installed (pip install -e ".[bench]").

Besides wall-clock percentiles it reports the CPU time this process spends per call (every
thread: the event loop, the ledger writer, the budget thread), which other work on a shared
machine disturbs far less than the wall clock.

Usage: python bench/overhead.py [--calls 2000] [--rounds 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from gatewise.servers.routing_gateway.server import create_server
from mcp import Client, StdioServerParameters
from mcp.server.mcpserver import MCPServer

from common import added_table, interleaved, pct, sandbox_process
from gatewise.config import load_settings
from gatewise.gateway import CompletionRequest, RoutingGateway
from gatewise.runtime import Runtime

PROMPT = "What is 17*23?"
MODEL = "openai/gpt-4o-mini"
ROUTED_ARGS = {"prompt": PROMPT, "model": MODEL, "no_cache": True}  # as the in-process request
BASELINE = "direct httpx (baseline)"
IN_PROCESS = "routed_complete in-process"
NO_LEASES = "routed_complete in-process, spend leases off"
GUARDED = "routed_complete in-process, guardrails on"
VIA_MCP = "routed_complete via MCP client"
BARE_MCP = "bare MCP tool, one upstream call (MCP floor)"
VIA_STDIO = "routed_complete via stdio subprocess"
BARE_STDIO = "bare MCP tool via stdio subprocess (stdio floor)"
# The stdio floor: a server with one tool making the same upstream call with one pooled client.
BARE_STDIO_SERVER = """
import json, os, httpx
from mcp.server.mcpserver import MCPServer
server = MCPServer("bare", log_level="WARNING")  # as the gateway logs: no line per request
client = httpx.AsyncClient(base_url=os.environ["BENCH_UPSTREAM"])
body = json.loads(os.environ["BENCH_BODY"])

@server.tool()
async def complete(prompt: str) -> str:
    response = await client.post("/chat/completions", json=body)
    response.raise_for_status()
    return str(response.json()["choices"][0]["message"]["content"])

server.run("stdio")
"""
# Every input filter, as a cautious deployment would switch them on.
INPUT_FILTERS = {"pii_detection": True, "content_safety": "standard", "prompt_injection": True,
                 "custom_blocklist": ["project nightingale", "internal only"]}
OUTPUT_FILTERS = {"compliance_check": True}


async def main(calls: int, rounds: int) -> None:
    with sandbox_process() as url, tempfile.TemporaryDirectory() as data:
        settings = load_settings({}, data_dir=Path(data), sandbox_url=url)
        runtime = await Runtime.open(settings)
        gateway = RoutingGateway.from_runtime(runtime)
        held_runtime = await Runtime.open(load_settings(
            {}, data_dir=Path(data) / "held", sandbox_url=url, budgets={"spend_lease_calls": 0}))
        held = RoutingGateway.from_runtime(held_runtime)
        guarded_runtime = await Runtime.open(load_settings(
            {}, data_dir=Path(data) / "guarded", sandbox_url=url,
            guardrails={"input_filters": INPUT_FILTERS, "output_filters": OUTPUT_FILTERS}))
        guarded = RoutingGateway.from_runtime(guarded_runtime)
        # The same request every time: the response cache would answer it, so it is bypassed to
        # measure the whole path to the upstream.
        request = CompletionRequest(prompt=PROMPT, model=MODEL, no_cache=True)
        body = {"model": MODEL, "messages": [{"role": "user", "content": PROMPT}]}
        async with httpx.AsyncClient(base_url=url) as direct, \
                Client(create_server(settings)) as mcp_client, \
                Client(bare_server(direct, body)) as bare_client, \
                Client(stdio_params(["-m", "gatewise.servers.routing_gateway"], url, body,
                                    Path(data) / "stdio")) as stdio_client, \
                Client(stdio_params(["-c", BARE_STDIO_SERVER], url, body, Path(data))) as bare_stdio:

            async def call_direct() -> None:
                (await direct.post("/chat/completions", json=body)).raise_for_status()

            async def call_gateway() -> None:
                await gateway.complete(request)

            async def call_held() -> None:
                await held.complete(request)

            async def call_guarded() -> None:
                await guarded.complete(request)

            modes = {BASELINE: call_direct,
                     IN_PROCESS: call_gateway,
                     NO_LEASES: call_held,
                     GUARDED: call_guarded,
                     VIA_MCP: tool_call(mcp_client, "routed_complete", ROUTED_ARGS),
                     BARE_MCP: tool_call(bare_client, "complete", {"prompt": PROMPT}),
                     VIA_STDIO: tool_call(stdio_client, "routed_complete", ROUTED_ARGS),
                     BARE_STDIO: tool_call(bare_stdio, "complete", {"prompt": PROMPT})}
            litellm_call = litellm_router(url, body)
            if litellm_call is not None:
                modes["LiteLLM Router.acompletion"] = litellm_call
            cpu = {name: 0.0 for name in modes}
            samples = await interleaved({name: cpu_counted(fn, cpu, name) for name, fn in modes.items()},
                                        calls, rounds, warmup=50)
        rows = await runtime.ledger.count()
        await runtime.close()
        await guarded_runtime.close()
        await held_runtime.close()
    report(samples, {name: total * 1000 / len(samples[name]) for name, total in cpu.items()}, rows)


def bare_server(client: httpx.AsyncClient, body: dict) -> MCPServer:
    """The MCP floor: one tool that makes the same upstream call and returns its text."""
    server = MCPServer("bare")

    @server.tool()
    async def complete(prompt: str) -> str:
        response = await client.post("/chat/completions", json=body)
        response.raise_for_status()
        return str(response.json()["choices"][0]["message"]["content"])

    return server


def tool_call(client: Client, tool: str, args: dict) -> Callable[[], Awaitable[None]]:
    """One call of ``tool`` through ``client``, which must not fail."""
    async def call() -> None:
        assert not (await client.call_tool(tool, args)).is_error

    return call


def stdio_params(args: list[str], url: str, body: dict, data: Path) -> StdioServerParameters:
    """A server subprocess on this interpreter, pointed at the sandbox, logging warnings only."""
    env = {key: value for key, value in os.environ.items() if not key.endswith("_API_KEY")}
    env.update(GATEWISE_SANDBOX_URL=url, GATEWISE_DATA_DIR=str(data), GATEWISE_LOG_LEVEL="WARNING",
               BENCH_UPSTREAM=url, BENCH_BODY=json.dumps(body))
    return StdioServerParameters(command=sys.executable, args=args, env=env)


def cpu_counted(fn: Callable[[], Awaitable[object]], totals: dict[str, float],
                name: str) -> Callable[[], Awaitable[None]]:
    """``fn`` adding the process CPU seconds each call takes (warm-up included; see report)."""
    async def counted() -> None:
        start = time.process_time()
        await fn()
        totals[name] += time.process_time() - start

    return counted


def litellm_router(url: str, body: dict) -> Callable[[], Awaitable[object]] | None:
    """LiteLLM's Router against the same upstream, or None when it is not installed."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no price-map download
    os.environ.setdefault("LITELLM_LOG", "ERROR")  # its per-call INFO lines would bury the table
    try:
        from litellm import Router
    except ImportError:
        print("LiteLLM is not installed (pip install -e '.[bench]'): its row is left out.")
        return None
    for name in ("LiteLLM", "LiteLLM Router"):  # newer releases log each call at INFO regardless
        logging.getLogger(name).setLevel(logging.WARNING)
    router = Router(model_list=[{"model_name": "bench", "litellm_params": {
        "model": f"openrouter/{MODEL}", "api_base": url, "api_key": "sk-sandbox"}}])

    async def call() -> None:
        await router.acompletion(model="bench", messages=body["messages"])

    return call


def report(samples: dict[str, list[float]], cpu_ms: dict[str, float], ledger_rows: int) -> None:
    b50 = statistics.median(samples[BASELINE])
    print(f"\nrouted_complete overhead — {len(samples[BASELINE])} calls per row, sandbox upstream in "
          f"its own process on loopback, ledger on ({ledger_rows} rows written)\n")
    print("\n".join(added_table(samples, BASELINE)))
    print("\n| path | CPU ms per call (this process; not a stdio server's) | added CPU ms |\n"
          "| --- | ---: | ---: |")
    for name, ms in cpu_ms.items():
        print(f"| {name} | {ms:.3f} | {ms - cpu_ms[BASELINE]:+.3f} |")
    mine = samples[IN_PROCESS]
    other = samples.get("LiteLLM Router.acompletion")
    print("\nadded = the path's percentile minus the direct call's; targets: added p50 ≤ 0.3 ms "
          "in-process, ≤ 0.5 ms via MCP above the bare MCP tool, guardrails within 0.3 ms.")
    mcp_floor = statistics.median(samples[VIA_MCP]) - statistics.median(samples[BARE_MCP])
    print(f"routed_complete via MCP adds {mcp_floor:+.3f} ms at p50 above the bare MCP tool "
          f"({cpu_ms[VIA_MCP] - cpu_ms[BARE_MCP]:+.3f} ms CPU).")
    stdio_floor = statistics.median(samples[VIA_STDIO]) - statistics.median(samples[BARE_STDIO])
    print(f"routed_complete via stdio adds {stdio_floor:+.3f} ms at p50 above the bare MCP tool over stdio "
          f"({statistics.median(samples[VIA_STDIO]) / statistics.median(samples[BARE_STDIO]):.2f}x).")
    held = samples[NO_LEASES]
    print(f"Spend leases save {statistics.median(held) - statistics.median(mine):+.3f} ms at p50 "
          f"({cpu_ms[NO_LEASES] - cpu_ms[IN_PROCESS]:+.3f} ms CPU) against a hold and settle per call.")
    on, off = samples[GUARDED], mine
    print(f"Guardrails add {statistics.median(on) - statistics.median(off):+.3f} ms at p50 and "
          f"{pct(on, 0.95) - pct(off, 0.95):+.3f} ms at p95 ({cpu_ms[GUARDED] - cpu_ms[IN_PROCESS]:+.3f} ms "
          "CPU) to routed_complete in-process (the same request with every guardrail off).")
    if other:
        ratio = (statistics.median(other) - b50) / max(statistics.median(mine) - b50, 1e-9)
        print(f"LiteLLM Router adds {ratio:.1f}x the p50 overhead of routed_complete in-process.")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    asyncio.run(main(args.calls, args.rounds))
