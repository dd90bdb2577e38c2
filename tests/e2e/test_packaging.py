"""A built wheel holds every module and the data files, and its server runs from it alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from gatewise.cli import SERVERS
from repo_paths import REPO


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out),
                    str(REPO)], check=True, capture_output=True, timeout=300)
    (built,) = out.glob("gatewise-*.whl")
    return built


def test_wheel_contains_every_source_module_and_the_snapshot(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {"gatewise/" + str(p.relative_to(REPO / "shared" / "gatewise"))
                for p in (REPO / "shared" / "gatewise").rglob("*.py")}
    expected |= {"gatewise/servers/" + str(p.relative_to(REPO / "servers"))
                 for p in (REPO / "servers").rglob("*.py")}
    expected |= {"gatewise_sandbox/" + str(p.relative_to(REPO / "sandbox" / "gatewise_sandbox"))
                 for p in (REPO / "sandbox" / "gatewise_sandbox").rglob("*.py")}
    assert expected <= names, sorted(expected - names)
    assert "gatewise/data/models.json" in names
    assert {f"gatewise/dashboard/static/{name}"  # served by the process itself, never from a CDN
            for name in ("dashboard.js", "dashboard.css", "favicon.svg")} <= names
    assert {"gatewise/py.typed", "gatewise_sandbox/py.typed"} <= names  # typed for their users
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    scripts = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "gatewise-routing-gateway = gatewise.servers.routing_gateway.__main__:main" in scripts
    assert "gatewise = gatewise.cli:main" in scripts
    # Every server directory is a console script, a `gatewise serve` choice and an mcp.json entry.
    servers = sorted(p.parent.name for p in (REPO / "servers").glob("*/__main__.py"))
    assert servers == ["openrouter_multimodal", "openrouter_search", "portkey_admin", "routing_gateway"]
    listed = json.loads((REPO / "mcp.json").read_text())["mcpServers"]
    for name in servers:
        script = "gatewise-" + name.replace("_", "-")
        assert f"{script} = gatewise.servers.{name}.__main__:main" in scripts
        assert listed[script]["command"] == script and name.replace("_", "-") in SERVERS


async def test_server_runs_from_the_unpacked_wheel(wheel: Path, tmp_path: Path) -> None:
    """With no key, as a desktop client starts it: the server runs the wheel's sandbox as its upstream."""
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and k != "GATEWISE_SANDBOX_URL"}
    env.update(PYTHONPATH=str(site), GATEWISE_DATA_DIR=str(tmp_path / "data"))
    where = subprocess.run([sys.executable, "-c", "import gatewise, gatewise_sandbox as s\n"
                                                  "print(gatewise.__file__, s.__file__, sep='\\n')"],
                           env=env, capture_output=True, text=True, check=True, cwd=tmp_path)
    assert all(line.startswith(str(site)) for line in where.stdout.splitlines())  # not the checkout
    params = StdioServerParameters(command=sys.executable,
                                   args=["-m", "gatewise.servers.routing_gateway"], env=env,
                                   cwd=str(tmp_path))
    async with Client(params) as client:
        result = await client.call_tool("routed_complete", {"prompt": "What is 12*12?"})
    assert "144" in result.structured_content["answer"]
