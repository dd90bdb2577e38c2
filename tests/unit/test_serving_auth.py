"""The pieces of ``gatewise serve``'s authentication: token table, grants, rates, tool reading."""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading

import pytest

from compression_support import MB, gzip_zeros, peak_while
from gatewise.caller import CALLER, Caller, call_project
from gatewise.config import load_settings
from gatewise.errors import GatewiseError
from gatewise.mcpkit.grants import Need, Ownership
from gatewise.serving.credentials import StaticTokens, new_token
from gatewise.serving.gate import requests_in
from gatewise.serving.main import main as serve_main
from gatewise.serving.rate import FailedAuthLimit, RateLimiter, address_key
from gatewise.serving.sessions import SessionOwners, Sessions, sse_session_of
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
    assert found.may_use(frozenset({"routed_complete"})) and not found.may_use(frozenset({"set_budget"}))
    assert found.may_use(frozenset({"explain_route", "routed_complete"})) and not found.may_use(frozenset())
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


@pytest.mark.parametrize("name", ["bad name!", "", "x" * 65])
def test_new_token_with_a_name_the_config_refuses_is_one_line_and_exit_code_2(
        name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        serve_main(["--new-token", name])
    out, err = capsys.readouterr()
    assert stopped.value.code == 2 and out == ""
    assert err.startswith(f"gatewise serve: --new-token: {name!r} is not a token name: use 1 to 64 letters")
    assert err.count("\n") == 1
    assert "Traceback" not in err and "pydantic" not in err


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


def test_failed_authentications_are_limited_per_address_and_refill_over_the_window() -> None:
    clock = FakeClock()
    limit = FailedAuthLimit(limit=3, window_s=30, clock=clock)
    assert [limit.failed("10.0.0.1") for _ in range(3)] == [False, False, True]
    assert limit.wait("10.0.0.1") == pytest.approx(10.0)  # one attempt back every 30/3 s
    assert limit.wait("10.0.0.2") is None  # another address is not held back
    clock.advance(10.0)
    assert limit.wait("10.0.0.1") is None
    # One host of an IPv6 /64 is the whole /64: rotating addresses in it does not help.
    for host in ("2001:db8::1", "2001:db8::2", "2001:db8::ffff:1"):
        limit.failed(host)
    assert limit.wait("2001:db8::9") is not None and limit.wait("2001:db8:0:1::1") is None
    assert address_key("::ffff:10.0.0.1") == "10.0.0.1" and address_key("unknown") == "unknown"


def _sse_app(session: str):
    async def app(scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        event = f"event: endpoint\r\ndata: /routing-gateway/messages/?session_id={session}\r\n\r\n"
        await send({"type": "http.response.body", "body": event.encode(), "more_body": True})
        assert not sessions.may_use(Caller("eve"), _post(session), servers)
        assert sessions.may_use(Caller("ops"), _post(session.upper()), servers)
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    servers = frozenset({"routing-gateway"})
    sessions = Sessions()
    return app, sessions, servers


async def _ignored(message: object) -> None:
    pass


async def _disconnected() -> dict[str, object]:
    return {"type": "http.disconnect"}


def _post(session: str) -> dict[str, object]:
    return {"type": "http", "method": "POST", "path": "/routing-gateway/messages/", "headers": [],
            "query_string": f"session_id={session}".encode()}


async def test_an_sse_session_is_its_openers_while_its_stream_lasts() -> None:
    session = "a" * 32
    app, sessions, servers = _sse_app(session)
    opening = {"type": "http", "method": "GET", "path": "/routing-gateway/sse", "headers": []}

    await sessions.run(app, opening, _disconnected, _ignored, Caller("ops"), servers)
    assert len(sessions.sse) == 0  # the binding went with the stream
    assert not sessions.may_use(Caller("ops"), _post(session), servers)  # an ended session is no one's
    assert sse_session_of(_post("not-a-uuid")) is None  # the SDK refuses it with 400


async def test_a_streamable_session_is_its_openers_with_its_project_until_deleted() -> None:
    servers = frozenset({"routing-gateway"})
    sessions = Sessions()

    def answering(status: int):
        async def app(scope, receive, send) -> None:
            await send({"type": "http.response.start", "status": status,
                        "headers": [(b"mcp-session-id", b"s1")]})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        return app

    def request(method: str) -> dict[str, object]:
        return {"type": "http", "method": method, "path": "/routing-gateway/mcp",
                "headers": [(b"mcp-session-id", b"s1")]}

    jwt_user = Caller("jwt:u", "alpha")
    await sessions.run(answering(200), request("POST"), _disconnected, _ignored, jwt_user, servers)
    assert sessions.may_use(jwt_user, request("POST"), servers)
    assert not sessions.may_use(Caller("jwt:u", "beta"), request("POST"), servers)  # another project
    await sessions.run(answering(404), request("DELETE"), _disconnected, _ignored, jwt_user, servers)
    assert len(sessions.streamable) == 1  # a refused DELETE ends nothing
    await sessions.run(answering(200), request("DELETE"), _disconnected, _ignored, jwt_user, servers)
    assert len(sessions.streamable) == 0


def test_session_owners_forget_the_least_recently_used_past_their_limit() -> None:
    owners = SessionOwners(limit=2)
    owners.bind("s1", Caller("a"))
    owners.bind("s2", Caller("b"))
    owners.bind("s1", Caller("intruder"))  # a bound session keeps its first owner
    assert owners.owner("s1") == Caller("a")  # and is now the most recently used
    owners.bind("s3", Caller("c"))
    assert owners.owner("s2") is None and owners.owner("s1") == Caller("a") and len(owners) == 2


def test_requests_are_read_from_bodies_and_batches_as_the_sdk_parses_them() -> None:
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "set_budget"}}
    assert requests_in(json.dumps(call).encode()) == [("tools/call", {"name": "set_budget"})]
    escaped = json.dumps(call).replace("tools/call", "tools\\/call").encode()
    assert requests_in(escaped) == [("tools/call", {"name": "set_budget"})]
    batch = [call, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, {"id": 3, "method": 5}, "x",
             {"jsonrpc": "2.0", "id": 4, "method": "resources/read", "params": {"uri": "gatewise://budgets"}}]
    assert requests_in(json.dumps(batch).encode()) == [
        ("tools/call", {"name": "set_budget"}), ("tools/list", None),
        ("resources/read", {"uri": "gatewise://budgets"})]
    assert requests_in(b"") == [] and requests_in(b"{not json") == []
    assert requests_in(b"[" * 100_000) == []


def test_each_resource_prompt_and_completion_needs_a_grant_of_its_owning_tool() -> None:
    owners = Ownership()
    owners.resource("gatewise://budgets{?project}", "get_budget_status")
    owners.resource("portkey://configs/{slug}", "manage_configs")
    owners.resource("gatewise://models/{model_id}", "routed_complete", "explain_route")
    owners.prompt("cheapest_model", "routed_complete", "explain_route")
    budgets = frozenset({"get_budget_status"})
    assert owners.need("resources/read", {"uri": "gatewise://budgets?project=x"}) == Need(
        "read", "gatewise://budgets?project=x", budgets)
    assert owners.need("resources/read", {"uri": "portkey://configs/pc-1"}).tools == {"manage_configs"}
    routing = {"routed_complete", "explain_route"}
    assert owners.need("prompts/get", {"name": "cheapest_model"}).tools == routing
    prompt_ref = {"ref": {"type": "ref/prompt", "name": "cheapest_model"}}
    assert owners.need("completion/complete", prompt_ref).tools == routing
    template_ref = {"ref": {"type": "ref/resource", "uri": "gatewise://budgets{?project}"}}
    assert owners.need("completion/complete", template_ref).tools == budgets
    assert owners.need("tools/call", {"name": "set_budget"}) == Need("call", "set_budget",
                                                                     frozenset({"set_budget"}))
    # What no tool owns, or a request that names nothing, is for a token granted every tool only.
    for method, params in (("resources/read", {"uri": "file:///etc/passwd"}), ("resources/read", None),
                           ("prompts/get", {"name": 5}), ("completion/complete", {"ref": "x"})):
        assert owners.need(method, params).tools == frozenset(), method
    assert owners.need("resources/list", {}) is None and owners.need("initialize", {}) is None
    refusal = owners.need("resources/read", {"uri": "portkey://configs/" + "x" * 500}).refusal()
    assert refusal.startswith("this token may not read 'portkey://configs/xxx")
    assert refusal.endswith("; a token granted manage_configs may") and len(refusal) < 140
    assert owners.need("prompts/get", {"name": "cheapest_model"}).refusal() == (
        "this token may not get the prompt 'cheapest_model'; a token granted one of explain_route, "
        "routed_complete may")


async def test_doctor_says_who_gatewise_serve_lets_in(tmp_path, sandbox, capsys) -> None:
    from gatewise.doctor import run_doctor
    from tool_support import free_port

    unreachable = f"http://127.0.0.1:{free_port()}/jwks.json"
    jwt = {"issuer": "https://idp.example", "jwks_url": unreachable, "jwks_timeout_s": 2}
    settings = load_settings({}, data_dir=tmp_path, sandbox_url=sandbox.url,
                             server={"auth": {"env_tokens": f"ci:{TOKEN}", "jwt": jwt}})
    assert await run_doctor(settings) == 1
    out = capsys.readouterr().out
    assert "[ok] gatewise serve: 1 bearer token(s), 600 calls a minute" in out
    assert ("unless a token says otherwise; binds loopback only until server.allowed_hosts (or "
            "--allowed-host) names the Host values clients use; 10 failed") in out
    assert "10 failed authentications per address in 60 s, then 429" in out
    assert f"[!!] JWTs from https://idp.example: the key set at {unreachable} cannot be fetched" in out
    assert TOKEN not in out
    assert await run_doctor(load_settings({}, data_dir=tmp_path, sandbox_url=sandbox.url)) == 0
    out = capsys.readouterr().out
    assert ("[ok] gatewise serve: no authentication configured, so it binds loopback only (beyond it needs "
            "server.auth.tokens, server.auth.jwt or GATEWISE_AUTH_TOKENS, and server.allowed_hosts)") in out
    server = {"allowed_hosts": ["gw.example.com"], "auth": {"env_tokens": f"ci:{TOKEN}"}}
    hosts = load_settings({}, data_dir=tmp_path, sandbox_url=sandbox.url, server=server)
    assert await run_doctor(hosts) == 0
    out = capsys.readouterr().out
    assert "unless a token says otherwise; binds beyond loopback too, for Host gw.example.com; 10" in out


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

    def __init__(self, body: bytes, encoding: str = "") -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.fetches += 1
                self.send_response(200)
                self.send_header("content-type", "application/json")
                if encoding:
                    self.send_header("content-encoding", encoding)
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


async def test_distinct_jwt_subjects_are_always_distinct_callers() -> None:
    import jwt as pyjwt
    from cryptography.hazmat.primitives.asymmetric import ec

    from gatewise.serving.jwt_tokens import JwtVerifier

    key = ec.generate_private_key(ec.SECP256R1())
    public = json.loads(pyjwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    server = _KeyServer(json.dumps({"keys": [{**public, "kid": "a", "alg": "ES256"}]}).encode())
    try:
        auth = _auth(jwt={"issuer": "https://idp", "jwks_url": server.url})
        verifier = JwtVerifier(auth, auth.jwt)

        async def name_of(subject: str) -> str:
            token = pyjwt.encode({"iss": "https://idp", "sub": subject, "aud": "https://gw/x/mcp",
                                  "exp": 2**31}, key, algorithm="ES256", headers={"kid": "a"})
            return (await verifier.verify(token, ["https://gw/x/mcp"])).caller.name

        # Alike once rewritten to plain characters, or alike in their first 64 characters.
        subjects = ["alice@corp|admin", "alice@corp_admin", "alice@corp admin", "b" * 64, "b" * 64 + "1",
                    "b" * 64 + "2", "<b>", "_b_", "é", "ü", "a" * 43 + "~" + "0" * 16]
        names = [await name_of(subject) for subject in subjects]
        assert len(set(names)) == len(subjects), names
        assert names[1] == "jwt:alice@corp_admin" and names[3] == "jwt:" + "b" * 64  # plain ones unchanged
        assert names[0].startswith("jwt:alice@corp_admin~")  # still readable
        assert all(len(name) <= 4 + 64 and name.isascii() and name.isprintable() for name in names)
        assert await name_of("alice@corp|admin") == names[0]  # and the same subject, the same caller
    finally:
        server.close()


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

        # Tokens arriving together, before any set is held, wait for one fetch and share it.
        crowd = JwtVerifier(auth, auth.jwt)
        answers = await asyncio.gather(*(crowd.verify(token, ["https://gw/x/mcp"]) for _ in range(8)))
        assert {credential.caller.name for credential in answers} == {"jwt:u"}
        assert good.fetches == 2

        capped = _auth(jwt={"issuer": "https://idp", "jwks_url": huge.url, "jwks_max_bytes": "64KiB"})
        with pytest.raises(KeysUnavailable):
            await JwtVerifier(capped, capped.jwt).verify(token, ["https://gw/x/mcp"])
    finally:
        good.close()
        huge.close()


async def test_a_compressed_key_set_is_held_to_its_cap_while_it_is_decoded() -> None:
    """100 MB of zeros in 100 KB of gzip: decoded a piece at a time and refused at the cap
    (httpx alone decodes each 64 KiB read whole, 64 MB at once)."""
    from gatewise.serving.jwt_tokens import JwtVerifier, KeysUnavailable

    bomb = _KeyServer(gzip_zeros(100), encoding="gzip")
    try:
        auth = _auth(jwt={"issuer": "https://idp", "jwks_url": bomb.url, "jwks_max_bytes": "64KiB"})
        refused, peak = await peak_while(JwtVerifier(auth, auth.jwt).keys.key("a"))
    finally:
        bomb.close()
    assert isinstance(refused, KeysUnavailable) and bomb.fetches == 1
    assert peak < 6 * MB


def test_open_sessions_count_per_caller_until_ended_or_idle_with_none_in_flight() -> None:
    from gatewise.serving.open_sessions import OpenSessions

    now = [0.0]
    sessions = OpenSessions(idle_timeout_s=100, clock=lambda: now[0])
    bob, alice = Caller("bob"), Caller("alice")
    sessions.opened("s1", bob)
    sessions.opened("s2", bob)
    sessions.opened("s3", alice)
    sessions.begin("s2")  # a stream held open past the idle timeout keeps its session
    now[0] = 60.0
    assert (sessions.count(bob), sessions.count(alice)) == (2, 1)
    now[0] = 150.0
    assert (sessions.count(bob), sessions.count(alice)) == (1, 0)
    sessions.end("s2")
    sessions.ended("s2")
    assert (sessions.count(bob), sessions.count(alice)) == (0, 0)
    # The session a caller at its limit gives up: its idle one used longest ago, never a busy one.
    for n, session in enumerate(("s4", "s5", "s6")):
        now[0] = 200.0 + n
        sessions.opened(session, bob, "/routing-gateway/mcp")
    sessions.begin("s4")
    assert sessions.least_recently_used(bob) == ("s5", "/routing-gateway/mcp")
    sessions.begin("s5")
    sessions.begin("s6")
    assert sessions.least_recently_used(bob) is None and sessions.least_recently_used(alice) is None
    # An opening admitted but not yet answered counts, until it is answered or fails.
    sessions.reserve(alice)
    sessions.reserve(alice)
    assert sessions.count(alice) == 2
    sessions.release(alice)
    sessions.release(alice)
    assert sessions.count(alice) == 0


def test_refusals_log_one_line_a_minute_with_their_count(caplog: pytest.LogCaptureFixture) -> None:
    from gatewise.mcpkit.http_limits import RefusalLog

    now = [0.0]
    refusals = RefusalLog("connections", clock=lambda: now[0])
    with caplog.at_level("WARNING", logger="gatewise.mcpkit.http_limits"):
        for _ in range(260):
            refusals.refused(200)
        now[0] = 61.0
        refusals.refused(200)
    assert [r.getMessage() for r in caplog.records] == [
        "refused 1 connections in the last 60 s: 200 are open",
        "refused 260 connections in the last 60 s: 200 are open"]
