"""A pasted Portkey config drives routed_complete end to end against the sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest
from gatewise.servers.routing_gateway.server import create_server
from mcp import Client

from gatewise.config import load_settings
from gatewise.errors import GatewiseError
from tool_support import routed_once as call

FALLBACK = {
    "strategy": {"mode": "fallback", "on_status_codes": [429, 500, 502, 503, 408]},
    "request_timeout": 10000, "retry": {"attempts": 1},
    "targets": [
        {"provider": "openai", "api_key": "sk-secret-openai-key", "override_params": {"model": "gpt-4o"}},
        {"provider": "openrouter", "api_key": "sk-or-secret-key",
         "override_params": {"model": "anthropic/claude-sonnet-4.5", "max_tokens": 7}},
    ],
}
CONDITIONAL = {
    "strategy": {"mode": "conditional",
                 "conditions": [{"query": {"metadata.tier": {"$eq": "free"}}, "then": "cheap"},
                                {"query": {"$or": [{"params.max_tokens": {"$gt": 4000}},
                                                   {"metadata.task": {"$in": ["code_generation", "math"]}}]},
                                 "then": "strong"}],
                 "default": "cheap"},
    "targets": [{"name": "cheap", "provider": "openai", "override_params": {"model": "gpt-4o-mini"}},
                {"name": "strong", "provider": "anthropic",
                 "override_params": {"model": "claude-opus-5.5"}}],
}


def settings_with(tmp_path: Path, sandbox, config: dict):
    return load_settings({}, data_dir=tmp_path, sandbox_url=sandbox.url,
                         routing={"config": config})


def test_credentials_in_a_pasted_config_are_not_kept(tmp_path: Path, sandbox) -> None:
    settings = settings_with(tmp_path, sandbox, FALLBACK)
    text = repr(settings) + settings.model_dump_json()
    assert "sk-secret-openai-key" not in text and "sk-or-secret-key" not in text


def test_a_broken_config_is_a_start_up_error(tmp_path: Path, sandbox) -> None:
    with pytest.raises(GatewiseError) as info:
        settings_with(tmp_path, sandbox, {"strategy": {"mode": "roundrobin"}, "targets": [{}]})
    assert "routing.config" in info.value.message and "\n" not in info.value.message


async def test_fallback_config_moves_on_for_listed_statuses(tmp_path: Path, sandbox, upstream) -> None:
    settings = settings_with(tmp_path, sandbox, FALLBACK)
    upstream.fault("openai/gpt-4o", error_rate=1.0, statuses=[503])
    out = await call(settings, prompt="hello there")
    assert out["model"] == "anthropic/claude-sonnet-4.5"
    assert [a["status"] for a in out["attempts"]] == ["error", "ok"]
    assert out["tokens_out"] <= 7  # override_params reached the body
    assert "portkey config targets[1]: fallback #2" in out["route"]["reason"]
    assert upstream.stats()["models"]["openai/gpt-4o"]["requests"] == 2  # retry.attempts = 1


async def test_statuses_outside_on_status_codes_stop_the_chain(tmp_path: Path, sandbox, upstream) -> None:
    settings = settings_with(tmp_path, sandbox, FALLBACK)
    upstream.fault("openai/gpt-4o", error_rate=1.0, statuses=[400])
    async with Client(create_server(settings)) as client:
        result = await client.call_tool("routed_complete", {"prompt": "hello"})
    assert result.is_error and "INVALID_INPUT" in result.content[0].text
    assert "anthropic/claude-sonnet-4.5" not in upstream.stats()["models"]


async def test_conditional_routing_on_metadata_and_task(tmp_path: Path, sandbox, upstream) -> None:
    settings = settings_with(tmp_path, sandbox, CONDITIONAL)
    free = await call(settings, prompt="Write a Python function to sort a list",
                      metadata={"tier": "free"})
    assert free["model"] == "openai/gpt-4o-mini"
    code = await call(settings, prompt="Write a Python function to sort a list")
    assert code["model"] == "anthropic/claude-opus-5.5"
    assert "conditional" in code["route"]["reason"]
    chat = await call(settings, prompt="hello there")
    assert chat["model"] == "openai/gpt-4o-mini"


@pytest.mark.parametrize(("on_status_codes", "answered"), [
    ([408, 429], "anthropic/claude-sonnet-4.5"),  # a timeout moves on: the slow target gets half
    ([429], "openai/gpt-4o"),  # nothing follows a timeout: the slow target gets all the time left
])
async def test_an_attempt_gets_a_share_of_the_deadline_only_when_a_timeout_would_move_on(
        tmp_path: Path, sandbox, upstream, on_status_codes: list[int], answered: str) -> None:
    config = {"strategy": {"mode": "fallback", "on_status_codes": on_status_codes},
              "targets": [{"override_params": {"model": "gpt-4o"}},
                          {"override_params": {"model": "anthropic/claude-sonnet-4.5"}}]}
    settings = load_settings({}, data_dir=tmp_path, sandbox_url=sandbox.url, routing={"config": config},
                             limits={"deadline_s": 2.4, "read_timeout_s": 2.4})
    upstream.fault("openai/gpt-4o", latency_ms=1500)
    out = await call(settings, prompt="hello there")
    assert out["model"] == answered
