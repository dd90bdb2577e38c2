"""Which models may answer a request, in what order, and why the others may not.

The routing config names models the way users write them; :func:`resolve_routing` turns it into
catalogue ids once, at start-up, filling every task the user left out with a current model
chosen from the catalogue by price tier. :class:`HybridPolicy` then orders candidates per request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from gatewise.bounds import format_usd
from gatewise.catalog import Catalog, ModelInfo, prices_of
from gatewise.config import RoutingConfig, TaskType
from gatewise.errors import ErrorCode, GatewiseError, quoted
from gatewise.routing.analyze import QueryProfile
from gatewise.routing.health import HealthTracker
from gatewise.routing.portkey_config import TargetAttempt
from gatewise.routing.sticky import ConversationKey

log = logging.getLogger(__name__)

# Blended USD per million tokens (3:1 input:output) at the top of each tier.
TIER_CEILINGS = {"economy": 1.0, "standard": 4.5, "premium": float("inf")}
TASK_TIER: dict[TaskType, str] = {
    TaskType.REASONING: "premium",
    TaskType.CODE_GENERATION: "premium",
    TaskType.MATH: "premium",
    TaskType.DATA_ANALYSIS: "standard",
    TaskType.CREATIVE_WRITING: "standard",
    TaskType.TRANSLATION: "standard",
    TaskType.VISION: "standard",
    TaskType.WEB_SEARCH: "standard",
    TaskType.SUMMARIZATION: "economy",
    TaskType.SIMPLE_QUERY: "economy",
}
# Vendors whose newest model in a tier becomes a default; others serve as fallbacks only.
DEFAULT_VENDORS = ("anthropic", "openai", "google")
DEFAULT_OUTPUT_TOKENS = 1024  # assumed answer length when the caller sets no max_tokens


def tier_of(model: ModelInfo) -> str:
    per_million = model.blended_price * 1_000_000
    return next(tier for tier, ceiling in TIER_CEILINGS.items() if per_million < ceiling)


@dataclass(frozen=True)
class ResolvedRouting:
    """The routing config with every name turned into a catalogue id."""

    primary: dict[TaskType, str]
    fallback_chain: tuple[str, ...]
    cost_threshold: float | None
    latency_threshold_ms: float | None
    sources: dict[TaskType, str]
    warnings: tuple[str, ...] = ()
    difficulty_threshold: float | None = None
    # The model premium-tier tasks step down to when the difficulty estimate allows it.
    good_enough: dict[TaskType, str] = field(default_factory=dict)


def resolve_routing(config: RoutingConfig, catalog: Catalog, *, allow_unlisted: bool = False
                    ) -> ResolvedRouting:
    """Resolve names, or raise CONFIG_ERROR naming the closest current models."""
    warnings: list[str] = []

    def resolve(name: str, where: str) -> str:
        model_id = catalog.resolve(name)
        if model_id is not None:
            return model_id
        near = ", ".join(catalog.closest(name)) or "none"
        text = f"{where}: model {quoted(name)} is not in the catalogue; closest current models: {near}"
        if not allow_unlisted:
            raise GatewiseError(ErrorCode.CONFIG_ERROR, text,
                                hint="Fix the name, or set allow_unlisted_models to keep it.")
        warnings.append(text)
        return name

    primary: dict[TaskType, str] = {}
    sources: dict[TaskType, str] = {}
    for task, name in config.primary_models.items():
        primary[task] = resolve(name, f"routing.primary_models.{task.value}")
        sources[task] = "config"
    for task in TaskType:
        if task not in primary:
            primary[task] = default_model(catalog, TASK_TIER[task], vision=task is TaskType.VISION)
            sources[task] = f"default ({TASK_TIER[task]} tier)"
    chain = tuple(resolve(n, f"routing.fallback_chain[{i}]") for i, n in enumerate(config.fallback_chain))
    for text in warnings:
        log.warning(text)
    good_enough = {task: default_model(catalog, "standard", vision=task is TaskType.VISION)
                   for task in TaskType}
    return ResolvedRouting(primary, chain, config.cost_threshold, config.latency_threshold_ms,
                           sources, tuple(warnings), config.difficulty_threshold, good_enough)


def tier_models(catalog: Catalog, tier: str, *, vision: bool = False,
                accept: Callable[[ModelInfo], bool] | None = None) -> list[ModelInfo]:
    """Text models of one tier (that ``accept`` allows), newest first."""
    models = [m for m in catalog.text_models()
              if tier_of(m) == tier and (not vision or m.supports("image")) and (accept is None or accept(m))]
    return sorted(models, key=lambda m: (-m.created, m.id))


def default_model(catalog: Catalog, tier: str, *, vision: bool = False,
                  accept: Callable[[ModelInfo], bool] | None = None) -> str:
    """The newest model of the tier from a leading vendor; else any of the tier; else the newest."""
    candidates = tier_models(catalog, tier, vision=vision, accept=accept)
    preferred = [m for m in candidates if m.provider in DEFAULT_VENDORS]
    anywhere = [m for m in catalog.text_models() if accept is None or accept(m)]
    pick = (preferred or candidates or sorted(anywhere, key=lambda m: -m.created))
    if not pick:
        raise GatewiseError(ErrorCode.CONFIG_ERROR, "the model catalogue holds no text models")
    return pick[0].id


@dataclass(frozen=True)
class Candidate:
    model: str
    reason: str
    est_cost_usd: float | None
    params: Mapping[str, Any] = field(default_factory=dict)  # forced onto the request body
    timeout_s: float | None = None  # per-attempt limit, within the call's deadline
    retries: int | None = None  # None: fail over first, retry only the last candidate
    retry_on: frozenset[int] | None = None  # statuses worth a retry; None: the client's set
    target: TargetAttempt | None = None  # set for Portkey configs: their fallback rules apply


@dataclass
class RoutePlan:
    profile: QueryProfile
    candidates: list[Candidate]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    web_search: bool = False  # answered through a live web search
    sticky: str | None = None  # what the conversation's earlier model did to the order, and why
    conversation: ConversationKey | None = None  # where the answering model is remembered
    difficulty: float | None = None  # the difficulty estimate the route weighed (None: it did not)
    # Models moved to the end of the route (too slow, circuit open), and why.
    deferred: list[tuple[str, str]] = field(default_factory=list)

    @property
    def chosen(self) -> Candidate:
        return self.candidates[0]

    @property
    def moved_last(self) -> list[tuple[str, str]]:
        """The deferred models the route still tries (a downgrade or the web route may drop them)."""
        tried = {c.model for c in self.candidates}
        return [(model, why) for model, why in self.deferred if model in tried]

    def reason_of(self, model: str) -> str:
        """Why ``model`` answers (or would): its own reason and, when it goes ahead of models moved
        to the end, why they were."""
        reason = next(c.reason for c in self.candidates if c.model == model)
        moved = self.moved_last
        if any(m == model for m, _ in moved):
            return reason  # itself moved, as its reason says
        return "; ".join([reason, *(f"tried before {m}, which was moved to the end: {why}"
                                    for m, why in moved)])


@dataclass(frozen=True)
class RouteRequest:
    """What the caller constrains: an explicit model, spend, answer length."""

    model: str | None = None
    max_cost_usd: float | None = None
    max_tokens: int | None = None


class HybridPolicy:
    """Task table first, then the fallback chain; models that cannot serve are skipped."""

    def __init__(self, routing: ResolvedRouting, catalog: Catalog | Callable[[], Catalog],
                 health: HealthTracker | None = None) -> None:
        """``catalog`` may be a function giving the current catalogue (the runtime's, which a
        late refresh replaces)."""
        self.routing = routing
        self._current = catalog if callable(catalog) else lambda: catalog
        self.health = health
        self._tiers: dict[tuple[str, bool], list[ModelInfo]] = {}  # derived from _tiers_of
        # Each tier's other-vendor fallbacks with their reasons, by (tier, vision, the primary's
        # vendor): derived too.
        self._fallbacks: dict[tuple[str, bool, str], list[tuple[str, str]]] = {}
        # What the catalogue says of each model for a set of input kinds, and each route that
        # weighs no difficulty (by primary, its reason, task and input kinds) as the models it
        # tries with their reasons: derived too, so a plan reads no catalogue entry.
        self._fits: dict[tuple[str, tuple[str, ...]], _Fit] = {}
        self._routes: dict[tuple[str, str, TaskType, tuple[str, ...]], list[_Step]] = {}
        self._tiers_of: Catalog | None = None
        self._routes_of = routing

    @property
    def catalog(self) -> Catalog:
        return self._up_to_date()

    def _up_to_date(self) -> Catalog:
        """The current catalogue, with what was derived from a replaced one (or from a replaced
        routing table) dropped."""
        catalog = self._current()
        if catalog is not self._tiers_of or self.routing is not self._routes_of:
            self._tiers, self._fallbacks, self._tiers_of = {}, {}, catalog
            self._fits, self._routes, self._routes_of = {}, {}, self.routing
        return catalog

    def plan(self, profile: QueryProfile, request: RouteRequest) -> RoutePlan:
        self._up_to_date()
        primary = request.model or self.routing.primary[profile.task]
        why_primary = ("requested by the caller" if request.model
                       else f"primary for {profile.task.value} ({self.routing.sources[profile.task]})")
        difficulty = None
        if request.model is None and self._weighs_difficulty(profile, primary):
            difficulty = profile.complexity
            stepped = self._step_down(profile, primary, difficulty)
            if not stepped:
                threshold = self.routing.difficulty_threshold
                why_primary += f"; {_difficulty_reading(profile, difficulty)} ≥ {threshold:.2f}"
            order = stepped + self._order(profile, primary, why_primary)
            route = self._steps(order, profile.modalities)
        else:
            route = self._route(profile, primary, why_primary)
        plan = RoutePlan(profile, [], difficulty=difficulty)
        limit = _min_defined(request.max_cost_usd, self.routing.cost_threshold)
        for model_id, reason, fit in route:
            problem, cost = fit.check(profile, request.max_tokens, limit)
            if problem:
                plan.skipped.append((model_id, problem))
            else:
                plan.candidates.append(Candidate(model_id, reason, cost))
        if not plan.candidates:
            plan.candidates.append(self._rescue(profile, request, limit, plan))
        self._defer_unhealthy(plan)
        return plan

    def stick(self, plan: RoutePlan, model: str, request: RouteRequest) -> None:
        """Put the model that answered the conversation before first, unless it cannot serve this
        turn, is failing, or the fresh route asks for a higher tier (a conversation moves up,
        never down, on its own)."""
        fresh = plan.chosen
        info, chosen = self.catalog.get(model), self.catalog.get(fresh.model)
        view = self.health.view(model) if self.health is not None else None
        limit = _min_defined(request.max_cost_usd, self.routing.cost_threshold)
        problem, cost = self._check(model, plan.profile, request, limit)
        if view is not None and view.reason is not None:
            problem = f"failing ({view.reason})"
        elif problem is None and info is not None and chosen is not None and _rank(chosen) > _rank(info):
            problem = f"this turn needs the {tier_of(chosen)} tier"
        if problem is not None:
            plan.sticky = f"moved from {model}: {problem}"
            return
        plan.sticky = f"kept {model}, which answered this conversation's last turn"
        plan.deferred = [(m, why) for m, why in plan.deferred if m != model]  # first again, kept
        if fresh.model == model:
            return
        kept = Candidate(model, f"answered this conversation's last turn (was {fresh.model}: "
                                f"{fresh.reason})", cost)
        plan.candidates = [kept, *(c for c in plan.candidates if c.model != model)]

    def _defer_unhealthy(self, plan: RoutePlan) -> None:
        """Move models with an open circuit or too slow a record to the end: tried last, not dropped."""
        if self.health is None:
            return
        ready, deferred = [], []
        threshold = self.routing.latency_threshold_ms
        for candidate in plan.candidates:
            why, latency_ms = self.health.standing(candidate.model)
            if why is None and threshold and latency_ms and latency_ms > threshold:
                why = (f"observed latency {latency_ms:.0f} ms > {threshold:.0f} ms threshold "
                       "(routing.latency_threshold_ms)")
            if why is None:
                ready.append(candidate)
            else:
                deferred.append(replace(candidate, reason=f"{candidate.reason}; tried last: {why}"))
                plan.deferred.append((candidate.model, why))
        plan.candidates = ready + deferred

    def _weighs_difficulty(self, profile: QueryProfile, primary: str) -> bool:
        """Whether the difficulty estimate can change this route: only premium-tier work may step
        down, so no other request pays for the estimate.

        Conversations with code never step down: the estimate learnt from exam questions (GSM8K,
        MMLU) and has seen no programming work, where a premium model gains the most.
        """
        info = self.catalog.get(primary)
        return (self.routing.difficulty_threshold is not None and info is not None
                and tier_of(info) == "premium" and not profile.conversation.has_code
                and self.routing.good_enough[profile.task] != primary)

    def _step_down(self, profile: QueryProfile, primary: str, score: float) -> list[tuple[str, str]]:
        """A cheaper first try for premium-tier work that the difficulty estimate calls easy.

        The estimate is the conversation's hardest user turn, so a short follow-up to a hard
        question ("why?", "now handle unicode") is judged by that question, not by its own words.
        """
        threshold = self.routing.difficulty_threshold
        assert threshold is not None, "only weighed with a threshold"
        cheaper = self.routing.good_enough[profile.task]
        if score >= threshold:
            return []
        return [(cheaper, f"{_difficulty_reading(profile, score)} < {threshold:.2f}: a standard-tier "
                          f"model is good enough for this {profile.task.value} request")]

    def estimate_cost(self, model_id: str, profile: QueryProfile, max_tokens: int | None) -> float | None:
        return _cost(self.price_of(model_id), profile, max_tokens)

    def price_of(self, model_id: str) -> tuple[float, float] | None:
        """The catalogue's (or the bundled) per-token prices of ``model_id``, as
        ``Catalog.price_of`` gives them, read once per catalogue."""
        self._up_to_date()
        return self._fit(model_id, ()).prices

    def _check(self, model_id: str, profile: QueryProfile, request: RouteRequest,
               limit: float | None) -> tuple[str | None, float | None]:
        return self._fit(model_id, profile.modalities).check(profile, request.max_tokens, limit)

    def _fit(self, model_id: str, modalities: tuple[str, ...]) -> _Fit:
        """What the catalogue says of ``model_id`` for a request with these input kinds."""
        key = (model_id, modalities)
        fit = self._fits.get(key)
        if fit is None:
            info = self.catalog.get(model_id)
            refused = None if info is None else next((m for m in modalities if not info.supports(m)), None)
            fit = _Fit(prices_of(model_id, info), info.context_length if info else None, refused)
            if len(self._fits) < _KEPT_FITS:  # a caller's unlisted model names must not grow it
                self._fits[key] = fit
        return fit

    def _order(self, profile: QueryProfile, primary: str, why_primary: str) -> list[tuple[str, str]]:
        """The primary, then the fallback chain, or the other vendors' models of its tier."""
        order = [(primary, why_primary)]
        order += [(m, "fallback chain") for m in self.routing.fallback_chain]
        if not self.routing.fallback_chain:
            order += self._default_fallbacks(profile, primary)
        return order

    def _steps(self, order: list[tuple[str, str]], modalities: tuple[str, ...]) -> list[_Step]:
        """Each model of ``order`` once, in order, with its reason and what limits it."""
        seen: set[str] = set()
        steps = []
        for model_id, reason in order:
            if model_id not in seen:
                seen.add(model_id)
                steps.append((model_id, reason, self._fit(model_id, modalities)))
        return steps

    def _route(self, profile: QueryProfile, primary: str, why_primary: str) -> list[_Step]:
        """The steps of a route that weighs no difficulty, made once per catalogue and table: the
        same primary, task and input kinds always try the same models for the same reasons."""
        key = (primary, why_primary, profile.task, profile.modalities)
        route = self._routes.get(key)
        if route is None:
            route = self._steps(self._order(profile, primary, why_primary), profile.modalities)
            if len(self._routes) < _KEPT_ROUTES:  # a caller's unlisted model names must not grow it
                self._routes[key] = route
        return route

    def _default_fallbacks(self, profile: QueryProfile, primary: str) -> list[tuple[str, str]]:
        """Same-tier models of the other default vendors, each with the reason it is tried."""
        info = self.catalog.get(primary)
        tier = tier_of(info) if info else TASK_TIER[profile.task]
        vendor = primary.split("/", 1)[0]
        # Any other vendor excludes no default one: one entry for them all, as a caller's
        # (unlisted) model name must not grow the cache.
        vendor = vendor if vendor in DEFAULT_VENDORS else ""
        cached = self._fallbacks.get((tier, profile.has_image, vendor))
        if cached is not None:
            return cached
        vendors = {vendor}
        picks = []
        key = (tier, profile.has_image)
        if key not in self._tiers:
            self._tiers[key] = tier_models(self.catalog, tier, vision=profile.has_image)
        for model in self._tiers[key]:
            if model.provider in DEFAULT_VENDORS and model.provider not in vendors:
                vendors.add(model.provider)
                picks.append((model.id, f"same-tier fallback from another vendor ({tier_of(model)})"))
        self._fallbacks[(tier, profile.has_image, vendor)] = picks
        return picks

    def cheapest(self, profile: QueryProfile, request: RouteRequest, limit: float | None,
                 reason: str) -> Candidate | None:
        """The cheapest catalogue model that can serve the request within ``limit`` USD."""
        fits = []
        for model in self.catalog.text_models():
            problem, cost = self._check(model.id, profile, request, limit)
            if problem is None:
                fits.append((cost or 0.0, model.id))
        if not fits:
            return None
        cost, model_id = min(fits)
        return Candidate(model_id, reason, cost)

    def _rescue(self, profile: QueryProfile, request: RouteRequest, limit: float | None,
                plan: RoutePlan) -> Candidate:
        """Nothing in the route fits: take the cheapest catalogue model that does."""
        pick = self.cheapest(profile, request, limit,
                             "cheapest model that fits (every routed model was skipped)")
        if pick is None:
            reasons = "; ".join(f"{m}: {why}" for m, why in plan.skipped)
            code = ErrorCode.BUDGET_EXCEEDED if limit is not None else ErrorCode.INVALID_INPUT
            raise GatewiseError(code, f"no model can serve this request ({reasons})")
        return pick


@dataclass(frozen=True, slots=True)
class _Fit:
    """What limits one model for requests with a given set of input kinds."""

    prices: tuple[float, float] | None  # (input, output) USD per token; None: priced nowhere
    context_length: int | None  # None or 0: no window known (or not in the catalogue)
    refused: str | None  # the first input kind the model does not accept

    def check(self, profile: QueryProfile, max_tokens: int | None,
              limit: float | None) -> tuple[str | None, float | None]:
        """Why the model cannot serve the request (None: it can), and its estimated cost."""
        cost = _cost(self.prices, profile, max_tokens)
        if self.context_length:
            needed = profile.est_tokens_in + (max_tokens or DEFAULT_OUTPUT_TOKENS)
            if needed > self.context_length:
                return f"context window {self.context_length:,} < ~{needed:,} tokens needed", cost
        if self.refused is not None:
            return f"does not accept {self.refused} input", cost
        if limit is not None and cost is not None and cost > limit:
            return f"estimated {format_usd(cost)} exceeds the {format_usd(limit)} limit", cost
        return None, cost


_Step = tuple[str, str, _Fit]  # a model a route tries, why, and what limits it
# Derived entries kept per catalogue: every model for a few sets of input kinds, and routes.
_KEPT_FITS = 4096
_KEPT_ROUTES = 1024


def _cost(prices: tuple[float, float] | None, profile: QueryProfile, max_tokens: int | None) -> float | None:
    """A call's estimated cost at ``prices``: its prompt in, ``max_tokens`` (or a default) out."""
    if prices is None:
        return None
    return profile.est_tokens_in * prices[0] + (max_tokens or DEFAULT_OUTPUT_TOKENS) * prices[1]


def _rank(model: ModelInfo) -> int:
    return list(TIER_CEILINGS).index(tier_of(model))


def _min_defined(*values: float | None) -> float | None:
    defined = [v for v in values if v is not None]
    return min(defined) if defined else None


def _difficulty_reading(profile: QueryProfile, score: float) -> str:
    """The estimate as a route's reason gives it, with what the wording said of it, if anything."""
    said = profile.difficulty_wording
    return f"difficulty {score:.2f}" + (f" ({said} wording)" if said else "")
