"""Prices for the savings figures: the baseline model, premium models and the cheapest alternative."""

from __future__ import annotations

from collections.abc import Iterable

from gatewise.analytics.results import Baseline, BaselineSource
from gatewise.catalog import Catalog, ModelInfo
from gatewise.errors import ErrorCode, GatewiseError, quoted
from gatewise.routing.policy import TIER_CEILINGS

Price = tuple[float, float]  # USD per input token, USD per output token
MILLION = 1_000_000


def blended(price: Price) -> float:
    """USD per token at the catalogue's 3:1 input:output mix, for ranking models by price."""
    return 0.75 * price[0] + 0.25 * price[1]


def is_premium(price: Price | None) -> bool:
    """Whether a price falls in the routing policy's premium tier."""
    return price is not None and blended(price) * MILLION >= TIER_CEILINGS["standard"]


def resolve_baseline(
    catalog: Catalog, models: Iterable[str], requested: str | None
) -> tuple[Baseline, Price | None]:
    """The requested model, or else the priciest model seen in the window, with its price."""
    if requested is not None:
        model_id = catalog.resolve(requested) or requested.strip()
        price = catalog.price_of(model_id)
        if price is None:
            suggestions = catalog.closest(requested)
            hint = f"Did you mean {', '.join(suggestions)}?" if suggestions else None
            raise GatewiseError(
                ErrorCode.INVALID_INPUT,
                f"no price is known for the baseline model {quoted(requested)}",
                hint=hint or "Name a model from the catalogue, e.g. 'openai/gpt-4o'.",
            )
        return _baseline(model_id, price, "given")
    priced = [(blended(p), model, p) for model in models if (p := catalog.price_of(model)) is not None]
    if not priced:
        return Baseline(model=None, source="none"), None
    _, model_id, price = max(priced, key=lambda item: (item[0], item[1]))
    return _baseline(model_id, price, "most_expensive_in_window")


def cheapest_model(catalog: Catalog, modality: str) -> ModelInfo | None:
    """The cheapest paid text model that accepts ``modality`` as input.

    Free models are left out: their rate limits make them no dependable home for a whole task.
    """
    candidates = [m for m in catalog.text_models() if m.supports(modality) and m.blended_price > 0]
    return min(candidates, key=lambda m: (m.blended_price, m.id), default=None)


def _baseline(model_id: str, price: Price, source: BaselineSource) -> tuple[Baseline, Price]:
    baseline = Baseline(model=model_id, source=source, usd_per_million_in=price[0] * MILLION,
                        usd_per_million_out=price[1] * MILLION)
    return baseline, price
