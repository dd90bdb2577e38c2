"""A server with the default config loads nothing to answer tools/list that only some of its
tools or features need: Pillow (charts, images), the guardrail pipeline with phonenumbers and
regex, jsonschema (Portkey's checks) and the local embedder's onnxruntime; and its imports run
with the garbage collector paused, then frozen."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gatewise_sandbox import SandboxServer

DEFERRED = ("PIL", "phonenumbers", "regex", "jsonschema", "onnxruntime", "gatewise.guardrails.pipeline")
SERVERS = ("routing_gateway", "openrouter_multimodal", "openrouter_search", "portkey_admin")
START = """
import asyncio, json, sys
from pathlib import Path
from mcp import Client
from gatewise.config import load_settings
from gatewise.servers.{server}.server import create_server

async def main():
    settings = load_settings({{}}, data_dir=Path(sys.argv[1]), sandbox_url=sys.argv[2])
    async with Client(create_server(settings)) as client:
        assert (await client.list_tools()).tools
        print(json.dumps([name for name in {deferred!r} if name in sys.modules]))

asyncio.run(main())
"""


@pytest.mark.parametrize("server", SERVERS)
def test_listing_the_tools_leaves_the_optional_heavy_imports(server: str, sandbox: SandboxServer,
                                                             tmp_path: Path) -> None:
    code = START.format(server=server, deferred=DEFERRED)
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path), sandbox.url],
                          capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(done.stdout) == []


@pytest.mark.parametrize("server", SERVERS)
def test_a_server_imports_with_the_collector_paused_then_frozen(server: str) -> None:
    """What the imports build lives as long as the process: frozen, no collection walks it again;
    the collector is back on for what the server allocates afterwards."""
    code = (f"import gc, json; import gatewise.servers.{server}.__main__; "
            "print(json.dumps([gc.isenabled(), gc.get_freeze_count()]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          check=True)
    enabled, frozen = json.loads(done.stdout)
    assert enabled and frozen > 50_000
