"""The semantic cache stage: after an exact miss, the answer to a question that means the same.

A call takes part when its tool gave it a :class:`SemanticPolicy` and the runtime has a semantic
cache (``caching.semantic_cache.enabled``). The question is the last user turn (or the call's
``query``); the scope is everything else the answer depends on, so a stored answer is served only
to the same tool, model set, parameters, conversation so far and project. Requests whose answer
depends on more than the words (tools, tool turns, images, a response format) or that ask for a
fresh sample (temperature > 0, unless the caller opted in: as for the exact cache) neither read
nor store.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from gatewise.cache import should_store
from gatewise.ledger.records import CallRecord
from gatewise.pipeline.call import Call, SemanticMatch
from gatewise.pipeline.stages import Next, served
from gatewise.runtime import Runtime

if TYPE_CHECKING:  # loaded with numpy when the runtime opens a semantic cache, not before
    from gatewise.cache.semantic import Scope, SemanticCache

SOURCE = "semantic cache"


class SemanticCacheStage:
    """Serve a paraphrase's answer (``hit_semantic``) or store the fresh one for the next."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def __call__(self, call: Call[Any], next: Next) -> Awaitable[None]:
        cache = self.runtime.semantic
        asked = question_and_scope(call) if cache is not None else None
        if cache is None or asked is None:
            return next(call)
        return self._cached(call, next, cache, asked)

    async def _cached(self, call: Call[Any], next: Next, cache: SemanticCache,
                      asked: tuple[str, Scope]) -> None:
        question, scope = asked
        policy = call.cache
        if policy.force_refresh:
            call.cache_status = "refresh"
        else:
            found = await cache.lookup(scope, question, max_age_s=policy.max_age_s)
            # Recorded before the answer's own row, so analytics still file the call under the
            # model that answered it.
            self._record_embedding(call, cache, found.cost_usd)
            if found.hit is not None:
                hit = found.hit
                call.warnings.append(f"answered from the semantic cache: {hit.question!r} was asked "
                                     f"{hit.age_s:.0f}s ago (similarity {hit.similarity:.3f})")
                match = SemanticMatch(question=hit.question, similarity=round(hit.similarity, 4),
                                      age_s=round(hit.age_s, 1))
                assert call.revive is not None  # question_and_scope asks for one
                call.cache_status = "hit_semantic"
                result = call.revive(call, hit.value, hit.age_s)
                served(call, result.model_copy(update={"semantic_match": match}), "hit_semantic", SOURCE)
                return
            if call.cache_status == "bypass":  # the exact cache is off, but this one was looked in
                call.cache_status = "miss"
            call.semantic_miss = f"semantic cache: not served: {found.why_not_served}"
        await next(call)
        # The same answers the exact cache keeps: successful ones the caller let us store.
        if should_store(call.cache_status) and call.result is not None:
            cost = await cache.store(scope, question, call.result.model_dump(mode="json"), ttl_s=policy.ttl_s)
            self._record_embedding(call, cache, cost)

    def _record_embedding(self, call: Call[Any], cache: SemanticCache, cost_usd: float) -> None:
        """What embedding the question cost upstream (nothing for the local embedder), as a row."""
        if cost_usd <= 0:
            return
        call.record([CallRecord(
            server=call.server, tool=call.tool, provider=self.runtime.provider,
            model=cache.embedder.name, tokens_in=0, tokens_out=0, cost_usd=cost_usd, latency_ms=0.0,
            status="ok", cache_status=call.cache_status, route_reason=f"{SOURCE}: embedding the question",
            project=call.project, request_id=call.request_id, attempt=0, task=call.task)])


def question_and_scope(call: Call[Any]) -> tuple[str, Scope] | None:
    """The question a call asks and the scope its answer belongs to, or None when the semantic
    cache must leave the call alone."""
    from gatewise.cache.semantic import Scope, last_user_text, request_is_cacheable

    semantic = call.cache.semantic
    if semantic is None or call.skips_cache or call.revive is None:
        return None
    messages = call.messages
    params = {**call.params, **semantic.scope}
    # The question is read from the messages as the input guardrails let them through.
    if call.query is not None:  # a search: its tool and settings are the scope, its prompt is ours
        return last_user_text(messages), Scope(call.namespace, semantic.models, params, (), call.project)
    refused = request_is_cacheable({**call.params, "messages": messages})
    if refused is not None:  # the reason the answer depends on more than the words
        return None
    return last_user_text(messages), Scope(call.namespace, semantic.models, params, messages[:-1],
                                           call.project, messages[-1].get("name"))
