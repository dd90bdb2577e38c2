"""The suite through the MCP clients agents are built with: OpenAI Agents (strict schemas),
LangChain's MCP adapters and fastmcp each start all four console scripts over stdio, load every
tool into one list and call two. They run in an environment of their own (clients_support)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from clients_support import DRIVER, clients_python
from tool_support import server_env

BIN = Path(sys.executable).parent
SERVERS = ("routing-gateway", "portkey-admin", "openrouter-multimodal", "openrouter-search")


@pytest.fixture(scope="module")
def python() -> Path:
    return clients_python()


@pytest.fixture(scope="module")
def suite_tools() -> set[str]:
    """Every tool name of the suite, from the contract snapshots."""
    from repo_paths import CONTRACTS

    return {name for path in CONTRACTS.glob("*_tools.json") for name in json.loads(path.read_text())}


def drive(python: Path, client: str, sandbox_url: str, tmp_path: Path) -> dict[str, Any]:
    env = server_env(sandbox_url, tmp_path / "data")
    servers = {name: {"command": str(BIN / f"gatewise-{name}"), "env": env} for name in SERVERS}
    spec = tmp_path / "servers.json"
    spec.write_text(json.dumps(servers))
    done = subprocess.run([str(python), str(DRIVER), client, str(spec)], capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout))


@pytest.mark.parametrize("client", ["openai-agents", "langchain", "fastmcp"])
def test_client_loads_every_tool_and_calls_two(python: Path, client: str, sandbox, tmp_path: Path,
                                               suite_tools: set[str]) -> None:
    seen = drive(python, client, sandbox.url, tmp_path)
    assert sorted(seen["tools"]) == sorted(suite_tools)  # each once, none missing
    assert seen.get("not_strict", []) == []  # OpenAI Agents: every schema converted to strict
    calls = seen["calls"]
    assert set(calls) == {"routed_complete", "web_search"}
    assert not any(c["is_error"] for c in calls.values()), calls
    answer = json.dumps(calls["routed_complete"])
    assert "42" in answer and "sandbox" in answer


def test_clients_skip_within_seconds_when_the_index_is_unreachable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    import clients_support

    monkeypatch.setattr(clients_support, "CACHE", tmp_path)  # nothing installed yet
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # no other index configured
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")  # the discard port: refused
    started = time.monotonic()
    with pytest.raises(pytest.skip.Exception, match="package index is unreachable"):
        clients_support.clients_python()
    assert time.monotonic() - started < 60  # pip's own timeout is 10 s, with no retries
    assert not list(tmp_path.glob("clients-*/bin"))  # no environment was made
