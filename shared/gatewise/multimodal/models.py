"""Catalogue look-ups: search with filters, one model's details, and model-name validation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, Field

from gatewise.catalog import Catalog, ModelInfo, snapshot_json, strip_variant
from gatewise.errors import ErrorCode, GatewiseError, quoted
from gatewise.runtime import Runtime

MILLION = 1_000_000
# OpenRouter's routing variants; `:free` and `:thinking` are separate catalogue entries when offered.
VARIANTS = {
    "free": "the free tier of the model (rate-limited); only where the catalogue lists it",
    "nitro": "sort providers by throughput",
    "floor": "sort providers by price",
    "online": "add web search results (paid per request)",
    "exacto": "route to providers with the best tool-calling accuracy",
    "thinking": "reasoning on, where the model offers it",
    "extended": "a longer context window, where offered",
}
_LISTED_ONLY = {"free", "thinking", "extended"}


class ModelSummary(BaseModel):
    id: str
    name: str
    context_length: int
    prompt_per_million: float = Field(description="USD per million input tokens")
    completion_per_million: float = Field(description="USD per million output tokens")
    input_modalities: list[str]
    output_modalities: list[str]


class ModelDetail(ModelSummary):
    description: str | None = None
    request_price: float = Field(description="USD per request, on top of tokens")
    image_price: float = Field(description="USD per input image, where priced separately")
    max_completion_tokens: int | None = None
    supported_parameters: list[str] = Field(default_factory=list)
    catalog_source: str = Field(description="'openrouter', 'sandbox' or 'snapshot'")


class SearchResult(BaseModel):
    total: int = Field(description="Models matching the filters")
    offset: int
    models: list[ModelSummary]
    next_offset: int | None = Field(description="Pass as offset for the next page; null at the end")
    catalog_source: str


class Validation(BaseModel):
    valid: bool
    model_id: str | None = Field(description="The catalogue id the name resolves to")
    variant: str | None = Field(description="The ':suffix' given, if any")
    variant_meaning: str | None = None
    reason: str
    suggestions: list[str] = Field(default_factory=list)
    model: ModelSummary | None = None


class ModelFilters(BaseModel):
    text: str | None = None
    provider: str | None = None
    input_modalities: list[str] = Field(default_factory=list)
    output_modalities: list[str] = Field(default_factory=list)
    max_price_per_million: float | None = None
    min_context: int | None = None
    supported_parameters: list[str] = Field(default_factory=list)
    sort: Literal["price", "context", "newest", "name"] = "price"


async def raw_models(runtime: Runtime) -> tuple[list[dict[str, Any]], str]:
    """The full ``/models`` items (they carry supported_parameters, which the catalogue drops)."""
    try:
        payload = await runtime.client.list_models("all")
        source = runtime.provider
    except GatewiseError:
        payload, source = snapshot_json(), "snapshot"
    items = payload.get("data") if isinstance(payload, dict) else None
    return [i for i in items or [] if isinstance(i, dict) and isinstance(i.get("id"), str)], source


def summary(info: ModelInfo) -> ModelSummary:
    return ModelSummary(id=info.id, name=info.name, context_length=info.context_length,
                        prompt_per_million=round(info.prompt_price * MILLION, 6),
                        completion_per_million=round(info.completion_price * MILLION, 6),
                        input_modalities=list(info.input_modalities),
                        output_modalities=list(info.output_modalities))


def _matches(item: dict[str, Any], info: ModelInfo, f: ModelFilters) -> bool:
    if f.text and f.text.lower() not in f"{info.id} {info.name}".lower():
        return False
    if f.provider and info.provider.lower() != f.provider.lower():
        return False
    if not set(f.input_modalities) <= set(info.input_modalities):
        return False
    if not set(f.output_modalities) <= set(info.output_modalities):
        return False
    if f.max_price_per_million is not None and info.prompt_price * MILLION > f.max_price_per_million:
        return False
    if f.min_context is not None and info.context_length < f.min_context:
        return False
    return set(f.supported_parameters) <= set(item.get("supported_parameters") or [])


_SORT_KEYS: dict[str, Callable[[ModelInfo], tuple[float, str] | str]] = {
    "price": lambda m: (m.blended_price, m.id),
    "context": lambda m: (-m.context_length, m.id),
    "newest": lambda m: (-m.created, m.id),
    "name": lambda m: m.id,
}


async def search(runtime: Runtime, filters: ModelFilters, offset: int, limit: int) -> SearchResult:
    items, source = await raw_models(runtime)
    hits = [(item, info) for item in items
            if _matches(item, info := ModelInfo.from_openrouter(item), filters)]
    hits.sort(key=lambda pair: _SORT_KEYS[filters.sort](pair[1]))
    page = hits[offset:offset + limit]
    more = offset + limit < len(hits)
    return SearchResult(total=len(hits), offset=offset, models=[summary(info) for _, info in page],
                        next_offset=offset + limit if more else None, catalog_source=source)


def _unknown(catalog: Catalog, name: str) -> GatewiseError:
    close = catalog.closest(name)
    suggestion = f" Did you mean {', '.join(close)}?" if close else ""
    return GatewiseError(ErrorCode.NOT_FOUND, f"Unknown model {quoted(name)}.{suggestion}",
                         hint="search_models lists the catalogue.")


async def detail(runtime: Runtime, name: str) -> ModelDetail:
    resolved = runtime.catalog.resolve(name)
    if resolved is None:
        raise _unknown(runtime.catalog, name)
    items, source = await raw_models(runtime)
    wanted = strip_variant(resolved)
    item = next((i for i in items if i["id"] == wanted), None)
    if item is None:
        raise _unknown(runtime.catalog, name)
    info = ModelInfo.from_openrouter(item)
    pricing = item.get("pricing") or {}
    return ModelDetail(
        **summary(info).model_dump(), description=item.get("description"),
        request_price=info.request_price, image_price=_float(pricing.get("image")),
        max_completion_tokens=info.max_completion_tokens,
        supported_parameters=list(item.get("supported_parameters") or []), catalog_source=source)


def _float(value: Any) -> float:
    try:
        return max(float(value), 0.0)
    except (TypeError, ValueError):
        return 0.0


def validate(catalog: Catalog, name: str) -> Validation:
    name = name.strip()
    base, _, variant = name.partition(":")
    variant_meaning = VARIANTS.get(variant) if variant else None
    resolved = catalog.resolve(base) if base else None
    if resolved is None:
        return Validation(valid=False, model_id=None, variant=variant or None,
                          variant_meaning=variant_meaning,
                          reason=f"{quoted(base or name)} is not in the catalogue.",
                          suggestions=catalog.closest(base or name))
    info = catalog.get(resolved)
    card = summary(info) if info else None
    if variant and variant not in VARIANTS:
        return Validation(valid=False, model_id=resolved, variant=variant, reason=(
            f"':{variant}' is not an OpenRouter variant; known: {', '.join(sorted(VARIANTS))}."),
            suggestions=[resolved], model=card)
    if variant in _LISTED_ONLY and f"{resolved}:{variant}" not in catalog:
        return Validation(valid=False, model_id=resolved, variant=variant, variant_meaning=variant_meaning,
                          reason=f"The catalogue lists no ':{variant}' variant of {resolved}.",
                          suggestions=[resolved], model=card)
    full = f"{resolved}:{variant}" if variant else resolved
    return Validation(valid=True, model_id=full, variant=variant or None, variant_meaning=variant_meaning,
                      reason="Listed in the catalogue." if full == name else f"Resolves to {full}.",
                      model=card)
