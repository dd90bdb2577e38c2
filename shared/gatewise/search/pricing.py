"""What a web search costs on OpenRouter, on top of the model's tokens.

Figures from OpenRouter's web-search pricing: Exa bills per search by mode (up to ten results
included, then per extra result); native search is the provider's own fee. Older OpenAI chat
models have no native search, so ``native`` falls back to Exa for them, as upstream does. Used
for budget estimates and by the local sandbox, so both price a search the same way.
"""

from __future__ import annotations

from typing import Literal

Engine = Literal["auto", "native", "exa", "firecrawl", "parallel", "perplexity"]
ENGINES: tuple[str, ...] = ("auto", "native", "exa", "firecrawl", "parallel", "perplexity")
CONTEXT_SIZES: tuple[str, ...] = ("low", "medium", "high")

EXA_FEE_BY_MODE: dict[str, float] = {
    "instant": 0.007, "fast": 0.007, "auto": 0.007,
    "deep-lite": 0.012, "deep": 0.012, "deep-reasoning": 0.015,
}
EXA_INCLUDED_RESULTS = 10
EXA_EXTRA_RESULT_FEE = 0.001
# Third-party engines other than Exa: billed like Exa's default mode here (no published split).
OTHER_ENGINE_FEE = EXA_FEE_BY_MODE["auto"]

# Vendors with native search on OpenRouter, and their fee per search by context size.
NATIVE_FEE: dict[str, dict[str, float]] = {
    "openai": {"low": 0.010, "medium": 0.010, "high": 0.010},
    "anthropic": {"low": 0.010, "medium": 0.010, "high": 0.010},
    "perplexity": {"low": 0.005, "medium": 0.008, "high": 0.012},
    "x-ai": {"low": 0.005, "medium": 0.005, "high": 0.005},
}
NO_NATIVE_SEARCH = ("openai/gpt-4o", "openai/gpt-4o-mini", "openai/gpt-4-turbo")
DEFAULT_MAX_RESULTS = 5
MAX_RESULTS = 25
# Search results are fed to the model as prompt tokens; this is a typical Exa highlight's size.
TOKENS_PER_RESULT = 700


def has_native_search(model_id: str) -> bool:
    base = model_id.split(":", 1)[0]
    return base.split("/", 1)[0] in NATIVE_FEE and base not in NO_NATIVE_SEARCH


def resolve_engine(model_id: str, engine: str | None) -> str:
    """The engine that really runs: ``auto`` and ``native`` become ``native`` or ``exa``."""
    if engine in (None, "auto", "native"):
        return "native" if has_native_search(model_id) else "exa"
    return engine


def search_fee(model_id: str, engine: str | None, *, results: int, mode: str | None = None,
               context_size: str | None = None) -> float:
    """USD for one search call that returned ``results`` results."""
    resolved = resolve_engine(model_id, engine)
    if resolved == "native":
        vendor = model_id.split(":", 1)[0].split("/", 1)[0]
        return NATIVE_FEE[vendor][context_size or "medium"]
    if resolved != "exa":
        return OTHER_ENGINE_FEE
    base = EXA_FEE_BY_MODE.get(mode or "auto", EXA_FEE_BY_MODE["auto"])
    return base + max(0, results - EXA_INCLUDED_RESULTS) * EXA_EXTRA_RESULT_FEE
