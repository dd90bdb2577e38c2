"""``gatewise serve``: the four servers in one process, with tokens, JWTs, limits and shutdown.

The server is a real subprocess on a free loopback port, driven by the MCP SDK's Streamable HTTP
client and raw httpx/socket probes; the identity provider's key set is served over loopback from
this process, with keys generated here.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager, closing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from mcp import Client, MCPError
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import PromptReference, ResourceTemplateReference

from dashboard_support import ARTIFACTS, chromium_page, playwright_or_skip
from store_support import committed_rows
from tool_support import free_port, server_env

SERVERS = {"routing-gateway": "routed_complete", "openrouter-multimodal": "chat_completion",
           "openrouter-search": "web_search", "portkey-admin": "get_api_keys"}
TOKENS = {"ops": "ops-" + "o" * 40, "support": "support-" + "s" * 40, "limited": "limited-" + "l" * 40,
          "carol": "carol-" + "c" * 40, "auditor": "auditor-" + "a" * 40, "reader": "reader-" + "r" * 40}
ISSUER = "https://idp.example.test"
JSONRPC_CALL = {"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                "params": {"name": "explain_route", "arguments": {"prompt": "hi"}}}
ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def _entry(name: str, **grant: Any) -> dict[str, Any]:
    return {"name": name, "sha256": hashlib.sha256(TOKENS[name].encode()).hexdigest(), **grant}


class IdentityProvider:
    """A JWKS endpoint on loopback and the key that signs this provider's tokens."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        body = json.dumps({"keys": [{**public, "kid": "k1", "alg": "RS256", "use": "sig"}]}).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/jwks.json"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def token(self, audience: str, *, key: Any = None, expires_in: float = 300, **claims: Any) -> str:
        payload = {"iss": ISSUER, "sub": "user-1", "aud": audience, "exp": int(time.time() + expires_in),
                   "iat": int(time.time()), **claims}
        return jwt.encode(payload, key or self.key, algorithm="RS256", headers={"kid": "k1"})


class Served:
    def __init__(self, proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.proc, self.port, self.log = proc, port, log
        self.base = f"http://127.0.0.1:{port}"


def _start(stack: ExitStack, root: Path, sandbox_url: str, config: dict[str, Any], *,
           env: dict[str, str] | None = None, name: str = "serve") -> Served:
    (root / f"{name}.json").write_text(json.dumps(config))
    port = free_port()
    log = root / f"{name}.log"
    environment = {**server_env(sandbox_url, root / name), "GATEWISE_CONFIG": str(root / f"{name}.json"),
                   **(env or {})}
    proc = subprocess.Popen([sys.executable, "-m", "gatewise.cli", "serve", "--port", str(port)],
                            env=environment, stdout=subprocess.DEVNULL,
                            stderr=stack.enter_context(log.open("wb")))
    stack.callback(_stop, proc)
    served = Served(proc, port, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(f"{served.base}/readyz", timeout=1).status_code == 200:
                return served
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("gatewise serve did not become ready")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=15)


@pytest.fixture(scope="module")
def idp() -> Iterator[IdentityProvider]:
    provider = IdentityProvider()
    yield provider
    provider.http.shutdown()
    provider.http.server_close()


@pytest.fixture(scope="module")
def served(sandbox, idp: IdentityProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("serve")
    auth = {"tokens": [_entry("ops"),
                       _entry("support", servers=["routing-gateway"], project="support-bot",
                              tools=["routed_complete", "explain_route"]),
                       _entry("limited", rate_per_minute=1),
                       _entry("carol", tools=["routed_complete"]),
                       _entry("auditor", project="support-bot", tools=["get_budget_status"]),
                       _entry("reader", tools=["routed_complete"], rate_per_minute=1)],
            "burst": 3,
            "jwt": {"issuer": ISSUER, "jwks_url": idp.url, "project_claim": "team"}}
    budgets = {"rules": [{"scope": f"project:{project}", "window": "monthly", "limit_usd": 100,
                          "on_exceed": "warn"} for project in ("support-bot", "marketing")]}
    with ExitStack() as stack:
        yield _start(stack, root, sandbox.url, {"server": {"header_timeout_s": 1, "auth": auth},
                                                "budgets": budgets})


@asynccontextmanager
async def _client(url: str, token: str | None) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http, \
            Client(streamable_http_client(url, http_client=http)) as client:
        yield client


async def test_every_server_lists_its_tools_under_its_own_path(served: Served) -> None:
    for server, tool in SERVERS.items():
        async with _client(f"{served.base}/{server}/mcp", TOKENS["ops"]) as client:
            names = {t.name for t in (await client.list_tools()).tools}
        assert tool in names, server


async def test_legacy_sse_answers_under_each_server_path_with_a_token(served: Served) -> None:
    url = f"{served.base}/openrouter-search/sse"
    async with Client(sse_client(url, headers={"Authorization": f"Bearer {TOKENS['ops']}"})) as client:
        names = {t.name for t in (await client.list_tools()).tools}
    assert "web_search" in names
    assert httpx.get(url, timeout=10).status_code == 401


async def test_a_call_is_billed_to_the_project_of_its_token(served: Served) -> None:
    async with _client(f"{served.base}/routing-gateway/mcp", TOKENS["support"]) as client:
        result = await client.call_tool("routed_complete", {"prompt": "What is 2+2?", "no_cache": True})
        assert not result.is_error, result.content
        other = await client.call_tool("routed_complete", {"prompt": "hi", "project": "marketing"})
    assert other.is_error and "FORBIDDEN_SCOPE" in other.content[0].text
    request_id = result.structured_content["request_id"]
    ledger = served.log.parent / "serve" / "ledger.sqlite3"
    assert committed_rows(ledger, "SELECT DISTINCT project FROM calls WHERE request_id = ?",
                          (request_id,)) == [("support-bot",)]


async def test_each_call_records_its_callers_name_never_its_token(served: Served,
                                                                  idp: IdentityProvider) -> None:
    resource = f"{served.base}/routing-gateway/mcp"
    # A JWT subject is the provider's to choose: it is recorded bounded, in safe characters only,
    # with a hash of the exact subject when it had to be rewritten.
    credentials = {"ops": TOKENS["ops"], "support": TOKENS["support"],
                   "jwt:_b_" + "x" * 44 + "~" + hashlib.sha256(b"<b>" + b"x" * 300).hexdigest()[:16]:
                       idp.token(resource, sub="<b>" + "x" * 300)}
    request_ids = {}
    for name, credential in credentials.items():
        async with _client(resource, credential) as client:
            result = await client.call_tool("routed_complete", {"prompt": f"Hi, {name}.", "no_cache": True})
        assert not result.is_error, result.content
        request_ids[name] = result.structured_content["request_id"]
    ledger = served.log.parent / "serve" / "ledger.sqlite3"
    for name, request_id in request_ids.items():
        assert committed_rows(ledger, "SELECT DISTINCT caller FROM calls WHERE request_id = ?",
                              (request_id,)) == [(name,)]
    stored = b"".join(path.read_bytes() for path in ledger.parent.glob("ledger.sqlite3*"))  # with -wal
    for token in TOKENS.values():
        assert token.encode() not in stored and token[-20:].encode() not in stored

    # The dashboard's figures split spend by caller; a snapshot is reused for a few seconds.
    deadline, by_caller = time.monotonic() + 30, {}
    while not {"ops", "support"} <= by_caller.keys() and time.monotonic() < deadline:
        time.sleep(0.5)
        data = httpx.get(f"{served.base}/dashboard/data", params={"window": "1h"}, headers=_bearer("ops"),
                         timeout=30).json()
        by_caller = {g["key"]: g for g in data["by_caller"]["groups"]}
    assert by_caller["ops"]["requests"] >= 1 and by_caller["support"]["requests"] >= 1
    assert by_caller["support"]["cost_usd"] > 0


def test_without_a_token_the_answer_is_401_pointing_at_the_resource_metadata(served: Served) -> None:
    reply = httpx.post(f"{served.base}/openrouter-search/mcp", json=JSONRPC_CALL, headers=ACCEPT)
    assert reply.status_code == 401
    challenge = reply.headers["www-authenticate"]
    assert challenge.startswith("Bearer ") and "error=" not in challenge
    metadata_url = challenge.split('resource_metadata="')[1].rstrip('"')
    assert metadata_url == f"{served.base}/.well-known/oauth-protected-resource/openrouter-search/mcp"
    metadata = httpx.get(metadata_url).json()
    assert metadata["resource"] == f"{served.base}/openrouter-search/mcp"
    assert metadata["authorization_servers"] == [ISSUER]

    wrong = httpx.post(f"{served.base}/openrouter-search/mcp", json=JSONRPC_CALL,
                       headers={**ACCEPT, "Authorization": "Bearer not-a-token-anyone-was-given"})
    assert wrong.status_code == 401
    assert 'error="invalid_token"' in wrong.headers["www-authenticate"]
    assert httpx.get(f"{served.base}/healthz").json() == {"status": "ok"}


async def test_the_sdk_client_is_refused_without_a_token(served: Served) -> None:
    statuses: list[int] = []

    async def seen(response: httpx2.Response) -> None:
        statuses.append(response.status_code)

    async with httpx2.AsyncClient(timeout=30, event_hooks={"response": [seen]}) as http:
        with pytest.raises(BaseExceptionGroup):  # the SDK reports the refusal from its task group
            async with Client(streamable_http_client(f"{served.base}/routing-gateway/mcp", http_client=http)):
                pass
    assert statuses and set(statuses) == {401}


async def test_a_token_limited_to_some_tools_lists_only_those(served: Served) -> None:
    async with _client(f"{served.base}/routing-gateway/mcp", TOKENS["support"]) as client:
        names = {t.name for t in (await client.list_tools()).tools}
    assert names == {"routed_complete", "explain_route"}


async def test_a_token_limited_to_some_tools_sees_only_the_resources_and_prompts_they_own(
        served: Served) -> None:
    budgets = ResourceTemplateReference(type="ref/resource", uri="gatewise://budgets{?project}")
    configs = ResourceTemplateReference(type="ref/resource", uri="portkey://configs/{slug}")
    async with _client(f"{served.base}/routing-gateway/mcp", TOKENS["carol"]) as client:
        templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
        assert templates == {"gatewise://models{?input}", "gatewise://models/{model_id}"}
        assert [p.name for p in (await client.list_prompts()).prompts] == ["cheapest_model"]
        models = json.loads((await client.read_resource("gatewise://models")).contents[0].text)
        assert len(models) > 10  # the catalogue is routed_complete's to show
        task = PromptReference(type="ref/prompt", name="cheapest_model")
        offered = await client.complete(task, {"name": "task", "value": "co"})
        assert offered.completion.values == ["code_generation"]
    async with _client(f"{served.base}/portkey-admin/mcp", TOKENS["carol"]) as client:
        assert (await client.list_resource_templates()).resource_templates == []
        assert (await client.list_tools()).tools == []
    async with _client(f"{served.base}/portkey-admin/mcp", TOKENS["ops"]) as client:  # every tool
        assert len((await client.list_resource_templates()).resource_templates) == 2
        assert (await client.complete(configs, {"name": "slug", "value": ""})).completion.values

    carol = {**ACCEPT, "Authorization": f"Bearer {TOKENS['carol']}"}
    refused = {
        "/routing-gateway/mcp": [
            ("resources/read", {"uri": "gatewise://budgets"}, "read 'gatewise://budgets'",
             "get_budget_status"),
            ("completion/complete", {"ref": budgets.model_dump(),
                                     "argument": {"name": "project", "value": ""}},
             "complete an argument of 'gatewise://budgets{?project}'", "get_budget_status")],
        "/portkey-admin/mcp": [
            ("resources/read", {"uri": "portkey://configs/pc-default"},
             "read 'portkey://configs/pc-default'", "manage_configs"),
            ("completion/complete", {"ref": {"type": "ref/resource", "uri": "portkey://virtual-keys/{slug}"},
                                     "argument": {"name": "slug", "value": ""}},
             "complete an argument of 'portkey://virtual-keys/{slug}'", "manage_virtual_keys")]}
    for path, requests in refused.items():
        for method, params, what, owner in requests:
            reply = httpx.post(served.base + path, headers=carol,
                               json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
            assert reply.status_code == 403, (method, reply.text)
            assert 'error="insufficient_scope"' in reply.headers["www-authenticate"]
            description = reply.json()["error_description"]
            assert description == f"this token may not {what}; a token granted {owner} may"


async def test_a_project_bound_token_reads_only_its_own_budget_through_resources(served: Served) -> None:
    budgets = ResourceTemplateReference(type="ref/resource", uri="gatewise://budgets{?project}")
    async with _client(f"{served.base}/routing-gateway/mcp", TOKENS["auditor"]) as client:
        templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
        assert templates == {"gatewise://budgets{?project}"}
        assert (await client.list_prompts()).prompts == []
        shown = json.loads((await client.read_resource("gatewise://budgets")).contents[0].text)
        assert [b["scope"] for b in shown] == ["project:support-bot"]
        offered = await client.complete(budgets, {"name": "project", "value": ""})
        assert offered.completion.values == ["support-bot"]
        with pytest.raises(MCPError) as other:
            await client.read_resource("gatewise://budgets?project=marketing")
        assert "FORBIDDEN_SCOPE" in str(other.value) or "may read the budget" in str(other.value)
    async with _client(f"{served.base}/routing-gateway/mcp", TOKENS["ops"]) as client:
        shown = json.loads((await client.read_resource("gatewise://budgets")).contents[0].text)
        assert {b["scope"] for b in shown} == {"project:support-bot", "project:marketing"}


def test_reads_prompts_and_completions_count_against_a_tokens_rate(served: Served) -> None:
    reader = {**ACCEPT, "Authorization": f"Bearer {TOKENS['reader']}"}
    url = f"{served.base}/routing-gateway/mcp"
    requests = [("resources/read", {"uri": "gatewise://models"}),
                ("prompts/get", {"name": "cheapest_model", "arguments": {"task": "code_generation"}}),
                ("completion/complete", {"ref": {"type": "ref/prompt", "name": "cheapest_model"},
                                         "argument": {"name": "task", "value": ""}}),
                ("resources/read", {"uri": "gatewise://models/openai%2Fgpt-4o"})]
    statuses = [httpx.post(url, headers=reader, json={"jsonrpc": "2.0", "id": 1, "method": method,
                                                      "params": params}).status_code
                for method, params in requests]
    # Counted, then answered 400 for want of a session: a burst of 3, then one a minute.
    assert statuses == [400, 400, 400, 429]
    listing = httpx.post(url, headers=reader, json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
    assert listing.status_code != 429  # a list shows no data of its own and is not counted


def test_a_token_gets_403_for_a_server_or_tool_it_was_not_granted(served: Served) -> None:
    support = {**ACCEPT, "Authorization": f"Bearer {TOKENS['support']}"}
    other_server = httpx.post(f"{served.base}/portkey-admin/mcp", json=JSONRPC_CALL, headers=support)
    assert other_server.status_code == 403
    assert 'error="insufficient_scope"' in other_server.headers["www-authenticate"]
    # The method spelled with an escaped slash is still read as a tool call.
    body = json.dumps({**JSONRPC_CALL, "params": {"name": "set_budget", "arguments": {}}})
    other_tool = httpx.post(f"{served.base}/routing-gateway/mcp", headers=support,
                            content=body.replace("tools/call", "tools\\/call"))
    assert other_tool.status_code == 403
    assert "set_budget" in other_tool.json()["error_description"]


async def test_jwts_from_the_identity_provider(served: Served, idp: IdentityProvider) -> None:
    resource = f"{served.base}/routing-gateway/mcp"
    async with _client(resource, idp.token(resource, team="research")) as client:
        result = await client.call_tool("routed_complete", {"prompt": "Name a prime.", "no_cache": True})
    assert not result.is_error, result.content
    ledger = served.log.parent / "serve" / "ledger.sqlite3"
    assert committed_rows(ledger, "SELECT DISTINCT project, caller FROM calls WHERE request_id = ?",
                          (result.structured_content["request_id"],)) == [("research", "jwt:user-1")]

    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    unsigned = jwt.encode({"iss": ISSUER, "sub": "x", "aud": resource, "exp": int(time.time()) + 300},
                          None, algorithm="none")
    refused = {
        "expired": idp.token(resource, expires_in=-600),
        "another audience": idp.token("https://elsewhere.example/mcp"),
        "another key": idp.token(resource, key=other_key),
        "alg none": unsigned,
        "another issuer": jwt.encode({"iss": "https://evil.example", "sub": "x", "aud": resource,
                                      "exp": int(time.time()) + 300}, idp.key, algorithm="RS256",
                                     headers={"kid": "k1"}),
    }
    for why, token in refused.items():
        bearer = {**ACCEPT, "Authorization": f"Bearer {token}"}
        reply = httpx.post(resource, json=JSONRPC_CALL, headers=bearer)
        assert reply.status_code == 401, why
        assert 'error="invalid_token"' in reply.headers["www-authenticate"], why


def test_tool_calls_past_a_tokens_rate_get_429(served: Served) -> None:
    limited = {**ACCEPT, "Authorization": f"Bearer {TOKENS['limited']}"}
    url = f"{served.base}/routing-gateway/mcp"
    statuses = [httpx.post(url, json=JSONRPC_CALL, headers=limited).status_code for _ in range(4)]
    assert 429 not in statuses[:3] and statuses[3] == 429
    reply = httpx.post(f"{served.base}/routing-gateway/mcp", json=JSONRPC_CALL, headers=limited)
    assert reply.status_code == 429 and int(reply.headers["retry-after"]) >= 1
    # Another caller is not held back by this one.
    ops = {**ACCEPT, "Authorization": f"Bearer {TOKENS['ops']}"}
    assert httpx.post(f"{served.base}/routing-gateway/mcp", json=JSONRPC_CALL, headers=ops).status_code != 429


def test_a_batch_calling_more_tools_than_the_burst_gets_413_not_429(served: Served) -> None:
    ops = {**ACCEPT, "Authorization": f"Bearer {TOKENS['ops']}"}
    batch = [{**JSONRPC_CALL, "id": i} for i in range(4)]  # the burst is 3
    reply = httpx.post(f"{served.base}/routing-gateway/mcp", json=batch, headers=ops)
    assert reply.status_code == 413 and "retry-after" not in reply.headers
    assert reply.json()["error"] == "batch_too_large"
    description = reply.json()["error_description"]
    assert "makes 4 calls (tools, reads, prompts or completions); at most 3" in description


def test_a_client_that_never_finishes_its_headers_is_cut_off(served: Served) -> None:
    with closing(socket.create_connection(("127.0.0.1", served.port), timeout=10)) as sock:
        sock.sendall(b"POST /routing-gateway/mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        started = time.monotonic()
        assert sock.recv(1024) == b""  # closed by the server, not by our 10 s timeout
        assert time.monotonic() - started < 8


def test_tokens_never_reach_the_log(served: Served, idp: IdentityProvider) -> None:
    httpx.post(f"{served.base}/routing-gateway/mcp", json=JSONRPC_CALL,
               headers={**ACCEPT, "Authorization": f"Bearer {TOKENS['limited']}"})
    text = served.log.read_text()
    assert "Bearer" not in text and "authorization" not in text.lower()
    for token in TOKENS.values():
        assert token not in text and token[-20:] not in text


def test_a_bind_beyond_loopback_needs_authentication(tmp_path: Path, sandbox) -> None:
    done = subprocess.run([sys.executable, "-m", "gatewise.cli", "serve", "--host", "0.0.0.0", "--port", "0"],
                          env=server_env(sandbox.url, tmp_path), capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "without authentication" in done.stderr and "Traceback" not in done.stderr
    # With tokens it still needs the Host values clients use, and says so (not "no authentication").
    env = {**server_env(sandbox.url, tmp_path), "GATEWISE_AUTH_TOKENS": "ci:" + "c" * 40}
    done = subprocess.run([sys.executable, "-m", "gatewise.cli", "serve", "--host", "0.0.0.0", "--port", "0"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "authentication" not in done.stderr, done.stderr
    assert done.stderr.startswith("gatewise serve: refusing to serve on 0.0.0.0 with no allowed hosts: "
                                  "beyond loopback every request's Host header must match --allowed-host")
    assert "c" * 40 not in done.stderr


async def test_sigterm_lets_an_in_flight_call_finish(sandbox, upstream, tmp_path: Path) -> None:
    token = "term-" + "t" * 40
    with ExitStack() as stack:
        served = _start(stack, tmp_path, sandbox.url, {"server": {"shutdown_grace_s": 20}},
                        env={"GATEWISE_AUTH_TOKENS": f"ci:{token}"}, name="term")
        upstream.fault("*", latency_ms=2500)
        async with _client(f"{served.base}/routing-gateway/mcp", token) as client:
            await client.list_tools()
            threading.Timer(1.0, served.proc.send_signal, (signal.SIGTERM,)).start()
            started = time.monotonic()
            result = await client.call_tool("routed_complete", {"prompt": "slow one", "no_cache": True})
        assert time.monotonic() - started > 2  # the call was in flight when the signal came
        assert not result.is_error, result.content
        assert served.proc.wait(timeout=30) in (0, -signal.SIGTERM)
        assert "finishing in-flight calls" in served.log.read_text()


def test_the_dashboard_needs_a_token_granted_its_area_and_no_project(served: Served,
                                                                     idp: IdentityProvider) -> None:
    url = f"{served.base}/dashboard"
    refused = httpx.get(url, timeout=30)
    assert refused.status_code == 401
    metadata = f"{served.base}/.well-known/oauth-protected-resource/dashboard"
    assert f'resource_metadata="{metadata}"' in refused.headers["www-authenticate"]
    granted = httpx.get(f"{url}/data", params={"window": "1h"}, headers=_bearer("ops"), timeout=30)
    assert granted.status_code == 200 and granted.json()["window"] == "1h"
    assert "script-src 'self'" in granted.headers["content-security-policy"]
    assert httpx.get(url, headers=_bearer("support"), timeout=30).status_code == 403  # routing-gateway only
    # A caller billed to one project would see every project's spend there.
    team = idp.token(url, team="alpha")
    bound = httpx.get(f"{url}/data", headers={"Authorization": f"Bearer {team}"}, timeout=30)
    assert bound.status_code == 403 and "bound to project 'alpha'" in bound.json()["error"]


def test_the_dashboard_under_serve_draws_its_charts_in_chromium(served: Served) -> None:
    sync_api = playwright_or_skip()

    async def one_call() -> None:
        async with _client(f"{served.base}/routing-gateway/mcp", TOKENS["ops"]) as client:
            result = await client.call_tool("routed_complete", {"prompt": "What is 2+2?"})
        assert not result.is_error, result.content

    asyncio.run(one_call())
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium_page(sync_api, served.base, headers=_bearer("ops")) as (page, problems):
        page.goto(f"{served.base}/dashboard?window=1h")
        page.wait_for_selector('[data-part="spend-model"] svg rect.bar')
        assert int(page.locator('[data-kpi="Requests"] .value').text_content()) >= 1
        page.screenshot(path=str(ARTIFACTS / "dashboard-serve.png"), full_page=True)
    assert problems == []


def _bearer(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[name]}"}


INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                         "clientInfo": {"name": "probe", "version": "1"}}}


def test_a_legacy_sse_session_takes_messages_only_from_the_caller_that_opened_it(
        served: Served, idp: IdentityProvider) -> None:
    base = f"{served.base}/routing-gateway"
    with httpx.Client(timeout=30) as http, \
            http.stream("GET", f"{base}/sse", headers=_bearer("ops")) as stream:
        assert stream.status_code == 200
        lines = stream.iter_lines()  # kept: a dropped iterator closes the stream
        endpoint = next(line for line in lines if line.startswith("data:"))
        messages = served.base + endpoint.removeprefix("data:").strip()
        session = messages.split("session_id=")[1]
        others = {"another token": _bearer("support"), "a rate-limited token": _bearer("limited"),
                  "a JWT": {"Authorization": f"Bearer {idp.token(f'{base}/sse', team='alpha')}"}}
        for who, headers in others.items():
            refused = httpx.post(messages, json=INITIALIZE, headers=headers, timeout=30)
            assert refused.status_code == 403, who
            assert session not in refused.text
            assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]
        # The SDK reads the id as any spelling of the UUID: those are the same session.
        hyphenated = f"{session[:8]}-{session[8:12]}-{session[12:16]}-{session[16:20]}-{session[20:]}".upper()
        respelled = httpx.post(f"{base}/messages/", params={"session_id": hyphenated}, json=INITIALIZE,
                               headers=_bearer("support"), timeout=30)
        assert respelled.status_code == 403
        unknown = httpx.post(f"{base}/messages/", params={"session_id": "0" * 32}, json=INITIALIZE,
                             headers=_bearer("support"), timeout=30)
        assert (unknown.status_code, unknown.json()) == (403, refused.json())  # nothing said of which
        owner = httpx.post(messages, json=INITIALIZE, headers=_bearer("ops"), timeout=30)
        assert owner.status_code == 202
    # The stream has ended (once the server sees the disconnect): its id is no longer anyone's.
    deadline = time.monotonic() + 15
    while (late := httpx.post(messages, json=INITIALIZE, headers=_bearer("ops"))).status_code != 403:
        assert time.monotonic() < deadline, late.status_code
        time.sleep(0.1)


def test_an_address_that_keeps_failing_to_authenticate_gets_429_until_the_window_passes(
        sandbox, tmp_path: Path) -> None:
    token = "good-" + "g" * 40
    url_path = "/routing-gateway/mcp"
    config = {"server": {"auth": {"failed_auth_limit": 3, "failed_auth_window_s": 3}}}
    with ExitStack() as stack:
        served = _start(stack, tmp_path, sandbox.url, config, env={"GATEWISE_AUTH_TOKENS": f"ci:{token}"},
                        name="lockout")
        url = served.base + url_path
        good = {**ACCEPT, "Authorization": f"Bearer {token}"}
        bad = [{**ACCEPT, "Authorization": f"Bearer wrong-{i}-" + "w" * 30} for i in range(4)]
        # Requests that authenticate spend nothing, however many.
        assert {httpx.post(url, json=INITIALIZE, headers=good).status_code for _ in range(5)} == {200}
        statuses = [httpx.post(url, json=INITIALIZE, headers=headers).status_code for headers in bad]
        assert statuses == [401, 401, 401, 429]
        held = httpx.post(url, json=INITIALIZE, headers=good)  # not checked: guessing cannot go on
        assert held.status_code == 429 and int(held.headers["retry-after"]) >= 1
        elsewhere = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"))
        with elsewhere:
            assert elsewhere.post(url, json=INITIALIZE, headers=good).status_code == 200
        time.sleep(3.2)
        assert httpx.post(url, json=INITIALIZE, headers=good).status_code == 200
        assert httpx.post(url, json=INITIALIZE, headers=bad[0]).status_code == 401
        text = served.log.read_text()
        assert "failed too often" in text
        assert token not in text and all(h["Authorization"][7:] not in text for h in bad)


def _sse_events(lines: Iterator[str]) -> Iterator[dict[str, str]]:
    """Server-sent events as fields (``id``, ``data``, ``retry``…), read as they arrive."""
    event: dict[str, str] = {}
    for line in lines:
        if not line:
            if event:
                yield event
            event = {}
            continue
        name, _, value = line.partition(":")
        event[name] = value.removeprefix(" ")


def _open_session(http: httpx.Client, url: str, headers: dict[str, str]) -> dict[str, str]:
    """A session opened at the protocol version that resumes streams; the headers that use it."""
    opened = http.post(url, headers=headers, json={**INITIALIZE, "params": {
        **INITIALIZE["params"], "protocolVersion": "2025-11-25"}})
    assert opened.status_code == 200, opened.text
    session = {**headers, "mcp-session-id": opened.headers["mcp-session-id"],
               "mcp-protocol-version": "2025-11-25"}
    http.post(url, headers=session, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
    return session


def test_a_broken_stream_is_resumed_with_last_event_id_by_its_caller_only(served: Served) -> None:
    url = f"{served.base}/routing-gateway/mcp"
    with httpx.Client(timeout=30) as http:
        ops = _open_session(http, url, {**ACCEPT, **_bearer("ops")})
        with http.stream("POST", url, headers=ops, json=JSONRPC_CALL) as answer:
            events = list(_sse_events(answer.iter_lines()))
        priming, *rest = events
        # The stream opens with an id and empty data, and asks clients to reconnect after 1 s.
        assert priming["id"] and priming["data"] == "" and priming["retry"] == "1000"
        result = json.loads(rest[-1]["data"])
        assert result["id"] == JSONRPC_CALL["id"] and "result" in result

        # A client that saw only the priming event gets the answer again from that id on.
        resume = {**ops, "Accept": "text/event-stream", "last-event-id": priming["id"]}
        with http.stream("GET", url, headers=resume) as replay:
            assert replay.status_code == 200
            replayed = next(e for e in _sse_events(replay.iter_lines()) if e.get("data"))
        assert json.loads(replayed["data"]) == result and replayed["id"] == rest[-1]["id"]

        # The same caller's other session, and any other caller, get nothing of it.
        other = _open_session(http, url, {**ACCEPT, **_bearer("ops")})
        with http.stream("GET", url, headers={**resume, "mcp-session-id": other["mcp-session-id"]},
                         timeout=10) as elsewhere:
            assert elsewhere.status_code == 200
            assert [e for e in _sse_events(elsewhere.iter_lines()) if e.get("data")] == []
        stranger = http.get(url, headers={**resume, **_bearer("support")})
        assert stranger.status_code == 403 and result["result"]["content"][0]["text"] not in stranger.text


def test_one_token_cannot_take_every_session_from_the_others(sandbox, tmp_path: Path) -> None:
    auth = {"tokens": [_entry("ops"), _entry("limited")], "burst": 50}
    limits = {"max_sessions": 5, "max_sessions_per_caller": 2, "auth": auth}
    with ExitStack() as stack, httpx.Client(timeout=30) as http:
        served = _start(stack, tmp_path, sandbox.url, {"server": limits})
        url = f"{served.base}/routing-gateway/mcp"
        bob = {**ACCEPT, **_bearer("limited")}
        ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
        first, second = _open_session(http, url, bob), _open_session(http, url, bob)
        assert http.post(url, headers=first, json=ping).status_code == 200  # second is now the older
        # A request naming no session that is no initialize opens none: it ends none of bob's.
        http.post(url, headers=bob, json=ping)
        assert http.post(url, headers=second, json=ping).status_code == 200
        assert http.post(url, headers=first, json=ping).status_code == 200  # second is the older again
        # A client that reconnects without ending its sessions keeps working: at its limit, a new
        # session ends its own least recently used one, never another caller's.
        opened = [_open_session(http, url, bob) for _ in range(4)]
        assert http.post(url, headers=second, json=ping).status_code == 404
        assert http.post(url, headers=opened[-1], json=ping).status_code == 200
        assert [http.post(url, headers=s, json=ping).status_code for s in (first, *opened)] == \
            [404, 404, 404, 200, 200]
        # Everyone else still gets sessions.
        _open_session(http, url, {**ACCEPT, **_bearer("ops")})
        _open_session(http, url, {**ACCEPT, **_bearer("ops")})


async def test_a_burst_of_openings_sent_at_once_keeps_to_the_per_caller_cap(sandbox, tmp_path: Path) -> None:
    auth = {"tokens": [_entry("ops"), _entry("limited")], "burst": 50}
    limits = {"max_sessions": 20, "max_sessions_per_caller": 2, "auth": auth}
    with ExitStack() as stack:
        served = _start(stack, tmp_path, sandbox.url, {"server": limits})
        url = f"{served.base}/routing-gateway/mcp"
        bob = {**ACCEPT, **_bearer("limited")}
        opening = {**INITIALIZE, "params": {**INITIALIZE["params"], "protocolVersion": "2025-11-25"}}
        async with httpx.AsyncClient(timeout=30) as http:
            answers = await asyncio.gather(*(http.post(url, headers=bob, json=opening) for _ in range(10)))
            ids = [a.headers["mcp-session-id"] for a in answers if a.status_code == 200]
            ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
            alive = []
            for sid in ids:
                used = {**bob, "mcp-session-id": sid, "mcp-protocol-version": "2025-11-25"}
                alive.append((await http.post(url, json=ping, headers=used)).status_code)
    assert {a.status_code for a in answers} <= {200, 429} and ids
    assert alive.count(200) <= 2, alive  # never more open than the cap, however many came at once


def test_browser_clients_of_an_allowed_origin_get_cors_answers_and_others_none(served: Served) -> None:
    url = f"{served.base}/routing-gateway/mcp"
    own = served.base  # a loopback server's own origin is allowed
    preflight = httpx.options(url, headers={"Origin": own, "Access-Control-Request-Method": "POST",
                                            "Access-Control-Request-Headers": "authorization, content-type"})
    assert preflight.status_code == 204
    assert {k: preflight.headers[k] for k in ("access-control-allow-origin", "access-control-allow-methods",
                                              "access-control-allow-headers", "access-control-max-age",
                                              "vary")} == {
        "access-control-allow-origin": own, "access-control-allow-methods": "GET, POST, DELETE, OPTIONS",
        "access-control-allow-headers": "Authorization, Content-Type, Mcp-Session-Id, Mcp-Protocol-Version, "
                                        "Last-Event-ID",
        "access-control-max-age": "600", "vary": "Origin"}
    opened = httpx.post(url, headers={**ACCEPT, **_bearer("ops"), "Origin": own}, json=INITIALIZE)
    assert opened.status_code == 200 and opened.headers["mcp-session-id"]
    challenged = httpx.post(url, headers={**ACCEPT, "Origin": own}, json=INITIALIZE)
    for answer in (opened, challenged):
        assert answer.headers["access-control-allow-origin"] == own
        assert answer.headers["access-control-expose-headers"] == "Mcp-Session-Id, WWW-Authenticate"
        assert "Origin" in answer.headers["vary"]
    assert challenged.status_code == 401 and "resource_metadata" in challenged.headers["www-authenticate"]
    # An origin not listed gets nothing of this, and stays refused.
    evil = "https://evil.example"
    asked = httpx.options(url, headers={"Origin": evil, "Access-Control-Request-Method": "POST"})
    called = httpx.post(url, headers={**ACCEPT, **_bearer("ops"), "Origin": evil}, json=INITIALIZE)
    assert (asked.status_code, called.status_code) == (401, 403)
    assert not any(k.startswith("access-control-") for r in (asked, called) for k in r.headers)


def test_a_refused_sse_stream_is_answered_without_a_traceback_in_the_log(served: Served) -> None:
    url = f"{served.base}/routing-gateway/sse"
    before = len(served.log.read_text())
    for _ in range(3):
        refused = httpx.get(url, headers={**_bearer("ops"), "Host": "evil.example"})
        assert refused.status_code == 421
    with httpx.Client() as http:  # the connection stays usable after the refusal
        assert http.get(url, headers={**_bearer("ops"), "Host": "evil.example"}).status_code == 421
        assert http.get(f"{served.base}/healthz").status_code == 200
    text = served.log.read_text()[before:]
    assert "Traceback" not in text and "Request validation failed" not in text
