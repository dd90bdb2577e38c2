"""OpenRouter's API (and the local sandbox, which speaks the same protocol)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import pydantic_core

from gatewise.config import Settings
from gatewise.errors import ErrorCode, GatewiseError, json_type_phrase, quoted
from gatewise.redact import scrub_data
from gatewise.upstream.http import HttpUpstream, Response
from gatewise.upstream.usage import reported_cost, usage_count


@dataclass
class ChatResult:
    """The parts of a chat completion that callers need, plus the raw body."""

    id: str
    model: str
    content: str
    finish_reason: str | None
    tokens_in: int
    tokens_out: int
    cost_usd: float | None
    provider: str | None
    latency_ms: float
    annotations: list[dict[str, Any]] = field(default_factory=list)
    search_requests: int = 0  # web searches the upstream ran (and billed) for this answer
    web_search: str | None = None  # "server_tool" or "web_plugin" when the answer searched the web
    server_tool_refusal: str | None = None  # why the server tool was refused, when the plugin answered
    # The usage fields ("prompt_tokens", "completion_tokens") the upstream sent as no plausible
    # count: their tokens read 0 here until counted from the text (see count_unknown_tokens).
    unknown_tokens: tuple[str, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def message(self) -> dict[str, Any]:
        """The first choice's raw message, for the fields this class does not carry."""
        return (self.raw.get("choices") or [{}])[0].get("message") or {}

    @classmethod
    def from_reply(cls, reply: Response, *, source: str) -> ChatResult:
        """A 2xx answer to a chat call: a JSON object, or an error saying what came instead (by its
        shape and content type, never its text)."""
        if not isinstance(reply.body, dict):
            kind = reply.headers.get("content-type", "none")[:80]
            raise GatewiseError(ErrorCode.UPSTREAM_ERROR,
                                f"{source} answered HTTP {reply.status} with {_not_an_object(reply.body)} "
                                f"(content type {kind!r}), not a chat completion")
        return cls.from_body(reply.body, reply.elapsed_ms, source=source)

    @classmethod
    def from_body(cls, body: Any, latency_ms: float, *, source: str = "the upstream") -> ChatResult:
        # A model never has reason to return a configured key: whatever part of the answer
        # echoes one (content, reasoning, citations, even the model id) is scrubbed here, before
        # it can reach a tool result, the response cache or the ledger.
        body = scrub_data(body)
        choice = _first_choice(body)
        message = choice.get("message")
        message = message if isinstance(message, dict) else {}
        usage = body.get("usage")
        usage = usage if isinstance(usage, dict) else {}
        counts = {name: usage_count(usage, name, source=source) for name in _TOKEN_FIELDS}
        result = cls(
            id=str(body.get("id", "")),
            model=str(body.get("model", "")),
            content=_text(message.get("content")),
            finish_reason=choice.get("finish_reason"),
            tokens_in=counts["prompt_tokens"] or 0,
            tokens_out=counts["completion_tokens"] or 0,
            cost_usd=reported_cost(usage, source=source),
            provider=_str_or_none(body.get("provider")),
            latency_ms=latency_ms,
            annotations=[note for note in _list(message.get("annotations")) if isinstance(note, dict)],
            search_requests=_search_requests(usage, source),
            unknown_tokens=tuple(name for name in _TOKEN_FIELDS
                                 if usage.get(name) is not None and counts[name] is None),
            raw=body,
        )
        try:
            model = str(body.get("model") or "the model")[:200]
            _check_shapes(choice, message, model)
            _check_answered(choice, message, model)
        except GatewiseError as exc:
            raise UnusableAnswer(exc, result) from None
        return result


class UnusableAnswer(GatewiseError):
    """An answer that came back whole over HTTP but holds none (see ``_check_answered``): a failed
    attempt, yet one the provider may have billed, so ``billed`` keeps its usage for the ledger
    and the budget."""

    def __init__(self, error: GatewiseError, billed: ChatResult) -> None:
        super().__init__(error.code, error.message, hint=error.hint, retry_after=error.retry_after,
                         status=error.status, details=error.details)
        self.billed = billed


_TOKEN_FIELDS = ("prompt_tokens", "completion_tokens")


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content may come back as an array of text parts
        return "".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def _first_choice(body: Any) -> dict[str, Any]:
    choices = body.get("choices") if isinstance(body, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise GatewiseError(ErrorCode.UPSTREAM_ERROR, "the upstream answer had no choices")
    first: dict[str, Any] = choices[0]
    return first


def _not_an_object(body: Any) -> str:
    """What a 2xx answer that is no JSON object was, in a few words (never its text). A body that
    is not JSON arrives as the start of its text (see ``HttpUpstream``)."""
    if isinstance(body, str):
        if not body.strip():
            return "an empty body"
        try:
            pydantic_core.from_json(body, allow_partial=True)
        except ValueError:
            return "a body that is not JSON"
        return "JSON that was cut off"
    return f"JSON that is {json_type_phrase(body)}, not an object"


# The fields of an answer's choice and message read beyond its text, and what each must be: a
# later model would otherwise refuse them and blame the caller's arguments.
_SHAPES: tuple[tuple[str, str, type, str], ...] = (
    ("choice", "finish_reason", str, "text"),
    ("message", "tool_calls", list, "an array of objects"),
    ("message", "reasoning", str, "text"),
    ("message", "annotations", list, "an array"),
    ("message", "images", list, "an array"),
)


def _check_shapes(choice: Mapping[str, Any], message: Mapping[str, Any], model: str) -> None:
    """Raise, naming the field, when the answer holds one of the wrong type."""
    for where, name, wanted_type, wanted in _SHAPES:
        value = (choice if where == "choice" else message).get(name)
        if value is None:
            continue
        if not isinstance(value, wanted_type):
            got = json_type_phrase(value)
        elif name == "tool_calls" and not all(isinstance(call, dict) for call in message[name]):
            got = "an array holding something other than objects"
        else:
            continue
        raise GatewiseError(ErrorCode.UPSTREAM_ERROR,
                            f"{model} returned a malformed answer: its {where}.{name} was {got}, not "
                            f"{wanted}; the answer was dropped.")


def _check_answered(choice: Mapping[str, Any], message: Mapping[str, Any], model: str) -> None:
    """Raise unless the choice is a whole answer: text, a tool call or an image. Whatever else came
    back is a failed attempt, so the route moves on to its next model and nothing is cached: a
    provider that broke off (``finish_reason`` "error", or a choice ``error``) leaves a partial
    answer; an answer with no text is no answer, whatever its ``finish_reason`` says."""
    finish = choice.get("finish_reason")
    error = choice.get("error")
    if error or finish == "error":
        said = error.get("message") if isinstance(error, dict) else error
        raise GatewiseError(ErrorCode.UPSTREAM_ERROR,
                            f"{model} failed ({str(said or 'finish_reason error')[:300]}); any partial "
                            "answer was dropped")
    if _text(message.get("content")).strip() or message.get("tool_calls") or message.get("images"):
        return
    reasoning = message.get("reasoning")
    if reasoning or finish == "length":
        # The caller's max_tokens ran out before any answer, mostly on reasoning (shown or
        # hidden); a model that reasons less may still answer within it.
        raise GatewiseError(
            ErrorCode.UPSTREAM_ERROR,
            f"{model} spent its whole output budget{' on reasoning' if reasoning else ''} and "
            f"returned no answer (finish_reason {_finish(finish)})",
            hint="Raise max_tokens, or lower the reasoning effort.")
    if finish == "content_filter":
        raise GatewiseError(ErrorCode.CONTENT_POLICY,
                            f"{model}'s provider filtered the whole answer (finish_reason 'content_filter')")
    content = message.get("content")
    raise GatewiseError(ErrorCode.UPSTREAM_ERROR,
                        f"{model} returned no answer: its content was {_shape(content)}, with no tool "
                        f"call or image (finish_reason {_finish(finish)})")


def _finish(reason: str | None) -> str:
    """An upstream's finish_reason as an error may show it: quoted and cut short."""
    return "None" if reason is None else quoted(reason)


def _shape(content: Any) -> str:
    """How an answer's content failed to be text, in a few words (never the content itself)."""
    if content is None:
        return "null"
    if isinstance(content, str) or content == []:
        return "empty"
    if isinstance(content, list):
        return "a list with no text part"
    return f"{json_type_phrase(content)}, not text"


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _search_requests(usage: Mapping[str, Any], source: str) -> int:
    used = usage.get("server_tool_use") or usage.get("server_tool_use_details") or {}
    return (usage_count(used, "web_search_requests", source=source) or 0) if isinstance(used, dict) else 0


def _data(body: Any) -> dict[str, Any]:
    """The ``data`` object of an answer, as the API documents it."""
    data: dict[str, Any] = body.get("data", {})
    return data


class OpenRouterClient(HttpUpstream):
    """Chat (plain and streaming), catalogue, key, credits, generation and embeddings."""

    def __init__(self, settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None):
        key = settings.openrouter_api_key
        headers = {
            # Attribution on every call, as OpenRouter asks.
            "HTTP-Referer": settings.app_url,
            "X-OpenRouter-Title": settings.app_title,
            "X-Title": settings.app_title,
        }
        if key is not None:
            headers["Authorization"] = f"Bearer {key.get_secret_value()}"
        self.is_sandbox = settings.uses_sandbox
        self.name = "sandbox" if self.is_sandbox else "openrouter"
        base = settings.sandbox_url if settings.sandbox_url else settings.openrouter_base_url
        super().__init__(base, limits=settings.limits, headers=headers,
                         secrets=settings.secrets, transport=transport)

    async def chat(
        self,
        body: Mapping[str, Any],
        *,
        timeout_s: float | None = None,
        retries: int | None = None,
        retry_on: frozenset[int] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> ChatResult:
        reply = await self.request("POST", "/chat/completions", json=dict(body), headers=headers,
                                   timeout_s=timeout_s, retries=retries, retry_on=retry_on)
        return ChatResult.from_reply(reply, source=self.name)

    async def chat_stream(
        self, body: Mapping[str, Any], *, timeout_s: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Yield the chunks of a streamed completion; the last one carries ``usage``."""
        async for event in self.stream("/chat/completions", json={**body, "stream": True},
                                       headers=headers, timeout_s=timeout_s):
            yield scrub_data(event)  # streamed answers are scrubbed like whole ones

    async def list_models(self, output_modalities: str = "all", *, timeout_s: float | None = None
                          ) -> dict[str, Any]:
        reply = await self.request("GET", "/models", params={"output_modalities": output_modalities},
                                   timeout_s=timeout_s)
        models: dict[str, Any] = reply.body
        return models

    async def key_info(self) -> dict[str, Any]:
        return _data((await self.request("GET", "/key")).body)

    async def credits(self) -> dict[str, Any]:
        return _data((await self.request("GET", "/credits")).body)

    async def generation(self, generation_id: str) -> dict[str, Any]:
        reply = await self.request("GET", "/generation", params={"id": generation_id})
        return _data(reply.body)

    async def embeddings(self, model: str, texts: list[str], dimensions: int | None = None
                         ) -> tuple[list[list[float]], dict[str, Any]]:
        body: dict[str, Any] = {"model": model, "input": texts}
        if dimensions:
            body["dimensions"] = dimensions
        reply = await self.request("POST", "/embeddings", json=body)
        rows = sorted(reply.body.get("data", []), key=lambda row: row.get("index", 0))
        return [row["embedding"] for row in rows], reply.body.get("usage", {})
