"""A server with the default config loads nothing at start-up that only some of its tools or
features need: Pillow (charts, images), and the guardrails with phonenumbers and regex."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gatewise_sandbox import SandboxServer

DEFERRED = ("PIL", "phonenumbers", "regex", "gatewise.guardrails")
START = """
import asyncio, json, sys
from pathlib import Path
from gatewise.config import load_settings
from gatewise.runtime import Runtime
from gatewise.servers.{server}.server import create_server

async def main():
    settings = load_settings({{}}, data_dir=Path(sys.argv[1]), sandbox_url=sys.argv[2])
    create_server(settings)
    runtime = await Runtime.open(settings)
    await runtime.close()
    print(json.dumps([name for name in {deferred!r} if name in sys.modules]))

asyncio.run(main())
"""


@pytest.mark.parametrize("server", ["openrouter_search", "portkey_admin"])
def test_start_up_leaves_the_optional_heavy_imports(server: str, sandbox: SandboxServer,
                                                    tmp_path: Path) -> None:
    code = START.format(server=server, deferred=DEFERRED)
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path), sandbox.url],
                          capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(done.stdout) == []
