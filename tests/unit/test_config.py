"""Settings: file + environment, the documented config block, one-line errors, exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gatewise.catalog import Catalog
from gatewise.config import TaskType, load_settings, parse_size
from gatewise.errors import ErrorCode, GatewiseError
from gatewise.routing.policy import resolve_routing

DOCUMENTED = {
    "routing": {"strategy": "hybrid_optimization",
                "primary_models": {"reasoning_tasks": "claude-3-opus", "code_generation": "gpt-4o",
                                   "data_analysis": "gemini-1.5-pro",
                                   "simple_queries": "claude-3-haiku"},
                "fallback_chain": ["claude-3-opus", "gpt-4o", "gemini-1.5-pro"],
                "cost_threshold": 0.01, "latency_threshold_ms": 2000},
    "guardrails": {"input_filters": {"pii_detection": True, "content_safety": "enterprise",
                                     "moderation_model": "meta-llama/llama-guard-4-12b",
                                     "custom_blocklist": ["confidential", "internal", "proprietary"]},
                   "output_filters": {"compliance_check": True, "fact_verification": True,
                                      "hallucination_detection": 0.8}},
    "caching": {"semantic_cache": {"enabled": True, "similarity_threshold": 0.85,
                                   "ttl_seconds": 3600, "max_cache_size": "10GB"},
                "response_cache": {"exact_match": True, "ttl_seconds": 1800},
                "embedding_cache": {"model": "text-embedding-3-large", "ttl_seconds": 86400}},
}


def write(tmp_path: Path, data: object, name: str = "gatewise.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data) if name.endswith(".json") else str(data))
    return path


def test_documented_block_parses_exactly_as_written(tmp_path: Path) -> None:
    settings = load_settings({"GATEWISE_CONFIG": str(write(tmp_path, DOCUMENTED))})
    assert settings.routing.primary_models[TaskType.REASONING] == "claude-3-opus"
    assert settings.routing.primary_models[TaskType.SIMPLE_QUERY] == "claude-3-haiku"
    assert settings.routing.cost_threshold == 0.01
    assert settings.guardrails.input_filters.content_safety == "enterprise"
    assert settings.guardrails.output_filters.hallucination_detection == 0.8
    assert settings.caching.semantic_cache.max_cache_size == 10 * 10**9
    assert settings.caching.embedding_cache.model == "text-embedding-3-large"


def test_toml_file_and_env_override(tmp_path: Path) -> None:
    path = write(tmp_path, '[routing]\nfallback_chain = ["gpt-4o"]\n[limits]\nmax_retries = 4\n',
                 "gatewise.toml")
    env = {"GATEWISE_CONFIG": str(path), "OPENROUTER_API_KEY": "sk-or-v1-abcdef123456",
           "GATEWISE_DATA_DIR": str(tmp_path / "data"), "OPENROUTER_BASE_URL": "http://x.test/v1/"}
    settings = load_settings(env)
    assert settings.routing.fallback_chain == ["gpt-4o"]
    assert settings.limits.max_retries == 4
    assert settings.data_dir == tmp_path / "data"
    assert settings.openrouter_base_url == "http://x.test/v1"
    assert not settings.uses_sandbox
    assert "sk-or-v1-abcdef123456" not in repr(settings)


def test_no_key_means_sandbox_and_default_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", "/tmp/xdg-test")
    settings = load_settings({})
    assert settings.uses_sandbox
    assert settings.data_dir == Path("/tmp/xdg-test/gatewise")


@pytest.mark.parametrize(("data", "fragment"), [
    ({"routing": {"primary_models": {"poetry_tasks": "gpt-4o"}}}, "unknown task 'poetry_tasks'"),
    ({"routing": {"cost_threshold": -1}}, "routing.cost_threshold"),
    ({"caching": {"semantic_cache": {"max_cache_size": "lots"}}}, "not a size"),
    ({"guardrails": {"input_filters": {"content_safety": "paranoid"}}}, "content_safety"),
    ({"routing": {"stratgy": "x"}}, "routing.stratgy"),
    ({"openrouter_base_url": "ftp://nope"}, "not an http(s) URL"),
])
def test_invalid_config_is_one_clear_line(tmp_path: Path, data: dict, fragment: str) -> None:
    with pytest.raises(GatewiseError) as info:
        load_settings({"GATEWISE_CONFIG": str(write(tmp_path, data))})
    assert info.value.code is ErrorCode.CONFIG_ERROR
    assert fragment in info.value.message
    assert "\n" not in info.value.message


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(GatewiseError, match="cannot read config file"):
        load_settings({"GATEWISE_CONFIG": str(tmp_path / "missing.json")})
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(GatewiseError, match="is not valid"):
        load_settings({"GATEWISE_CONFIG": str(bad)})


def test_sizes() -> None:
    assert parse_size("10GB") == 10_000_000_000
    assert parse_size("512 MiB") == 512 * 1024**2
    assert parse_size(42) == 42
    with pytest.raises(ValueError):
        parse_size("ten")


def test_short_names_resolve_and_retired_ones_suggest_current_models() -> None:
    catalog = Catalog.snapshot()
    settings = load_settings({}, routing=DOCUMENTED["routing"])
    with pytest.raises(GatewiseError) as info:
        resolve_routing(settings.routing, catalog)
    message = info.value.message
    assert "'gemini-1.5-pro' is not in the catalogue" in message
    assert "google/gemini-2.5-pro" in message  # the closest current model is named
    relaxed = resolve_routing(settings.routing, catalog, allow_unlisted=True)
    assert relaxed.primary[TaskType.REASONING] == "anthropic/claude-3-opus"
    assert relaxed.primary[TaskType.CODE_GENERATION] == "openai/gpt-4o"
    assert relaxed.primary[TaskType.DATA_ANALYSIS] == "gemini-1.5-pro"  # kept, with a warning
    assert len(relaxed.warnings) == 2
    assert relaxed.fallback_chain[:2] == ("anthropic/claude-3-opus", "openai/gpt-4o")


def test_defaults_are_current_catalogue_models_by_tier() -> None:
    catalog = Catalog.snapshot()
    routing = resolve_routing(load_settings({}).routing, catalog)
    for task, model_id in routing.primary.items():
        assert model_id in catalog, task
        assert routing.sources[task].startswith("default")
    cheap = catalog.get(routing.primary[TaskType.SIMPLE_QUERY])
    premium = catalog.get(routing.primary[TaskType.REASONING])
    assert cheap.blended_price * 10 < premium.blended_price
    assert catalog.get(routing.primary[TaskType.VISION]).supports("image")
    assert "claude-3" not in routing.primary[TaskType.REASONING]  # not a dated model


def test_server_exits_2_with_one_line_on_bad_config(tmp_path: Path) -> None:
    path = write(tmp_path, {"routing": {"primary_models": {"code_generation": "gpt-4oo"}}})
    env = {"GATEWISE_CONFIG": str(path), "PATH": "/usr/bin:/bin",
           "GATEWISE_DATA_DIR": str(tmp_path / "d")}
    proc = subprocess.run([sys.executable, "-m", "gatewise.servers.routing_gateway"],
                          env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "gpt-4oo" in lines[0] and "openai/gpt-4o" in lines[0]
    assert "Traceback" not in proc.stderr
