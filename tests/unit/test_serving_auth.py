"""The pieces of ``gatewise serve``'s authentication: token table, grants, rates, tool reading."""

from __future__ import annotations

import hashlib
import json
import threading

import pytest

from gatewise.caller import CALLER, Caller, call_project
from gatewise.config import load_settings
from gatewise.errors import GatewiseError
from gatewise.serving.credentials import StaticTokens, new_token
from gatewise.serving.gate import called_tools
from gatewise.serving.rate import RateLimiter
from store_support import FakeClock

TOKEN = "t0ken-" + "x" * 30


def _auth(**auth: object):
    return load_settings({}, server={"auth": auth}).server.auth


def test_a_configured_token_is_found_by_its_hash_with_its_grant() -> None:
    entry = {"name": "ci", "sha256": hashlib.sha256(TOKEN.encode()).hexdigest(),
             "servers": "routing-gateway", "tools": ["routed_complete"], "project": "ci-bot"}
    tokens = StaticTokens(_auth(tokens=[entry]))
    found = tokens.find(TOKEN)
    assert found is not None and found.caller == Caller("ci", "ci-bot")
    assert found.may_reach("routing-gateway") and not found.may_reach("portkey-admin")
    assert found.may_call("routed_complete") and not found.may_call("set_budget")
    assert tokens.find(TOKEN + "x") is None and tokens.find("") is None


def test_environment_tokens_have_full_access_and_bad_ones_are_refused_without_echo() -> None:
    tokens = StaticTokens(_auth(env_tokens=f"alice:{TOKEN}, bob:{TOKEN[::-1]}"))
    found = tokens.find(TOKEN[::-1])
    assert found is not None and found.caller.name == "bob" and found.may_reach("anything")
    with pytest.raises(GatewiseError) as short:
        load_settings({"GATEWISE_AUTH_TOKENS": "alice:short-secret"})
    assert "short-secret" not in short.value.message and "24 characters" in short.value.message


def test_new_token_makes_an_entry_the_config_accepts() -> None:
    token, entry = new_token("laptop")
    assert len(token) >= 40 and token not in json.dumps(entry)
    found = StaticTokens(_auth(tokens=[entry])).find(token)
    assert found is not None and found.caller.name == "laptop"


def test_a_bearer_of_a_project_bills_it_and_cannot_name_another() -> None:
    assert call_project("mine") == "mine"  # no authenticated caller (stdio): the argument stands
    reset = CALLER.set(Caller("support", "support-bot"))
    try:
        assert call_project(None) == "support-bot"
        assert call_project("support-bot") == "support-bot"
        with pytest.raises(GatewiseError, match="belong to project 'support-bot'"):
            call_project("marketing")
    finally:
        CALLER.reset(reset)


def test_rate_limiter_allows_a_burst_then_refills_at_the_callers_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(burst=3, clock=clock)
    assert [limiter.take("a", 1, per_minute=60) for _ in range(3)] == [None, None, None]
    wait = limiter.take("a", 1, per_minute=60)
    assert wait == pytest.approx(1.0)
    assert limiter.take("b", 1, per_minute=60) is None  # callers do not share a bucket
    clock.advance(1.0)
    assert limiter.take("a", 1, per_minute=60) is None
    assert limiter.take("a", 5, per_minute=60) is not None  # more than the burst never fits


def test_called_tools_reads_requests_and_batches_as_the_sdk_parses_them() -> None:
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "set_budget"}}
    assert called_tools(json.dumps(call).encode()) == ["set_budget"]
    escaped = json.dumps(call).replace("tools/call", "tools\\/call").encode()
    assert called_tools(escaped) == ["set_budget"]
    batch = [call, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
             {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": 5}}]
    assert called_tools(json.dumps(batch).encode()) == ["set_budget", ""]
    assert called_tools(b"") == [] and called_tools(b"{not json") == []
    assert called_tools(b"[" * 100_000) == []


async def test_doctor_says_who_gatewise_serve_lets_in(tmp_path, sandbox, capsys) -> None:
    from gatewise.doctor import run_doctor
    from tool_support import free_port

    unreachable = f"http://127.0.0.1:{free_port()}/jwks.json"
    jwt = {"issuer": "https://idp.example", "jwks_url": unreachable, "jwks_timeout_s": 2}
    settings = load_settings({}, data_dir=tmp_path, sandbox_url=sandbox.url,
                             server={"auth": {"env_tokens": f"ci:{TOKEN}", "jwt": jwt}})
    assert await run_doctor(settings) == 1
    err = capsys.readouterr().err
    assert "[ok] gatewise serve: 1 bearer token(s), 600 tool calls a minute" in err
    assert f"[!!] JWTs from https://idp.example: the key set at {unreachable} cannot be fetched" in err
    assert TOKEN not in err
    assert await run_doctor(load_settings({}, data_dir=tmp_path, sandbox_url=sandbox.url)) == 0
    err = capsys.readouterr().err
    assert "gatewise serve: no authentication configured, so it binds loopback only" in err


async def test_a_bearers_project_is_what_portkey_conditions_and_headers_see(tmp_path, sandbox) -> None:
    from gatewise.gateway import CompletionRequest, RoutingGateway, portkey_headers
    from gatewise.runtime import Runtime

    config = {"strategy": {"mode": "conditional", "default": "cheap",
                           "conditions": [{"query": {"metadata.project": {"$eq": "vip"}}, "then": "strong"}]},
              "targets": [{"name": "cheap", "provider": "openai",
                           "override_params": {"model": "gpt-4o-mini"}},
                          {"name": "strong", "provider": "anthropic",
                           "override_params": {"model": "claude-opus-5.5"}}]}
    runtime = await Runtime.open(load_settings({}, data_dir=tmp_path, sandbox_url=sandbox.url,
                                               routing={"config": config}))
    try:
        gateway = RoutingGateway.from_runtime(runtime)
        request = CompletionRequest(prompt="hello")
        assert gateway.explain(request).candidates[0] == "openai/gpt-4o-mini"
        reset = CALLER.set(Caller("vip-token", "vip"))
        try:
            route = gateway.explain(request)
            plan = gateway.plan(request, request.chat_messages())
            headers = portkey_headers(request, plan, "req-1")
        finally:
            CALLER.reset(reset)
        assert route.candidates[0] == "anthropic/claude-opus-5.5"
        assert json.loads(headers["x-portkey-metadata"])["project"] == "vip"
    finally:
        await runtime.close()


class _KeyServer:
    """A JWKS endpoint on loopback that counts its fetches."""

    def __init__(self, body: bytes) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.fetches += 1
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.end_headers()  # no length: the reader must stop at its own cap
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.fetches = 0
        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/jwks.json"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


async def test_the_key_set_is_fetched_once_and_never_read_past_its_cap() -> None:
    import jwt as pyjwt
    from cryptography.hazmat.primitives.asymmetric import ec

    from gatewise.serving.jwt_tokens import JwtVerifier, KeysUnavailable, TokenRejected

    key = ec.generate_private_key(ec.SECP256R1())
    public = json.loads(pyjwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    keys = json.dumps({"keys": [{**public, "kid": "a", "alg": "ES256"}]}).encode()
    good = _KeyServer(keys)
    huge = _KeyServer(keys[:-1] + b" " * 300_000 + b"}")  # the same valid set, padded past the cap
    try:
        auth = _auth(jwt={"issuer": "https://idp", "jwks_url": good.url})
        verifier = JwtVerifier(auth, auth.jwt)
        token = pyjwt.encode({"iss": "https://idp", "sub": "u", "aud": "https://gw/x/mcp", "exp": 2**31},
                             key, algorithm="ES256", headers={"kid": "a"})
        for _ in range(3):
            assert (await verifier.verify(token, ["https://gw/x/mcp"])).caller.name == "jwt:u"
        assert good.fetches == 1
        unknown = pyjwt.encode({"iss": "https://idp", "sub": "u", "aud": "https://gw/x/mcp", "exp": 2**31},
                               key, algorithm="ES256", headers={"kid": "rotated"})
        with pytest.raises(TokenRejected, match="signing key"):
            await verifier.verify(unknown, ["https://gw/x/mcp"])
        assert good.fetches == 1  # an unknown key refetches the set at most every 30 s

        capped = _auth(jwt={"issuer": "https://idp", "jwks_url": huge.url, "jwks_max_bytes": "64KiB"})
        with pytest.raises(KeysUnavailable):
            await JwtVerifier(capped, capped.jwt).verify(token, ["https://gw/x/mcp"])
    finally:
        good.close()
        huge.close()
