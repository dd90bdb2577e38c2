"""The model catalogue: ids, prices, context lengths and modalities.

Read from OpenRouter's ``GET /models`` (or any endpoint with that shape), cached on disk with a
TTL, and backed by a bundled snapshot (``data/models.json``) so that routing and cost estimates
work with no network at all. Prices of models the catalogue does not list come from the
``genai-prices`` package's bundled data.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import logging
import os
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from gatewise.errors import ErrorCode, GatewiseError, quoted
from gatewise.upstream.usage import believed_cost

log = logging.getLogger(__name__)

SNAPSHOT = "models.json"
# A model id with this prefix is sent through Portkey's hosted gateway instead of OpenRouter.
PORTKEY_PREFIX = "portkey:"
# Longer than any model id; a longer name gets no 'did you mean' suggestions.
MAX_MODEL_NAME_CHARS = 200


@dataclass(frozen=True, slots=True)
class ModelInfo:
    id: str
    name: str
    context_length: int
    prompt_price: float  # USD per input token
    completion_price: float  # USD per output token
    request_price: float = 0.0
    input_modalities: tuple[str, ...] = ("text",)
    output_modalities: tuple[str, ...] = ("text",)
    max_completion_tokens: int | None = None
    created: int = 0
    supports_tools: bool = True  # tool calling, which the web-search server tool rides on

    @property
    def provider(self) -> str:
        return self.id.split("/", 1)[0]

    @property
    def short_name(self) -> str:
        return self.id.split("/", 1)[-1]

    @property
    def blended_price(self) -> float:
        """USD per token for a typical 3:1 input:output mix, for ordering by cost."""
        return 0.75 * self.prompt_price + 0.25 * self.completion_price

    def supports(self, modality: str) -> bool:
        return modality in self.input_modalities

    def cost(self, tokens_in: int, tokens_out: int) -> float:
        return self.request_price + tokens_in * self.prompt_price + tokens_out * self.completion_price

    @classmethod
    def from_openrouter(cls, item: dict[str, Any]) -> ModelInfo:
        pricing = item.get("pricing") or {}
        arch = item.get("architecture") or {}
        top = item.get("top_provider") or {}
        return cls(
            id=item["id"],
            name=item.get("name") or item["id"],
            context_length=int(item.get("context_length") or top.get("context_length") or 0),
            prompt_price=_price(pricing.get("prompt")),
            completion_price=_price(pricing.get("completion")),
            request_price=_price(pricing.get("request")),
            input_modalities=tuple(arch.get("input_modalities") or ("text",)),
            output_modalities=tuple(arch.get("output_modalities") or ("text",)),
            max_completion_tokens=top.get("max_completion_tokens"),
            created=int(item.get("created") or 0),
            # An entry without the list says nothing either way; only an explicit list excludes.
            supports_tools=("tools" in params) if isinstance(params := item.get("supported_parameters"),
                                                             list) else True,
        )


def _price(value: Any) -> float:
    try:
        price = float(value)
    except (TypeError, ValueError):
        return 0.0
    return max(price, 0.0)  # OpenRouter uses -1 for "varies" (routers)


@dataclass
class Catalog:
    models: dict[str, ModelInfo]
    source: str = "snapshot"
    fetched_at: float = field(default_factory=time.time)

    @classmethod
    def from_openrouter_json(cls, payload: dict[str, Any], source: str) -> Catalog:
        items = payload.get("data")
        if not isinstance(items, list):
            raise ValueError("a /models answer must hold a 'data' list")
        models = {}
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                info = ModelInfo.from_openrouter(item)
                models[info.id] = info
        return cls(models, source)

    @classmethod
    def snapshot(cls) -> Catalog:
        return cls.from_openrouter_json(snapshot_json(), "snapshot")

    def __contains__(self, model_id: str) -> bool:
        return model_id in self.models

    def __len__(self) -> int:
        return len(self.models)

    def get(self, model_id: str) -> ModelInfo | None:
        return self.models.get(strip_variant(model_id.removeprefix(PORTKEY_PREFIX)))

    def resolve(self, name: str) -> str | None:
        """A user's model name → a catalogue id.

        Accepts full ids (``anthropic/claude-3-opus``), ids with a variant suffix (``:free``),
        and short names without the vendor prefix (``claude-3-opus``) when exactly one vendor
        has that name.
        """
        name = name.strip()
        if name.startswith(PORTKEY_PREFIX):
            rest = name.removeprefix(PORTKEY_PREFIX)
            return PORTKEY_PREFIX + (self.resolve(rest) or rest)  # Portkey may reach models we do not list
        base = strip_variant(name)
        if base in self.models:
            return name
        matches = [m for m in self.models if m.split("/", 1)[-1] == base]
        if len(matches) == 1:
            return matches[0] + name[len(base):]
        return None

    def require(self, name: str, *, allow_unlisted: bool, where: str = "model") -> str:
        """:meth:`resolve`, or the name as given when unlisted models are allowed, or an error
        naming the closest current models (NOT_FOUND for a caller's argument, CONFIG_ERROR for
        a setting named by ``where``)."""
        resolved = self.resolve(name)
        if resolved is not None:
            return resolved
        if allow_unlisted:
            return name.strip()
        close = ", ".join(self.closest(name)) or "none"
        code = ErrorCode.NOT_FOUND if where == "model" else ErrorCode.CONFIG_ERROR
        raise GatewiseError(code, f"{where}: unknown model {quoted(name)}; closest: {close}",
                            hint="Leave the model empty for the default, or pick a catalogue id.")

    def closest(self, name: str, n: int = 3) -> list[str]:
        """The catalogue ids that look most like ``name``, for 'did you mean' messages."""
        if len(name) > MAX_MODEL_NAME_CHARS:
            return []  # fuzzy matching is quadratic in length, and no id is this long
        base = strip_variant(name).split("/", 1)[-1]
        shorts: dict[str, list[str]] = {}
        for model_id in self.models:
            shorts.setdefault(model_id.split("/", 1)[-1], []).append(model_id)
        hits = difflib.get_close_matches(base, list(shorts), n=n, cutoff=0.5)
        return [model_id for short in hits for model_id in shorts[short]][:n]

    def text_models(self) -> Iterable[ModelInfo]:
        """Chat models that answer in text only (image generators and embedders are left out)."""
        return (m for m in self.models.values() if m.output_modalities == ("text",))

    def price_of(self, model_id: str) -> tuple[float, float] | None:
        """(input, output) USD per token, from the catalogue or the bundled price data."""
        return prices_of(model_id, self.get(model_id))

    def cost_of(self, model_id: str, tokens_in: int, tokens_out: int, reported: float | None = None
                ) -> float:
        """What a call cost: the upstream's own figure when it gave a believable one (see
        ``believed_cost``), else the tokens at the catalogue's (or the bundled) prices; 0 for a
        model priced nowhere."""
        info = self.get(model_id)
        if info is not None:
            estimate = info.cost(tokens_in, tokens_out)
        else:
            prices = self.price_of(model_id)
            estimate = tokens_in * prices[0] + tokens_out * prices[1] if prices else 0.0
        return believed_cost(reported, estimate, model=model_id)


def prices_of(model_id: str, info: ModelInfo | None) -> tuple[float, float] | None:
    """(input, output) USD per token of ``model_id``, whose catalogue entry (None: not listed)
    the caller has already looked up."""
    if info is not None:
        return info.prompt_price, info.completion_price
    return bundled_price(strip_variant(model_id.removeprefix(PORTKEY_PREFIX)))


def strip_variant(model_id: str) -> str:
    """``openai/gpt-4o:online`` → ``openai/gpt-4o``."""
    return model_id.split(":", 1)[0]


@cache
def snapshot_json() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(resources.files("gatewise.data").joinpath(SNAPSHOT).read_text())
    return data


@cache
def bundled_price(model_id: str) -> tuple[float, float] | None:
    """Per-token prices from genai-prices' bundled OpenRouter table (no network)."""
    from genai_prices import Usage, calc_price

    million = 1_000_000
    try:
        calc = calc_price(Usage(input_tokens=million, output_tokens=million), model_id,
                          provider_id="openrouter")
    except LookupError:
        return None
    return float(calc.input_price) / million, float(calc.output_price) / million


class CatalogCache:
    """Where a fetched catalogue is kept between runs, with its age."""

    def __init__(self, path: Path, ttl_s: float) -> None:
        self.path = path
        self.ttl_s = ttl_s

    def load(self, *, allow_stale: bool = False) -> Catalog | None:
        try:
            stored = json.loads(self.path.read_text())
            age = time.time() - float(stored["fetched_at"])
            if age > self.ttl_s and not allow_stale:
                return None
            catalog = Catalog.from_openrouter_json(stored["payload"], stored["source"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        catalog.fetched_at = float(stored["fetched_at"])
        return catalog

    def store(self, payload: dict[str, Any], source: str) -> None:
        """Keep ``payload`` for the next start. Only a saving: a copy that cannot be written is a
        warning, and the catalogue is fetched again next time."""
        # A name of its own per writer: several server processes may refresh at the same moment.
        tmp = self.path.with_suffix(f".{os.getpid()}.{uuid.uuid4().hex}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps({"fetched_at": time.time(), "source": source, "payload": payload}))
            tmp.replace(self.path)
        except OSError as exc:
            log.warning("the model catalogue cannot be kept at %s (%s); it is fetched again at the "
                        "next start", self.path, exc.strerror or exc)
            with contextlib.suppress(OSError):  # never made, or not to be removed either
                tmp.unlink()
