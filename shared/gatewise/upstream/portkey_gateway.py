"""Portkey's hosted gateway (data plane): chat completions sent *through* Portkey.

Portkey then applies its own config (model, guardrails, cache, retries) to the call; gatewise
reads back what it did from the ``x-portkey-*`` response headers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gatewise.config import Settings
from gatewise.errors import ErrorCode, GatewiseError
from gatewise.upstream.http import HttpUpstream
from gatewise.upstream.local_sandbox import PORTKEY_KEY
from gatewise.upstream.openrouter import ChatResult


@dataclass
class PortkeyChatResult(ChatResult):
    cache_status: str | None = None
    retry_attempts: int = 0
    option_index: int | None = None


class PortkeyGatewayClient(HttpUpstream):
    """``POST /chat/completions`` at the Portkey base URL with the ``x-portkey-*`` headers."""

    def __init__(self, settings: Settings) -> None:
        key = settings.portkey_api_key.get_secret_value() if settings.portkey_api_key else None
        self.is_sandbox = key is None and settings.sandbox_url is not None
        self.configured = key is not None or self.is_sandbox
        self.route = settings.portkey_route
        headers = {"x-portkey-api-key": key or PORTKEY_KEY}
        if self.route.config is not None:
            headers["x-portkey-config"] = self.route.config.get_secret_value()
        if self.route.virtual_key is not None:
            headers["x-portkey-virtual-key"] = self.route.virtual_key.get_secret_value()
        if self.route.provider is not None:
            headers["x-portkey-provider"] = self.route.provider
        self.name = "sandbox-portkey" if self.is_sandbox else "portkey"
        super().__init__(settings.portkey_url, limits=settings.limits, headers=headers,
                         secrets=tuple(s for s in (key, _secret(self.route.virtual_key)) if s))

    async def chat(
        self,
        body: Mapping[str, Any],
        *,
        timeout_s: float | None = None,
        retries: int | None = None,
        retry_on: frozenset[int] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> PortkeyChatResult:
        """``headers`` may add ``x-portkey-metadata`` and ``x-portkey-trace-id`` per call."""
        if not self.configured:
            raise GatewiseError(ErrorCode.UNAUTHORIZED, "routing through Portkey needs PORTKEY_API_KEY")
        reply = await self.request("POST", "/chat/completions", json=dict(body), headers=headers,
                                   timeout_s=timeout_s, retries=retries, retry_on=retry_on)
        base = ChatResult.from_reply(reply, source=self.name)
        index = reply.headers.get("x-portkey-last-used-option-index")
        return PortkeyChatResult(
            **{f: getattr(base, f) for f in ChatResult.__dataclass_fields__},
            cache_status=reply.headers.get("x-portkey-cache-status"),
            retry_attempts=int(reply.headers.get("x-portkey-retry-attempt-count") or 0),
            option_index=int(index) if index and index.isdigit() else None,
        )


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None
