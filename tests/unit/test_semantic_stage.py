"""The semantic cache stage on calls whose answer depends on more than the question's words: a
request with tools or a response format never reads or stores, whatever its wording."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

from gatewise.cache.embedders import LocalEmbedder
from gatewise.config import load_settings
from gatewise.gateway import CompletionRequest, RoutingGateway
from gatewise.runtime import Runtime
from tool_support import ledger_rows

TOOL = {"type": "function", "function": {"name": "lookup_account", "description": "Find an account",
                                         "parameters": {"type": "object", "properties": {}}}}


@pytest.mark.parametrize("extra", [{"tools": [TOOL]}, {"response_format": {"type": "json_object"}}])
async def test_requests_with_tools_or_a_response_format_are_never_served(tmp_path: Path, sandbox, upstream,
                                                                         extra: dict[str, Any]) -> None:
    settings = load_settings({}, data_dir=tmp_path / "data", sandbox_url=sandbox.url,
                             caching={"semantic_cache": {"enabled": True}})
    runtime = await Runtime.open(settings)
    try:
        gateway = RoutingGateway.from_runtime(runtime)
        statuses = []
        for prompt in ("How do I reset my password?", "How can I reset my password?",
                       "How do I reset my password?"):
            call = gateway._call(CompletionRequest(prompt=prompt, model="gpt-4o-mini"))
            call.params.update(extra)
            statuses.append((await gateway.pipeline.run(call)).cache_status)
        plain = gateway._call(CompletionRequest(prompt="How can I reset my password?", model="gpt-4o-mini"))
        statuses.append((await gateway.pipeline.run(plain)).cache_status)
        assert runtime.semantic is not None and (await runtime.semantic.stats()).entries == 1
    finally:
        await runtime.close()
    # The exact repeat is still the exact cache's; the paraphrase went upstream; only the plain
    # request was stored for the semantic cache, and nothing it holds was given with tools.
    assert statuses == ["miss", "miss", "hit_exact", "miss"]
    assert upstream.stats()["models"]["openai/gpt-4o-mini"]["requests"] == 3
    assert len(await ledger_rows(settings)) == 4


async def test_the_embedding_model_is_loaded_after_start_up_not_by_the_first_lookup(
        tmp_path: Path, sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    loads: list[str] = []
    load = LocalEmbedder._load

    def counted(self: LocalEmbedder) -> None:
        if self._session is None:
            loads.append(threading.current_thread().name)
        load(self)

    monkeypatch.setattr(LocalEmbedder, "_load", counted)
    settings = load_settings({}, data_dir=tmp_path / "data", sandbox_url=sandbox.url,
                             caching={"semantic_cache": {"enabled": True}})
    runtime = await Runtime.open(settings)
    try:
        for _ in range(600):  # loaded in the background: no call has been made
            embedder = runtime.semantic.embedder if runtime.semantic is not None else None
            if loads and getattr(embedder, "_session", None) is not None:
                break
            await asyncio.sleep(0.05)
        assert len(loads) == 1 and loads[0].startswith("gatewise-embed")
        gateway = RoutingGateway.from_runtime(runtime)
        call = gateway._call(CompletionRequest(prompt="How do I reset my password?", model="gpt-4o-mini"))
        assert (await gateway.pipeline.run(call)).cache_status == "miss"
        assert len(loads) == 1  # the lookup found the model loaded
    finally:
        await runtime.close()


async def test_closing_while_the_model_loads_ends_cleanly(tmp_path: Path, sandbox) -> None:
    settings = load_settings({}, data_dir=tmp_path / "data", sandbox_url=sandbox.url,
                             caching={"semantic_cache": {"enabled": True}})
    runtime = await Runtime.open(settings)
    warming = runtime._warming
    await asyncio.wait_for(runtime.close(), 30)  # the load may still be running on its thread
    assert warming is not None and warming.done()


async def test_an_explained_miss_says_why_the_semantic_cache_served_nothing(tmp_path: Path, sandbox) -> None:
    settings = load_settings({}, data_dir=tmp_path / "data", sandbox_url=sandbox.url,
                             caching={"semantic_cache": {"enabled": True}})
    runtime = await Runtime.open(settings)
    try:
        gateway = RoutingGateway.from_runtime(runtime)

        async def ask(prompt: str, *, explain: bool = True) -> list[str]:
            result = await gateway.complete(CompletionRequest(prompt=prompt, model="gpt-4o-mini",
                                                              explain=explain))
            return [w for w in result.warnings if w.startswith("semantic cache")]

        apart = " (answers asked for with explain: true are kept apart from plain ones)"
        assert await ask("How do I reset my password?") == \
            ["semantic cache: not served: no stored question in this scope reaches the similarity threshold"
             + apart]
        assert await ask("How do I reset my password for account 48213?") == [
            "semantic cache: not served: the closest stored question has other numbers, amounts, "
            "dates, ids or codes" + apart]
        assert await ask("How do I not reset my password?", explain=False) == []  # brief: not said
        hit = await gateway.complete(CompletionRequest(prompt="How can I reset my password?",
                                                       model="gpt-4o-mini", explain=True))
        assert hit.cache_status == "hit_semantic" and not any("not served" in w for w in hit.warnings)
    finally:
        await runtime.close()
