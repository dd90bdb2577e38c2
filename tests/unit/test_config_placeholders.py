"""Unexpanded ``${…}`` values (a client that passes mcp.json's env as written) read as unset, and
the image folders come from GATEWISE_ALLOWED_ROOTS."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from gatewise import config
from gatewise.config import load_settings


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "_warned_placeholders", set())


def test_env_placeholders_are_unset_and_warned_once_without_their_value(
        caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    env = {"OPENROUTER_API_KEY": "${OPENROUTER_API_KEY:-sk-or-v1-hidden}",
           "GATEWISE_CONFIG": "${GATEWISE_CONFIG:-}",
           "PORTKEY_BASE_URL": "${PORTKEY_BASE_URL:-https://api.portkey.ai/v1}",
           "GATEWISE_DATA_DIR": str(tmp_path)}
    with caplog.at_level(logging.WARNING, logger="gatewise.config"):
        first = load_settings(env)
        load_settings(env)
    assert first.openrouter_api_key is None and first.uses_sandbox
    assert first.portkey_base_url == config.PORTKEY_URL
    assert first.data_dir == tmp_path
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 3, warned  # once per name, not once per load
    assert any("OPENROUTER_API_KEY" in m for m in warned)
    assert not any("hidden" in m for m in warned)


def test_a_real_value_around_a_placeholder_is_kept(tmp_path: Path) -> None:
    # Only a value that is wholly one placeholder is unset; text around one is the user's value.
    env = {"GATEWISE_DATA_DIR": str(tmp_path / "${HOME}"), "OPENROUTER_API_KEY": "sk-${x}"}
    settings = load_settings(env)
    assert settings.data_dir == tmp_path / "${HOME}"
    assert settings.openrouter_api_key is not None


def test_config_file_placeholders_fall_back_to_defaults(tmp_path: Path,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "gatewise.json"
    path.write_text(json.dumps({"openrouter_api_key": "${OPENROUTER_API_KEY}",
                                "search": {"default_model": "${SEARCH_MODEL}", "max_results": 7},
                                "routing": {"fallback_chain": ["${FIRST}", "openai/gpt-4o-mini"]}}))
    with caplog.at_level(logging.WARNING, logger="gatewise.config"):
        settings = load_settings({"GATEWISE_CONFIG": str(path), "GATEWISE_DATA_DIR": str(tmp_path)})
    assert settings.openrouter_api_key is None
    assert settings.search.default_model is None and settings.search.max_results == 7
    assert settings.routing.fallback_chain == ["openai/gpt-4o-mini"]
    assert "gatewise.json.search.default_model" in caplog.text


def test_allowed_roots_from_the_environment_and_the_file(tmp_path: Path) -> None:
    one, two = tmp_path / "photos", tmp_path / "scans"
    env = {"GATEWISE_ALLOWED_ROOTS": f"{one}{os.pathsep}{os.pathsep}{two}",
           "GATEWISE_DATA_DIR": str(tmp_path)}
    assert load_settings(env).media.allowed_roots == [one, two]
    path = tmp_path / "gatewise.toml"
    path.write_text(f'[media]\nallowed_roots = ["{one}"]\n')
    from_file = load_settings({"GATEWISE_CONFIG": str(path), "GATEWISE_DATA_DIR": str(tmp_path)})
    assert from_file.media.allowed_roots == [one]
    # The environment wins over the file, as for every other setting.
    assert load_settings({**env, "GATEWISE_CONFIG": str(path)}).media.allowed_roots == [one, two]


async def test_doctor_names_the_image_folders(tmp_path: Path, sandbox,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    from gatewise.doctor import run_doctor

    base = {"GATEWISE_DATA_DIR": str(tmp_path), "GATEWISE_SANDBOX_URL": sandbox.url}
    assert await run_doctor(load_settings(base)) == 0
    assert "local images: none may be read (set GATEWISE_ALLOWED_ROOTS" in capsys.readouterr().out
    missing = tmp_path / "not-there"
    assert await run_doctor(load_settings({**base, "GATEWISE_ALLOWED_ROOTS": str(missing)})) == 1
    assert f"[!!] local images: media.allowed_roots names no folder at {missing}" in capsys.readouterr().out
    assert await run_doctor(load_settings({**base, "GATEWISE_ALLOWED_ROOTS": str(tmp_path)})) == 0
    assert f"local images: read only under {tmp_path}" in capsys.readouterr().out
