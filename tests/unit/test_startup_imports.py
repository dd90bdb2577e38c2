"""A server with the default config loads nothing to answer tools/list that only some of its
tools or features need: Pillow (charts, images), the guardrail pipeline with phonenumbers and
regex, jsonschema (Portkey's checks) and the local embedder's onnxruntime. What only tool calls
need, the stores' SQLite library and the numpy it loads, is loaded on a worker thread while the
server answers, never on the event loop's thread before the listing. Its imports run with the
garbage collector paused, then frozen, and without httpx's command-line interface."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gatewise_sandbox import SandboxServer

DEFERRED = ("PIL", "phonenumbers", "regex", "jsonschema", "onnxruntime", "gatewise.guardrails.pipeline")
BACKGROUND = ("numpy", "sqlite_utils")
SERVERS = ("routing_gateway", "openrouter_multimodal", "openrouter_search", "portkey_admin")
START = """
import asyncio, json, sys, threading
from pathlib import Path

class Watch:  # which thread first imports each module in {background!r}
    on_main = {{}}

    def find_spec(self, name, path=None, target=None):
        if name in {background!r}:
            Watch.on_main.setdefault(name, threading.current_thread() is threading.main_thread())

sys.meta_path.insert(0, Watch())

from mcp import Client
from gatewise.config import load_settings
from gatewise.servers.{server}.server import create_server

async def main():
    settings = load_settings({{}}, data_dir=Path(sys.argv[1]), sandbox_url=sys.argv[2])
    async with Client(create_server(settings)) as client:
        assert (await client.list_tools()).tools
        print(json.dumps({{"loaded": [name for name in {deferred!r} if name in sys.modules],
                          "on_the_loop": [name for name, main in Watch.on_main.items() if main]}}))

asyncio.run(main())
"""


@pytest.mark.parametrize("server", SERVERS)
def test_listing_the_tools_leaves_the_optional_heavy_imports(server: str, sandbox: SandboxServer,
                                                             tmp_path: Path) -> None:
    code = START.format(server=server, deferred=DEFERRED, background=BACKGROUND)
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path), sandbox.url],
                          capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(done.stdout) == {"loaded": [], "on_the_loop": []}


@pytest.mark.parametrize("server", SERVERS)
def test_a_server_imports_with_the_collector_paused_then_frozen(server: str) -> None:
    """What the imports build lives as long as the process: frozen, no collection walks it again;
    the collector is back on for what the server allocates afterwards. httpx's command-line
    interface (click, rich, pygments) is left out, and its "not importable" mark is gone afterwards
    (whether it then imports depends on rich being installed, which the base install does not ask)."""
    code = (f"import gc, json, sys; import gatewise.servers.{server}.__main__; "
            "cli = [name for name in ('httpx._main', 'rich', 'pygments') if name in sys.modules]; "
            "print(json.dumps([gc.isenabled(), gc.get_freeze_count(), cli]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          check=True)
    enabled, frozen, cli = json.loads(done.stdout)
    assert enabled and frozen > 50_000
    assert cli == []
