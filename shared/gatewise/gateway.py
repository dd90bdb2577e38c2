"""``routed_complete``: the request model, the route plan, and the result with the route explained.

The call itself goes down the shared pipeline (:mod:`gatewise.pipeline`): validate → images →
ledger → guardrails → caches → plan the route → budget hold → upstream with fallback. This
module supplies the routed parts: the plan (task table or Portkey config, web search) and the
result.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from gatewise.bounds import USD, Seconds, Temperature, Tokens
from gatewise.caller import call_project
from gatewise.catalog import PORTKEY_PREFIX, Catalog
from gatewise.config import PROJECT_PATTERN, TaskType
from gatewise.errors import ErrorCode, GatewiseError
from gatewise.multimodal.images import load_images
from gatewise.pipeline import (
    CachePolicy,
    CacheStatusField,
    Call,
    Pipeline,
    SemanticMatchField,
    SemanticPolicy,
    check_request,
)
from gatewise.pipeline.guarding import GroundingScoreField, answer_notes, source_warnings
from gatewise.routing.analyze import analyze
from gatewise.routing.budget import BudgetFit, web_route
from gatewise.routing.difficulty_cues import NON_ROUTINE_FLOOR, ROUTINE_CAP
from gatewise.routing.engine import FallbackExecutor
from gatewise.routing.health import HealthTracker
from gatewise.routing.policy import HybridPolicy, ResolvedRouting, RoutePlan, RouteRequest, resolve_routing
from gatewise.routing.portkey_config import parse_portkey_config
from gatewise.routing.portkey_route import PortkeyPolicy
from gatewise.routing.sticky import StickyRoutes, conversation_key
from gatewise.runtime import Runtime
from gatewise.search.citations import Citation, from_annotations, unusable_warning
from gatewise.search.forms import SearchOptions
from gatewise.strict_types import StringMap
from gatewise.upstream.chat import ContentPart, Message, image_url_of, is_image
from gatewise.upstream.chat_input import ChatMessage

SERVER_NAME = "routing-gateway"
CONVERSATION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$"


class CompletionRequest(BaseModel):
    """The arguments of ``routed_complete`` (and, less the generation and cache controls, of
    ``explain_route``): the tools declare exactly these fields, with these descriptions."""

    prompt: str | None = Field(None, description="The request as plain text (or use `messages`).")
    messages: list[ChatMessage] | None = Field(
        None, description="Chat history in OpenAI format instead of `prompt`; content may hold image parts.")
    images: Annotated[list[str], Field(max_length=16)] | None = Field(
        None, description="Images: local paths (under the configured media roots), http(s) URLs or data: "
                          "URLs. They are checked, resized when large, and sent to a vision-capable model.")
    system: str | None = Field(None, description="Optional system instruction used with `prompt`.")
    task: TaskType | None = Field(None, description="Route as this task instead of detecting it.")
    model: str | None = Field(
        None, description="Try this model first (e.g. 'anthropic/claude-haiku-4.5'); fallbacks still apply.")
    max_cost_usd: USD | None = Field(None, description="Skip models estimated to cost more (USD).")
    max_tokens: Tokens | None = Field(None, description="Cap on answer length in tokens.")
    temperature: Temperature | None = Field(None, description="Sampling temperature, 0–2.")
    project: Annotated[str, Field(pattern=PROJECT_PATTERN)] | None = Field(
        None, description="Tag for analytics and budgets, e.g. 'support-bot'.")
    metadata: Annotated[StringMap, Field(max_length=16)] | None = Field(
        None, description="Up to 16 {key, value} pairs for conditional routing rules (metadata.<key>).")
    conversation_id: Annotated[str, Field(pattern=CONVERSATION_PATTERN)] | None = Field(
        None, description=(
            "Names the conversation (1-128 letters, digits, _ . : -) so every turn keeps the model that "
            "answered it, unless that model fails or a turn needs a higher tier. Without it a "
            "conversation is recognised by its earlier user turns."))
    no_cache: bool = Field(False, description="Neither read nor store the response cache.")
    force_refresh: bool = Field(False, description="Skip a cached answer; store the fresh one.")
    max_age_s: Seconds | None = Field(
        None, description="Accept a cached answer only if at most this many seconds old.")
    cache_sampled: bool = Field(False, description=(
        "With temperature > 0, still use the caches: a stored answer to the same request, or to a "
        "question that means the same, may be served, and the fresh one is stored (off: such calls "
        "always sample afresh and store nothing)."))
    web_search: bool | None = Field(None, description=(
        "true: answer from a live web search and return its citations (adds a search fee, about "
        "$0.005-0.012); false: never search; empty: search when the query asks for fresh information."))
    explain: bool = Field(False, description=(
        "Also return the whole route as explain_route gives it (language, token estimate, difficulty, "
        "candidates in order), every attempt, and why the semantic cache served nothing when it looked. "
        "Off: the route's task and reason, skipped models and the conversation when there are any, and "
        "the attempts when a fallback happened."))

    @model_validator(mode="after")
    def _one_input(self) -> CompletionRequest:
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("give exactly one of `prompt` or `messages`")
        if self.prompt is not None and not self.prompt.strip():
            raise ValueError("`prompt` is empty")
        if self.messages is not None and not self.messages:
            raise ValueError("`messages` is empty")
        return self

    def chat_messages(self) -> list[Message]:
        """The chat messages, with `images` as image parts of the last user message."""
        messages: list[Message]
        if self.messages is not None:
            # A caller's parts go on as written once the pipeline has checked them against the chat
            # format; gatewise itself reads only the text and image parts, found by their type.
            messages = [m.as_sent() for m in self.messages]
        else:
            messages = [{"role": "system", "content": self.system}] if self.system else []
            messages.append({"role": "user", "content": self.prompt})
        if self.images:
            last = next((m for m in reversed(messages) if m["role"] == "user"), None)
            if last is None:
                raise GatewiseError(ErrorCode.INVALID_INPUT, "`images` need a user message to attach to")
            text = last["content"]
            parts: list[ContentPart] = [{"type": "text", "text": text}] if isinstance(text, str) \
                else list(text or [])
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


class ConversationInfo(BaseModel):
    """How the conversation around the last message shaped the route."""

    user_turns: int
    established_task: TaskType | None = Field(None, description="The task the earlier turns set")
    inherited_task: bool = Field(False, description="The last message was a follow-up and kept that task")
    hardest_turns_ago: int | None = Field(None, description=(
        "The user turn that set the difficulty (0: the last); given with the route's complexity"))
    has_code: bool = False
    has_math: bool = False
    sticky_source: Literal["conversation_id", "history", "none"] = Field(
        "none", description="What names the conversation: the caller's id, its earlier turns, or nothing "
                            "(a first turn)")
    sticky: str | None = Field(None, description="What the model that answered it before did to the route")


_EXPLAINED = "Given by explain_route and by an answer asked for with explain: true. "
# The route's fields only an explained answer gives (see _route_fields).
_EXPLAINED_ONLY = ("language", "modalities", "needs_web", "est_tokens_in", "candidates")


class RouteInfo(BaseModel):
    """The route: explain_route gives every field; an answer gives its task and reason, and the
    rest when asked for (``explain``), which keeps what a client reads and checks per call small."""

    task: TaskType
    complexity: float | None = Field(None, description=(
        "Difficulty estimate of the conversation's hardest user turn: 0.5 + half the expected gain of "
        f"a premium model over a cheap one; at least {NON_ROUTINE_FLOOR} for non-routine maths and "
        "reasoning (proofs, counting, probability, puzzles), "
        f"at most {ROUTINE_CAP} for short routine work (unit conversions, "
        "percentages, plain-words explanations). Given by explain_route, and by an answer whose route "
        "weighed it (premium-tier work, with routing.difficulty_threshold set)"))
    language: str | None = Field(None, description=_EXPLAINED + "Detected language (ISO 639-1)")
    modalities: list[str] | None = Field(None, description=_EXPLAINED + "Input kinds: text, image")
    needs_web: bool | None = Field(None, description=_EXPLAINED + "The query asks for fresh information")
    web_search: bool = Field(False, description="Answered (or would be) through a live web search")
    est_tokens_in: int | None = Field(None, description=_EXPLAINED + "Estimated prompt tokens")
    reason: str = Field(description=(
        "Why the answering model was chosen; for an answer served from a cache, the stored answer's "
        "route, and it says so"))
    candidates: list[str] | None = Field(None, description=_EXPLAINED + "Models in the order they are tried")
    skipped: list[SkippedModel] | None = Field(None, description=(
        "Models left out (over max_cost_usd or the budget, unhealthy, no vision…) and why: given by "
        "explain_route, and by an answer when any were (for a cached answer, by its stored route)"))
    deferred: list[SkippedModel] | None = Field(None, description=(
        "Models moved to the end of the route, tried only after the others, and why (observed latency "
        "over routing.latency_threshold_ms, circuit open): given by explain_route, and by an answer "
        "when any were"))
    conversation: ConversationInfo | None = Field(None, description=(
        "How the conversation shaped the route: given by explain_route, and by an answer to a turn of a "
        "conversation (earlier user turns, or a conversation_id)"))


class CompletionResult(BaseModel):
    answer: str
    model: str = Field(description="The model that answered")
    provider: str = Field(description="'openrouter' or 'portkey'; 'sandbox…' for the local stand-in")
    route: RouteInfo
    attempts: list[AttemptInfo] | None = Field(None, description=(
        "Every model tried, in order, with its error code: given when a fallback happened or with "
        "explain: true (one successful attempt is the model, provider and latency above)"))
    fallback_used: bool
    tokens_in: int
    tokens_out: int
    cost_usd: float
    latency_ms: float
    finish_reason: str | None
    cache_status: CacheStatusField
    semantic_match: SemanticMatchField = None
    citations: list[Citation] = Field(default_factory=list, description="Web sources, when searched")
    request_id: str
    warnings: list[str] = Field(default_factory=list)
    grounding_score: GroundingScoreField = None


class RoutingGateway:
    """One object per server process; :meth:`complete` sends a request down the call pipeline."""

    def __init__(self, runtime: Runtime, routing: ResolvedRouting) -> None:
        self.runtime = runtime
        self.routing = routing
        self.health = HealthTracker(runtime.settings.routing.health, provider=runtime.provider)
        # Read through the runtime, which swaps in a catalogue refreshed after start-up.
        self.policy = HybridPolicy(routing, lambda: runtime.catalog, self.health)
        self.sticky = StickyRoutes()
        config = runtime.settings.routing.config
        self.portkey = PortkeyPolicy(parse_portkey_config(config), self.policy) if config else None
        limits = runtime.settings.limits
        self.executor = FallbackExecutor(runtime.client, runtime.portkey, self.health, limits=limits)
        # The same route, searching the web: server tool first, web plugin where it is refused.
        self.web_executor = FallbackExecutor(runtime.web, runtime.portkey, self.health, limits=limits)
        search = runtime.settings.search
        self.search_options = SearchOptions(max_results=search.max_results, max_uses=search.max_uses,
                                            engine=search.engine)
        self.budget = BudgetFit(self.policy, self.search_options)
        self.pipeline = Pipeline.for_runtime(runtime)

    @classmethod
    def from_runtime(cls, runtime: Runtime) -> RoutingGateway:
        settings = runtime.settings
        routing = resolve_routing(settings.routing, runtime.catalog,
                                  allow_unlisted=settings.allow_unlisted_models)
        return cls(runtime, routing)

    @property
    def catalog(self) -> Catalog:
        return self.runtime.catalog

    def plan(self, request: CompletionRequest, messages: list[Message]) -> RoutePlan:
        forced = None
        if request.model:
            forced = self.catalog.require(request.model,
                                          allow_unlisted=self.runtime.settings.allow_unlisted_models)
        profile = analyze(messages, request.task)
        route_request = RouteRequest(forced, request.max_cost_usd, request.max_tokens)
        if self.portkey is None:
            plan = self.policy.plan(profile, route_request)
            plan.conversation = conversation_key(messages, request.conversation_id)
            earlier = None if forced else self.sticky.get(plan.conversation)
            if earlier is not None:
                self.policy.stick(plan, earlier, route_request)
        else:
            metadata = {"task": profile.task.value, "project": call_project(request.project) or "",
                        **(request.metadata or {})}
            params = request.model_dump(include={"model", "max_tokens", "temperature", "task"},
                                        exclude_none=True, mode="json")
            plan = self.portkey.plan(profile, route_request, metadata=metadata, params=params)
        auto = profile.needs_web and self.runtime.settings.search.gateway_auto
        wanted = auto if request.web_search is None else request.web_search
        return web_route(plan) if wanted else plan

    def explain(self, request: CompletionRequest) -> RouteInfo:
        """The route :meth:`complete` would take, without calling any model."""
        call = self._call(request)
        check_request(call, self.runtime.settings.limits)
        plan = self.plan(request, call.messages)
        return RouteInfo.model_validate(_route_fields(plan, plan.reason_of(plan.chosen.model), explain=True))

    async def complete(self, request: CompletionRequest) -> CompletionResult:
        return await self.pipeline.run(self._call(request))

    def _call(self, request: CompletionRequest) -> Call[CompletionResult]:
        limits = self.runtime.settings.limits
        params: dict[str, Any] = {"max_tokens": request.max_tokens or limits.default_max_tokens}
        if request.temperature is not None:
            params["temperature"] = request.temperature
        messages = request.chat_messages()
        semantic = None  # the semantic cache off, or a call that may not use it: nothing to work out
        if self.runtime.settings.caching.semantic_cache.enabled and not request.no_cache:
            semantic = SemanticPolicy(self._answering_models(request, messages),
                                      scope=_answer_depends_on(request))
        return Call(
            SERVER_NAME, "routed_complete", messages, lambda call: self._result(call, request.explain),
            params=params,
            executor=self.executor, project=request.project, budget=self.budget,
            cache=CachePolicy(self.runtime.exact_cache, no_cache=request.no_cache,
                              force_refresh=request.force_refresh, max_age_s=request.max_age_s,
                              sampled_ok=request.cache_sampled,
                              key={"task": request.task, "model": request.model,
                                   **_answer_depends_on(request)},
                              semantic=semantic),
            revive=lambda call, value, age_s: _from_cache(self.runtime, call, value, explain=request.explain),
            prepare=self._prepare_images,
            route=lambda call: self._route(call, request))

    def _answering_models(self, request: CompletionRequest, messages: list[Message]) -> tuple[str, ...]:
        """The model set a semantic-cache answer must come from: the model asked for, else the
        task's tier (the task and its primary model, so a new routing table starts afresh)."""
        if request.model:
            return (self.catalog.resolve(request.model) or request.model,)
        task = analyze(messages, request.task).task
        return (f"task:{task.value}", self.routing.primary[task])

    def _route(self, call: Call[CompletionResult], request: CompletionRequest) -> None:
        plan = self.plan(request, call.messages)
        call.use_plan(plan)
        call.task = plan.profile.task.value
        if any(c.model.startswith(PORTKEY_PREFIX) for c in plan.candidates):  # only Portkey reads them
            call.portkey_headers = portkey_headers(request, plan, call.request_id)
        if plan.web_search:
            call.params["tools"] = [self.search_options.server_tool()]
            call.executor, call.search = self.web_executor, self.search_options

    async def _prepare_images(self, call: Call[CompletionResult]) -> None:
        """Every image part goes through the media pipeline as one call's images: read safely,
        checked against the call's decode budget, sized, inlined."""
        parts = [part for message in call.messages if isinstance(content := message.get("content"), list)
                 for part in content if is_image(part)]
        if not parts:
            return
        sources = [image_url_of(part) for part in parts]
        loaded = await load_images(sources, self.runtime.settings.media)
        for part, item in zip(parts, loaded, strict=True):
            part["image_url"] = {**part["image_url"], "url": item.image.as_data_url()}

    def _result(self, call: Call[CompletionResult], explain: bool) -> CompletionResult:
        plan, outcome, result = call.plan, call.outcome, call.answer
        assert plan is not None and outcome is not None
        answered = outcome.attempts[-1].model
        if plan.conversation is not None:
            self.sticky.remember(plan.conversation, answered)
        reason = plan.reason_of(answered)
        if len(outcome.attempts) > 1:
            failed = ", ".join(f"{a.model} ({a.error_code})" for a in outcome.attempts[:-1])
            reason += f"; fell back after {failed}"
        if result.web_search:
            reason += f"; searched the web ({result.web_search.replace('_', ' ')})"
        cited = from_annotations(result.content, result.annotations) if plan.web_search else None
        citations, unusable = cited or ([], 0)
        # Validated as one document: the nested models as plain fields cost one pass, where
        # building each model on its own costs a validation apiece.
        return CompletionResult.model_validate({
            "answer": result.content,
            "model": result.model or answered,
            "provider": outcome.attempts[-1].provider,
            "route": _route_fields(plan, reason, explain=explain),
            "attempts": [{"model": a.model, "provider": a.provider, "status": a.status,
                          "latency_ms": round(a.latency_ms, 2), "error_code": a.error_code, "error": a.error}
                         for a in outcome.attempts] if explain or len(outcome.attempts) > 1 else None,
            "fallback_used": len(outcome.attempts) > 1,
            "tokens_in": result.tokens_in,
            "tokens_out": result.tokens_out,
            "cost_usd": call.upstream_cost_usd,
            "cache_status": call.cache_status,
            "citations": citations,
            "latency_ms": call.elapsed_ms(),
            "finish_reason": result.finish_reason,
            "request_id": call.request_id,
            "warnings": [*self.routing.warnings, *call.warnings, *unusable_warning(unusable),
                         *source_warnings(self.runtime, call, citations),
                         *([f"{call.semantic_miss} (answers asked for with explain: true are kept apart "
                            "from plain ones)"] if explain and call.semantic_miss else [])],
        })


def _answer_depends_on(request: CompletionRequest) -> dict[str, Any]:
    """What a cached answer depends on besides the messages, the generation parameters, the
    project and the task and model (the exact key's own, the semantic scope's model set): what
    else picks the answering model (metadata for routing conditions, web search, the cost limit),
    and, for an explained answer, its whole route, which a brief answer's entry does not hold
    (and a brief caller need not be sent)."""
    return {"metadata": request.metadata, "web_search": request.web_search,
            "max_cost_usd": request.max_cost_usd, **({"explain": True} if request.explain else {})}


def _from_cache(runtime: Runtime, call: Call[CompletionResult], value: dict[str, Any], *, explain: bool
                ) -> CompletionResult:
    """A stored answer with the route it was answered by, said to be that: no attempts made (an
    explained answer lists none, a brief one leaves them out); the warnings say where it came from
    and, as when it was first answered, what the output checks found in it and which sources were
    flagged as likely prompt injections."""
    result = CompletionResult.model_validate(value)
    cache = "semantic cache" if call.cache_status == "hit_semantic" else "response cache"
    route = result.route.model_copy(update={
        "reason": f"served from the {cache}; the stored answer's route: {result.route.reason}"})
    call.task = route.task.value
    if not explain and route.candidates is not None:
        # Stored with the whole route (as every entry was before answers were brief): told briefly.
        talk = route.conversation
        route = route.model_copy(update={
            **dict.fromkeys(_EXPLAINED_ONLY), "skipped": route.skipped or None,
            "deferred": route.deferred or None,
            "conversation": talk if talk and _in_conversation(talk.user_turns, talk.sticky_source) else None})
    warnings = [*call.warnings, *answer_notes(result.warnings),
                *source_warnings(runtime, call, result.citations)]
    return result.model_copy(update={"route": route, "attempts": [] if explain else None,
                                     "fallback_used": False, "warnings": warnings})


def portkey_headers(request: CompletionRequest, plan: RoutePlan, request_id: str) -> dict[str, str]:
    """What Portkey's logs and conditional routing see of a call routed through it."""
    project = call_project(request.project)  # an authenticated caller's own, if its token names one
    metadata = {"task": plan.profile.task.value, **({"project": project} if project else {}),
                **(request.metadata or {})}
    return {"x-portkey-metadata": json.dumps(metadata, separators=(",", ":")),
            "x-portkey-trace-id": request_id}


def _route_fields(plan: RoutePlan, reason: str, *, explain: bool = False) -> dict[str, Any]:
    """The fields of the route as the caller sees it (a RouteInfo): all of them when explaining;
    else the task and reason, the skipped and deferred models and the conversation when there are any, and the
    difficulty estimate only where the route weighed it, as estimating it costs more than the rest
    of the analysis."""
    profile = plan.profile
    complexity = profile.complexity if explain else plan.difficulty
    weighed = complexity is not None
    if not explain:
        in_conversation = _in_conversation(profile.conversation.user_turns, _sticky_source(plan))
        return {"task": profile.task, "complexity": complexity, "web_search": plan.web_search,
                "reason": reason, "skipped": _with_reasons(plan.skipped) or None,
                "deferred": _with_reasons(plan.moved_last) or None,
                "conversation": _conversation_fields(plan, weighed=weighed) if in_conversation else None}
    return {
        "task": profile.task, "complexity": complexity, "language": profile.language,
        "modalities": list(profile.modalities), "needs_web": profile.needs_web, "web_search": plan.web_search,
        "est_tokens_in": profile.est_tokens_in, "reason": reason,
        "candidates": [c.model for c in plan.candidates],
        "skipped": _with_reasons(plan.skipped), "deferred": _with_reasons(plan.moved_last),
        "conversation": _conversation_fields(plan, weighed=weighed),
    }


def _with_reasons(models: list[tuple[str, str]]) -> list[dict[str, str]]:
    """(model, why) pairs as the SkippedModel fields."""
    return [{"model": m, "reason": r} for m, r in models]


def _sticky_source(plan: RoutePlan) -> str:
    """What names the conversation: a conversation_id names one even at its first turn."""
    key = plan.conversation
    return "none" if key is None or key.earlier is None else key.source


def _in_conversation(user_turns: int, sticky_source: str) -> bool:
    """Whether a brief answer tells of the conversation: a turn after others, or one named."""
    return user_turns > 1 or sticky_source != "none"


def _conversation_fields(plan: RoutePlan, *, weighed: bool) -> dict[str, Any]:
    """The fields of a ConversationInfo."""
    facts = plan.profile.conversation
    return {
        "user_turns": facts.user_turns, "established_task": facts.established_task,
        "inherited_task": facts.inherited,
        "hardest_turns_ago": plan.profile.hardest_turns_ago if weighed else None,
        "has_code": facts.has_code, "has_math": facts.has_math,
        "sticky_source": _sticky_source(plan), "sticky": plan.sticky}
