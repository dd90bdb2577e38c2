"""``gatewise serve`` with a token, checked by npm's official MCP conformance suite and driven by
the MCP Inspector CLI.

The conformance CLI has no option for a request header, so it talks to a reverse proxy on
loopback that adds the token to every request and passes everything else on unchanged (Host
and Origin included, so the server's own DNS-rebinding checks are what the suite sees); the
server lists the proxy's origin as the one browsers may call from, as it would behind any proxy.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from node_support import INSPECTOR_CALLS, conformance_command, inspector_folder
from tool_support import free_port, server_env

TOKEN = "ci-" + "c" * 40
SERVERS = sorted(INSPECTOR_CALLS)
# Scenarios a server of its own can pass. The suite's others call what only its reference server
# has: the tools test_simple_text, test_image_content, test_audio_content, test_embedded_resource,
# test_multiple_content_types, test_tool_with_logging, test_error_handling,
# test_tool_with_progress, test_sampling, test_elicitation, test_elicitation_sep1034_defaults,
# test_elicitation_sep1330_enums and json_schema_2020_12_tool; the resources test://static-text,
# test://static-binary and test://template/{id}/data (and subscriptions to them); the prompts
# test_simple_prompt, test_prompt_with_arguments, test_prompt_with_embedded_resource and
# test_prompt_with_image.
APPLICABLE = {"server-initialize", "ping", "logging-set-level", "tools-list", "resources-list",
              "prompts-list", "server-sse-multiple-streams", "dns-rebinding-protection"}
# completion/complete applies where a server declares completions (it has prompts or resource
# templates whose arguments can be completed); the other two answer it "method not found".
COMPLETES = {"routing-gateway", "portkey-admin"}
RESULT_DIR = re.compile(r"server-(?P<scenario>.+)-\d{4}-\d{2}-\d{2}T")
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "authorization"}


def _token_proxy(target: str) -> Starlette:
    upstream = httpx.AsyncClient(base_url=target, timeout=httpx.Timeout(60, read=None))

    async def forward(request: Request) -> Response:
        headers = {k: v for k, v in request.headers.items() if k not in HOP_BY_HOP}
        sent = upstream.build_request(request.method, request.url.path, params=request.url.query,
                                      headers={**headers, "authorization": f"Bearer {TOKEN}"},
                                      content=await request.body())
        reply = await upstream.send(sent, stream=True)
        return StreamingResponse(reply.aiter_raw(), status_code=reply.status_code,
                                 headers={k: v for k, v in reply.headers.items() if k not in HOP_BY_HOP},
                                 background=BackgroundTask(reply.aclose))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with upstream:
            yield

    return Starlette(routes=[Route("/{path:path}", forward, methods=["GET", "POST", "DELETE"])],
                     lifespan=lifespan)


class Served:
    def __init__(self, base: str, proxied: str) -> None:
        self.base, self.proxied = base, proxied


@pytest.fixture(scope="module")
def served(sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("serve-conformance")
    port, proxy_port = free_port(), free_port()
    proxied = f"http://127.0.0.1:{proxy_port}"
    log = (root / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gatewise.cli", "serve", "--port", str(port), "--allowed-origin", proxied],
        env={**server_env(sandbox.url, root / "data"), "GATEWISE_AUTH_TOKENS": f"ci:{TOKEN}"},
        stdout=subprocess.DEVNULL, stderr=log)
    proxy = uvicorn.Server(uvicorn.Config(_token_proxy(f"http://127.0.0.1:{port}"), host="127.0.0.1",
                                          port=proxy_port, log_level="warning"))
    thread = threading.Thread(target=proxy.run, daemon=True)
    try:
        deadline = time.monotonic() + 60
        while not _ready(f"http://127.0.0.1:{port}"):
            assert proc.poll() is None and time.monotonic() < deadline, (root / "serve.log").read_text()
            time.sleep(0.2)
        thread.start()
        while not proxy.started:
            assert thread.is_alive()
            time.sleep(0.05)
        yield Served(f"http://127.0.0.1:{port}", proxied)
    finally:
        proxy.should_exit = True
        thread.join(timeout=10)
        proc.kill()
        proc.wait(timeout=15)
        log.close()


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


# How a scenario that needs the reference server fails here: the protocol's own answers to an
# unknown name (-32602) or to a method the server does not offer (-32601), never anything else.
REFERENCE_ONLY = re.compile(r"Failed: MCP error (-32602: Unknown (tool|prompt): test_\w+"
                            r"|-32602: Unknown resource: test://\S+|-32601: Method not found)")


def _conformance(url: str, out: Path, *scenario: str) -> dict[str, list[dict[str, object]]]:
    """Each scenario run against ``url`` with the checks it made."""
    try:
        done = subprocess.run([*conformance_command(), "server", "--url", url, "-o", str(out), *scenario],
                              capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail("the conformance suite gave no answer within 300 s")
    found: dict[str, list[dict[str, object]]] = {}
    for checks in out.glob("*/checks.json"):
        if named := RESULT_DIR.match(checks.parent.name):
            found[named["scenario"]] = json.loads(checks.read_text())
    assert found, done.stderr[-2000:]
    return found


@pytest.mark.parametrize("server", SERVERS)
def test_every_applicable_conformance_scenario_passes(served: Served, server: str, tmp_path: Path) -> None:
    results = _conformance(f"{served.proxied}/{server}/mcp", tmp_path)
    applicable = APPLICABLE | ({"completion-complete"} if server in COMPLETES else set())
    assert applicable <= results.keys(), sorted(results)
    failed = {name: [c.get("errorMessage") for c in checks if c["status"] == "FAILURE"]
              for name, checks in results.items() if name in applicable}
    assert {name: errors for name, errors in failed.items() if errors} == {}
    others = {name: [str(c.get("errorMessage")) for c in checks if c["status"] == "FAILURE"]
              for name, checks in results.items() if name not in applicable}
    assert {name: errors for name, errors in others.items()
            if not all(REFERENCE_ONLY.fullmatch(error) for error in errors)} == {}
    if server not in COMPLETES:  # not declared, so refused as a method this server does not offer
        assert others["completion-complete"] == ["Failed: MCP error -32601: Method not found"]


def test_sse_polling_scenario_passes(served: Served, tmp_path: Path) -> None:
    """The suite leaves this one out of its default run."""
    url = f"{served.proxied}/routing-gateway/mcp"
    results = _conformance(url, tmp_path, "--scenario", "server-sse-polling")
    assert [c for c in results["server-sse-polling"] if c["status"] == "FAILURE"] == []


def _inspector(url: str, *args: str, token: str | None = TOKEN) -> subprocess.CompletedProcess[str]:
    folder = inspector_folder()
    # Without a token: no interactive sign-in, the refusal is the answer.
    header = ["--header", f"Authorization: Bearer {token}"] if token else ["--stored-auth-only"]
    return subprocess.run(["npx", "--no-install", "@modelcontextprotocol/inspector", "--cli", url,
                           "--transport", "http", *header, *args], cwd=folder, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL,
                          env={**os.environ, "MCP_INSPECTOR_SECRET_STORE": "memory"})


@pytest.mark.parametrize("server", SERVERS)
def test_inspector_lists_and_calls_a_tool_with_a_token(served: Served, server: str) -> None:
    url = f"{served.base}/{server}/mcp"
    listed = _inspector(url, "--method", "tools/list")
    assert listed.returncode == 0, listed.stderr[-2000:]
    (tool, *args), expected = INSPECTOR_CALLS[server]
    assert tool in {t["name"] for t in json.loads(listed.stdout)["tools"]}
    called = _inspector(url, "--method", "tools/call", "--tool-name", tool,
                        *(["--tool-arg", *args] if args else []))
    assert called.returncode == 0, called.stderr[-2000:]
    result = json.loads(called.stdout)
    assert result.get("isError") is not True and expected in json.dumps(result), result


def test_inspector_is_refused_without_a_token(served: Served) -> None:
    refused = _inspector(f"{served.base}/routing-gateway/mcp", "--method", "tools/list", token=None)
    assert refused.returncode != 0
    assert "auth_required" in refused.stderr and "a bearer token is required" in refused.stderr, \
        refused.stderr[-2000:]
    assert TOKEN not in refused.stderr + refused.stdout

