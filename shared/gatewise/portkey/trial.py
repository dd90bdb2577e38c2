"""``configure_guardrails`` action ``test``: a guardrail definition run locally on sample text,
answered the way Portkey's gateway would answer it, without any Admin API call.

Portkey's semantics (see :mod:`gatewise.guardrails.portkey_checks`): each check's ``verdict`` is
true when it passes, after ``not``; a check that cannot run passes unless ``failOnError``; the
guardrail passes when every enabled check does; a failed guardrail answers HTTP 446 when
``deny`` is set (the request is refused) and 246 otherwise (it goes on, flagged).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field

from gatewise.errors import ErrorCode, GatewiseError
from gatewise.portkey.models import GuardrailActions, GuardrailCheck
from gatewise.portkey.validate import raise_if_invalid, validate_guardrail

MAX_SAMPLE_CHARS = 100_000
EVENTS = {"input": "before", "output": "after"}


class CheckTrial(BaseModel):
    id: str
    verdict: bool = Field(description="Portkey's check verdict: true when the check passed")
    explanation: str | None = None
    error: str | None = Field(None, description="Why the check could not run here")
    transformed: bool = Field(False, description="The check rewrote the text (e.g. regexReplace, pii redact)")
    duration_ms: float
    data: dict[str, Any] = Field(default_factory=dict)


class GuardrailTrial(BaseModel):
    verdict: bool = Field(description="The guardrail passed: every enabled check did")
    outcome: Literal["pass", "flag", "block"]
    status_code: Literal[200, 246, 446] = Field(
        description="What Portkey's gateway answers: 200 passed, 246 failed and flagged, 446 denied")
    direction: Literal["input", "output"]
    checks: list[CheckTrial]
    skipped: list[str] = Field(default_factory=list, description="Disabled checks (is_enabled: false)")
    text: str | None = Field(None, description="The text as transformed by the checks, if any did")


def try_guardrail(args: Mapping[str, Any]) -> GuardrailTrial:
    """Validate the definition as ``create`` would, then run its checks on ``text``."""
    from gatewise.guardrails.portkey_checks import HookContext, parse_hook, run_hook  # imports this package

    text = args.get("text")
    if not isinstance(text, str):
        raise GatewiseError(ErrorCode.INVALID_INPUT, "`text` is required: the sample text to check",
                            hint="Pass the text a request (direction input) or answer (output) would carry.")
    if len(text) > MAX_SAMPLE_CHARS:
        raise GatewiseError(ErrorCode.INVALID_INPUT, f"`text` is over {MAX_SAMPLE_CHARS:,} characters")
    checks: list[GuardrailCheck] | None = args.get("checks")
    actions: GuardrailActions | None = args.get("actions")
    raise_if_invalid(validate_guardrail(checks, actions), "guardrail")
    direction: Literal["input", "output"] = "output" if args.get("direction") == "output" else "input"
    hook = parse_hook({"checks": [c.model_dump(exclude_none=True) for c in checks or []],
                       "deny": bool(actions and actions.deny)})
    context = HookContext(text, EVENTS[direction])
    results = run_hook(hook, context)
    trials = [CheckTrial(id=r.check.removeprefix("portkey:"), verdict=r.data.pop("portkey_verdict"),
                         explanation=r.data.pop("explanation", None) or r.reason or None, error=r.error,
                         transformed=r.action == "transform", duration_ms=round(r.duration_ms, 4),
                         data={k: v for k, v in r.data.items() if k != "guardrail"})
              for r in results]
    passed = all(t.verdict for t in trials)
    outcome: Literal["pass", "flag", "block"] = "pass" if passed else "block" if hook.deny else "flag"
    return GuardrailTrial(verdict=passed, outcome=outcome,
                          status_code=200 if passed else 446 if hook.deny else 246, direction=direction,
                          checks=trials, skipped=[c.id for c in hook.checks if not c.enabled],
                          text=context.text if context.text != text else None)
