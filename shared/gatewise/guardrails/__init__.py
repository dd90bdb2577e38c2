"""Guardrails: PII with validation, content safety, blocklist, prompt injection, grounding and
Portkey's checks, run locally as one pipeline with one result type.

Use :meth:`GuardrailPipeline.from_settings` with ``settings.guardrails``; call
``check_input`` before any cache lookup or upstream call, ``check_untrusted`` on outside content
before it enters a prompt, and ``check_output`` on the answer before it is cached or returned.
"""

from typing import TYPE_CHECKING, Any

from gatewise.guardrails.audit import installation_key
from gatewise.guardrails.moderation import DEFAULT_MODERATION_MODEL, ModelCall
from gatewise.guardrails.verdict import AuditRow, CheckResult, Span, Verdict

if TYPE_CHECKING:
    from gatewise.guardrails.pipeline import CheckContext, GuardrailPipeline

_PIPELINE_NAMES = frozenset({"CheckContext", "GuardrailPipeline"})


def __getattr__(name: str) -> Any:
    # The pipeline loads every check (phonenumbers, regex, Portkey's checks): imported when first
    # named, so a server importing the guardrails' argument models can list its tools without it.
    if name in _PIPELINE_NAMES:
        from gatewise.guardrails import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["DEFAULT_MODERATION_MODEL", "AuditRow", "CheckContext", "CheckResult", "GuardrailPipeline",
           "ModelCall", "Span", "Verdict", "installation_key"]
