"""The guardrail pipeline: the configured checks over a request's input, a model's answer, or
untrusted content (search results, fetched pages, image descriptions) before it enters a prompt.

Local checks run synchronously (:meth:`GuardrailPipeline.scan_input`, ``scan_output``,
``scan_untrusted``); the async ``check_*`` methods add the optional model-backed checks
(moderation, judge) through the injected ``call_model`` and skip them once a local check has
already blocked (a blocked request costs nothing).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gatewise.guardrails.blocklist import Blocklist
from gatewise.guardrails.entities import ENTITY_TYPES
from gatewise.guardrails.grounding import evidence_texts, grounding
from gatewise.guardrails.injection import check_injection
from gatewise.guardrails.moderation import DEFAULT_MODERATION_MODEL, ModelCall, judge, moderate
from gatewise.guardrails.phones import DEFAULT_REGIONS, load_regions
from gatewise.guardrails.portkey_checks import Hook, HookContext, hooks_from, run_hook
from gatewise.guardrails.redaction import EntityAction, Placeholders, check_pii
from gatewise.guardrails.safety import check_safety, lexicon
from gatewise.guardrails.texts import AUTHORED, UNTRUSTED_ROLES, TextRef, rebuild, split
from gatewise.guardrails.verdict import CheckResult, Verdict

if TYPE_CHECKING:
    from gatewise.config import GuardrailsConfig

DEFAULT_GROUNDING = 0.7  # fact_verification without a hallucination_detection threshold
UNTRUSTED = "untrusted content"
# Enterprise safety without a model still runs the lexicon (low severities flag too), but the
# model check it is chosen for is not made: said, rather than left to be found out.
ENTERPRISE_WITHOUT_MODEL = (
    "content_safety 'enterprise' has no moderation_model, so no moderation model is asked (only the "
    f"local lexicon runs); set input_filters.moderation_model, e.g. {DEFAULT_MODERATION_MODEL}")


@dataclass
class CheckContext:
    """What the request is, for checks that depend on it (Portkey's model and metadata rules)."""

    model: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    request_type: str = "chatComplete"


@dataclass
class GuardrailPipeline:
    pii: Mapping[str, EntityAction] = field(default_factory=dict)
    restore_pii: bool = True
    phone_regions: Sequence[str] = DEFAULT_REGIONS
    safety: str | None = None  # basic | standard | enterprise
    moderation_model: str | None = None
    blocklist: Blocklist | None = None
    injection: bool = False
    compliance: bool = False
    grounding_threshold: float | None = None
    hallucination_action: str = "flag"
    injection_action: str = "flag"  # for an answer; input blocks, untrusted content is flagged
    judge_model: str | None = None
    input_hooks: list[Hook] = field(default_factory=list)
    output_hooks: list[Hook] = field(default_factory=list)
    call_model: ModelCall | None = None
    audit_key: bytes | None = None

    def __post_init__(self) -> None:
        # What the checks would otherwise build inside the first request: the safety lexicon
        # (about 10 ms) and the phone metadata of the configured regions.
        if self.safety or self.compliance:
            lexicon()
        if "PHONE" in self.pii or self.compliance:
            load_regions(self.phone_regions)

    @classmethod
    def from_settings(cls, config: GuardrailsConfig, *, call_model: ModelCall | None = None,
                      audit_key: bytes | None = None) -> GuardrailPipeline:
        inputs, outputs = config.input_filters, config.output_filters
        pii = inputs.pii_detection
        actions: dict[str, EntityAction] = (
            dict.fromkeys(ENTITY_TYPES, "redact") if pii is True else dict(pii) if pii else {})
        threshold = outputs.hallucination_detection
        if threshold is None and outputs.fact_verification:
            threshold = DEFAULT_GROUNDING
        return cls(
            pii=actions, restore_pii=inputs.restore_pii, phone_regions=tuple(inputs.phone_regions),
            safety=None if inputs.content_safety == "off" else inputs.content_safety,
            moderation_model=inputs.moderation_model,
            blocklist=(Blocklist(inputs.custom_blocklist, inputs.blocklist_action)
                       if inputs.custom_blocklist else None),
            injection=inputs.prompt_injection, compliance=outputs.compliance_check,
            grounding_threshold=threshold, hallucination_action=outputs.hallucination_action,
            injection_action=outputs.prompt_injection_action,
            judge_model=outputs.judge_model, input_hooks=hooks_from(config.input_guardrails),
            output_hooks=hooks_from(config.output_guardrails), call_model=call_model, audit_key=audit_key)

    @property
    def checks_input(self) -> bool:
        return bool(self.pii or self.safety or self.blocklist or self.injection or self.input_hooks)

    @property
    def checks_output(self) -> bool:
        return bool(self.compliance or self.injection or self.grounding_threshold is not None
                    or self.output_hooks)

    @property
    def gaps(self) -> list[str]:
        """Settings that ask for more than the checks will do, in words (said once at start-up, by
        ``gatewise doctor`` and in ``check_guardrails`` notes)."""
        if self.safety == "enterprise" and not self.moderation_model:
            return [ENTERPRISE_WITHOUT_MODEL]
        return []

    @property
    def calls_models(self) -> bool:
        """Whether a check may call a model through the gateway (moderation or the judge)."""
        return self._moderator() is not None or self._model_call(self.judge_model) is not None

    # -- input -------------------------------------------------------------------------------

    def scan_input(self, messages_or_text: str | Sequence[dict[str, Any]],
                   context: CheckContext | None = None) -> Verdict:
        """Every local input check; the text or messages to send on are in the verdict."""
        started = time.perf_counter()
        refs = split(messages_or_text)
        authored = [r for r in refs if r.role in AUTHORED]
        checks: list[CheckResult] = []
        if self.blocklist:
            checks.append(_timed(self.blocklist.check, authored))
        if self.safety:
            checks.append(_timed(check_safety, authored, self.safety))
        if self.injection:
            users = [r for r in authored if r.role not in UNTRUSTED_ROLES]
            checks.append(_timed(check_injection, users))
            tools = [r for r in refs if r.role in UNTRUSTED_ROLES]
            if tools:
                checks.append(_timed(check_injection, tools, where=UNTRUSTED, blocks=False,
                                     check="prompt_injection_untrusted"))
        texts = [r.text for r in refs]
        placeholders = Placeholders(texts)
        if self.pii:
            t0 = time.perf_counter()
            result, texts = check_pii(refs, self.pii, self.phone_regions, placeholders)
            result.duration_ms = (time.perf_counter() - t0) * 1000
            checks.append(result)
        verdict = Verdict("input", checks, audit_key=self.audit_key,
                          placeholders=placeholders.originals if self.restore_pii else {})
        if isinstance(messages_or_text, str):
            verdict.text = texts[0]
        else:
            verdict.messages = rebuild(messages_or_text, refs, texts)
        if self.input_hooks:
            self._hooks(self.input_hooks, verdict, "before", context)
        verdict.duration_ms = (time.perf_counter() - started) * 1000
        return verdict

    async def check_input(self, messages_or_text: str | Sequence[dict[str, Any]],
                          context: CheckContext | None = None) -> Verdict:
        """:meth:`scan_input`, then the moderation model (``enterprise``) on the redacted text."""
        verdict = self.scan_input(messages_or_text, context)
        if (moderator := self._moderator()) is not None and not verdict.blocked:
            started = time.perf_counter()
            refs = split(verdict.text if verdict.text is not None else verdict.messages or [])
            text = "\n\n".join(r.text for r in refs if r.role in AUTHORED)
            verdict.checks.append(await moderate(*moderator, text))
            verdict.duration_ms += (time.perf_counter() - started) * 1000
        return verdict

    # -- output ------------------------------------------------------------------------------

    def scan_output(self, text: str, evidence: Any = None, context: CheckContext | None = None) -> Verdict:
        """Prompt injection, compliance (blocklist, safety, PII with redaction) and local grounding
        on an answer.
        ``evidence``: the caller's context, documents from the messages or search citations
        (strings or dicts with text-like fields)."""
        started = time.perf_counter()
        refs = [TextRef(text)]
        checks: list[CheckResult] = []
        out = text
        if self.injection:
            checks.append(_timed(check_injection, refs, where="the answer",
                                 blocks=self.injection_action == "block"))
        if self.compliance:
            if self.blocklist:
                checks.append(_timed(self.blocklist.check, refs))
            checks.append(_timed(check_safety, refs, self.safety or "standard"))
            t0 = time.perf_counter()
            actions = self.pii or dict.fromkeys(ENTITY_TYPES, "redact")
            result, (out,) = check_pii(refs, actions, self.phone_regions, None)
            result.duration_ms = (time.perf_counter() - t0) * 1000
            checks.append(result)
        if self.grounding_threshold is not None:
            checks.append(_timed(self._grounding, text, evidence_texts(evidence)))
        verdict = Verdict("output", checks, text=out, audit_key=self.audit_key)
        if self.output_hooks:
            self._hooks(self.output_hooks, verdict, "after", context)
        verdict.duration_ms = (time.perf_counter() - started) * 1000
        return verdict

    async def check_output(self, text: str, evidence: Any = None,
                           context: CheckContext | None = None) -> Verdict:
        """:meth:`scan_output`, then the judge (grounding) and moderation models if configured."""
        verdict = self.scan_output(text, evidence, context)
        started = time.perf_counter()
        grounded = verdict.check("grounding")
        judging = self._model_call(self.judge_model)
        if judging is not None and grounded is not None and not verdict.blocked \
                and grounded.data.get("evidence"):
            await self._judge(judging, grounded, text, evidence_texts(evidence))
        if (moderator := self._moderator()) is not None and self.compliance and not verdict.blocked:
            verdict.checks.append(await moderate(*moderator, "", answer=verdict.text or "",
                                                 check="moderation_output"))
        verdict.duration_ms += (time.perf_counter() - started) * 1000
        return verdict

    # -- untrusted content -------------------------------------------------------------------

    def scan_untrusted(self, text: str, source: str) -> Verdict:
        """Injection heuristics on content from outside (a search result, a fetched page, a
        model's description of an image) before it is placed in a prompt: flagged, never
        blocked, so the caller can drop or fence that one source."""
        started = time.perf_counter()
        checks = [check_injection([TextRef(text)], where=UNTRUSTED, blocks=False)] if self.injection else []
        verdict = Verdict("untrusted", checks, text=text, source=source, audit_key=self.audit_key)
        verdict.duration_ms = (time.perf_counter() - started) * 1000
        return verdict

    async def check_untrusted(self, text: str, source: str) -> Verdict:
        return self.scan_untrusted(text, source)

    # -- helpers -----------------------------------------------------------------------------

    def _model_call(self, model: str | None) -> tuple[ModelCall, str] | None:
        """The injected model call with ``model``, when both are set."""
        return (self.call_model, model) if model and self.call_model is not None else None

    def _moderator(self) -> tuple[ModelCall, str] | None:
        """The call and model for moderation, when moderation by model is on (``enterprise``)."""
        return self._model_call(self.moderation_model) if self.safety == "enterprise" else None

    def _grounding(self, answer: str, evidence: list[str]) -> CheckResult:
        result = CheckResult("grounding", data={"threshold": self.grounding_threshold,
                                                "evidence": len(evidence)})
        if not evidence:
            result.reason = "no evidence to check the answer against"
            return result
        g = grounding(answer, evidence)
        result.score = g.score
        result.data.update(supported=g.supported, counted=g.counted)
        if g.score is not None and g.score < (self.grounding_threshold or 0):
            self._low_grounding(result, g.score)
            result.evidence = [f"unsupported: {g.sentences[i][:120]}" for i in g.unsupported[:5]]
        return result

    def _low_grounding(self, result: CheckResult, score: float) -> None:
        result.verdict = "block" if self.hallucination_action == "block" else "flag"
        result.action = result.verdict
        result.reason = (f"grounding score {score:.2f} is below {self.grounding_threshold:.2f}: "
                         "parts of the answer are not supported by the evidence")

    async def _judge(self, judging: tuple[ModelCall, str], result: CheckResult, answer: str,
                     evidence: list[str]) -> None:
        started = time.perf_counter()
        try:
            score, cost = await judge(*judging, answer, evidence)
        except Exception as exc:
            result.data["judge_error"] = f"{type(exc).__name__}: {exc}"[:200]
            return
        result.cost_usd += cost
        result.data.update(judge_model=self.judge_model, judge_score=score, local_score=result.score)
        result.score = score
        result.verdict, result.action, result.reason = "pass", "none", ""
        if score < (self.grounding_threshold or 0):
            self._low_grounding(result, score)
        result.duration_ms += (time.perf_counter() - started) * 1000

    def _hooks(self, hooks: list[Hook], verdict: Verdict, event: str, context: CheckContext | None) -> None:
        """Portkey guardrails on what goes on (the redacted text); transformers change it."""
        context = context or CheckContext()
        messages = verdict.messages
        text = verdict.text if verdict.text is not None else _last_text(messages or [])
        ctx = HookContext(text, event, context.model, context.metadata, context.request_type,
                          messages if event == "before" else None)
        for hook in hooks:
            verdict.checks += run_hook(hook, ctx)
        if verdict.text is not None:
            verdict.text = ctx.text
        elif messages is not None:
            out = ctx.messages if ctx.messages is not None else messages
            verdict.messages = _set_last_text(out, ctx.text) if ctx.text != text else out


def _timed(fn: Any, *args: Any, **kwargs: Any) -> CheckResult:
    started = time.perf_counter()
    result: CheckResult = fn(*args, **kwargs)
    result.duration_ms = (time.perf_counter() - started) * 1000
    return result


def _last_text(messages: Sequence[dict[str, Any]]) -> str:
    refs = [r for r in split(messages) if r.message == len(messages) - 1 and r.call is None]
    return "\n".join(r.text for r in refs)


def _set_last_text(messages: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """Messages with the last one's text replaced by a transformer's output."""
    out = [dict(m) for m in messages]
    out[-1]["content"] = text
    return out
