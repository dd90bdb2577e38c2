"""Start-up does not wait on a slow refresh of a stale model catalogue: the server serves from the
cached copy, and the fresh catalogue replaces it for every reader once it lands."""

from __future__ import annotations

import asyncio
import time

import pytest
from gatewise.servers.openrouter_multimodal.server import create_server
from mcp import Client

from gatewise.catalog import CatalogCache
from gatewise.config import Settings
from gatewise.gateway import CompletionRequest, RoutingGateway
from gatewise.routing.analyze import analyze
from gatewise.routing.policy import RouteRequest
from gatewise.runtime import CATALOG_STARTUP_WAIT_S, Runtime
from gatewise.search.service import SearchService
from sandbox_admin import SandboxAdmin

SLOW_MODELS_MS = 1500  # well past the start-up wait, short enough for a test to await


async def stale(settings: Settings) -> Settings:
    """Settings whose data dir holds a catalogue fetched from the sandbox, now past its TTL."""
    runtime = await Runtime.open(settings)  # a first start waits for the catalogue and keeps it
    await runtime.close()
    return settings.model_copy(update={"limits": settings.limits.model_copy(update={"catalog_ttl_s": 0})})


async def test_a_slow_catalogue_does_not_hold_up_start_and_replaces_the_old_one(
        upstream: SandboxAdmin, settings: Settings) -> None:
    settings = await stale(settings)
    upstream.fault("/models", latency_ms=SLOW_MODELS_MS)
    assert SLOW_MODELS_MS / 1000 > 4 * CATALOG_STARTUP_WAIT_S
    runtime = await Runtime.open(settings)
    try:
        gateway = RoutingGateway.from_runtime(runtime)
        search = SearchService(runtime)
        assert runtime.pending_refresh is not None and not runtime.pending_refresh.done()
        cached = runtime.catalog
        assert cached.source == "sandbox" and cached.fetched_at is not None
        profile = analyze([{"role": "user", "content": "What is 17*23?"}])
        before = gateway.policy.plan(profile, RouteRequest())  # fills the tier cache from the cached copy
        assert gateway.policy.catalog is cached and search.catalog is cached

        fresh = await asyncio.wait_for(runtime.pending_refresh, 10)
        assert runtime.catalog is fresh and fresh is not cached
        assert gateway.policy.catalog is fresh and search.catalog is fresh
        assert search.model in fresh.models
        after = gateway.policy.plan(profile, RouteRequest())
        assert [c.model for c in after.candidates] == [c.model for c in before.candidates]
        answer = await gateway.complete(CompletionRequest(prompt="What is 17*23?", no_cache=True))
        assert answer.provider == "sandbox"
    finally:
        await runtime.close()


async def test_a_server_lists_tools_before_the_first_catalogue_and_calls_wait_for_it(
        upstream: SandboxAdmin, settings: Settings) -> None:
    """A first start waits for the catalogue (the config may name models only the upstream
    lists), but only tool calls wait: the handshake and tools/list are answered meanwhile."""
    upstream.fault("/models", latency_ms=SLOW_MODELS_MS)
    server = create_server(settings)
    async with Client(server) as client:
        (runtime,) = server.runtimes.values()
        assert (await client.list_tools()).tools
        assert runtime.catalog.source == "snapshot"
        assert runtime.pending_refresh is not None and not runtime.pending_refresh.done()
        answer = await client.call_tool("validate_model", {"model": "openai/gpt-4o-mini"})
        assert not answer.is_error
        assert runtime.catalog.source == "sandbox" and runtime.pending_refresh is None
    assert not server.runtimes


async def test_close_cancels_a_refresh_still_running(upstream: SandboxAdmin, settings: Settings) -> None:
    settings = await stale(settings)
    upstream.fault("/models", latency_ms=60_000)
    runtime = await Runtime.open(settings)
    pending = runtime.pending_refresh
    assert pending is not None
    await asyncio.wait_for(runtime.close(), 10)
    assert pending.cancelled()


@pytest.mark.parametrize(("cached", "latency_ms"), [(False, SLOW_MODELS_MS), (True, 0)])
async def test_the_fresh_catalogue_is_used_from_the_first_call(
        upstream: SandboxAdmin, settings: Settings, cached: bool, latency_ms: float) -> None:
    """A first start (nothing cached: the config may name models only the upstream lists) waits
    for the catalogue even when slow; a quick refresh of a stale one is waited for too."""
    if cached:
        settings = await stale(settings)
    upstream.fault("/models", latency_ms=latency_ms)
    started = time.time()
    runtime = await Runtime.open(settings)
    try:
        assert runtime.pending_refresh is None
        assert runtime.catalog.source == "sandbox" and (runtime.catalog.fetched_at or 0) >= started
    finally:
        await runtime.close()


async def test_a_late_refresh_that_fails_is_logged_and_close_still_completes(
        upstream: SandboxAdmin, settings: Settings, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    settings = await stale(settings)
    upstream.fault("/models", latency_ms=SLOW_MODELS_MS)

    def disk_full(self: CatalogCache, payload: object, source: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(CatalogCache, "store", disk_full)  # a write failure a test cannot cause
    runtime = await Runtime.open(settings)
    pending, cached = runtime.pending_refresh, runtime.catalog
    assert pending is not None
    await asyncio.wait({pending}, timeout=10)
    assert isinstance(pending.exception(), OSError)
    assert "model catalogue refresh failed (OSError" in caplog.text
    assert runtime.catalog is cached
    await asyncio.wait_for(runtime.close(), 10)
