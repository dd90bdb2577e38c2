"""The guardrail pipeline of a running gateway, and the model call its model-backed checks use.

Moderation (``enterprise`` content safety) and the grounding judge ask a model. They go through
the gateway's own upstream client, so they get its retries, key handling and secret scrubbing,
they hold their worst case against the budgets of the request they check, and each one writes a
ledger row under the request it checked (same server, tool, project, caller and
request id, task ``guardrail``), so what guarding a call cost shows up next to the call.
"""

from __future__ import annotations

import logging
import uuid
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gatewise.caller import caller_name
from gatewise.errors import ErrorCode, GatewiseError
from gatewise.guardrails.moderation import ModelCall
from gatewise.guardrails.pipeline import GuardrailPipeline
from gatewise.ledger.budgets import Reservation, budget_scopes
from gatewise.ledger.records import CallRecord
from gatewise.routing.analyze import count_unknown_tokens

if TYPE_CHECKING:
    from gatewise.runtime import Runtime

log = logging.getLogger(__name__)
GUARD_MAX_TOKENS = 64  # a verdict or a score, never prose
GUARD_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class Requester:
    """The tool call a guardrail check runs for."""

    server: str
    tool: str
    project: str | None
    request_id: str


# Set by the guardrail stages around a check, so a model-backed check bills the right call.
CHECKING: ContextVar[Requester | None] = ContextVar("gatewise_guardrail_requester", default=None)


def open_guardrails(runtime: Runtime) -> GuardrailPipeline | None:
    """The configured pipeline, or None when every filter is off (the stages then skip)."""
    # The runtime's request key is the audit key: its file is read once per process.
    pipeline = GuardrailPipeline.from_settings(runtime.settings.guardrails, call_model=model_call(runtime),
                                               audit_key=runtime.request_key)
    for gap in pipeline.gaps:
        log.warning("guardrails: %s", gap)
    return pipeline if pipeline.checks_input or pipeline.checks_output else None


def model_call(runtime: Runtime) -> ModelCall:
    async def call(model: str, messages: list[dict[str, Any]]) -> tuple[str, float]:
        who = CHECKING.get() or Requester("gatewise", "guardrails", None, f"guardrail-{uuid.uuid4().hex}")
        # Held against the budgets like any paid call: a block budget refuses the check's model
        # call (the check then flags that the model was not asked) rather than let it overspend.
        hold = await hold_guard_call(runtime, model, messages, who)
        try:
            result = await runtime.client.chat(
                {"model": model, "messages": messages, "max_tokens": GUARD_MAX_TOKENS, "temperature": 0},
                timeout_s=GUARD_TIMEOUT_S)
        except BaseException:
            await runtime.budgets.release(hold)
            raise
        count_unknown_tokens(result, messages)
        cost = runtime.catalog.cost_of(model, result.tokens_in, result.tokens_out, result.cost_usd)
        await runtime.ledger.record(CallRecord(
            server=who.server, tool=who.tool, provider=runtime.provider, model=result.model or model,
            tokens_in=result.tokens_in, tokens_out=result.tokens_out, cost_usd=cost,
            latency_ms=result.latency_ms, status="ok", cache_status="bypass",
            route_reason="guardrail check", request_id=who.request_id, attempt=0, project=who.project,
            caller=caller_name(), task="guardrail"))
        await runtime.budgets.commit(hold, cost)
        return result.content, cost

    return call


async def hold_guard_call(runtime: Runtime, model: str, messages: list[dict[str, Any]],
                          who: Requester) -> Reservation:
    """Reserve the worst case of a check's model call (a token is at least a character; the
    reply stops at GUARD_MAX_TOKENS), or raise BUDGET_EXCEEDED. A model call cannot be moved to
    a cheaper model, so a downgrade budget it does not fit refuses it too."""
    prices = runtime.catalog.price_of(model)
    chars = sum(len(str(m.get("content") or "")) for m in messages)
    worst = chars * prices[0] + GUARD_MAX_TOKENS * prices[1] if prices else 0.0
    # Its own hold id: a crashed process's hold is then released, not charged the whole
    # request's ledger rows a second time.
    hold = await runtime.budgets.reserve(budget_scopes(who.project), worst, f"{who.request_id}:guardrail")
    if hold.verdict == "downgrade":
        raise GatewiseError(ErrorCode.BUDGET_EXCEEDED, "the guardrail model call does not fit the "
                            "remaining budget; " + "; ".join(hold.warnings))
    return hold


def active_checks(pipeline: GuardrailPipeline | None) -> list[str]:
    """The checks a pipeline runs, in words (for ``gatewise doctor``); empty when all are off."""
    if pipeline is None:
        return []
    out = []
    if pipeline.pii:
        actions = sorted(set(pipeline.pii.values()))
        restore = ", restored in answers" if pipeline.restore_pii and "redact" in actions else ""
        out.append(f"PII ({', '.join(pipeline.pii)}: {'/'.join(actions)}{restore})")
    if pipeline.safety:
        moderation = f" + {pipeline.moderation_model}" if pipeline.safety == "enterprise" and \
            pipeline.moderation_model else ""
        out.append(f"content safety {pipeline.safety}{moderation}")
    if pipeline.blocklist:
        n = len(pipeline.blocklist.terms)
        out.append(f"blocklist ({n} entr{'y' if n == 1 else 'ies'}, {pipeline.blocklist.action})")
    if pipeline.injection:
        answers = pipeline.injection_action
        out.append(f"prompt injection (requests: block; web sources: flag; answers: {answers})")
    if pipeline.compliance:
        out.append("answer compliance")
    if pipeline.grounding_threshold is not None:
        judge = f", judge {pipeline.judge_model}" if pipeline.judge_model else ""
        out.append(f"grounding < {pipeline.grounding_threshold:g} → {pipeline.hallucination_action}{judge}")
    if pipeline.input_hooks or pipeline.output_hooks:
        out.append(f"Portkey checks ({len(pipeline.input_hooks)} input, {len(pipeline.output_hooks)} output)")
    return out
