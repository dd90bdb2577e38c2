"""End to end: the console script over stdio, Streamable HTTP and SSE, and the MCP Inspector CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.sse import sse_client

from node_support import inspector_folder
from tool_support import free_port, server_env, wait_for_port

BIN = Path(sys.executable).parent
SCRIPT = BIN / "gatewise-routing-gateway"


async def test_console_script_over_stdio(sandbox, tmp_path: Path) -> None:
    params = StdioServerParameters(command=str(SCRIPT), args=[],
                                   env=server_env(sandbox.url, tmp_path))
    async with Client(params) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"routed_complete", "explain_route", "get_gateway_analytics"} <= names
        result = await client.call_tool("routed_complete", {"prompt": "What is 6*7?"})
        assert not result.is_error
        assert "42" in result.structured_content["answer"]
        assert result.structured_content["provider"] == "sandbox"
        bad = await client.call_tool("routed_complete", {"prompt": ""})
        assert bad.is_error and "INVALID_INPUT" in bad.content[0].text


def test_stdio_server_writes_nothing_but_protocol_to_stdout(sandbox, tmp_path: Path) -> None:
    """Raw JSON-RPC over the pipe: every stdout line must be a JSON-RPC message."""
    messages = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "raw", "version": "0"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "routed_complete", "arguments": {"prompt": "hi", "temperature": 9}}},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {
            "name": "routed_complete", "arguments": {"prompt": "What is 2+2?"}}},
    ]
    with subprocess.Popen([str(SCRIPT)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True,
                          env=server_env(sandbox.url, tmp_path)) as proc:
        assert proc.stdin and proc.stdout and proc.stderr
        proc.stdin.write("\n".join(json.dumps(m) for m in messages) + "\n")
        proc.stdin.flush()
        lines = []
        while not any(m.get("id") == 3 for m in lines):  # stdin stays open until the last answer
            line = proc.stdout.readline()
            assert line, "the server closed stdout early"
            lines.append(json.loads(line))  # every stdout line must be a JSON-RPC message
        proc.stdin.close()
        rest = proc.stdout.read()
        stderr = proc.stderr.read()
    assert rest == ""
    assert all(m.get("jsonrpc") == "2.0" for m in lines)
    by_id = {m["id"]: m for m in lines if "id" in m}
    assert by_id[2]["result"]["isError"] is True
    assert "4" in by_id[3]["result"]["structuredContent"]["answer"]
    assert "Traceback" not in stderr


@pytest.mark.parametrize("transport", ["http", "sse"])
async def test_network_transports(sandbox, tmp_path: Path, transport: str) -> None:
    port = free_port()
    proc = subprocess.Popen([str(SCRIPT), "--transport", transport, "--port", str(port)],
                            env=server_env(sandbox.url, tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    with proc:
        await _serve_and_call(proc, port, transport)
        stdout = proc.stdout.read() if proc.stdout else b""
    assert stdout == b""


async def _serve_and_call(proc: subprocess.Popen[bytes], port: int, transport: str) -> None:
    try:
        wait_for_port(port, proc)
        target = (f"http://127.0.0.1:{port}/mcp" if transport == "http"
                  else sse_client(f"http://127.0.0.1:{port}/sse"))
        async with Client(target, mode="legacy" if transport == "sse" else "auto") as client:
            result = await client.call_tool("routed_complete", {"prompt": "What is 9*9?"})
            assert "81" in result.structured_content["answer"]
        if transport == "http":  # DNS-rebinding protection on a loopback bind
            reply = httpx.post(f"http://127.0.0.1:{port}/mcp", json={},
                               headers={"Host": "evil.example"})
            assert reply.status_code == 421
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_mcp_inspector_cli_lists_and_calls(sandbox, tmp_path: Path) -> None:
    folder = inspector_folder()
    base = ["npx", "--no-install", "@modelcontextprotocol/inspector", "--cli", str(SCRIPT)]
    env = server_env(sandbox.url, tmp_path)
    env_args = [arg for key in ("GATEWISE_SANDBOX_URL", "GATEWISE_DATA_DIR")
                for arg in ("-e", f"{key}={env[key]}")]
    listed = subprocess.run([*base[:4], *env_args, str(SCRIPT), "--method", "tools/list",
                             "--format", "json", "-q"],
                            cwd=folder, env=env, capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    tools = json.loads(listed.stdout)
    tools = tools.get("result", tools)["tools"]
    assert {"routed_complete", "explain_route"} <= {t["name"] for t in tools}
    called = subprocess.run([*base[:4], *env_args, str(SCRIPT), "--method", "tools/call",
                             "--tool-name", "routed_complete", "--tool-arg", "prompt=What is 3*5?",
                             "--format", "json", "-q"],
                            cwd=folder, env=env, capture_output=True, text=True, timeout=120)
    assert called.returncode == 0, called.stderr
    result = json.loads(called.stdout)
    result = result.get("result", result)
    assert result["isError"] is False
    assert "15" in result["structuredContent"]["answer"]
    bad = subprocess.run([*base[:4], *env_args, str(SCRIPT), "--method", "tools/call",
                          "--tool-name", "routed_complete", "--tool-arg", "temperature=9",
                          "--format", "json", "-q"],
                         cwd=folder, env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 5  # the Inspector's exit code for an isError result
