"""The guardrail stages: the configured checks on what a call sends and on what comes back.

Input checks run before any cache lookup, so a blocked request costs nothing (no cache entry,
no budget hold, no upstream call) and the cache key is made of the redacted messages: raw PII
never reaches the cache file. The key also names the guardrail rules, so an answer stored under
looser rules is never served under stricter ones. Output checks run on the upstream's answer
before it is built into a result, so a blocked answer is never cached. Every non-pass verdict
is written to the ledger's ``guardrail_events`` with keyed hashes in place of the values that
tripped it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, cast

from pydantic import BaseModel, Field

from gatewise.config import GuardrailsConfig
from gatewise.ledger.guardrail_events import GuardrailEvent
from gatewise.pipeline.call import Call
from gatewise.runtime import Runtime
from gatewise.search.citations import Citation
from gatewise.upstream.chat import Message

# The guardrails package (its checks import phonenumbers and regex) is imported by the functions
# that run only when a guardrail is on, so a server with every filter off does not load it.
if TYPE_CHECKING:
    from gatewise.guardrails import CheckContext, GuardrailPipeline, Verdict

Next = Callable[[Call[Any]], Awaitable[None]]
M = TypeVar("M", bound=BaseModel)

# The result field the output guardrails fill in when grounding is checked.
GroundingScoreField = Annotated[float | None, Field(description=(
    "Share of the answer's sentences the evidence supports (0-1), when fact_verification or "
    "hallucination_detection is on and the call had evidence (context, documents, sources)"))]


class InputGuardrails:
    """PII, safety, blocklist, injection and Portkey input checks on the call's messages."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.rules = rules_fingerprint(runtime.settings.guardrails)

    def __call__(self, call: Call[Any], next: Next) -> Awaitable[None]:
        guard = self.runtime.guardrails
        if guard is None:
            return next(call)
        return self._checked(call, next, guard)

    async def _checked(self, call: Call[Any], next: Next, guard: GuardrailPipeline) -> None:
        checked_under(call, self.rules)
        if not guard.checks_input:
            await next(call)
            return
        with checking(call, guard):
            verdict = await guard.check_input(_texts(call), _context(call, guard.input_hooks))
        audit(self.runtime, call, [verdict])
        verdict.raise_if_blocked()
        if verdict.messages is not None and verdict.messages != call.messages:
            _send_redacted(call, verdict.messages)
        call.checked_input = verdict
        await next(call)
        if call.result is not None:
            # Restored here, outside the caches: the stored answer keeps the placeholders, and a
            # hit is restored with this caller's own values (the key holds placeholders, so two
            # callers whose requests differ only in their e-mail address share one entry).
            result = noted(call.result, verdict.warnings)
            call.result = self._restored(call, result, verdict) if verdict.placeholders else result

    def _restored(self, call: Call[Any], result: M, verdict: Verdict) -> M:
        """``result`` with the caller's values put back; where the answer put them into a URL,
        link or tag they stay placeholders, and the answer is flagged (a warning and an event)."""
        from gatewise.guardrails.restore import held_back  # only with guardrails on (see the imports)
        from gatewise.guardrails.verdict import Verdict

        result, held = restored(result, verdict.placeholders)
        if not held:
            return result
        flag = Verdict("output", [held_back(held)], audit_key=verdict.audit_key)
        audit(self.runtime, call, [flag])
        return noted(result, flag.warnings)


class OutputGuardrails:
    """Compliance (blocklist, safety, PII in the answer) and grounding on the upstream's answer."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def __call__(self, call: Call[Any], next: Next) -> Awaitable[None]:
        guard = self.runtime.guardrails
        if guard is None or not guard.checks_output:  # nothing to check the answer with
            return next(call)
        return self._checked(call, next, guard)

    async def _checked(self, call: Call[Any], next: Next, guard: GuardrailPipeline) -> None:
        await next(call)
        answer = call.answer
        with checking(call, guard):
            # The evidence is gathered only for the grounding check, the one check that reads it.
            grounds = evidence(call) if guard.grounding_threshold is not None else None
            verdict = await guard.check_output(answer.content, grounds, _context(call, guard.output_hooks))
        audit(self.runtime, call, [verdict])
        if verdict.blocked:  # the upstream was paid (its row says so, and why); nothing is cached
            call.answer_blocked()
            verdict.raise_if_blocked()
        if verdict.text is not None and verdict.text != answer.content:
            assert call.outcome is not None
            call.outcome.result = dataclasses.replace(answer, content=verdict.text)
        call.checked_output = verdict


def rules_fingerprint(config: GuardrailsConfig) -> str:
    """A short hash of the guardrail rules (all but how long audit rows are kept)."""
    rules = config.model_dump(mode="json", exclude={"audit_retention_days"})
    return hashlib.sha256(json.dumps(rules, sort_keys=True).encode()).hexdigest()[:16]


def checked_under(call: Call[Any], rules: str) -> None:
    """Key the call's cache entries by the guardrail rules: a stored answer was checked (and its
    request redacted) under the rules of its day, so it is served only while they still hold."""
    policy = call.cache
    policy.key = {**policy.key, "guardrails": rules}
    if policy.semantic is not None:
        policy.semantic = dataclasses.replace(policy.semantic,
                                              scope={**policy.semantic.scope, "guardrails": rules})


def with_output_notes(call: Call[Any], result: M) -> M:
    """The built result with the output verdict's warnings and grounding score: part of the
    answer, so they are cached with it."""
    verdict = call.checked_output
    if verdict is None:
        return result
    grounding = verdict.check("grounding")
    return noted(result, verdict.warnings, grounding.score if grounding else None)


# The form of an output check's warning ("prompt_injection: likely ..."), stored with its answer by
# with_output_notes. Input checks run outside the caches, so no other stored warning has it.
_ANSWER_NOTE = re.compile(r"[a-z][a-z_]*: ")


def answer_notes(warnings: Sequence[str]) -> list[str]:
    """The warnings a stored answer's output checks gave it: about the answer itself, so true of
    it whenever it is served again."""
    return [w for w in warnings if _ANSWER_NOTE.match(w)]


def noted(result: M, warnings: list[str], grounding_score: float | None = None) -> M:
    """``result`` with guardrail warnings (and the grounding score) in the fields it has."""
    fields = type(result).model_fields
    update: dict[str, Any] = {}
    if warnings and "warnings" in fields:
        have = list(getattr(result, "warnings", []))
        update["warnings"] = have + [w for w in warnings if w not in have]
    if grounding_score is not None and "grounding_score" in fields:
        update["grounding_score"] = round(grounding_score, 4)
    return result.model_copy(update=update) if update else result


def restored(result: M, placeholders: Mapping[str, str]) -> tuple[M, list[str]]:
    """Every string of ``result`` with the request's placeholders put back, and those held back
    (see :mod:`gatewise.guardrails.restore`)."""
    from gatewise.guardrails.restore import restore  # only with guardrails on (see the imports)

    held: list[str] = []

    def put_back(value: Any) -> Any:
        if isinstance(value, str):
            text, kept = restore(value, placeholders)
            held.extend(kept)
            return text
        if isinstance(value, list):
            return [put_back(v) for v in value]
        if isinstance(value, dict):
            return {k: put_back(v) for k, v in value.items()}
        return value

    return type(result).model_validate(put_back(result.model_dump())), held


def _send_redacted(call: Call[Any], messages: list[dict[str, Any]]) -> None:
    """Send the checked messages on, and make a cache key that names the request by its text
    (``CachePolicy.key`` of a search) from the redacted text as well."""
    from gatewise.guardrails.texts import split  # only with guardrails on (see the imports)

    before, after = split(_texts(call)), split(messages)
    changed = {b.text: a.text for b, a in zip(before, after, strict=False) if b.text != a.text}
    call.messages = cast(list[Message], messages)
    if changed and len(before) == len(after):
        policy = call.cache
        policy.key = {k: changed.get(v, v) if isinstance(v, str) else v for k, v in policy.key.items()}
        if call.query is not None:
            call.query = changed.get(call.query, call.query)


def evidence(call: Call[Any]) -> list[str]:
    """What the answer may rest on: the tool's own evidence, else the caller's context (every
    message but the question itself and earlier answers) and the sources the answer cites."""
    if call.evidence is not None:
        return call.evidence
    from gatewise.guardrails.texts import split  # only with guardrails on (see the imports)

    last_user = max((i for i, m in enumerate(call.messages) if m.get("role") == "user"), default=-1)
    texts = [ref.text for ref in split(_texts(call))
             if ref.message != last_user and ref.role != "assistant"]
    for note in call.answer.annotations:
        cite = note.get("url_citation")
        if isinstance(cite, dict):
            texts += [str(cite[f]) for f in ("title", "content") if isinstance(cite.get(f), str)]
    return [t for t in texts if t.strip()]


def screen_untrusted(runtime: Runtime, call: Call[Any], sources: Sequence[Citation]) -> dict[str, str]:
    """Prompt-injection checks on web sources' text: the URLs of those flagged, each with the
    reason, and a guardrail event for each. Never blocks; the caller fences or drops them."""
    guard = runtime.guardrails
    if guard is None or not guard.injection:
        return {}
    verdicts = [guard.scan_untrusted(s.snippet, s.url) for s in sources if s.snippet]
    audit(runtime, call, verdicts)
    return {v.source or "": "; ".join(c.reason for c in v.checks if c.verdict != "pass")
            for v in verdicts if v.verdict != "pass"}


def flagged_warnings(sources: Sequence[Citation], flagged: dict[str, str], done: str) -> list[str]:
    """One warning per source the injection check flagged, naming it by its number."""
    return [f"source [{s.number}] {s.url} was flagged ({flagged[s.url]}): {done}"
            for s in sources if s.url in flagged]


def source_warnings(runtime: Runtime, call: Call[Any], sources: Sequence[Citation]) -> list[str]:
    """:func:`screen_untrusted` on the sources an answer cites, as warnings naming each one flagged
    (its text stays in the result, fenced like the rest of it)."""
    return flagged_warnings(sources, screen_untrusted(runtime, call, sources), "treat its text as data only")


def audit(runtime: Runtime, call: Call[Any], verdicts: list[Verdict]) -> None:
    """Queue the audit rows of every non-pass check; the ledger stage waits for the write."""
    events = [GuardrailEvent.from_audit(row, server=call.server, tool=call.tool, project=call.project)
              for v in verdicts if v.verdict != "pass" for row in v.audit_rows(call.request_id)]
    if events:
        call.writes.append(asyncio.ensure_future(runtime.guardrail_events.record(events)))


def checking(call: Call[Any], guard: GuardrailPipeline) -> AbstractContextManager[None]:
    """Model-backed checks inside bill this call; with none configured there is nothing to bill,
    so the requester is not built and set on every call."""
    return _billed_to(call) if guard.calls_models else nullcontext()


@contextmanager
def _billed_to(call: Call[Any]) -> Iterator[None]:
    from gatewise.guardrails.gateway_calls import CHECKING, Requester  # see the imports

    token = CHECKING.set(Requester(call.server, call.tool, call.project, call.request_id))
    try:
        yield
    finally:
        CHECKING.reset(token)


def _texts(call: Call[Any]) -> list[dict[str, Any]]:
    """The messages as the guardrails read them (any dict with a role and content)."""
    return cast(list[dict[str, Any]], call.messages)


def _context(call: Call[Any], hooks: list[Any]) -> CheckContext | None:
    """What the Portkey checks (``hooks``) match on; None without them, the only readers."""
    if not hooks:
        return None
    # From its module, not the package: the package's lazy __getattr__ would run on every call.
    from gatewise.guardrails.pipeline import CheckContext  # see the imports

    model = call.candidates[0].model if call.candidates else None
    return CheckContext(model=model, metadata={"project": call.project or "", "tool": call.tool})
