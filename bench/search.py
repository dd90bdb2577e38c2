"""What openrouter-search adds to a web-search call, and what a cache hit costs in time.

The sandbox upstream runs in its own process on loopback and answers search-enabled requests from
its built-in corpus with url_citation annotations. The paths, interleaved in rounds:

- direct:           one pooled httpx.AsyncClient POSTing the same search request (server tool)
                    and parsing the JSON — what a bare client pays (the baseline);
- direct :online:   the older seed servers' request (model with the `:online` suffix);
- web_search in-process (no cache): SearchService.web_search — options, body, upstream call,
                    citation parsing and numbering, cost split, ledger commit to SQLite;
- web_search via MCP (no cache):     the tool through the in-memory MCP client, markdown output;
- cache hit in-process / via MCP:    the same search answered from the SQLite response cache.

Usage: python bench/search.py [--calls 1000] [--rounds 4]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

import httpx
from gatewise.servers.openrouter_search.server import create_server
from mcp import Client

from common import added_table, interleaved, sandbox_process
from gatewise.config import load_settings
from gatewise.runtime import Runtime
from gatewise.search.forms import SearchOptions, search_body
from gatewise.search.service import SearchService

QUERY = "SQLite WAL concurrency"
BASELINE = "direct httpx, server tool (baseline)"


async def main(calls: int, rounds: int) -> None:
    with sandbox_process() as url, tempfile.TemporaryDirectory() as data:
        settings = load_settings({}, data_dir=Path(data), sandbox_url=url)
        runtime = await Runtime.open(settings)
        service = SearchService(runtime)
        options = SearchOptions()
        body = search_body(service.model, QUERY, options, max_tokens=1024)
        online = {"model": f"{service.model}:online", "messages": body["messages"]}
        args = {"query": QUERY}
        async with httpx.AsyncClient(base_url=url) as direct, Client(create_server(settings)) as mcp:

            async def call_direct() -> None:
                reply = await direct.post("/chat/completions", json=body)
                reply.raise_for_status()
                assert reply.json()["choices"][0]["message"]["annotations"]

            async def call_online() -> None:
                (await direct.post("/chat/completions", json=online)).raise_for_status()

            async def call_service() -> None:
                await service.web_search(QUERY, options, use_cache=False)

            async def call_mcp() -> None:
                result = await mcp.call_tool("web_search", {**args, "cache": False})
                assert not result.is_error and result.structured_content["cache_status"] == "bypass"

            async def hit_service() -> None:
                assert (await service.web_search(QUERY, options)).cache_status == "hit_exact"

            async def hit_mcp() -> None:
                result = await mcp.call_tool("web_search", args)
                assert result.structured_content["cache_status"] == "hit_exact"

            await service.web_search(QUERY, options)  # store the entry the hits read
            modes = {BASELINE: call_direct, "direct httpx, :online (seed servers' request)": call_online,
                     "web_search in-process, no cache": call_service,
                     "web_search via MCP client, no cache": call_mcp,
                     "cache hit in-process": hit_service, "cache hit via MCP client": hit_mcp}
            samples = await interleaved(modes, calls, rounds, warmup=30)
        rows = await runtime.ledger.count()
        await runtime.close()
    print(f"\nweb_search overhead — {len(samples[BASELINE])} calls per row, sandbox upstream in its own "
          f"process on loopback, ledger on ({rows} rows written)\n")
    print("\n".join(added_table(samples, BASELINE)))
    print("\nadded = the path's percentile minus the direct call's. A real search takes 0.25-15 s "
          "upstream (Exa instant to deep), so a cache hit saves that whole wait and the fee.")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=4)
    parsed = parser.parse_args()
    asyncio.run(main(parsed.calls, parsed.rounds))
