"""How a search is asked for: the ``openrouter:web_search`` server tool, or the older web plugin.

The server tool is the current form. A model or account that does not take it is asked again with
the same settings as the deprecated ``web`` plugin, which every OpenRouter model accepts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from gatewise.errors import ErrorCode, GatewiseError, quoted
from gatewise.media.urls import ascii_host
from gatewise.search.pricing import DEFAULT_MAX_RESULTS
from gatewise.upstream.chat import ChatRequest, Message

SERVER_TOOL = "openrouter:web_search"
Mechanism = Literal["server_tool", "web_plugin"]
Freshness = Literal["day", "week", "month", "year"]
DEFAULT_MAX_USES = 3  # searches the model may run in one call (each one is billed)
EngineChoice = Literal["auto", "native", "exa"]
ContextSize = Literal["low", "medium", "high"]

# Rejections of the tool itself; anything else (bad key, rate limit, outage) is not one.
_REJECTION_STATUSES = frozenset({400, 404, 405, 422, 501})
_REJECTION_WORDS = re.compile(r"tool|web_search|server[ _-]?tool", re.I)
_DOMAIN = re.compile(r"^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+([a-z]{2,63}|xn--[a-z0-9-]{1,59})$")


@dataclass(frozen=True)
class SearchOptions:
    """Everything about a search except the query and the model."""

    max_results: int = DEFAULT_MAX_RESULTS
    max_uses: int = DEFAULT_MAX_USES
    engine: EngineChoice = "auto"
    context_size: ContextSize | None = None
    include_domains: tuple[str, ...] = ()
    exclude_domains: tuple[str, ...] = ()
    freshness: Freshness | None = None

    def server_tool(self) -> dict[str, Any]:
        parameters: dict[str, Any] = {"engine": self.engine, "max_results": self.max_results,
                                      "max_uses": self.max_uses}
        if self.context_size:
            parameters["search_context_size"] = self.context_size
        if self.include_domains:
            parameters["allowed_domains"] = sorted(self.include_domains)  # order changes nothing
        if self.exclude_domains:
            parameters["excluded_domains"] = sorted(self.exclude_domains)
        return {"type": SERVER_TOOL, "parameters": parameters}

    def key(self) -> dict[str, Any]:
        """The fields that change results, for cache keys (domain order does not)."""
        return {"max_results": self.max_results, "max_uses": self.max_uses, "engine": self.engine,
                "context_size": self.context_size,
                "include": sorted(self.include_domains), "exclude": sorted(self.exclude_domains),
                "freshness": self.freshness}


def clean_domains(domains: list[str] | None, field: str) -> tuple[str, ...]:
    """Lower-cased host patterns (``example.com`` or ``*.example.com``), international names in
    their ASCII (punycode) form; a URL is cut to its host."""
    out: list[str] = []
    for raw in domains or []:
        value = raw.strip().lower()
        value = re.sub(r"^[a-z]+://", "", value).split("/", 1)[0]
        wildcard, host = ("*.", value[2:]) if value.startswith("*.") else ("", value)
        value = wildcard + (ascii_host(host) or host)
        if not _DOMAIN.match(value):
            raise GatewiseError(ErrorCode.INVALID_INPUT, f"{field}: {quoted(raw)} is not a domain",
                                hint="Use a host such as 'python.org' or '*.python.org'.")
        out.append(value)
    return tuple(dict.fromkeys(out))


def host_matches(host: str, pattern: str) -> bool:
    """``example.com`` matches it and its subdomains; ``*.example.com`` only the subdomains."""
    host, pattern = host.lower(), pattern.strip().lower()
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return host == pattern or host.endswith("." + pattern)


def search_body(model: str, query: str, options: SearchOptions, *, max_tokens: int,
                now: datetime | None = None) -> ChatRequest:
    """A chat request that searches the web for ``query`` with the server tool."""
    messages: list[Message] = []
    if options.freshness:
        # No search engine parameter filters by date, so the model is told what counts as fresh.
        today = (now or datetime.now(UTC)).date().isoformat()
        messages.append({"role": "system", "content": (
            f"Today is {today}. Prefer sources published within the past {options.freshness}; "
            "if the results are older than that, say so.")})
    messages.append({"role": "user", "content": query})
    return {"model": model, "messages": messages, "max_tokens": max_tokens,
            "tools": [options.server_tool()]}


def _is_server_tool(tool: Any) -> bool:
    return isinstance(tool, Mapping) and tool.get("type") == SERVER_TOOL


def uses_server_tool(body: Mapping[str, Any]) -> bool:
    return any(_is_server_tool(t) for t in body.get("tools") or [])


def to_plugin_form(body: Mapping[str, Any]) -> dict[str, Any]:
    """The same request with the server tool replaced by the ``web`` plugin and its settings."""
    tools = [t for t in body.get("tools") or [] if not _is_server_tool(t)]
    spec = next(t for t in body["tools"] if _is_server_tool(t))
    params: Mapping[str, Any] = spec.get("parameters") or {}
    plugin: dict[str, Any] = {"id": "web"}
    if params.get("engine") not in (None, "auto"):  # the plugin's "auto" is leaving it unset
        plugin["engine"] = params["engine"]
    for tool_name, plugin_name in (("max_results", "max_results"), ("allowed_domains", "include_domains"),
                                   ("excluded_domains", "exclude_domains"), ("mode", "mode"),
                                   ("max_uses", "max_uses")):
        if params.get(tool_name) is not None:
            plugin[plugin_name] = params[tool_name]
    out = {k: v for k, v in body.items() if k != "tools"}
    if tools:
        out["tools"] = tools
    out["plugins"] = [*(body.get("plugins") or []), plugin]
    if params.get("search_context_size"):
        out["web_search_options"] = {"search_context_size": params["search_context_size"]}
    return out


def is_server_tool_rejection(error: GatewiseError) -> bool:
    return error.status in _REJECTION_STATUSES and bool(_REJECTION_WORDS.search(error.message))
