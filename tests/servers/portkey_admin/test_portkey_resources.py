"""portkey-admin's resources and slug completion against the sandbox's Portkey stand-in."""

from __future__ import annotations

import json

import pytest
from gatewise.servers.portkey_admin.server import create_server
from mcp import Client, MCPError
from mcp.types import ResourceTemplateReference
from portkey_support import FALLBACK, ok

from gatewise.config import Settings

CONFIGS = ResourceTemplateReference(type="ref/resource", uri="portkey://configs/{slug}")


async def test_config_slugs_complete_and_read_masked(connect, upstream, sandbox) -> None:
    async with connect() as client:
        await ok(client, "manage_configs", action="create", name="fallback", config=FALLBACK)
        listed = await ok(client, "manage_configs", action="list", limit=100)
        slug = next(item["slug"] for item in listed["items"] if item.get("name") == "fallback")
        offered = (await client.complete(CONFIGS, {"name": "slug", "value": slug[:3]})).completion
        assert slug in offered.values and all(v.startswith(slug[:3]) for v in offered.values)
        read = await client.read_resource(f"portkey://configs/{slug}")
        text = read.contents[0].text
        assert json.loads(text)["config"]["strategy"]["mode"] == "fallback"
        assert "sk-target-secret-123456" not in text  # provider keys inside configs stay masked
        with pytest.raises(MCPError):
            await client.read_resource("portkey://configs/no-such-config")
        other = ResourceTemplateReference(type="ref/resource", uri="portkey://elsewhere/{slug}")
        assert (await client.complete(other, {"name": "slug", "value": ""})).completion.values == []


async def test_resources_follow_the_loaded_toolsets(settings: Settings) -> None:
    async with Client(create_server(settings, toolsets="keys")) as client:
        templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
    assert templates == {"portkey://virtual-keys/{slug}"}
