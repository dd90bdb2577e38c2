"""Which tool's grant covers each resource, resource template and prompt of a server.

A token limited to some tools may use only what those tools would show it. Each resource,
template and prompt is owned by the tools whose data it exposes (``gatewise://budgets`` by
``get_budget_status``, ``portkey://configs/{slug}`` by ``manage_configs``): reading it, getting
the prompt, or completing an argument of it needs a grant of one of them. Anything no tool owns
needs a token granted every tool (``"*"``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from mcp.shared.uri_template import UriTemplate

from gatewise.errors import quoted


class Need(NamedTuple):
    """What a request does with what, and the tools any one of which a token must be granted."""

    action: str  # "call", "read", "get the prompt", "complete an argument of"
    target: str
    tools: frozenset[str]

    def refusal(self) -> str:
        """The 403's description: what was refused, and which grant would allow it."""
        text = f"this token may not {self.action} {quoted(self.target)}"
        if self.action == "call":
            return text
        owners = ", ".join(sorted(self.tools))[:200] or "every tool"
        return f"{text}; a token granted {'one of ' if len(self.tools) > 1 else ''}{owners} may"


class Ownership:
    """The owning tools of a server's resources, templates and prompts, as it registers them."""

    def __init__(self) -> None:
        self._uris: dict[str, frozenset[str]] = {}  # a URI or URI template, as registered
        self._templates: list[tuple[UriTemplate, frozenset[str]]] = []
        self._prompts: dict[str, frozenset[str]] = {}

    def resource(self, uri: str, *tools: str) -> None:
        """``uri`` (a URI or an RFC 6570 template) shows the data of ``tools``."""
        self._uris[uri] = frozenset(tools)
        if "{" in uri:
            self._templates.append((UriTemplate.parse(uri), frozenset(tools)))

    def prompt(self, name: str, *tools: str) -> None:
        self._prompts[name] = frozenset(tools)

    def of_uri(self, uri: str) -> frozenset[str]:
        """The tools covering a registered URI or template, or a URI its templates match (those
        every matching template shares, so the grant holds whichever one answers)."""
        if uri in self._uris:
            return self._uris[uri]
        matched = [tools for template, tools in self._templates if template.match(uri) is not None]
        return frozenset.intersection(*matched) if matched else frozenset()

    def of_prompt(self, name: str) -> frozenset[str]:
        return self._prompts.get(name, frozenset())

    def need(self, method: str, params: Any) -> Need | None:
        """What a JSON-RPC request needs granted; None for one that shows no data of its own
        (the handshake, ping, the lists: those are filtered instead)."""
        params = params if isinstance(params, dict) else {}
        if method == "tools/call":
            name = _text(params.get("name"))
            return Need("call", name, frozenset({name}))
        if method == "resources/read":
            uri = _text(params.get("uri"))
            return Need("read", uri, self.of_uri(uri))
        if method == "prompts/get":
            name = _text(params.get("name"))
            return Need("get the prompt", name, self.of_prompt(name))
        if method == "completion/complete":
            ref = params.get("ref") if isinstance(params.get("ref"), dict) else {}
            if ref.get("type") == "ref/prompt":
                name = _text(ref.get("name"))
                return Need("complete an argument of", name, self.of_prompt(name))
            uri = _text(ref.get("uri"))
            return Need("complete an argument of", uri, self.of_uri(uri))
        return None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
