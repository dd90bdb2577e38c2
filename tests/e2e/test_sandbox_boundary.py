"""The sandbox is only a URL away: no core module imports it, a server with keys never loads it,
and without keys a server starts it as a child process that ends with the server."""

from __future__ import annotations

import ast
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import anyio
import httpx
import pytest
from mcp import Client, StdioServerParameters

from gatewise.cli import SERVERS
from gatewise.config import Settings
from gatewise.runtime import Runtime
from repo_paths import REPO

SANDBOX = "gatewise_sandbox"
# Runs a module as __main__ and, at exit, writes the names of every module the process loaded.
MODULES_AT_EXIT = """
import atexit, json, os, runpy, sys
atexit.register(lambda: open(os.environ["MODULES_FILE"], "w").write(json.dumps(sorted(sys.modules))))
module, sys.argv = sys.argv[1], sys.argv[1:]
runpy.run_module(module, run_name="__main__", alter_sys=True)
"""


def imported_names(tree: ast.AST) -> set[str]:
    """Every module an ``import`` statement or an ``import_module("…")`` / ``__import__("…")`` names."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str) and _callee(node) in ("import_module", "__import__")):
            names.add(node.args[0].value)
    return names


def _callee(call: ast.Call) -> str | None:
    return getattr(call.func, "attr", getattr(call.func, "id", None))


def test_no_core_or_server_module_imports_the_sandbox() -> None:
    sources = [*(REPO / "shared" / "gatewise").rglob("*.py"), *(REPO / "servers").rglob("*.py")]
    assert len(sources) > 50
    offenders = sorted(str(path.relative_to(REPO)) for path in sources
                       if any(name == SANDBOX or name.startswith(SANDBOX + ".")
                              for name in imported_names(ast.parse(path.read_text(), str(path)))))
    assert offenders == []


def test_the_import_check_sees_every_form() -> None:
    tree = ast.parse("import gatewise_sandbox.app\nfrom gatewise_sandbox import x\n"
                     "importlib.import_module('gatewise_sandbox')\n__import__('gatewise_sandbox.state')")
    assert imported_names(tree) == {"gatewise_sandbox", "gatewise_sandbox.app", "gatewise_sandbox.state"}


# The two ways a server reaches an upstream: the shared runtime (the other two servers use it too)
# and the Admin API service.
STARTUP_PATHS = ("routing-gateway", "portkey-admin")


async def test_servers_with_keys_never_load_the_sandbox(tmp_path: Path) -> None:
    async def modules_of(server: str) -> list[str]:
        data = tmp_path / server
        env = {k: v for k, v in os.environ.items()
               if not k.endswith("_API_KEY") and k != "GATEWISE_SANDBOX_URL"}
        env.update(OPENROUTER_API_KEY="sk-or-v1-test" + "0" * 52, PORTKEY_API_KEY="pk-test" + "0" * 24,
                   OPENROUTER_BASE_URL="http://127.0.0.1:9/api/v1", PORTKEY_BASE_URL="http://127.0.0.1:9/v1",
                   GATEWISE_DATA_DIR=str(data), MODULES_FILE=str(data / "modules.json"))
        data.mkdir()
        params = StdioServerParameters(command=sys.executable, env=env, cwd=str(data),
                                       args=["-c", MODULES_AT_EXIT, SERVERS[server]])
        async with Client(params) as client:
            assert (await client.list_tools()).tools
        return json.loads(await anyio.to_thread.run_sync(_when_written, data / "modules.json"))

    loaded: dict[str, list[str]] = {}

    async def check(server: str) -> None:
        loaded[server] = await modules_of(server)

    async with anyio.create_task_group() as group:  # side by side
        for server in STARTUP_PATHS:
            group.start_soon(check, server)
    for modules in loaded.values():
        assert "gatewise.runtime" in modules  # the server really started
    assert {server: [m for m in modules if m.split(".")[0] == SANDBOX]
            for server, modules in loaded.items()} == {server: [] for server in STARTUP_PATHS}


def _when_written(path: Path) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if path.exists() and (text := path.read_text()):
            return text
        time.sleep(0.05)
    raise AssertionError(f"{path.name} was not written")


async def test_without_a_key_the_runtime_runs_the_sandbox_as_a_child(tmp_path: Path) -> None:
    runtime = await Runtime.open(Settings(data_dir=tmp_path))
    try:
        assert runtime.provider == "sandbox"
        url = runtime.settings.sandbox_url
        assert url is not None and url.startswith("http://127.0.0.1:")
        assert httpx.get(url + "/models", timeout=10).is_success
    finally:
        await runtime.close()
    with pytest.raises(httpx.TransportError):
        httpx.get(url + "/models", timeout=10)


def test_the_sandbox_child_ends_when_its_parent_is_killed() -> None:
    code = ("import time\nfrom gatewise.upstream.local_sandbox import SandboxProcess\n"
            "print(SandboxProcess().start().url, flush=True)\ntime.sleep(120)")
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) as parent:
        assert parent.stdout is not None
        url = parent.stdout.readline().strip()
        assert httpx.get(url + "/models", timeout=10).is_success
        parent.send_signal(signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(url + "/models", timeout=1)
        except httpx.TransportError:
            return
        time.sleep(0.1)
    raise AssertionError("the sandbox outlived its parent")
