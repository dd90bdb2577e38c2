"""Authentication and authorization in front of every path ``gatewise serve`` answers.

The MCP authorization spec's resource-server role: a request without a bearer token gets 401 and
``WWW-Authenticate: Bearer resource_metadata="…"`` pointing at this resource's OAuth
protected-resource metadata (RFC 9728), which names the identity provider when JWTs are
configured; a bad token gets 401 ``invalid_token``; a token not granted the server or tool gets
403 ``insufficient_scope``. Requests are read from the body (already buffered, within
``max_body_bytes``, by BodyLimits) so a grant can name tools: a tool call, a resource read, a
prompt or a completion needs a grant of the tool that owns it (:mod:`gatewise.mcpkit.grants`),
and each counts against the caller's rate. Every session, Streamable HTTP or legacy SSE, is bound
to the caller that opened it (see :mod:`gatewise.serving.sessions`). A client address that fails
to authenticate too often is answered 429 for a while, before its token is even checked.

Tokens and Authorization headers are never logged, echoed or stored; the caller's name is.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gatewise.caller import CALLER, Caller
from gatewise.config import AuthConfig, ServerConfig
from gatewise.mcpkit.grants import Ownership
from gatewise.serving.credentials import Credential, StaticTokens
from gatewise.serving.jwt_tokens import JwtVerifier, KeysUnavailable, TokenRejected
from gatewise.serving.rate import FailedAuthLimit, RateLimiter
from gatewise.serving.sessions import Sessions

logger = logging.getLogger(__name__)

# The current request's credential, for the servers' lists (see serving.app.granted_lists).
CREDENTIAL: ContextVar[Credential | None] = ContextVar("gatewise_credential", default=None)

PUBLIC_PATHS = frozenset({"/healthz", "/readyz"})
METADATA_PATH = "/.well-known/oauth-protected-resource"
# When every session of a caller at its cap is busy: a call in flight ends within its deadline,
# usually in seconds, so the caller is asked to retry soon rather than after the idle timeout.
BUSY_RETRY_S = 5.0


class Resources:
    """The public URLs of what is served (the ``resource`` of RFC 9728 and RFC 8707)."""

    def __init__(self, base_url: str, servers: Iterable[str], areas: Iterable[str], auth: AuthConfig) -> None:
        self.base = base_url.rstrip("/")
        self.servers = frozenset(servers)
        self.auth = auth
        self.known = {"": self.base}
        for server in self.servers:
            for endpoint in ("mcp", "sse"):
                self.known[f"/{server}/{endpoint}"] = f"{self.base}/{server}/{endpoint}"
        for area in areas:
            self.known[f"/{area}"] = f"{self.base}/{area}"

    def for_path(self, path: str) -> str:
        """The resource a request path belongs to: a server's endpoint, an area, or the whole."""
        area = area_of(path)
        if area in self.servers:
            endpoint = "mcp" if path.startswith(f"/{area}/mcp") else "sse"
            return f"{self.base}/{area}/{endpoint}"
        return self.known.get(f"/{area}", self.base)

    def metadata_url(self, resource: str) -> str:
        return self.base + METADATA_PATH + resource.removeprefix(self.base)

    def metadata(self, suffix: str) -> dict[str, Any] | None:
        resource = self.known.get(suffix.rstrip("/"))
        if resource is None:
            return None
        document: dict[str, Any] = {"resource": resource, "bearer_methods_supported": ["header"],
                                    "resource_name": "gatewise"}
        if self.auth.jwt is not None:
            document["authorization_servers"] = [self.auth.jwt.issuer]
            if self.auth.jwt.required_scopes:
                document["scopes_supported"] = list(self.auth.jwt.required_scopes)
        return document


def area_of(path: str) -> str:
    """``/routing-gateway/mcp`` → ``routing-gateway``: what a grant's ``servers`` name."""
    return path.lstrip("/").split("/", 1)[0]


class Authenticator:
    """A presented token → its credential: a configured token, else a JWT if those are accepted."""

    def __init__(self, auth: AuthConfig) -> None:
        self.tokens = StaticTokens(auth)
        self.jwt = JwtVerifier(auth, auth.jwt) if auth.jwt is not None else None

    async def credential(self, token: str, audiences: list[str]) -> Credential:
        found = self.tokens.find(token)
        if found is not None:
            return found
        if self.jwt is not None and JwtVerifier.looks_like_jwt(token):
            return await self.jwt.verify(token, audiences)
        raise TokenRejected("the token is not valid")


class AuthGate:
    """ASGI middleware: who is calling, may they, and not too often; then the call runs as them."""

    def __init__(self, app: ASGIApp, limits: ServerConfig, resources: Resources,
                 ownership: Mapping[str, Ownership]) -> None:
        auth = limits.auth
        self.app = app
        self.authenticator = Authenticator(auth)
        self.resources = resources
        self.ownership = ownership  # by server name
        self.limiter = RateLimiter(auth.burst)
        self.failures = FailedAuthLimit(auth.failed_auth_limit, auth.failed_auth_window_s)
        self.sessions = Sessions(idle_timeout_s=limits.session_idle_timeout_s)
        self.sessions_per_caller = limits.max_sessions_per_caller

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        if path.startswith(METADATA_PATH):
            await self._metadata(path.removeprefix(METADATA_PATH))(scope, receive, send)
            return
        resource = self.resources.for_path(path)
        headers = Headers(scope=scope)
        address = _client_address(scope)
        wait = self.failures.wait(address)
        if wait is not None:
            await _too_many("too many failed authentications", wait)(scope, receive, send)
            return
        token = _bearer(headers.get("authorization", ""))
        if token is None:
            await self._challenge(401, resource)(scope, receive, send)
            return
        try:
            credential = await self.authenticator.credential(
                token, [resource, self.resources.base, self.resources.base + "/"])
        except TokenRejected as exc:
            if self.failures.failed(address):
                logger.warning("authentication: %s failed too often; refused for a while", address[:64])
            await self._challenge(401, resource, "invalid_token", str(exc))(scope, receive, send)
            return
        except KeysUnavailable as exc:
            await JSONResponse({"error": "temporarily_unavailable", "error_description": str(exc)},
                               status_code=503, headers={"retry-after": "5"})(scope, receive, send)
            return
        body = await _read_body(receive)
        requests = requests_in(body)
        refusal = self._refusal(credential, path, scope, requests, resource)
        opens = refusal is None and self.sessions.opens_one(
            scope, self.resources.servers, any(method == "initialize" for method, _ in requests))
        if opens:
            refusal = await self._session_room(credential.caller, scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        reset, granted = CALLER.set(credential.caller), CREDENTIAL.set(credential)
        try:
            await self.sessions.run(self.app, scope, replay, send, credential.caller, self.resources.servers,
                                    reserved=opens)
        finally:
            CREDENTIAL.reset(granted)
            CALLER.reset(reset)

    async def _session_room(self, caller: Caller, scope: Scope) -> Response | None:
        """Room for a session the request opens: at ``max_sessions_per_caller``, ``caller``'s least
        recently used idle session is ended as the client's own DELETE would (a
        client that reconnects without ending its old sessions keeps working); refused when every
        one is busy."""
        opened = self.sessions.open.count(caller)
        if opened < self.sessions_per_caller:
            self.sessions.open.reserve(caller)  # before any await: a concurrent opening counts it
            return None
        found = self.sessions.open.least_recently_used(caller)
        if found is None:
            logger.info("session limit: %s has %d sessions open", caller.name, opened)
            return _too_many(f"this token already has {opened} open sessions, the most one caller may have "
                             "(server.max_sessions_per_caller), and each is busy: end one (DELETE) or "
                             "wait for one to finish", BUSY_RETRY_S)
        session, path = found
        self.sessions.open.ended(session)  # claimed now: a concurrent opening picks another
        self.sessions.open.reserve(caller)  # and its place is this opening's
        kept = [(name, value) for name, value in scope["headers"] if name in (b"host", b"origin")]
        ending = {**scope, "method": "DELETE", "path": path, "raw_path": path.encode(), "query_string": b"",
                  "headers": [*kept, (b"mcp-session-id", session.encode())]}
        asked = False

        async def receive() -> Message:
            nonlocal asked
            if asked:
                return {"type": "http.disconnect"}
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}

        async def discard(message: Message) -> None:
            pass

        await self.sessions.run(self.app, ending, receive, discard, caller, self.resources.servers)
        logger.info("session limit: ended the least recently used session of %s", caller.name)
        return None

    def _refusal(self, credential: Credential, path: str, scope: Scope, requests: list[tuple[str, Any]],
                 resource: str) -> Response | None:
        area = area_of(path)
        if area and not credential.may_reach(area):
            return self._challenge(403, resource, "insufficient_scope",
                                   f"this token may not use {area[:64]!r}")
        if not self.sessions.may_use(credential.caller, scope, self.resources.servers):
            return self._challenge(403, resource, "insufficient_scope", "this token may not use this session")
        ownership = self.ownership.get(area) or Ownership()
        needs = [need for method, params in requests
                 if (need := ownership.need(method, params)) is not None]
        refused = next((need for need in needs if not credential.may_use(need.tools)), None)
        if refused is not None:
            return self._challenge(403, resource, "insufficient_scope", refused.refusal())
        if len(needs) > self.limiter.burst:  # would never fit in the bucket: waiting cannot help
            return JSONResponse({"error": "batch_too_large", "error_description": (
                f"this request makes {len(needs)} calls (tools, reads, prompts or completions); at most "
                f"{self.limiter.burst} may be made at once: send them in smaller requests")}, status_code=413)
        if needs:
            wait = self.limiter.take(credential.caller.name, len(needs), credential.rate_per_minute)
            if wait is not None:
                logger.info("rate limit: %s made too many calls", credential.caller.name)
                return _too_many("too many calls", wait)
        return None

    def _metadata(self, suffix: str) -> Response:
        document = self.resources.metadata(suffix)
        if document is None:
            return JSONResponse({"error": "not_found"}, status_code=404)
        return JSONResponse(document, headers={"cache-control": "max-age=300"})

    def _challenge(self, status: int, resource: str, error: str | None = None,
                   description: str | None = None) -> Response:
        params = []
        if error is not None:
            params.append(f'error="{error}"')
            params.append(f'error_description="{_quoted(description or error)}"')
        params.append(f'resource_metadata="{self.resources.metadata_url(resource)}"')
        body = {"error": error or "unauthorized",
                "error_description": description or "a bearer token is required"}
        return JSONResponse(body, status_code=status,
                            headers={"www-authenticate": "Bearer " + ", ".join(params)})


def _too_many(what: str, wait: float) -> Response:
    seconds = str(max(1, math.ceil(wait)))
    return JSONResponse({"error": "rate_limited", "error_description": f"{what}; retry in {seconds} s"},
                        status_code=429, headers={"retry-after": seconds})


def _client_address(scope: Scope) -> str:
    """The peer's address (a proxy's X-Forwarded-For when uvicorn trusts that proxy)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _bearer(value: str) -> str | None:
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def _quoted(text: str) -> str:
    """Text fit for a quoted-string in a header: no quotes, backslashes or control characters."""
    return "".join(c for c in text if c.isprintable() and c not in '"\\')[:200]


async def _read_body(receive: Receive) -> bytes:
    """The request's body (BodyLimits has already bounded it in size and time)."""
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return bytes(body)
        body += message.get("body", b"")
        if not message.get("more_body", False):
            return bytes(body)


def requests_in(body: bytes) -> list[tuple[str, Any]]:
    """The method and params of each JSON-RPC message of a request (or batch); what the SDK will
    parse, parsed the same way, so an escaped spelling such as ``tools\\/call`` is seen too."""
    if not body:
        return []
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return []  # the SDK answers it with a parse error; nothing is called
    messages = data if isinstance(data, list) else [data]
    return [(message["method"], message.get("params")) for message in messages
            if isinstance(message, dict) and isinstance(message.get("method"), str)]
