"""The one call pipeline: every tool that calls a model goes through the same stages, and one
cache vocabulary reaches every result and ledger row."""

from __future__ import annotations

import base64
import io
import uuid
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from gatewise.config import load_settings
from gatewise.errors import ErrorCode, GatewiseError
from gatewise.gateway import CompletionRequest, RoutingGateway
from gatewise.ledger import CACHE_STATUSES
from gatewise.multimodal.service import MultimodalService
from gatewise.pipeline import Call, Pipeline, standard_stages
from gatewise.pipeline.call import new_request_id
from gatewise.pipeline.stages import Next
from gatewise.runtime import Runtime
from gatewise.search.service import SearchService
from tool_support import ledger_rows

MODEL_TOOLS = {("routing-gateway", "routed_complete"), ("openrouter-multimodal", "analyze_image"),
               ("openrouter-multimodal", "chat_completion"), ("openrouter-multimodal", "generate_image"),
               ("openrouter-multimodal", "analyze_audio"), ("openrouter-multimodal", "analyze_video"),
               ("openrouter-search", "web_search"), ("openrouter-search", "research")}


def png_data_url() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), "red").save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


class Spy:
    """A stage added in one place, in front of the standard ones."""

    def __init__(self) -> None:
        self.calls: list[Call[Any]] = []

    async def __call__(self, call: Call[Any], next: Next) -> None:
        await next(call)
        self.calls.append(call)


async def test_a_stage_added_once_sees_every_tool(tmp_path: Path, sandbox, upstream) -> None:
    settings = load_settings({}, data_dir=tmp_path / "data", sandbox_url=sandbox.url,
                             media={"allowed_roots": [tmp_path]})
    wav, clip = tmp_path / "clip.wav", tmp_path / "clip.mp4"
    wav.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(32))
    clip.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(16))
    runtime = await Runtime.open(settings)
    try:
        spy = Spy()
        pipeline = Pipeline([spy, *standard_stages(runtime)])
        gateway, media, search = RoutingGateway.from_runtime(runtime), MultimodalService(runtime), \
            SearchService(runtime)
        for service in (gateway, media, search):
            service.pipeline = pipeline
        for _ in range(2):  # the second is a cache hit: it goes through the pipeline too
            await gateway.complete(CompletionRequest(prompt="What is 2+2?"))
        image = {"images": [png_data_url()], "question": "What colour?", "system": None, "model": None,
                 "max_tokens": None, "temperature": None, "detail": None, "json_schema": None}
        await media.analyze_image(**image, no_cache=False, force_refresh=False)
        await media.analyze_image(**image, no_cache=False, force_refresh=True)
        await media.chat_completion(model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "hi"}],
                                    extra={})
        await media.generate_image(prompt="a red cube", model=None, aspect_ratio=None, image_size=None,
                                   save=False)
        for kind, source in (("audio", wav), ("video", clip)):
            await media.analyze_media(kind, source=str(source), question="What is it?", model=None,
                                      max_tokens=None, temperature=None)
        options = search.options(max_results=None, engine=None, context_size=None, include=(), exclude=(),
                                 freshness=None)
        await search.web_search("SQLite WAL concurrency", options, use_cache=False)
        await search.research("EV batteries", options, queries=["LFP battery chemistry"], max_searches=None,
                              model=None)
    finally:
        await runtime.close()
    assert {(c.server, c.tool) for c in spy.calls} == MODEL_TOOLS
    statuses = [(c.tool, c.cache_status) for c in spy.calls]
    assert ("routed_complete", "miss") in statuses and ("routed_complete", "hit_exact") in statuses
    assert ("analyze_image", "refresh") in statuses and ("web_search", "bypass") in statuses
    assert ("chat_completion", "miss") in statuses
    assert ("generate_image", "bypass") in statuses  # a tool that never caches says so
    rows = await ledger_rows(settings)
    assert len(rows) == sum(len(c.rows) for c in spy.calls)
    for call in spy.calls:  # one vocabulary: the call, its result and its rows agree
        assert call.cache_status in CACHE_STATUSES and call.result.cache_status == call.cache_status
        assert {r.cache_status for r in call.rows} == {call.cache_status}
        assert {r.request_id for r in call.rows} == {call.result.request_id}


async def test_a_failed_call_writes_its_rows_and_stores_nothing(tmp_path: Path, sandbox, upstream) -> None:
    settings = load_settings({}, data_dir=tmp_path, sandbox_url=sandbox.url, budgets={"rules": [
        {"scope": "project:down", "window": "daily", "limit_usd": 1, "on_exceed": "block"}]})
    runtime = await Runtime.open(settings)
    try:
        gateway = RoutingGateway.from_runtime(runtime)
        upstream.fault("*", error_rate=1.0, statuses=[503])
        request = CompletionRequest(prompt="What is 3+3?", model="openai/gpt-4o-mini", project="down")
        with pytest.raises(GatewiseError) as failed:
            await gateway.complete(request)
        assert failed.value.code == ErrorCode.UPSTREAM_ERROR
        (held,) = await runtime.budgets.status("project:down")
        upstream.reset()
        again = await gateway.complete(request)
        (charged,) = await runtime.budgets.status("project:down")
    finally:
        await runtime.close()
    assert held.reserved_usd == 0 and held.spent_usd == 0  # the failed call's hold was released
    assert again.cache_status == "miss"  # and it left nothing in the cache
    assert charged.spent_usd == pytest.approx(again.cost_usd) and charged.reserved_usd == 0
    rows = await ledger_rows(settings)
    errors = [r for r in rows if r.status == "error"]
    assert errors and all(r.cost_usd == 0 for r in errors)


async def test_the_prompt_size_limit_applies_to_every_tool(settings, upstream) -> None:
    limits = settings.limits.model_copy(update={"max_prompt_chars": 100})
    small = settings.model_copy(update={"limits": limits})
    runtime = await Runtime.open(small)
    try:
        media = MultimodalService(runtime)
        long = "Tell me more. " * 10
        with pytest.raises(GatewiseError) as chat:
            await media.chat_completion(model="openai/gpt-4o-mini", extra={},
                                        messages=[{"role": "user", "content": long}])
        with pytest.raises(GatewiseError) as routed:
            await RoutingGateway.from_runtime(runtime).complete(CompletionRequest(prompt=long))
    finally:
        await runtime.close()
    for refused in (chat, routed):
        assert refused.value.code == ErrorCode.TOO_LARGE
        assert "limits.max_prompt_chars" in refused.value.message
    assert upstream.stats()["totals"]["requests"] == 0


def test_request_ids_are_random_version_4_uuids_in_hex() -> None:
    ids = {new_request_id() for _ in range(2000)}
    assert len(ids) == 2000
    for request_id in ids:
        parsed = uuid.UUID(hex=request_id)
        assert parsed.hex == request_id and parsed.version == 4 and parsed.variant == uuid.RFC_4122
