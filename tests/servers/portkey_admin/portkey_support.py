"""What the portkey-admin tests share: keys, a seeded config, and short forms of tool calls."""

from __future__ import annotations

from typing import Any

from mcp import Client
from pydantic import SecretStr

from gatewise.config import Settings
from gatewise_sandbox import SandboxServer
from sandbox_admin import control_client
from tool_support import call, error_text

WORKSPACE_KEY = "pk-ws-0123456789abcdef"

FALLBACK = {
    "strategy": {"mode": "fallback", "on_status_codes": [429, 503]},
    "retry": {"attempts": 2},
    "targets": [
        {"provider": "openai", "api_key": "sk-target-secret-123456", "override_params": {"model": "gpt-4o"}},
        {"provider": "groq", "override_params": {"model": "llama-3.1-70b"}},
    ],
}


def portkey_key(settings: Settings, sandbox: SandboxServer, key: str) -> Settings:
    """Settings that send ``key`` to the sandbox's Portkey stand-in as if it were Portkey."""
    return settings.model_copy(
        update={"portkey_api_key": SecretStr(key), "portkey_base_url": sandbox.root_url + "/v1"}
    )


def last_request_reply(sandbox: SandboxServer, path: str) -> Any:
    """The sandbox's record of the last request to ``path`` (404 when there was none)."""
    return control_client().get(f"{sandbox.root_url}/_sandbox/portkey/last-request", params={"path": path})


def last_request(sandbox: SandboxServer, path: str) -> dict[str, Any]:
    reply = last_request_reply(sandbox, path)
    reply.raise_for_status()
    return reply.json()


async def ok(client: Client, tool: str, **args: Any) -> dict[str, Any]:
    return await call(client, tool, args)


async def fails(client: Client, tool: str, **args: Any) -> str:
    text = await error_text(client, tool, args)
    assert "Error executing tool" in text
    return text
