"""Runs in the third-party clients' own environment (see requirements.txt), never in gatewise's.

``python drive_clients.py <client> <servers.json>``: starts every server named in the JSON file
({name: {"command", "env"}}) over stdio through that client library, loads all their tools into
one agent-side list, calls routed_complete and web_search, and prints what it saw as one JSON
object on stdout. A client library that refuses the tools raises, and the traceback is the report.
"""

from __future__ import annotations

import asyncio
import json
import sys
from contextlib import AsyncExitStack
from typing import Any

CALLS = {
    "routed_complete": {"prompt": "What is 6*7?", "metadata": [{"key": "team", "value": "qa"}]},
    "web_search": {"query": "What is the Model Context Protocol?"},
}


async def openai_agents(servers: dict[str, Any]) -> dict[str, Any]:
    from agents import Agent, RunContextWrapper
    from agents.mcp import MCPServerStdio, MCPUtil

    async with AsyncExitStack() as stack:
        started = [await stack.enter_async_context(MCPServerStdio(
            params={"command": s["command"], "args": [], "env": s["env"]}, name=name,
            client_session_timeout_seconds=60)) for name, s in servers.items()]
        # Strict conversion, all servers in one agent: a tool name twice or a schema strict mode
        # cannot take would show here.
        tools = await MCPUtil.get_all_function_tools(
            started, convert_schemas_to_strict=True, run_context=RunContextWrapper(context=None),
            agent=Agent(name="gatewise-check"))
        by_server = {t.name: server for server in started for t in await server.list_tools()}
        calls = {}
        for name, args in CALLS.items():
            result = await by_server[name].call_tool(name, args)
            calls[name] = {"is_error": bool(result.isError), "structured": result.structuredContent}
        return {"tools": [t.name for t in tools],
                "not_strict": [t.name for t in tools if not getattr(t, "strict_json_schema", False)],
                "calls": calls}


async def langchain(servers: dict[str, Any]) -> dict[str, Any]:
    from langchain_mcp_adapters.client import MultiServerMCPClient

    client = MultiServerMCPClient({name: {"command": s["command"], "args": [], "env": s["env"],
                                          "transport": "stdio"} for name, s in servers.items()})
    tools = await client.get_tools()
    by_name = {t.name: t for t in tools}
    calls = {}
    for name, args in CALLS.items():
        content = await by_name[name].ainvoke(args)
        calls[name] = {"is_error": False, "text": json.dumps(content, default=str)}
    return {"tools": [t.name for t in tools], "calls": calls}


async def fastmcp(servers: dict[str, Any]) -> dict[str, Any]:
    from fastmcp import Client
    from fastmcp.client.transports import StdioTransport

    names: list[str] = []
    calls = {}
    for s in servers.values():
        async with Client(StdioTransport(command=s["command"], args=[], env=s["env"]), timeout=60) as client:
            listed = [t.name for t in await client.list_tools()]
            names += listed
            for name in set(listed) & set(CALLS):
                result = await client.call_tool(name, CALLS[name], raise_on_error=False)
                calls[name] = {"is_error": result.is_error, "structured": result.structured_content}
    return {"tools": names, "calls": calls}


def main() -> None:
    client, path = sys.argv[1], sys.argv[2]
    with open(path) as handle:
        servers = json.load(handle)
    drive = {"openai-agents": openai_agents, "langchain": langchain, "fastmcp": fastmcp}[client]
    print(json.dumps(asyncio.run(drive(servers)), default=str))


if __name__ == "__main__":
    main()
