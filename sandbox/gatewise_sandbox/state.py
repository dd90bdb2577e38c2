"""The sandbox's configuration and everything it remembers between requests."""

from __future__ import annotations

import asyncio
import json
import threading
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gatewise.catalog import Catalog, ModelInfo, snapshot_json, strip_variant
from gatewise_sandbox.answers import content_text
from gatewise_sandbox.faults import Fault, FaultBook, FaultRule
from gatewise_sandbox.portkey.state import PortkeyState
from gatewise_sandbox.tamper import Tamper
from gatewise_sandbox.wire import Generation, dumps

MAX_RECEIVED = 64  # chat requests remembered for /_sandbox/received
MAX_RECEIVED_MESSAGES = 32  # the last ones of each request
MAX_RECEIVED_CHARS = 4000  # of each message's text
MAX_ROLE_CHARS = 32  # the Portkey stand-in does not check roles
MAX_MODEL_CHARS = 128  # a refused request's model is kept as it was sent


@dataclass(frozen=True)
class SandboxConfig:
    """Start-up settings. ``faults`` maps a model id (or ``"*"``) to its misbehaviour."""

    faults: Mapping[str, FaultRule] = field(default_factory=dict)
    seed: int = 0
    base_latency_ms: float = 0.0
    timeout_s: float = 300.0  # how long a "timeout" fault hangs: longer than any client waits
    keepalive_s: float = 1.0  # gap between `: OPENROUTER PROCESSING` lines while a stream waits
    max_generations: int = 10_000
    total_credits: float = 100.0
    default_model: str = "openai/gpt-4o-mini"  # used when a request names no model
    catalog_payload: Mapping[str, Any] | None = None  # a /models answer; default: the snapshot


@dataclass
class ModelStats:
    requests: int = 0
    ok: int = 0
    errors: int = 0
    timeouts: int = 0
    mid_stream_errors: int = 0
    statuses: dict[str, int] = field(default_factory=dict)

    @property
    def injected(self) -> int:
        return self.errors + self.timeouts + self.mid_stream_errors


class SandboxState:
    """Catalogue, fault rules, counters and stored generations of one running sandbox."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        payload = dict(self.config.catalog_payload or snapshot_json())
        self.items: list[dict[str, Any]] = [_complete_item(i) for i in payload.get("data", [])]
        self.catalog = Catalog.from_openrouter_json({"data": self.items}, "sandbox")
        self.faults = FaultBook(self.config.faults, self.config.seed)
        self._models_cache: dict[tuple[str, str], bytes] = {}
        self._lock = threading.Lock()
        self._stats: dict[str, ModelStats] = {}
        self._generations: OrderedDict[str, Generation] = OrderedDict()
        self.total_usage = 0.0
        self.portkey = PortkeyState(self.config.seed)  # the Admin API stand-in under /v1
        self.portkey_cache: dict[str, Any] = {}  # Portkey data-plane simple cache, by request hash
        self.server_tool_rejections: frozenset[str] = frozenset()  # model ids, or "*"
        self.tamper = Tamper()  # content added to every chat answer
        # The text of the latest chat requests, so tests can see what a gateway sent on.
        self.received: deque[dict[str, Any]] = deque(maxlen=MAX_RECEIVED)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing: asyncio.Event | None = None

    # -- catalogue -------------------------------------------------------------------------

    def model(self, model_id: str) -> ModelInfo | None:
        return self.catalog.models.get(strip_variant(model_id))

    def models_body(self, output_modalities: str, input_modalities: str) -> bytes:
        """The ``/models`` answer for one filter, built once and then served from memory."""
        key = (output_modalities, input_modalities)
        cached = self._models_cache.get(key)
        if cached is None:
            wanted_out = {m.strip() for m in output_modalities.split(",") if m.strip()}
            wanted_in = {m.strip() for m in input_modalities.split(",") if m.strip()}
            data = [item for item in self.items if _matches(item, wanted_out, wanted_in)]
            cached = dumps({"data": data, "total_count": len(data), "links": {"next": None}})
            if len(self._models_cache) < 256:  # filters come from clients: keep the cache bounded
                self._models_cache[key] = cached
        return cached

    # -- web search ------------------------------------------------------------------------

    def reject_server_tool(self, models: list[str]) -> None:
        """Make the listed models (``"*"``: every model) refuse the web search server tool."""
        self.server_tool_rejections = frozenset(strip_variant(m.strip()) for m in models)

    def rejects_server_tool(self, model_id: str) -> bool:
        return bool({"*", strip_variant(model_id)} & self.server_tool_rejections)

    # -- faults and counters ---------------------------------------------------------------

    def fault_for(self, model: str, forced: Fault | None) -> Fault:
        fault = forced if forced is not None else self.faults.decide(model)
        with self._lock:
            stats = self._stats.setdefault(model, ModelStats())
            stats.requests += 1
            if fault.kind == "error":
                stats.errors += 1
                stats.statuses[str(fault.status)] = stats.statuses.get(str(fault.status), 0) + 1
            elif fault.kind == "timeout":
                stats.timeouts += 1
            elif fault.kind == "mid_stream":
                stats.mid_stream_errors += 1
            else:
                stats.ok += 1
        return fault

    def receive(self, model: str, messages: Any) -> None:
        """Keep the roles and texts (each cut at ``MAX_RECEIVED_CHARS``) of the last
        ``MAX_RECEIVED_MESSAGES`` messages of one chat request, as sent, with the other message
        fields the chat format names where given (``name``, ``tool_call_id``, ``tool_calls``): a
        request refused as malformed is kept too, so a client can be shown to have sent nothing."""
        listed = messages[-MAX_RECEIVED_MESSAGES:] if isinstance(messages, list) else []
        texts = [{"role": str(m.get("role"))[:MAX_ROLE_CHARS],
                  "text": content_text(m.get("content"))[0][:MAX_RECEIVED_CHARS], **_named_fields(m)}
                 for m in listed if isinstance(m, dict)]
        with self._lock:
            self.received.append({"model": model[:MAX_MODEL_CHARS], "messages": texts})

    def received_requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.received)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            models: dict[str, dict[str, Any]] = {
                name: {"requests": s.requests, "ok": s.ok, "injected": s.injected, "errors": s.errors,
                       "timeouts": s.timeouts, "mid_stream_errors": s.mid_stream_errors,
                       "statuses": dict(s.statuses)}
                for name, s in sorted(self._stats.items())}
            totals = {key: sum(m[key] for m in models.values())
                      for key in ("requests", "ok", "injected", "errors", "timeouts",
                                  "mid_stream_errors")}
            return {"models": models, "totals": totals, "generations": len(self._generations),
                    "total_usage": self.total_usage}

    def reset(self, seed: int | None = None) -> None:
        """Forget counters, fault rules, search rejections, tampering and generations; restart the random
        sequence; reseed the Portkey Admin API stand-in."""
        self.faults.clear()
        self.faults.reseed(seed)
        self.server_tool_rejections = frozenset()
        self.tamper = Tamper()
        self.portkey.reset(seed)
        self.portkey_cache.clear()
        with self._lock:
            self._stats.clear()
            self._generations.clear()
            self.total_usage = 0.0
            self.received.clear()

    # -- generations -----------------------------------------------------------------------

    def remember(self, generation: Generation) -> None:
        with self._lock:
            self._generations[generation.id] = generation
            self.total_usage += generation.usage.cost
            while len(self._generations) > self.config.max_generations:
                self._generations.popitem(last=False)

    def generation(self, gen_id: str) -> Generation | None:
        with self._lock:
            return self._generations.get(gen_id)

    # -- shutdown --------------------------------------------------------------------------

    def attach(self) -> None:
        """Bind to the serving event loop (called at start-up, inside that loop)."""
        self._loop = asyncio.get_running_loop()
        self._closing = asyncio.Event()

    def close(self) -> None:
        """Release every waiting request now; callable from any thread."""
        loop, closing = self._loop, self._closing
        if loop is not None and closing is not None and not loop.is_closed():
            loop.call_soon_threadsafe(closing.set)

    @property
    def closing(self) -> bool:
        return self._closing is not None and self._closing.is_set()

    async def pause(self, seconds: float, disconnected: Callable[[], Awaitable[Any]] | None = None
                    ) -> bool:
        """Sleep, but wake early when the client goes away or the server stops.

        Returns True when the full time passed.
        """
        if seconds <= 0:
            return True
        waiters: list[asyncio.Future[Any]] = [asyncio.ensure_future(asyncio.sleep(seconds))]
        if self._closing is not None:
            waiters.append(asyncio.ensure_future(self._closing.wait()))
        if disconnected is not None:
            waiters.append(asyncio.ensure_future(disconnected()))
        try:
            done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        return waiters[0] in done


def _matches(item: dict[str, Any], wanted_out: set[str], wanted_in: set[str]) -> bool:
    arch = item.get("architecture") or {}
    outputs = set(arch.get("output_modalities") or ("text",))
    if wanted_out and "all" not in wanted_out and not wanted_out & outputs:
        return False
    return not wanted_in or wanted_in <= set(arch.get("input_modalities") or ("text",))


# The spec's vocabularies for `architecture.tokenizer` and `supported_parameters`; the bundled
# snapshot names tokenizers by vendor, so those are mapped to the spec's family names.
_TOKENIZERS = frozenset({"Router", "Media", "Other", "GPT", "Claude", "Gemini", "Gemma", "Grok",
                         "Cohere", "Nova", "Qwen", "Yi", "DeepSeek", "Mistral", "Llama2", "Llama3",
                         "Llama4", "PaLM", "RWKV", "Qwen3"})
_TOKENIZER_BY_VENDOR = {"anthropic": "Claude", "openai": "GPT", "google": "Gemini",
                        "deepseek": "DeepSeek", "qwen": "Qwen3", "meta-llama": "Llama3",
                        "mistralai": "Mistral", "x-ai": "Grok", "cohere": "Cohere"}
_PARAMETERS = frozenset({
    "temperature", "top_p", "top_k", "min_p", "top_a", "frequency_penalty", "presence_penalty",
    "repetition_penalty", "max_tokens", "max_completion_tokens", "logit_bias", "logprobs",
    "top_logprobs", "prediction", "seed", "response_format", "structured_outputs", "stop",
    "tools", "tool_choice", "parallel_tool_calls", "include_reasoning", "reasoning",
    "reasoning_effort", "web_search_options", "verbosity",
})


def _complete_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """Fill the fields the public spec requires that the bundled snapshot leaves out, and keep
    enumerated fields inside the spec's vocabularies."""
    out = dict(item)
    model_id = str(out.get("id", ""))
    arch = dict(out.get("architecture") or {})
    if arch.get("tokenizer") not in _TOKENIZERS:
        arch["tokenizer"] = _TOKENIZER_BY_VENDOR.get(model_id.split("/", 1)[0], "Other")
    arch.setdefault("modality", None)
    arch.setdefault("input_modalities", ["text"])
    arch.setdefault("output_modalities", ["text"])
    out["architecture"] = arch
    out["supported_parameters"] = [p for p in out.get("supported_parameters") or []
                                   if p in _PARAMETERS]
    out.setdefault("canonical_slug", model_id)
    out.setdefault("description", f"{out.get('name', model_id)}, served by the gatewise sandbox.")
    out.setdefault("per_request_limits", None)
    out.setdefault("default_parameters", None)
    out.setdefault("supported_voices", None)
    out.setdefault("links", {"details": f"/api/v1/models/{model_id}/endpoints"})
    top = dict(out.get("top_provider") or {})
    top.setdefault("context_length", out.get("context_length"))
    top.setdefault("max_completion_tokens", None)
    top.setdefault("is_moderated", False)
    out["top_provider"] = top
    return out


def _named_fields(message: dict[str, Any]) -> dict[str, Any]:
    """A message's fields besides role and content, as received (their text cut at
    ``MAX_RECEIVED_CHARS``)."""
    kept: dict[str, Any] = {
        key: str(message[key])[:MAX_RECEIVED_CHARS] for key in ("name", "tool_call_id") if key in message}
    if "tool_calls" in message:
        kept["tool_calls"] = json.dumps(message["tool_calls"])[:MAX_RECEIVED_CHARS]
    return kept
