"""JWT access tokens from the operator's identity provider, checked against its published keys.

PyJWT does the cryptography and the claim checks (issuer, audience, expiry, not-before, and an
algorithm allow-list that never includes ``none`` or a shared-secret HMAC, so a public key can
never be used as an HMAC secret). The key set is fetched here rather than by PyJWT's own client,
which reads with blocking urllib and no size cap: one async fetch at a time, bounded in bytes and
seconds, cached for ``jwks_cache_s``, and fetched again early (at most every 30 s) when a token
names a key it does not hold, so a key rotation at the provider is picked up.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import time
from collections.abc import Sequence
from typing import Any

import anyio
import httpx
import jwt

from gatewise.config import PROJECT_PATTERN, AuthConfig, JwtConfig
from gatewise.serving.credentials import Credential
from gatewise.upstream.http import guarded_transport

logger = logging.getLogger(__name__)

EARLY_REFETCH_S = 30.0  # an unknown key id refetches the set no more often than this
MAX_TOKEN_CHARS = 8192
ACCEPT_JSON = {"accept": "application/json"}


class TokenRejected(Exception):
    """The token is not acceptable; the message is safe to send back (it never quotes the token)."""


class KeysUnavailable(Exception):
    """The identity provider's key set could not be fetched, and none is cached."""


class KeySet:
    """The provider's JWKS, fetched lazily and cached."""

    def __init__(self, config: JwtConfig) -> None:
        self.config = config
        self._keys: jwt.PyJWKSet | None = None
        self._fetched = 0.0
        self._lock = asyncio.Lock()

    async def key(self, kid: str | None) -> jwt.PyJWK:
        seen = self._fetched
        if self._keys is None or time.monotonic() - seen > self.config.jwks_cache_s:
            await self._refresh(seen)
        found = self._lookup(kid)
        seen = self._fetched
        if found is None and time.monotonic() - seen > EARLY_REFETCH_S:
            await self._refresh(seen)
            found = self._lookup(kid)
        if found is None:
            raise TokenRejected("the token's signing key is not in the identity provider's key set")
        return found

    async def count(self) -> int:
        """Fetch the set now and say how many usable keys it holds."""
        await self._refresh()
        return len(self._keys.keys) if self._keys is not None else 0

    def _lookup(self, kid: str | None) -> jwt.PyJWK | None:
        keys = self._keys.keys if self._keys is not None else []
        if kid is None:  # allowed only when the provider publishes a single key
            return keys[0] if len(keys) == 1 else None
        return next((key for key in keys if key.key_id == kid), None)

    async def _refresh(self, seen: float | None = None) -> None:
        """Fetch the set. With ``seen`` (``_fetched`` when the caller decided to), requests that
        queued behind a fetch share its outcome instead of each fetching again: many tokens naming
        unknown keys at once cost the provider one fetch, not one each."""
        async with self._lock:
            if seen is None or self._fetched == seen:
                started = time.monotonic()
                try:
                    self._keys = jwt.PyJWKSet.from_dict(await self._fetch())
                except (OSError, httpx.HTTPError, TimeoutError, ValueError, jwt.PyJWTError) as exc:
                    # A failed fetch keeps the keys already held; without any, nothing can be checked.
                    logger.warning("cannot fetch the JWKS at %s: %s", self.config.jwks_url,
                                   type(exc).__name__)
                self._fetched = started
            if self._keys is None:
                raise KeysUnavailable("the identity provider's keys cannot be fetched")

    async def _fetch(self) -> Any:
        limit = self.config.jwks_max_bytes
        body = bytearray()
        with anyio.fail_after(self.config.jwks_timeout_s):
            async with httpx.AsyncClient(timeout=self.config.jwks_timeout_s, transport=guarded_transport(),
                                         follow_redirects=False) as client, \
                    client.stream("GET", self.config.jwks_url, headers=ACCEPT_JSON) as reply:
                reply.raise_for_status()
                async for chunk in reply.aiter_bytes():
                    body += chunk
                    if len(body) > limit:
                        raise ValueError(f"the key set is over {limit} bytes")
        return json.loads(body)


class JwtVerifier:
    """Turns a JWT into a :class:`Credential`, or says why it is refused."""

    def __init__(self, auth: AuthConfig, config: JwtConfig) -> None:
        self.auth = auth
        self.config = config
        self.keys = KeySet(config)

    @staticmethod
    def looks_like_jwt(token: str) -> bool:
        return token.count(".") == 2 and token.startswith("eyJ")

    async def verify(self, token: str, audiences: Sequence[str]) -> Credential:
        """``audiences``: the resource URLs this request may be meant for (when none is configured)."""
        if len(token) > MAX_TOKEN_CHARS:
            raise TokenRejected("the token is too long")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenRejected("the token is not a well-formed JWT") from None
        algorithm = header.get("alg")
        if algorithm not in self.config.algorithms:
            raise TokenRejected(f"tokens signed with {str(algorithm)[:16]!r} are not accepted")
        kid = header.get("kid")
        key = await self.keys.key(kid if isinstance(kid, str) else None)
        try:
            # Given the JWK itself, PyJWT also refuses a token whose alg is not the key's own.
            claims = jwt.decode(
                token, key, algorithms=self.config.algorithms, issuer=self.config.issuer,
                audience=self.config.audience or list(audiences), leeway=self.config.leeway_s,
                options={"require": ["exp", "iss", "aud", "sub"]})
        except jwt.ExpiredSignatureError:
            raise TokenRejected("the token has expired") from None
        except jwt.InvalidAudienceError:
            raise TokenRejected("the token is not meant for this resource (aud)") from None
        except jwt.InvalidIssuerError:
            raise TokenRejected("the token comes from another issuer") from None
        except jwt.PyJWTError as exc:
            raise TokenRejected(f"the token is not valid ({type(exc).__name__})") from None
        missing = set(self.config.required_scopes) - _scopes(claims)
        if missing:
            raise TokenRejected(f"the token lacks the scope {sorted(missing)[0]!r}")
        return Credential.of(f"jwt:{subject_name(str(claims['sub']))}", self.config, self.auth,
                             project=self._project(claims))

    def _project(self, claims: dict[str, Any]) -> str | None:
        if self.config.project_claim is None or self.config.project_claim not in claims:
            return None
        project = claims[self.config.project_claim]
        if not isinstance(project, str) or not re.match(PROJECT_PATTERN, project):
            raise TokenRejected(f"the {self.config.project_claim!r} claim is not a project tag")
        return project


def _scopes(claims: dict[str, Any]) -> set[str]:
    """OAuth's space-separated ``scope``, or the list/string ``scp`` some providers use."""
    found: set[str] = set()
    for name in ("scope", "scp"):
        value = claims.get(name)
        if isinstance(value, str):
            found.update(value.split())
        elif isinstance(value, list):
            found.update(item for item in value if isinstance(item, str))
    return found


_PLAIN_SUBJECT = re.compile(r"[A-Za-z0-9_.@:\-]{1,64}")
SUBJECT_HASH_CHARS = 16


def subject_name(subject: str) -> str:
    """A subject as it may appear in logs and the ledger: plain characters, at most 64. The name
    is the caller's identity (sessions, rates, the ledger), so a subject that had to be rewritten
    or cut keeps a readable prefix and gains a hash of the exact subject; the ``~`` before it is
    never in a subject kept as it is, so two subjects never share a name."""
    if _PLAIN_SUBJECT.fullmatch(subject):
        return subject
    exact = hashlib.sha256(subject.encode("utf-8", "surrogatepass")).hexdigest()[:SUBJECT_HASH_CHARS]
    prefix = re.sub(r"[^A-Za-z0-9_.@:\-]", "_", subject)[:64 - 1 - SUBJECT_HASH_CHARS]
    return f"{prefix}~{exact}"
