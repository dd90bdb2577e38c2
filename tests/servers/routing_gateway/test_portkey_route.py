"""Portkey as a route: calls sent through Portkey's data plane (the sandbox stands in)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from gatewise.config import load_settings
from gatewise.errors import ErrorCode, GatewiseError
from gatewise.upstream.portkey_gateway import PortkeyGatewayClient
from tool_support import routed_once as call

PORTKEY_CONFIG = {"strategy": {"mode": "fallback"}, "cache": {"mode": "simple"},
                  "targets": [{"provider": "openai", "api_key": "sk-provider-secret",
                               "override_params": {"model": "gpt-4o"}},
                              {"provider": "anthropic", "override_params": {"model": "claude-haiku-4.5"}}]}


def settings_for(tmp_path: Path, sandbox, **extra):
    return load_settings({}, data_dir=tmp_path, sandbox_url=sandbox.url, **extra)


async def test_portkey_is_a_fallback_the_router_can_reach(tmp_path: Path, sandbox, upstream) -> None:
    settings = settings_for(tmp_path, sandbox, routing={
        "primary_models": {"simple_query": "gpt-4o-mini"}, "fallback_chain": ["portkey:claude-haiku-4.5"],
        "difficulty_threshold": None})
    upstream.fault("openai/gpt-4o-mini", error_rate=1.0, statuses=[503])
    out = await call(settings, prompt="hello there", project="pk")
    assert out["model"] == "anthropic/claude-haiku-4.5"
    assert [a["provider"] for a in out["attempts"]] == ["sandbox", "sandbox-portkey"]
    assert out["provider"] == "sandbox-portkey" and out["cost_usd"] > 0  # priced from the catalogue


async def test_portkey_config_cache_and_its_fallback(tmp_path: Path, sandbox, upstream) -> None:
    settings = settings_for(tmp_path, sandbox, portkey_route={"config": PORTKEY_CONFIG})
    assert "sk-provider-secret" not in repr(settings) + settings.model_dump_json()
    upstream.fault("openai/gpt-4o", error_rate=1.0, statuses=[503])  # Portkey falls back inside
    first = await call(settings, prompt="What is 5*5?", model="portkey:gpt-4o")
    assert first["model"] == "anthropic/claude-haiku-4.5" and "25" in first["answer"]
    assert first["cache_status"] == "miss" and first["cost_usd"] > 0
    second = await call(settings, prompt="What is 5*5?", model="portkey:gpt-4o")
    assert second["cache_status"] == "hit_exact" and second["cost_usd"] == 0


async def test_client_headers_and_errors(tmp_path: Path, sandbox, upstream) -> None:
    settings = settings_for(tmp_path, sandbox, portkey_route={"provider": "openai"})
    async with PortkeyGatewayClient(settings) as client:
        assert client.base_url == sandbox.root_url + "/v1"
        result = await client.chat({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
                                   headers={"x-portkey-trace-id": "t-1"})
        assert result.model == "openai/gpt-4o-mini" and result.cache_status == "DISABLED"
        with pytest.raises(GatewiseError) as info:
            await client.chat({"messages": []})
        assert info.value.code is ErrorCode.INVALID_INPUT
    bad = settings.model_copy(update={"portkey_api_key": SecretStr("pk-bad-123456"),
                                      "portkey_base_url": sandbox.root_url + "/v1"})
    async with PortkeyGatewayClient(bad) as client:
        with pytest.raises(GatewiseError) as info:
            await client.chat({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})
        assert info.value.code is ErrorCode.UNAUTHORIZED and "pk-bad-123456" not in str(info.value)


async def test_without_key_or_sandbox_portkey_says_what_is_missing(tmp_path: Path) -> None:
    settings = load_settings({"OPENROUTER_API_KEY": "sk-or-real-looking-key"}, data_dir=tmp_path)
    async with PortkeyGatewayClient(settings) as client:
        with pytest.raises(GatewiseError) as info:
            await client.chat({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})
    assert info.value.code is ErrorCode.UNAUTHORIZED and "PORTKEY_API_KEY" in info.value.message
