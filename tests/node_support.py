"""The MCP Inspector CLI from npm, installed once per version under the user's cache folder.

A test that needs it skips within seconds, saying why, when Node.js or npm is missing or the
registry does not answer: every npm call has a short fetch timeout, no retries and a hard wall
clock, so an unreachable registry can never hold a test for minutes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

INSPECTOR_VERSION = "2.12.0"
INSPECTOR = f"@modelcontextprotocol/inspector@{INSPECTOR_VERSION}"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "gatewise-tests"
# npm's own limits (per request) and ours (per command): the registry answers a lookup in about
# 2 s and the install in about 10 s on a working connection.
NPM_QUICK = ("--fetch-timeout=5000", "--fetch-retries=0", "--no-audit", "--no-fund", "--no-update-notifier")
PROBE_S = 20
INSTALL_S = 180


def run_npm(args: list[str], timeout: float, why: str) -> None:
    """Run npm; skip the test (naming ``why`` and npm's last line) if it fails or overruns."""
    try:
        done = subprocess.run(["npm", *args, *NPM_QUICK], capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.skip(f"{why}: `npm {args[0]}` gave no answer within {timeout:g} s")
    if done.returncode != 0:
        errors = [line for line in done.stderr.splitlines() if line.startswith("npm error")
                  and "complete log" not in line] or ["no error text"]
        pytest.skip(f"{why}: `npm {args[0]}` failed ({errors[0][:200]})")


def inspector_folder() -> Path:
    """The folder whose node_modules holds the Inspector (run ``npx --no-install`` from it)."""
    if shutil.which("npx") is None or shutil.which("npm") is None:
        pytest.skip("Node.js (npx, npm) is not installed: the MCP Inspector CLI test needs it")
    folder = CACHE / f"inspector-{INSPECTOR_VERSION}"
    if not (folder / "node_modules" / ".bin" / "mcp-inspector").exists():
        run_npm(["view", INSPECTOR, "version"], PROBE_S, "the npm registry is unreachable")
        folder.mkdir(parents=True, exist_ok=True)
        run_npm(["install", "--prefix", str(folder), INSPECTOR], INSTALL_S,
                f"{INSPECTOR} could not be installed")
    return folder
