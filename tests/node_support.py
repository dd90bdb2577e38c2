"""Node tools from npm (the MCP Inspector CLI; the conformance suite with the Node 22 it needs),
each installed once per version under the user's cache folder.

A test that needs it skips within seconds, saying why, when Node.js or npm is missing or the
registry does not answer: every npm call has a short fetch timeout, no retries and a hard wall
clock, so an unreachable registry can never hold a test for minutes.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from pathlib import Path

import pytest

INSPECTOR_VERSION = "2.12.0"
INSPECTOR = f"@modelcontextprotocol/inspector@{INSPECTOR_VERSION}"
CONFORMANCE_VERSION = "0.1.16"
CONFORMANCE = f"@modelcontextprotocol/conformance@{CONFORMANCE_VERSION}"
# The conformance suite needs Node 22 or later; npm's `node` package holds that binary itself.
NODE_VERSION = "22.23.3"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "gatewise-tests"
# npm's own limits (per request) and ours (per command): the registry answers a lookup in about
# 2 s and the install in about 10 s on a working connection.
NPM_QUICK = ("--fetch-timeout=5000", "--fetch-retries=0", "--no-audit", "--no-fund", "--no-update-notifier")
PROBE_S = 20
INSTALL_S = 180

# One tool of each server, called with the Inspector's key=value arguments, and a word its answer holds.
INSPECTOR_CALLS = {
    "routing-gateway": (["routed_complete", "prompt=What is 6*7?"], "42"),
    "portkey-admin": (["get_api_keys", "action=list"], "sandbox"),
    "openrouter-multimodal": (["check_account"], "sandbox"),
    "openrouter-search": (["web_search", "query=What is MCP?"], "sandbox"),
}


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


def _installed(folder: Path, packages: list[str], program: str) -> Path:
    """``folder`` with ``packages`` in its node_modules, installed unless ``program`` is there."""
    if shutil.which("npx") is None or shutil.which("npm") is None:
        pytest.skip(f"Node.js (npx, npm) is not installed: the test of {packages[0]} needs it")
    folder.mkdir(parents=True, exist_ok=True)
    # Test workers run side by side: one installs, the others wait for it rather than install
    # into the same folder at the same time.
    with (folder / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / "node_modules" / ".bin" / program).exists():
            run_npm(["view", packages[0], "version"], PROBE_S, "the npm registry is unreachable")
            run_npm(["install", "--prefix", str(folder), *packages], INSTALL_S,
                    f"{' and '.join(packages)} could not be installed")
    return folder


def inspector_folder() -> Path:
    """The folder whose node_modules holds the Inspector (run ``npx --no-install`` from it)."""
    return _installed(CACHE / f"inspector-{INSPECTOR_VERSION}", [INSPECTOR], "mcp-inspector")


def conformance_command() -> list[str]:
    """The conformance CLI, run by the Node 22 installed beside it."""
    folder = _installed(CACHE / f"conformance-{CONFORMANCE_VERSION}-node-{NODE_VERSION}",
                        [CONFORMANCE, f"node@{NODE_VERSION}"], "conformance")
    modules = folder / "node_modules"
    return [str(modules / ".bin" / "node"),
            str(modules / "@modelcontextprotocol" / "conformance" / "dist" / "index.js")]
