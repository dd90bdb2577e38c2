"""Decisions that depend on money and the web: what a route (or a call to one named model) may
cost at worst, the cheaper route a ``downgrade`` budget switches to, and the web-search form of
a route."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from gatewise.bounds import format_usd
from gatewise.catalog import PORTKEY_PREFIX, Catalog
from gatewise.routing.analyze import CHARS_PER_TOKEN, estimated_tokens, message_text
from gatewise.routing.policy import HybridPolicy, RoutePlan, RouteRequest
from gatewise.search.forms import SearchOptions
from gatewise.search.pricing import TOKENS_PER_RESULT, search_fee


def web_route(plan: RoutePlan) -> RoutePlan:
    """The plan answering through web search: OpenRouter's server tool, so Portkey targets step aside."""
    direct = [c for c in plan.candidates if not c.model.startswith(PORTKEY_PREFIX)]
    if not direct:
        return plan  # only Portkey targets: answered without the web (route.web_search stays false)
    skipped = [(c.model, "web search runs on OpenRouter, not through Portkey")
               for c in plan.candidates if c not in direct]
    return replace(plan, candidates=direct, skipped=plan.skipped + skipped, web_search=True)


def worst_search(prices: tuple[float, float] | None, model: str, options: SearchOptions) -> float:
    """Upper bound of what searching adds to one call: every search's fee and results read."""
    read = options.max_results * TOKENS_PER_RESULT * prices[0] if prices else 0.0
    fee = search_fee(model, options.engine, results=options.max_results, context_size="high")
    return options.max_uses * (fee + read)


def worst_case(prices: tuple[float, float], est_tokens_in: int, max_tokens: int, search: float) -> float:
    """Upper bound of one call's cost: a token is at least a character, answers stop at max_tokens."""
    return est_tokens_in * CHARS_PER_TOKEN * prices[0] + max_tokens * prices[1] + search


def one_model_hold(catalog: Catalog, models: Sequence[str], messages: Sequence[Mapping[str, Any]],
                   max_tokens: int | None, search: SearchOptions | None, default_max_tokens: int) -> float:
    """What a call to a model the caller named (or one of its fallbacks) may cost at worst. An
    answer asked for without max_tokens stops at the model's own limit (``default_max_tokens``
    when the catalogue gives none)."""
    text, _, _, images = message_text(messages)
    tokens_in = estimated_tokens(text, images)
    worst = 0.0
    for model in models:
        prices = catalog.price_of(model)
        if prices is None:  # priced nowhere: nothing to hold, as for a routed call
            continue
        info = catalog.get(model)
        longest = max_tokens or (info.max_completion_tokens if info else None) or default_max_tokens
        searched = worst_search(prices, model, search) if search is not None else 0.0
        worst = max(worst, worst_case(prices, tokens_in, longest, searched))
    return worst


class BudgetFit:
    """Prices a route at its worst, so a budget hold always covers what the call may spend."""

    def __init__(self, policy: HybridPolicy, search: SearchOptions) -> None:
        self.policy = policy
        self.search = search

    def worst_case(self, model: str, plan: RoutePlan, max_tokens: int) -> float:
        """Upper bound of one call to ``model`` on this route."""
        prices = self.policy.price_of(model)
        if prices is None:
            return 0.0
        search = worst_search(prices, model, self.search) if plan.web_search else 0.0
        return worst_case(prices, plan.profile.est_tokens_in, max_tokens, search)

    def hold_for(self, plan: RoutePlan, max_tokens: int) -> float:
        """What to reserve: the worst case of any model the route may reach."""
        return max(self.worst_case(c.model, plan, max_tokens) for c in plan.candidates)

    def downgrade(self, plan: RoutePlan, max_tokens: int, headroom: float) -> RoutePlan | None:
        """The cheapest capable model alone, when even its worst case fits ``headroom``."""
        pick = self.policy.cheapest(plan.profile, RouteRequest(max_tokens=max_tokens), headroom,
                                    f"downgraded to fit the budget ({format_usd(headroom)} left)")
        if pick is None or self.worst_case(pick.model, plan, max_tokens) > headroom:
            return None
        skipped = plan.skipped + [(c.model, "over the remaining budget") for c in plan.candidates]
        return replace(plan, candidates=[pick], skipped=skipped)  # the conversation stays attached
