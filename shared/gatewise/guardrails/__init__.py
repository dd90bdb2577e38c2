"""Guardrails: PII with validation, content safety, blocklist, prompt injection, grounding and
Portkey's checks, run locally as one pipeline with one result type.

Use :meth:`GuardrailPipeline.from_settings` with ``settings.guardrails``; call
``check_input`` before any cache lookup or upstream call, ``check_untrusted`` on outside content
before it enters a prompt, and ``check_output`` on the answer before it is cached or returned.
"""

from gatewise.guardrails.audit import installation_key
from gatewise.guardrails.moderation import DEFAULT_MODERATION_MODEL, ModelCall
from gatewise.guardrails.pipeline import CheckContext, GuardrailPipeline
from gatewise.guardrails.verdict import AuditRow, CheckResult, Span, Verdict

__all__ = ["DEFAULT_MODERATION_MODEL", "AuditRow", "CheckContext", "CheckResult", "GuardrailPipeline",
           "ModelCall", "Span", "Verdict", "installation_key"]
