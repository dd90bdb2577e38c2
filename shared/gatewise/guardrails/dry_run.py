"""``check_guardrails``: the guardrail pipeline run on a caller's text, as a dry run.

Nothing is sent to a model unless the caller opts in (``use_models``) and the configuration
names a moderation or judge model; nothing is recorded. The answer carries every check's
verdict, the text as it would be sent on (with placeholders where values were redacted) and
each check's time, never a matched value.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

from pydantic import BaseModel, Field, ValidationError, model_validator

from gatewise.bounds import FiniteJSON
from gatewise.errors import ErrorCode, GatewiseError
from gatewise.guardrails.moderation import ModelCall
from gatewise.guardrails.texts import split
from gatewise.guardrails.verdict import Verdict
from gatewise.strict_types import JsonObject
from gatewise.upstream.chat_input import ChatMessage

if TYPE_CHECKING:
    from gatewise.guardrails.pipeline import GuardrailPipeline

MAX_TEXT_CHARS = 100_000
MAX_MESSAGES = 64
MAX_TOTAL_CHARS = 200_000  # all the text of a chat together
MAX_CONTEXT_ITEMS = 32
MAX_OVERRIDE_BYTES = 64 * 1024  # a blocklist or a set of Portkey guardrails, not a corpus

Text = Annotated[str, Field(max_length=MAX_TEXT_CHARS)]


class GuardrailMessage(ChatMessage):
    """A message as routed_complete takes it (tool calls and tool turns included), its content
    bounded for a dry run."""

    content: Annotated[Text | Annotated[list[JsonObject], Field(max_length=MAX_MESSAGES)],
                       FiniteJSON] | None = Field(None, description=(
                           "Text, or OpenAI-style parts ({type: text, text}), each a JSON object or its "
                           "JSON text; none only on an assistant turn with tool_calls"))


def _as_sent(messages: Sequence[GuardrailMessage]) -> list[dict[str, Any]]:
    return [cast(dict[str, Any], m.as_sent()) for m in messages]


class GuardrailCheckRequest(BaseModel):
    """The arguments of ``check_guardrails``."""

    text: Text | None = Field(None, description="The text to check (or use `messages`).")
    messages: Annotated[list[GuardrailMessage], Field(max_length=MAX_MESSAGES)] | None = Field(
        None, description="A chat in OpenAI format instead of `text` (input only); tool messages "
                          "count as untrusted content.")
    direction: Literal["input", "output"] = Field(
        "input", description="input: checks on a request before it is sent; output: checks on a "
                             "model's answer (prompt injection, compliance, grounding, output "
                             "guardrails).")
    context: Annotated[list[Text], Field(max_length=MAX_CONTEXT_ITEMS)] | None = Field(
        None, description="Output only: evidence the answer should be grounded in (documents, "
                          "search results), for the grounding check.")
    guardrails: JsonObject | None = Field(
        None, description="Try these guardrail settings instead of the server's: the `guardrails` "
                          "block of the configuration (input_filters, output_filters, "
                          "input_guardrails, output_guardrails), e.g. {\"input_filters\": "
                          "{\"pii_detection\": {\"CREDIT_CARD\": \"block\"}}}.")
    use_models: bool = Field(
        False, description="Also run the model-backed checks that the settings name (moderation "
                           "model, grounding judge). They cost money; off by default.")

    @model_validator(mode="after")
    def _one_input(self) -> GuardrailCheckRequest:
        if (self.text is None) == (self.messages is None):
            raise ValueError("give exactly one of `text` or `messages`")
        if self.messages is not None and self.direction == "output":
            raise ValueError("direction 'output' checks an answer: give it as `text`")
        if self.context is not None and self.direction == "input":
            raise ValueError("`context` is evidence for grounding an answer: use it with direction 'output'")
        if self.messages is not None and not self.messages:
            raise ValueError("`messages` is empty")
        if self.messages is not None and sum(len(r.text) for r in split(
                _as_sent(self.messages))) > MAX_TOTAL_CHARS:
            raise ValueError(f"`messages` hold over {MAX_TOTAL_CHARS:,} characters of text")
        return self


class CheckReport(BaseModel):
    check: str = Field(description="e.g. pii, content_safety, custom_blocklist, prompt_injection, grounding, "
                                   "portkey:default.regexMatch")
    verdict: Literal["pass", "flag", "block"]
    action: str = Field(description="What the pipeline did: none, redact, flag, block or transform")
    reason: str
    spans: list[dict[str, Any]] = Field(
        default_factory=list, description="Offsets into the original text (and message, part for messages)")
    entities: dict[str, int] = Field(default_factory=dict, description="Entity type -> matches")
    score: float | None = None
    duration_ms: float
    evidence: list[str] = Field(default_factory=list,
                                description="What backs the verdict, e.g. unsupported sentences")
    error: str | None = Field(None, description="Why the check could not run (it then passes)")
    details: dict[str, Any] = Field(default_factory=dict, description="Check-specific figures")


class GuardrailCheckResult(BaseModel):
    verdict: Literal["pass", "flag", "block"] = Field(description="The worst verdict of any check")
    direction: Literal["input", "output"]
    blocked_by: str | None = Field(None, description="The first check that blocks, if any")
    checks: list[CheckReport]
    text: str | None = Field(None, description="The text as it would be sent on, redacted")
    messages: list[dict[str, Any]] | None = Field(None, description="The messages as they would be sent on")
    duration_ms: float = Field(description="All checks together")
    cost_usd: float = Field(0.0, description="Spent on model-backed checks (use_models)")
    settings: Literal["server", "given"] = Field(description="Whose guardrail settings ran")
    notes: list[str] = Field(default_factory=list)


def pipeline_for(running: GuardrailPipeline | None, override: dict[str, Any] | None,
                 call_model: ModelCall | None) -> GuardrailPipeline:
    """The server's running pipeline (None: every filter off), or the caller's ``override``
    validated like the config file; either way with ``call_model`` and no audit key."""
    from gatewise.config import GuardrailsConfig  # gatewise.config imports this package
    from gatewise.guardrails.pipeline import GuardrailPipeline  # every check: loaded when one runs

    if override is None:
        # Built once at start-up (blocklist lexicon, Portkey hooks): only the model call differs.
        return replace(running, call_model=call_model, audit_key=None) if running else GuardrailPipeline()
    if len(json.dumps(override)) > MAX_OVERRIDE_BYTES:
        raise GatewiseError(ErrorCode.INVALID_INPUT,
                            f"`guardrails` is over {MAX_OVERRIDE_BYTES // 1024} KiB",
                            hint="Try fewer checks or a shorter blocklist at a time.")
    try:
        config = GuardrailsConfig.model_validate(override)
    except ValidationError as exc:
        raise GatewiseError(ErrorCode.INVALID_INPUT, "`guardrails`: " + _problems(exc),
                            hint="Use the schema of the `guardrails` configuration block.") from None
    return GuardrailPipeline.from_settings(config, call_model=call_model)


async def check_text(request: GuardrailCheckRequest, running: GuardrailPipeline | None,
                     call_model: ModelCall | None = None) -> GuardrailCheckResult:
    """Run ``request``'s direction of the pipeline; ``call_model`` only when the caller opted in."""
    pipeline = pipeline_for(running, request.guardrails, call_model if request.use_models else None)
    notes: list[str] = []
    verdict: Verdict
    if request.direction == "input":
        notes += [] if pipeline.checks_input else ["no input check is switched on in these settings"]
        given = request.text if request.text is not None else \
            _as_sent(request.messages or [])
        verdict = await pipeline.check_input(given)
    else:
        notes += [] if pipeline.checks_output else ["no output check is switched on in these settings"]
        verdict = await pipeline.check_output(request.text or "", request.context)
    if request.use_models and call_model is None:
        notes.append("use_models: no model call is available here, so only local checks ran")
    notes += pipeline.gaps
    blocking = verdict.blocking
    return GuardrailCheckResult(
        verdict=verdict.verdict, direction=request.direction,
        blocked_by=blocking.check if blocking else None,
        checks=[_report(c.to_dict()) for c in verdict.checks], text=verdict.text, messages=verdict.messages,
        duration_ms=round(verdict.duration_ms, 4), cost_usd=verdict.cost_usd,
        settings="server" if request.guardrails is None else "given", notes=notes)


def _report(check: dict[str, Any]) -> CheckReport:
    check.pop("cost_usd", None)  # summed into the result's cost_usd
    details = check.pop("data", {})
    return CheckReport(**check, details=details)


def _problems(exc: ValidationError) -> str:
    """Where and what, without the values given (a blocklist may hold what it guards against)."""
    errors = exc.errors(include_url=False, include_input=False)
    shown = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors[:3])
    return shown + (f" (and {len(errors) - 3} more)" if len(errors) > 3 else "")
