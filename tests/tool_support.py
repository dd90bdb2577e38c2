"""Helpers for tests that drive a server through a real MCP client."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from mcp import Client

from gatewise.config import Settings
from gatewise.ledger import open_ledger

CONTRACT_FIELDS = ("description", "inputSchema", "outputSchema", "annotations")


def check_contract(tools: list[Any], path: Path) -> dict[str, dict[str, Any]]:
    """The listed tools as they go on the wire, compared with the snapshot at ``path``
    (rewritten when UPDATE_CONTRACT is set or the snapshot is missing)."""
    wire = [t.model_dump(by_alias=True, mode="json", exclude_none=True) for t in tools]
    current = {t["name"]: {k: t.get(k) for k in CONTRACT_FIELDS} for t in wire}
    if os.environ.get("UPDATE_CONTRACT") or not path.exists():
        path.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
    assert current == json.loads(path.read_text()), "rerun with UPDATE_CONTRACT=1"
    return current


async def ledger_rows(settings: Settings) -> list:
    ledger = open_ledger(settings.ledger_path)
    try:
        return await ledger.recent(100)
    finally:
        await ledger.close()


async def call(client: Client, tool: str, args: dict, **kw: Any) -> dict:
    result = await client.call_tool(tool, args, **kw)
    assert not result.is_error, result.content
    return result.structured_content


async def error_text(client: Client, tool: str, args: dict) -> str:
    result = await client.call_tool(tool, args)
    assert result.is_error, result
    text = result.content[0].text
    assert "Traceback" not in text
    return text
