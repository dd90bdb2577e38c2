"""Web search in chat requests: which form asked for it and how, the search over the built-in
corpus, its price, and the answer that cites what it found."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gatewise.search.pricing import (
    CONTEXT_SIZES,
    DEFAULT_MAX_RESULTS,
    ENGINES,
    MAX_RESULTS,
    resolve_engine,
    search_fee,
)
from gatewise_sandbox import answers, corpus
from gatewise_sandbox.checks import BadRequest

SERVER_TOOL = "openrouter:web_search"  # the tool type OpenRouter's API names
ONLINE_SUFFIX = ":online"
MAX_CHARACTERS = 100_000
CHARS_BY_CONTEXT_SIZE = {"low": 5_000, "medium": 15_000, "high": 30_000}
ADAPTIVE_CHARS = 3_000  # Exa's adaptive highlight size when no cap is asked for


def _int_between(low: int, high: int | None) -> Callable[[Any], bool]:
    return lambda v: (isinstance(v, int) and not isinstance(v, bool) and v >= low
                      and (high is None or v <= high))


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "engine": (lambda v: v in ENGINES, "expected one of " + ", ".join(ENGINES)),
    "mode": (lambda v: isinstance(v, str), "expected a string"),
    "max_results": (_int_between(1, MAX_RESULTS),
                    f"expected an integer between 1 and {MAX_RESULTS}"),
    "max_uses": (_int_between(1, None), "expected a positive integer"),
    "max_total_results": (_int_between(1, None), "expected a positive integer"),
    "search_context_size": (lambda v: v in CONTEXT_SIZES,
                            "expected one of " + ", ".join(CONTEXT_SIZES)),
    "max_characters": (_int_between(1, MAX_CHARACTERS),
                       f"expected an integer between 1 and {MAX_CHARACTERS}"),
    "user_location": (lambda v: isinstance(v, dict), "expected an object"),
    "search_prompt": (lambda v: isinstance(v, str), "expected a string"),
    **{name: (_strings, "expected an array of strings")
       for name in ("allowed_domains", "excluded_domains", "include_domains", "exclude_domains")},
}
_TOOL_FIELDS = ("engine", "mode", "max_results", "max_uses", "max_total_results",
                "search_context_size", "max_characters", "user_location", "allowed_domains",
                "excluded_domains")
_PLUGIN_FIELDS = ("engine", "mode", "max_results", "max_uses", "search_prompt",
                  "include_domains", "exclude_domains", "user_location")


@dataclass(frozen=True)
class SearchRequest:
    """The search settings of one chat request, whichever form asked for them."""

    server_tool: bool  # only the `openrouter:web_search` tool can be refused by a model
    engine: str | None = None
    mode: str | None = None
    max_results: int = DEFAULT_MAX_RESULTS
    max_total_results: int | None = None
    max_characters: int | None = None
    context_size: str | None = None
    allowed_domains: tuple[str, ...] = ()
    excluded_domains: tuple[str, ...] = ()

    @property
    def limit(self) -> int:
        return min(self.max_results, self.max_total_results or self.max_results)

    @property
    def chars_per_result(self) -> int:
        return (self.max_characters or CHARS_BY_CONTEXT_SIZE.get(self.context_size or "")
                or ADAPTIVE_CHARS)


@dataclass(frozen=True)
class Result:
    doc: corpus.Document
    content: str  # the highlight fed to the model and shown in the citation


@dataclass(frozen=True)
class Search:
    """One search as run for a request: what it found, the engine that ran it, its fee."""

    query: str
    results: tuple[Result, ...]
    engine: str
    fee: float

    @property
    def tokens(self) -> int:
        """Prompt tokens the results add: the model reads every result's content."""
        if not self.results:
            return 0
        return answers.count_tokens("\n".join(r.content for r in self.results))


def requested(body: dict[str, Any], model: str) -> SearchRequest | None:
    """The request's search settings, or None when it does not search; bad settings raise."""
    tools = body.get("tools")
    for i, tool in enumerate(tools if isinstance(tools, list) else []):
        if isinstance(tool, dict) and tool.get("type") == SERVER_TOOL:
            params = tool.get("parameters") or {}
            where = f"tools[{i}].parameters"
            if not isinstance(params, dict):
                raise BadRequest(f"{where}: expected an object")
            _check(params, _TOOL_FIELDS, where)
            context_size = params.get("search_context_size") or _native_context_size(body)
            return _settings(params, True, context_size,
                             params.get("allowed_domains"), params.get("excluded_domains"))
    plugins = body.get("plugins")
    for i, plugin in enumerate(plugins if isinstance(plugins, list) else []):
        if isinstance(plugin, dict) and plugin.get("id") == "web" \
                and plugin.get("enabled") is not False:
            _check(plugin, _PLUGIN_FIELDS, f"plugins[{i}]")
            return _settings(plugin, False, _native_context_size(body),
                             plugin.get("include_domains"), plugin.get("exclude_domains"))
    if model.endswith(ONLINE_SUFFIX):
        return SearchRequest(server_tool=False, context_size=_native_context_size(body))
    return None


def run(request: SearchRequest, model_id: str, messages: list[dict[str, Any]]) -> Search:
    query = answers.last_user_text(messages)
    docs = corpus.search(query, max_results=request.limit,
                         allowed_domains=request.allowed_domains,
                         excluded_domains=request.excluded_domains)
    results = tuple(Result(doc, corpus.highlight(doc, query, request.chars_per_result))
                    for doc in docs)
    fee = search_fee(model_id, request.engine, results=len(results), mode=request.mode,
                     context_size=request.context_size)
    return Search(query, results, resolve_engine(model_id, request.engine), fee)


def reply(model_id: str, search: Search) -> tuple[str, list[dict[str, Any]]]:
    """The answer text and its ``url_citation`` annotations, each indexing a markdown link."""
    text = answers.marker(model_id)
    if not search.results:
        return text + f'The web search found no results for "{answers.shorten(search.query)}".', []
    annotations: list[dict[str, Any]] = []
    for n, result in enumerate(search.results):
        lead = answers.sentences(result.content.split(corpus.GAP)[0])[0]
        text += ("" if n == 0 else " ") + lead + " "
        link = f"[{result.doc.host}]({result.doc.url})"
        annotations.append({"type": "url_citation", "url_citation": {
            "url": result.doc.url, "title": result.doc.title, "content": result.content,
            "start_index": len(text), "end_index": len(text) + len(link)}})
        text += link
    return text, annotations


def surviving(annotations: list[dict[str, Any]], length: int) -> list[dict[str, Any]]:
    """The citations whose link is still whole in a text cut to ``length`` characters."""
    return [a for a in annotations if a["url_citation"]["end_index"] <= length]


def rejection(model_id: str) -> str:
    return (f"No endpoints found that support the {SERVER_TOOL} server tool for {model_id}. "
            "(injected by the gatewise sandbox)")


def _native_context_size(body: dict[str, Any]) -> str | None:
    options = body.get("web_search_options")
    if options is None:
        return None
    if not isinstance(options, dict):
        raise BadRequest("web_search_options: expected an object")
    _check(options, ("search_context_size",), "web_search_options")
    return options.get("search_context_size")


def _check(params: dict[str, Any], fields: tuple[str, ...], where: str) -> None:
    for name in fields:
        value = params.get(name)
        valid, expected = _CHECKS[name]
        if value is not None and not valid(value):
            raise BadRequest(f"{where}.{name}: {expected}")


def _settings(params: dict[str, Any], server_tool: bool, context_size: str | None,
              allowed: list[str] | None, excluded: list[str] | None) -> SearchRequest:
    return SearchRequest(
        server_tool=server_tool, engine=params.get("engine"), mode=params.get("mode"),
        max_results=params.get("max_results") or DEFAULT_MAX_RESULTS,
        max_total_results=params.get("max_total_results"),
        max_characters=params.get("max_characters"), context_size=context_size,
        allowed_domains=tuple(allowed or ()), excluded_domains=tuple(excluded or ()))
