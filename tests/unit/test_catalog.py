"""The model catalogue: snapshot, resolution, prices, disk cache."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from gatewise.catalog import Catalog, CatalogCache, bundled_price, snapshot_json, strip_variant


def test_snapshot_has_current_models_with_prices_and_modalities() -> None:
    catalog = Catalog.snapshot()
    assert len(catalog) >= 30
    opus = catalog.get("anthropic/claude-opus-5.5")
    assert opus is not None and opus.prompt_price > 0 and opus.completion_price > opus.prompt_price
    assert opus.context_length >= 200_000 and opus.supports("image")
    assert catalog.get("openai/gpt-4o:online").id == "openai/gpt-4o"
    assert opus.cost(1000, 500) == pytest.approx(1000 * opus.prompt_price + 500 * opus.completion_price)


def test_resolution_and_suggestions() -> None:
    catalog = Catalog.snapshot()
    assert catalog.resolve("claude-3-opus") == "anthropic/claude-3-opus"
    assert catalog.resolve("openai/gpt-4o") == "openai/gpt-4o"
    assert catalog.resolve("gpt-4o:free") == "openai/gpt-4o:free"
    assert catalog.resolve("gpt-4oo") is None
    assert catalog.closest("gpt-4oo")[0] == "openai/gpt-4o"
    assert catalog.closest("gpt-4o" * 200_000) == []  # no quadratic matching of a huge name
    assert strip_variant("x/y:nitro") == "x/y"


def test_prices_outside_the_catalogue_come_from_bundled_data() -> None:
    catalog = Catalog.snapshot()
    assert "openai/o3" not in catalog
    assert catalog.price_of("openai/o3") == pytest.approx((2e-6, 8e-6))
    assert bundled_price("nobody/no-such-model") is None


def test_bad_payloads_are_rejected_and_odd_items_skipped() -> None:
    with pytest.raises(ValueError):
        Catalog.from_openrouter_json({"models": []}, "x")
    catalog = Catalog.from_openrouter_json(
        {"data": [{"id": "a/b", "pricing": {"prompt": "-1"}}, {"name": "no id"}, "junk"]}, "x")
    assert list(catalog.models) == ["a/b"] and catalog.get("a/b").prompt_price == 0.0


def test_disk_cache_honours_ttl(tmp_path: Path) -> None:
    cache = CatalogCache(tmp_path / "c.json", ttl_s=60)
    assert cache.load() is None
    cache.store(snapshot_json(), "openrouter")
    fresh = cache.load()
    assert fresh is not None and fresh.source == "openrouter" and len(fresh) == len(Catalog.snapshot())
    stored = json.loads((tmp_path / "c.json").read_text())
    stored["fetched_at"] = time.time() - 120
    (tmp_path / "c.json").write_text(json.dumps(stored))
    assert cache.load() is None
    assert cache.load(allow_stale=True) is not None
    (tmp_path / "c.json").write_text("{broken")
    assert cache.load(allow_stale=True) is None
