"""portkey-admin's resources and slug completion.

A Portkey config or virtual key can be attached by URI (``portkey://configs/{slug}``,
``portkey://virtual-keys/{slug}``), read through the same masked path as the tools, and its slug
completes as it is typed from the organisation's own list. Each is offered only when its
toolset is loaded, and is owned by its tool (see :mod:`gatewise.mcpkit.grants`): a token must be
granted that tool to read it or complete its slug.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Iterable

from mcp import MCPError
from mcp.server.mcpserver import Context
from mcp.types import INVALID_PARAMS, CompleteRequestParams, ResourceTemplateReference

from gatewise.errors import GatewiseError
from gatewise.mcpkit.completion import MAX_VALUES, add_completion
from gatewise.mcpkit.server import GatewiseServer
from gatewise.portkey import PortkeyAdmin

log = logging.getLogger(__name__)

# resource URI template → the tool whose "get" and "list" actions read it
SLUGGED = {"portkey://configs/{slug}": "manage_configs",
           "portkey://virtual-keys/{slug}": "manage_virtual_keys"}


def add_resources(server: GatewiseServer[PortkeyAdmin], enabled: Collection[str]) -> None:
    offered = {uri: tool for uri, tool in SLUGGED.items() if tool in enabled}

    def register(uri: str, tool: str) -> None:
        what = tool.removeprefix("manage_").replace("_", " ").rstrip("s")

        @server.resource(uri, name=f"portkey_{what.replace(' ', '_')}", mime_type="application/json",
                         description=f"One Portkey {what} by slug, secrets masked.")
        async def read(slug: str, ctx: Context[PortkeyAdmin]) -> str:
            try:
                result = await ctx.request_context.lifespan_context.run(tool, {"action": "get", "slug": slug})
            except GatewiseError as exc:
                raise MCPError(code=INVALID_PARAMS, message=str(exc)[:300]) from None
            return json.dumps(result.item)

    for uri, tool in offered.items():
        register(uri, tool)
        server.ownership.resource(uri, tool)

    async def complete(admin: PortkeyAdmin, params: CompleteRequestParams) -> Iterable[str]:
        ref = params.ref
        tool = offered.get(ref.uri) if isinstance(ref, ResourceTemplateReference) else None
        if tool is None or params.argument.name != "slug":
            return []
        try:
            listed = await admin.run(tool, {"action": "list", "limit": MAX_VALUES})
        except GatewiseError as exc:  # no key, or Portkey unreachable: nothing to offer
            log.warning("slug completion for %s: %s", tool, exc.message)
            return []
        return [item["slug"] for item in listed.items or [] if isinstance(item, dict)
                and isinstance(item.get("slug"), str)]

    if offered:
        add_completion(server, complete)
