"""An upstream that sends search requests with the server tool and falls back to the web plugin.

It has the chat client's ``chat`` signature, so the gateway's fallback executor can drive it like
any other upstream. A model that rejected the server tool once goes straight to the plugin form
afterwards, so the rejection costs one round trip per process, not one per call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gatewise.errors import GatewiseError
from gatewise.search.forms import Mechanism, is_server_tool_rejection, to_plugin_form, uses_server_tool
from gatewise.upstream.openrouter import ChatResult, OpenRouterClient

log = logging.getLogger(__name__)


@dataclass
class SearchReply:
    result: ChatResult
    mechanism: Mechanism
    rejected: GatewiseError | None = None  # the server tool's refusal, when the plugin answered


class WebSearchUpstream:
    def __init__(self, client: OpenRouterClient,
                 takes_tools: Callable[[str], bool] = lambda model: True) -> None:
        self.client = client
        self.takes_tools = takes_tools  # False for models the catalogue lists without tool calling
        self.name = client.name
        self._plugin_only: set[str] = set()

    def plugin_only(self, model: str) -> bool:
        return model in self._plugin_only or not self.takes_tools(model)

    async def search(self, body: Mapping[str, Any], **kwargs: Any) -> SearchReply:
        model = str(body["model"])
        rejected = None
        if uses_server_tool(body) and not self.plugin_only(model):
            try:
                return SearchReply(await self.client.chat(body, **kwargs), "server_tool")
            except GatewiseError as exc:
                if not is_server_tool_rejection(exc):
                    raise
                log.info("%s rejected the web_search server tool (%s); using the web plugin",
                         model, exc.message)
                self._plugin_only.add(model)
                rejected = exc
        plugin_body = to_plugin_form(body) if uses_server_tool(body) else dict(body)
        return SearchReply(await self.client.chat(plugin_body, **kwargs), "web_plugin", rejected)

    async def chat(self, body: Mapping[str, Any], **kwargs: Any) -> ChatResult:
        """For the fallback executor: the answer, marked with how it was searched."""
        reply = await self.search(body, **kwargs)
        reply.result.web_search = reply.mechanism
        if reply.rejected is not None:
            reply.result.server_tool_refusal = reply.rejected.message
        return reply.result
