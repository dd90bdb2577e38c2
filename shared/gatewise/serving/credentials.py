"""What a presented credential grants, and the configured bearer tokens.

Tokens are stored as their SHA-256, never in clear. A token is a long random string (at least
24 characters; ``gatewise serve --new-token`` makes 43), so a fast hash cannot be reversed by
guessing, and checking one costs microseconds: a slow password hash (scrypt, bcrypt) would hand
anyone who can reach the port a way to spend the server's CPU.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from gatewise.caller import Caller
from gatewise.config import AuthConfig, Grant


@dataclass(frozen=True)
class Credential:
    """An authenticated caller and what it may reach."""

    caller: Caller
    servers: frozenset[str]
    tools: frozenset[str]
    rate_per_minute: int

    @classmethod
    def of(cls, name: str, grant: Grant, auth: AuthConfig, *, project: str | None = None) -> Credential:
        return cls(Caller(name, project or grant.project), frozenset(grant.servers), frozenset(grant.tools),
                   grant.rate_per_minute or auth.rate_per_minute)

    def may_reach(self, server: str) -> bool:
        return "*" in self.servers or server in self.servers

    def may_use(self, owners: frozenset[str]) -> bool:
        """Whether the grant covers something one of ``owners`` shows (see mcpkit.grants)."""
        return "*" in self.tools or not self.tools.isdisjoint(owners)


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class StaticTokens:
    """The tokens of ``server.auth.tokens`` and ``GATEWISE_AUTH_TOKENS``."""

    def __init__(self, auth: AuthConfig) -> None:
        full_access = Grant()
        self._entries: list[tuple[bytes, Credential]] = [
            (bytes.fromhex(entry.sha256), Credential.of(entry.name, entry, auth)) for entry in auth.tokens]
        self._entries += [(digest(token), Credential.of(name, full_access, auth))
                          for name, token in auth.named_env_tokens()]

    def __len__(self) -> int:
        return len(self._entries)

    def find(self, token: str) -> Credential | None:
        """The token's credential. Every entry is compared, in constant time, whichever matches."""
        presented = digest(token)
        found = None
        for stored, credential in self._entries:
            if hmac.compare_digest(stored, presented):
                found = credential
        return found


def new_token(name: str) -> tuple[str, dict[str, Any]]:
    """A fresh random token and the ``server.auth.tokens`` entry that accepts it."""
    token = secrets.token_urlsafe(32)
    return token, {"name": name, "sha256": digest(token).hex(), "servers": ["*"], "tools": ["*"]}
