"""The committed mcp.json, unchanged, starts every server: its env passed as written (the MCP
Inspector does not expand ``${VAR:-}``), the commands found on PATH after installation."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

from node_support import INSPECTOR_CALLS, inspector_folder
from repo_paths import REPO

BIN = Path(sys.executable).parent
SERVERS: dict[str, Any] = json.loads((REPO / "mcp.json").read_text())["mcpServers"]


def installed_env(home: Path) -> dict[str, str]:
    """A user's environment after `make install`: the console scripts on PATH, no keys set."""
    return {"PATH": f"{BIN}{os.pathsep}/usr/bin{os.pathsep}/bin", "HOME": str(home)}


@pytest.mark.parametrize("name", sorted(SERVERS))
async def test_each_entry_starts_with_its_env_as_written(name: str, tmp_path: Path) -> None:
    entry = SERVERS[name]
    assert not Path(entry["command"]).is_absolute()
    params = StdioServerParameters(command=str(BIN / entry["command"]), args=entry["args"],
                                   env={**installed_env(tmp_path), **entry["env"]})
    async with Client(params) as client:
        assert (await client.list_tools()).tools


def test_make_install_puts_the_bare_commands_on_path(tmp_path: Path) -> None:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    bindir = tmp_path / "bin"
    # -o: the environment this test runs in counts as built, so make only links the commands.
    subprocess.run(["make", "-s", "-o", ".venv/.installed", "install", f"BINDIR={bindir}"], cwd=REPO,
                   check=True, capture_output=True, timeout=60)
    path = {"PATH": f"{bindir}{os.pathsep}/usr/bin{os.pathsep}/bin", "HOME": str(tmp_path)}
    for entry in SERVERS.values():  # mcp.json's bare command names now resolve
        found = shutil.which(entry["command"], path=path["PATH"])
        assert found and Path(found).parent == bindir
    done = subprocess.run(["gatewise", "install", "--client", "cursor"], env=path, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["mcpServers"]["gatewise-portkey-admin"]["command"] == \
        str(BIN / "gatewise-portkey-admin")


@pytest.mark.parametrize("client", ["claude-code", "cursor", "vscode", "windsurf", "claude-desktop"])
async def test_installed_entries_start_with_placeholders_unexpanded(client: str, tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    subprocess.run([str(BIN / "gatewise"), "install", "--client", client, "--servers", "openrouter-search",
                    "--write", "--path", str(path)], check=True, capture_output=True, timeout=60)
    document = json.loads(path.read_text())
    entry = document["servers" if client == "vscode" else "mcpServers"]["gatewise-openrouter-search"]
    # A client that leaves a variable unexpanded hands the placeholder itself to the server.
    params = StdioServerParameters(command=entry["command"], args=entry["args"],
                                   env={"HOME": str(tmp_path), **entry["env"]})
    async with Client(params) as client_session:
        names = {t.name for t in (await client_session.list_tools()).tools}
    assert names == {"web_search", "research"}


@pytest.mark.parametrize("name", sorted(SERVERS))
def test_inspector_reads_the_committed_file_strictly(name: str, tmp_path: Path) -> None:
    folder = inspector_folder()
    base = ["npx", "--no-install", "@modelcontextprotocol/inspector", "--cli", "--config",
            str(REPO / "mcp.json"), "--server", name]
    env = {**installed_env(tmp_path), "MCP_INSPECTOR_SECRET_STORE": "memory"}
    listed = subprocess.run([*base, "--method", "tools/list", "--strict"], cwd=folder, env=env,
                            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    # --strict: every schema portability problem on stderr, exit 6 for an error-severity one.
    assert listed.returncode == 0, listed.stderr[-2000:]
    problems = [line for line in listed.stderr.splitlines() if line.startswith(("Warning", "Error"))]
    assert problems == [], listed.stderr[-3000:]
    assert json.loads(listed.stdout)["tools"]
    (tool, *args), expected = INSPECTOR_CALLS[name.removeprefix("gatewise-")]
    called = subprocess.run([*base, "--method", "tools/call", "--tool-name", tool,
                             *(["--tool-arg", *args] if args else [])], cwd=folder, env=env,
                            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert called.returncode == 0, called.stderr[-2000:]
    result = json.loads(called.stdout)
    assert result.get("isError") is not True and expected in json.dumps(result), result


@pytest.mark.parametrize("installer", ["inspector_folder", "conformance_command"])
def test_npm_tools_skip_within_seconds_when_the_registry_is_unreachable(
        installer: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import node_support

    monkeypatch.setattr(node_support, "CACHE", tmp_path)  # nothing installed yet
    monkeypatch.setenv("npm_config_registry", "http://127.0.0.1:9/")  # the discard port: refused
    started = time.monotonic()
    with pytest.raises(pytest.skip.Exception) as skipped:
        getattr(node_support, installer)()
    assert time.monotonic() - started < node_support.PROBE_S + 5
    assert "npm" in str(skipped.value) or "Node.js" in str(skipped.value)
