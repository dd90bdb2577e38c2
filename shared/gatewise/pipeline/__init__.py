"""The one call pipeline every tool that calls a model passes through.

validate → prepare → ledger → input guardrails → exact cache → semantic cache → route →
build → output guardrails → budget hold → upstream

Every call that reaches the upstream holds its worst case against its budgets; what the budgets
said of it is added to the result as it leaves, outside the caches.

Read it as an onion: each stage may act on the way in (validate, reserve the budget), on the way
out (store the answer, settle the budget, commit the ledger rows) or answer itself (a cache
hit). The tools differ only in what they put in the :class:`Call`; a new concern is a new stage
in :func:`standard_stages`, and applies to every tool at once.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from gatewise.pipeline.call import (
    CachePolicy,
    CacheStatusField,
    Call,
    R,
    SemanticMatch,
    SemanticMatchField,
    SemanticPolicy,
)
from gatewise.pipeline.guarding import InputGuardrails, OutputGuardrails, noted
from gatewise.pipeline.semantic_stage import SemanticCacheStage
from gatewise.pipeline.stages import (
    BudgetHold,
    Build,
    ExactCache,
    Ledger,
    Next,
    Prepare,
    Route,
    Stage,
    Upstream,
    Validate,
    check_request,
)
from gatewise.routing.policy import Candidate
from gatewise.runtime import Runtime

__all__ = ["CachePolicy", "CacheStatusField", "Call", "Pipeline", "SemanticMatch", "SemanticMatchField",
           "SemanticPolicy", "Stage", "check_request", "one_model", "standard_stages"]


def standard_stages(runtime: Runtime) -> list[Stage]:
    """The stages in order, outermost first."""
    return [Validate(runtime), Prepare(), Ledger(runtime), InputGuardrails(runtime), ExactCache(runtime),
            SemanticCacheStage(runtime), Route(), Build(), OutputGuardrails(runtime), BudgetHold(runtime),
            Upstream(runtime)]


class Pipeline:
    """The stages chained once, so a call costs one coroutine per stage and nothing else."""

    def __init__(self, stages: Sequence[Stage]) -> None:
        self.stages = tuple(stages)
        self._run = _chain(self.stages)

    @classmethod
    def for_runtime(cls, runtime: Runtime) -> Pipeline:
        return cls(standard_stages(runtime))

    async def run(self, call: Call[R]) -> R:
        await self._run(call)
        assert call.result is not None, "the pipeline ended without a result"
        return noted(call.result, call.budget_notes) if call.budget_notes else call.result


def one_model(model: str, reason: str = "requested", *, retries: int | None = None) -> list[Candidate]:
    """The candidates of a tool that calls the one model it was given."""
    return [Candidate(model, reason, None, retries=retries)]


def _chain(stages: Sequence[Stage]) -> Next:
    async def end(call: Call[Any]) -> None:
        return None

    step: Next = end
    for stage in reversed(stages):
        step = _link(stage, step)
    return step


def _link(stage: Stage, next: Next) -> Next:
    # The stage's own coroutine, with no wrapper coroutine around it.
    return functools.partial(stage, next=next)
