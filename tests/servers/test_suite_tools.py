"""The four servers as one suite: a client that loads every tool without prefixes (agent
frameworks do) must see each tool name once."""

from __future__ import annotations

from collections import Counter

from gatewise.servers.openrouter_multimodal.server import create_server as multimodal_server
from gatewise.servers.openrouter_search.server import create_server as search_server
from gatewise.servers.portkey_admin.server import create_server as portkey_server
from gatewise.servers.routing_gateway.server import create_server as gateway_server
from mcp import Client

from gatewise.config import Settings

FACTORIES = (gateway_server, portkey_server, multimodal_server, search_server)


async def test_every_tool_name_is_unique_across_the_suite(settings: Settings) -> None:
    names: Counter[str] = Counter()
    for factory in FACTORIES:
        async with Client(factory(settings)) as client:
            names.update(t.name for t in (await client.list_tools()).tools)
    assert [name for name, count in names.items() if count > 1] == []
    # portkey-admin keeps the names of the server it replaces; the gateway's ledger report has its own.
    assert {"get_usage_analytics", "get_gateway_analytics"} <= set(names)


async def test_every_resource_template_and_prompt_is_owned_by_tools_of_its_server(settings: Settings) -> None:
    # A token limited to some tools reads only what they own; one nobody owns would be for
    # tokens granted every tool only.
    for factory in FACTORIES:
        server = factory(settings)
        async with Client(server) as client:
            tools = {t.name for t in (await client.list_tools()).tools}
            owners = [server.ownership.of_uri(str(r.uri)) for r in (await client.list_resources()).resources]
            owners += [server.ownership.of_uri(t.uri_template)
                       for t in (await client.list_resource_templates()).resource_templates]
            owners += [server.ownership.of_prompt(p.name) for p in (await client.list_prompts()).prompts]
        assert all(found and found <= tools for found in owners), (server.name, owners)
