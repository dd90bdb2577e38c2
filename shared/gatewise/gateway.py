"""The request path of ``routed_complete``, top to bottom in one place.

validate → analyse → plan route → call upstream with fallback → ledger → result with the route
explained. Guardrails, caches and budgets slot in as further stages between these.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import replace
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from gatewise.bounds import USD, FiniteJSON, Seconds, Temperature, Tokens
from gatewise.cache import CacheHit, cache_key, should_store
from gatewise.cache import CacheStatus as LookupStatus
from gatewise.catalog import PORTKEY_PREFIX, Catalog
from gatewise.config import TaskType
from gatewise.errors import ErrorCode, GatewiseError
from gatewise.ledger import CacheStatus, CallRecord
from gatewise.ledger.budget_store import Reservation
from gatewise.ledger.budgets import budget_scopes
from gatewise.multimodal.images import load_image
from gatewise.routing.analyze import CHARS_PER_TOKEN, analyze, message_text
from gatewise.routing.engine import FallbackExecutor, RouteOutcome
from gatewise.routing.health import HealthTracker
from gatewise.routing.policy import HybridPolicy, ResolvedRouting, RoutePlan, RouteRequest, resolve_routing
from gatewise.routing.portkey_config import parse_portkey_config
from gatewise.routing.portkey_route import PortkeyPolicy
from gatewise.runtime import Runtime
from gatewise.search.citations import Citation, from_annotations
from gatewise.search.forms import SearchOptions
from gatewise.search.pricing import TOKENS_PER_RESULT, search_fee
from gatewise.upstream.openrouter import ChatResult

SERVER_NAME = "routing-gateway"
PROJECT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$"


class ChatMessage(BaseModel):
    role: Literal["system", "developer", "user", "assistant"]
    content: Annotated[str | list[dict[str, Any]], FiniteJSON] = Field(
        description="Text, or OpenAI-style content parts ({type: text|image_url, ...}).")


class CompletionRequest(BaseModel):
    prompt: str | None = Field(None, description="The user's request as plain text.")
    messages: list[ChatMessage] | None = Field(
        None, description="A chat history instead of `prompt` (OpenAI message format).")
    system: str | None = Field(None, description="Optional system instruction, used with `prompt`.")
    task: TaskType | None = Field(None, description="Skip task detection and route as this task.")
    model: str | None = Field(
        None, description="Force this model first (catalogue id or short name); fallbacks still apply.")
    max_cost_usd: USD | None = Field(
        None, description="Models whose estimated cost exceeds this many USD are skipped.")
    max_tokens: Tokens | None = Field(None, description="Cap on answer tokens.")
    temperature: Temperature | None = None
    project: Annotated[str, Field(pattern=PROJECT_PATTERN)] | None = Field(
        None, description="Tag for analytics and budgets, e.g. 'billing-bot'.")
    metadata: Annotated[dict[str, str], Field(max_length=16)] | None = Field(
        None, description="Key/value pairs that conditional routing rules can match on.")
    images: Annotated[list[str], Field(max_length=16)] | None = Field(
        None, description="Images for the request: local paths (under media.allowed_roots), "
                          "http(s) URLs or data: URLs; attached to the last user message.")
    no_cache: bool = Field(False, description="Neither read nor store the response cache.")
    force_refresh: bool = Field(False, description="Skip a cached answer and store the fresh one.")
    max_age_s: Seconds | None = Field(
        None, description="Accept a cached answer only if it is at most this old (seconds).")
    web_search: bool | None = Field(
        None, description="true: answer from a live web search, with citations; false: never search; "
                          "empty: search when the query needs fresh information.")

    @model_validator(mode="after")
    def _one_input(self) -> CompletionRequest:
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("give exactly one of `prompt` or `messages`")
        if self.prompt is not None and not self.prompt.strip():
            raise ValueError("`prompt` is empty")
        if self.messages is not None and not self.messages:
            raise ValueError("`messages` is empty")
        return self

    def chat_messages(self) -> list[dict[str, Any]]:
        """The chat messages, with `images` as image parts of the last user message."""
        if self.messages is not None:
            messages = [m.model_dump() for m in self.messages]
        else:
            head = [{"role": "system", "content": self.system}] if self.system else []
            messages = [*head, {"role": "user", "content": self.prompt}]
        if self.images:
            last = next((m for m in reversed(messages) if m["role"] == "user"), None)
            if last is None:
                raise GatewiseError(ErrorCode.INVALID_INPUT, "`images` need a user message to attach to")
            text = last["content"]
            parts = [{"type": "text", "text": text}] if isinstance(text, str) else list(text)
            last["content"] = parts + [{"type": "image_url", "image_url": {"url": src}}
                                       for src in self.images]
        return messages


class AttemptInfo(BaseModel):
    model: str
    provider: str
    status: Literal["ok", "error"]
    latency_ms: float
    error_code: str | None = None
    error: str | None = None


class SkippedModel(BaseModel):
    model: str
    reason: str


class RouteInfo(BaseModel):
    task: TaskType
    complexity: float = Field(description="0 = trivial … 1 = hard")
    language: str
    modalities: list[str]
    needs_web: bool
    web_search: bool = Field(False, description="Answered (or would be) through a live web search")
    est_tokens_in: int
    reason: str = Field(description="Why the answering model was chosen")
    candidates: list[str] = Field(description="Models in the order they would be tried")
    skipped: list[SkippedModel]


class CompletionResult(BaseModel):
    answer: str
    model: str = Field(description="The model that answered")
    provider: str = Field(description="'openrouter' or 'portkey'; 'sandbox…' for the local stand-in")
    route: RouteInfo
    attempts: list[AttemptInfo]
    fallback_used: bool
    tokens_in: int
    tokens_out: int
    cost_usd: float
    latency_ms: float
    finish_reason: str | None
    cache_status: str = Field(description="miss, or hit_exact / hit_semantic from an upstream cache")
    citations: list[Citation] = Field(default_factory=list, description="Web sources, when searched")
    request_id: str
    warnings: list[str] = Field(default_factory=list)


class RoutingGateway:
    """One object per server process; :meth:`complete` is the whole request path."""

    def __init__(self, runtime: Runtime, routing: ResolvedRouting) -> None:
        self.runtime = runtime
        self.routing = routing
        self.health = HealthTracker(runtime.settings.routing.health, provider=runtime.provider)
        self.policy = HybridPolicy(routing, runtime.catalog, self.health)
        config = runtime.settings.routing.config
        self.portkey = PortkeyPolicy(parse_portkey_config(config), self.policy) if config else None
        self.executor = FallbackExecutor(runtime.client, runtime.portkey, self.health,
                                         deadline_s=runtime.settings.limits.deadline_s)
        # The same route, searching the web: server tool first, web plugin where it is refused.
        self.web_executor = FallbackExecutor(runtime.web, runtime.portkey, self.health,
                                             deadline_s=runtime.settings.limits.deadline_s)
        search = runtime.settings.search
        self.search_options = SearchOptions(max_results=search.max_results, max_uses=search.max_uses,
                                            engine=search.engine)

    @classmethod
    def from_runtime(cls, runtime: Runtime) -> RoutingGateway:
        settings = runtime.settings
        routing = resolve_routing(settings.routing, runtime.catalog,
                                  allow_unlisted=settings.allow_unlisted_models)
        return cls(runtime, routing)

    @property
    def catalog(self) -> Catalog:
        return self.runtime.catalog

    def validate(self, request: CompletionRequest) -> list[dict[str, Any]]:
        limits = self.runtime.settings.limits
        messages = request.chat_messages()
        if len(messages) > limits.max_messages:
            raise GatewiseError(ErrorCode.TOO_LARGE,
                                f"{len(messages)} messages exceed the limit of {limits.max_messages}")
        size = len(message_text(messages)[0])  # images are capped by the media limits instead
        if size > limits.max_prompt_chars:
            raise GatewiseError(
                ErrorCode.TOO_LARGE,
                f"the prompt has {size:,} characters; the limit is {limits.max_prompt_chars:,}")
        if request.max_tokens is not None and request.max_tokens > limits.max_output_tokens:
            raise GatewiseError(
                ErrorCode.INVALID_INPUT,
                f"max_tokens {request.max_tokens} exceeds the limit of {limits.max_output_tokens}")
        return messages

    def plan(self, request: CompletionRequest, messages: list[dict[str, Any]]) -> RoutePlan:
        forced = None
        if request.model:
            forced = self.catalog.require(request.model,
                                          allow_unlisted=self.runtime.settings.allow_unlisted_models)
        profile = analyze(messages, request.task)
        route_request = RouteRequest(forced, request.max_cost_usd, request.max_tokens)
        if self.portkey is None:
            plan = self.policy.plan(profile, route_request)
        else:
            metadata = {"task": profile.task.value, "project": request.project or "",
                        **(request.metadata or {})}
            params = request.model_dump(include={"model", "max_tokens", "temperature", "task"},
                                        exclude_none=True, mode="json")
            plan = self.portkey.plan(profile, route_request, metadata=metadata, params=params)
        auto = profile.needs_web and self.runtime.settings.search.gateway_auto
        wanted = auto if request.web_search is None else request.web_search
        return web_route(plan) if wanted else plan

    def explain(self, request: CompletionRequest) -> RouteInfo:
        """The route :meth:`complete` would take, without calling any model."""
        plan = self.plan(request, self.validate(request))
        return _route_info(plan, plan.chosen.reason)

    def _worst_search(self, model: str) -> float:
        """Upper bound of what searching adds to one call: every search's fee and results read."""
        options = self.search_options
        prices = self.catalog.price_of(model)
        read = options.max_results * TOKENS_PER_RESULT * prices[0] if prices else 0.0
        fee = search_fee(model, options.engine, results=options.max_results, context_size="high")
        return options.max_uses * (fee + read)

    async def complete(self, request: CompletionRequest) -> CompletionResult:
        started = time.perf_counter()
        request_id = uuid.uuid4().hex
        messages = await self._prepare_images(self.validate(request))
        max_tokens = request.max_tokens or self.runtime.settings.limits.default_max_tokens
        key = cache_key(SERVER_NAME, {"messages": messages, "task": request.task, "model": request.model,
                                      "max_tokens": max_tokens, "temperature": request.temperature,
                                      "metadata": request.metadata, "web_search": request.web_search})
        cache_status, hit = await self._lookup(key, request)
        if hit is not None:
            return await self._from_cache(hit, request, request_id, started)
        plan = self.plan(request, messages)
        body: dict[str, Any] = {"messages": messages, "max_tokens": max_tokens}
        if request.temperature is not None:
            body["temperature"] = request.temperature
        executor = self.executor
        if plan.web_search:
            body["tools"] = [self.search_options.server_tool()]
            executor = self.web_executor
        plan, reservation = await self._reserve(plan, request, request_id, max_tokens)
        try:
            outcome = await executor.run(plan, body, portkey_headers=portkey_headers(
                request, plan, request_id))
        except BaseException:
            await self.runtime.budgets.release(reservation)
            raise
        rows = self._ledger_rows(plan, outcome, request, request_id)
        budgets = self.runtime.budgets
        settle = (budgets.commit(reservation, sum(r.cost_usd for r in rows)) if outcome.result
                  else budgets.release(reservation))
        # Two files' worth of work on two threads: the ledger row and the budget settle overlap.
        _, settled = await asyncio.gather(self.runtime.ledger.record_many(rows), settle)
        if outcome.result is None:
            raise _all_failed(outcome)
        result = self._result(plan, outcome, request_id, started, cost_usd=rows[-1].cost_usd)
        result.warnings += [*reservation.warnings, *settled.warnings]
        cache = self.runtime.exact_cache
        if cache is not None and should_store(cache_status):
            await cache.put(key, result.model_dump(mode="json"))
        return result

    async def _prepare_images(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Every image part goes through the media pipeline: read safely, checked, sized, inlined."""
        media = self.runtime.settings.media
        index = 0
        for message in messages:
            if not isinstance(message["content"], list):
                continue
            for part in message["content"]:
                if part.get("type") == "image_url":
                    url = (part.get("image_url") or {}).get("url", "")
                    loaded = await load_image(str(url), media, index)
                    part["image_url"] = {**part["image_url"], "url": loaded.image.as_data_url()}
                    index += 1
        return messages

    async def _lookup(self, key: str, request: CompletionRequest) -> tuple[LookupStatus, CacheHit | None]:
        cache = self.runtime.exact_cache
        if cache is None:
            return "BYPASS", None
        return await cache.lookup(key, no_cache=request.no_cache, force_refresh=request.force_refresh,
                                  max_age_s=request.max_age_s)

    async def _from_cache(self, hit: CacheHit, request: CompletionRequest, request_id: str,
                          started: float) -> CompletionResult:
        """A stored answer: free, recorded in the ledger as a cache hit, said to be one."""
        result = CompletionResult.model_validate(hit.value)
        result.cost_usd, result.cache_status, result.attempts = 0.0, "hit_exact", []
        result.fallback_used, result.request_id = False, request_id
        result.latency_ms = round((time.perf_counter() - started) * 1000, 2)
        result.warnings = [f"answered from the response cache (stored {hit.age_s:.0f}s ago)"]
        await self.runtime.ledger.record(CallRecord(
            server=SERVER_NAME, tool="routed_complete", provider=result.provider, model=result.model,
            tokens_in=result.tokens_in, tokens_out=result.tokens_out, cost_usd=0.0,
            latency_ms=result.latency_ms, status="ok", cache_status="hit_exact",
            route_reason="response cache", project=request.project, request_id=request_id,
            attempt=0, task=result.route.task.value))
        return result

    def _worst_case(self, model: str, plan: RoutePlan, max_tokens: int) -> float:
        """Upper bound of one call's cost: a token is at least a character, answers stop at max_tokens."""
        prices = self.catalog.price_of(model)
        if prices is None:
            return 0.0
        search = self._worst_search(model) if plan.web_search else 0.0
        return plan.profile.est_tokens_in * CHARS_PER_TOKEN * prices[0] + max_tokens * prices[1] + search

    async def _reserve(self, plan: RoutePlan, request: CompletionRequest, request_id: str,
                       max_tokens: int) -> tuple[RoutePlan, Reservation]:
        """Hold the worst case of any model the route may reach; downgrade if a budget says so."""
        scopes = budget_scopes(request.project)
        worst = max(self._worst_case(c.model, plan, max_tokens) for c in plan.candidates)
        reservation = await self.runtime.budgets.reserve(scopes, worst, request_id)
        if reservation.verdict != "downgrade":
            return plan, reservation
        headroom = reservation.headroom_usd or 0.0
        pick = self.policy.cheapest(
            plan.profile, RouteRequest(max_tokens=max_tokens), headroom,
            f"downgraded to fit the budget (${headroom:.6f} left)")
        if pick is not None and self._worst_case(pick.model, plan, max_tokens) <= headroom:
            downgraded = RoutePlan(plan.profile, [pick],
                                   plan.skipped + [(c.model, "over the remaining budget")
                                                   for c in plan.candidates], web_search=plan.web_search)
            reservation = await self.runtime.budgets.reserve(
                scopes, self._worst_case(pick.model, plan, max_tokens), request_id)
            if reservation.verdict != "downgrade":
                return downgraded, reservation
        raise GatewiseError(ErrorCode.BUDGET_EXCEEDED,
                            f"no model fits the remaining budget (${headroom:.6f}); "
                            + "; ".join(reservation.warnings))

    def _ledger_rows(self, plan: RoutePlan, outcome: RouteOutcome, request: CompletionRequest,
                     request_id: str) -> list[CallRecord]:
        rows = []
        reasons = {c.model: c.reason for c in plan.candidates}
        for index, attempt in enumerate(outcome.attempts):
            result = attempt.result
            tokens_in = result.tokens_in if result else 0
            tokens_out = result.tokens_out if result else 0
            cache = upstream_cache(result)
            cost = 0.0 if result is None or cache != "miss" else self.catalog.cost_of(
                attempt.model, tokens_in, tokens_out, result.cost_usd)
            rows.append(CallRecord(
                server=SERVER_NAME, tool="routed_complete", provider=attempt.provider,
                model=attempt.model, tokens_in=tokens_in, tokens_out=tokens_out, cost_usd=cost,
                latency_ms=attempt.latency_ms, status=attempt.status, error_code=attempt.error_code,
                cache_status=cache, route_reason=reasons.get(attempt.model, ""),
                project=request.project, request_id=request_id, attempt=index,
                task=plan.profile.task.value,
            ))
        return rows

    def _result(self, plan: RoutePlan, outcome: RouteOutcome, request_id: str,
                started: float, *, cost_usd: float) -> CompletionResult:
        result = outcome.result
        assert result is not None
        answered = outcome.attempts[-1].model
        reason = next(c.reason for c in plan.candidates if c.model == answered)
        if len(outcome.attempts) > 1:
            failed = ", ".join(f"{a.model} ({a.error_code})" for a in outcome.attempts[:-1])
            reason += f"; fell back after {failed}"
        if result.web_search:
            reason += f"; searched the web ({result.web_search.replace('_', ' ')})"
        return CompletionResult(
            answer=result.content,
            model=result.model or answered,
            provider=outcome.attempts[-1].provider,
            route=_route_info(plan, reason),
            attempts=[AttemptInfo(model=a.model, provider=a.provider, status=a.status,
                                  latency_ms=round(a.latency_ms, 2),
                                  error_code=a.error_code, error=a.error) for a in outcome.attempts],
            fallback_used=len(outcome.attempts) > 1,
            tokens_in=result.tokens_in,
            tokens_out=result.tokens_out,
            cost_usd=cost_usd,
            cache_status=upstream_cache(result),
            citations=from_annotations(result.content, result.annotations) if plan.web_search else [],
            latency_ms=round((time.perf_counter() - started) * 1000, 2),
            finish_reason=result.finish_reason,
            request_id=request_id,
            warnings=list(self.routing.warnings),
        )


def web_route(plan: RoutePlan) -> RoutePlan:
    """The plan answering through web search: OpenRouter's server tool, so Portkey targets step aside."""
    direct = [c for c in plan.candidates if not c.model.startswith(PORTKEY_PREFIX)]
    if not direct:
        return plan  # only Portkey targets: answered without the web (route.web_search stays false)
    skipped = [(c.model, "web search runs on OpenRouter, not through Portkey")
               for c in plan.candidates if c not in direct]
    return replace(plan, candidates=direct, skipped=plan.skipped + skipped, web_search=True)


def portkey_headers(request: CompletionRequest, plan: RoutePlan, request_id: str) -> dict[str, str]:
    """What Portkey's logs and conditional routing see of a call routed through it."""
    metadata = {"task": plan.profile.task.value, **({"project": request.project} if request.project else {}),
                **(request.metadata or {})}
    return {"x-portkey-metadata": json.dumps(metadata, separators=(",", ":")),
            "x-portkey-trace-id": request_id}


def upstream_cache(result: ChatResult | None) -> CacheStatus:
    """A cache hit reported by the upstream (Portkey's x-portkey-cache-status), in ledger terms."""
    status = getattr(result, "cache_status", None)
    return {"HIT": "hit_exact", "SEMANTIC HIT": "hit_semantic"}.get(status or "", "miss")


def _route_info(plan: RoutePlan, reason: str) -> RouteInfo:
    profile = plan.profile
    return RouteInfo(
        task=profile.task, complexity=profile.complexity, language=profile.language,
        modalities=list(profile.modalities), needs_web=profile.needs_web, web_search=plan.web_search,
        est_tokens_in=profile.est_tokens_in, reason=reason,
        candidates=[c.model for c in plan.candidates],
        skipped=[SkippedModel(model=m, reason=r) for m, r in plan.skipped],
    )


def _all_failed(outcome: RouteOutcome) -> GatewiseError:
    last = outcome.error or GatewiseError(ErrorCode.UPSTREAM_ERROR, "no model was tried")
    tried = "; ".join(f"{a.model}: {a.error_code}" for a in outcome.attempts) or "none"
    return GatewiseError(last.code, f"every model in the route failed ({tried}). Last: {last.message}",
                         hint=last.hint, retry_after=last.retry_after)
