"""An environment holding the third-party MCP clients of tests/clients/requirements.txt.

They require mcp 1.x and gatewise requires 2.x, so they cannot share gatewise's environment: this
one is made once per version of the requirements file, under the user's cache folder, and the
clients reach the servers over stdio. A test that needs it skips within seconds, saying why,
when the package index cannot be reached or the install fails; pip's own timeout is short and
it does not retry, and the whole install has a wall clock.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from repo_paths import TESTS

REQUIREMENTS = TESTS / "clients" / "requirements.txt"
DRIVER = TESTS / "clients" / "drive_clients.py"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "gatewise-tests"
PIP_QUICK = ("--disable-pip-version-check", "--quiet", "--timeout", "10", "--retries", "0")
INSTALL_S = 600  # about 50 s from PyPI on a working connection


def _pip(python: Path, args: list[str], why: str) -> None:
    try:
        done = subprocess.run([str(python), "-m", "pip", *args, *PIP_QUICK], capture_output=True,
                              text=True, timeout=INSTALL_S, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.skip(f"{why}: pip gave no answer within {INSTALL_S} s")
    if done.returncode != 0:
        errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR")] or ["no error text"]
        pytest.skip(f"{why}: {errors[0][:200]}")


def clients_python() -> Path:
    """The interpreter of the clients' environment, made on first use."""
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:12]
    folder = CACHE / f"clients-{digest}"
    python = folder / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    ready = folder / ".installed"
    if not ready.exists():
        shutil.rmtree(folder, ignore_errors=True)  # a half-made one from an interrupted run
        # One quick lookup first (with this interpreter's pip), so an unreachable index costs
        # seconds, not a new environment and the install's timeout.
        first = next(line for line in REQUIREMENTS.read_text().splitlines() if line and line[0] != "#")
        _pip(Path(sys.executable), ["download", "--no-deps", "--dest", str(folder / "probe"), first],
             "the package index is unreachable")
        subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True, timeout=120)
        _pip(python, ["install", "-r", str(REQUIREMENTS)],
             "the third-party MCP clients could not be installed")
        ready.touch()
    return python
