"""Failures the fuzz suite found, pinned as plain tests."""

from __future__ import annotations

import pytest
from gatewise.servers.portkey_admin.server import create_server
from mcp import Client

from gatewise.config import Settings
from tool_support import error_text

LONE_SURROGATE = "ws-\ud800"


@pytest.mark.parametrize(("tool", "args"), [
    ("get_api_keys", {"workspace_id": LONE_SURROGATE}),  # a query parameter
    ("manage_configs", {"action": "get", "slug": LONE_SURROGATE}),  # a path segment
    ("manage_logs", {"action": "cancel_export", "id": LONE_SURROGATE, "dry_run": True}),  # a preview
    ("manage_workspaces", {"action": "update", "workspace_id": "ws-1",
                           "fields": {"description": LONE_SURROGATE}}),  # the JSON body
])
async def test_portkey_refuses_text_that_is_not_unicode(settings: Settings, tool: str, args: dict) -> None:
    # Reachable in-process only (JSON-RPC frames cannot carry a lone surrogate); it used to
    # escape as an unexpected UnicodeEncodeError.
    async with Client(create_server(settings, "all")) as client:
        text = await error_text(client, tool, args)
    assert "INVALID_INPUT" in text and "not valid Unicode" in text, text
