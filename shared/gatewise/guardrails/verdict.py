"""One result type for every check and for the whole pipeline, and the audit rows made from it.

Matched values stay inside the result (they are needed to restore redacted PII in the answer
and to hash for the audit trail) but never leave it: :meth:`Verdict.to_dict`, the reasons and
the audit rows carry entity types, counts, offsets and keyed hashes only.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal, NamedTuple

from gatewise.errors import ErrorCode, GatewiseError

Outcome = Literal["pass", "flag", "block"]
Direction = Literal["input", "output", "untrusted"]
_RANK = {"pass": 0, "flag": 1, "block": 2}
HASH_CHARS = 32  # 128 bits of HMAC-SHA256: enough to correlate, short enough to store


class Span(NamedTuple):
    """Offsets into the ORIGINAL text (of message ``message``, content part ``part`` when the
    input was a message list) and what was found there. A named tuple: immutable, and made
    a few times faster than a frozen dataclass."""

    start: int
    end: int
    label: str
    message: int | None = None
    part: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"start": self.start, "end": self.end, "label": self.label}
        if self.message is not None:
            out["message"] = self.message
        if self.part is not None:
            out["part"] = self.part
        return out


# A Span from its fields in one tuple, made in C: calling a named tuple runs its __new__ in
# Python, a few times slower (a log holds a finding on every line).
new_span = partial(tuple.__new__, Span)


@dataclass
class CheckResult:
    """One check's verdict. ``action`` says what was done about it: ``redact`` (the text sent
    on has placeholders), ``block``, ``flag`` (a warning), ``transform`` or ``none``."""

    check: str
    verdict: Outcome = "pass"
    reason: str = ""
    action: str = "none"
    spans: list[Span] = field(default_factory=list)
    entities: dict[str, int] = field(default_factory=dict)
    score: float | None = None
    evidence: list[str] = field(default_factory=list)  # never raw sensitive values
    data: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    cost_usd: float = 0.0
    duration_ms: float = 0.0
    values: list[tuple[str, str]] = field(default_factory=list, repr=False)  # (label, value)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"check": self.check, "verdict": self.verdict, "action": self.action,
                               "reason": self.reason, "duration_ms": round(self.duration_ms, 4)}
        if self.spans:
            out["spans"] = [s.to_dict() for s in self.spans]
        if self.entities:
            out["entities"] = dict(self.entities)
        if self.score is not None:
            out["score"] = round(self.score, 4)
        if self.evidence:
            out["evidence"] = list(self.evidence)
        if self.data:
            out["data"] = self.data
        if self.error:
            out["error"] = self.error
        if self.cost_usd:
            out["cost_usd"] = self.cost_usd
        return out


def worst(outcomes: list[Outcome]) -> Outcome:
    return max(outcomes, key=_RANK.__getitem__, default="pass")


@dataclass(frozen=True)
class AuditRow:
    """A non-pass verdict as stored: no raw value, only a keyed hash of each one."""

    request_id: str
    direction: str
    check: str
    verdict: str
    action: str
    reason: str
    entities: dict[str, int]
    spans: list[dict[str, Any]]
    value_hashes: list[str]
    score: float | None
    source: str | None
    created_at: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def keyed_hash(key: bytes, label: str, value: str) -> str:
    """HMAC-SHA256 of a matched value under the installation's key: equal values correlate,
    but nobody without the key can test a guess (a bare hash of a card or SSN could be
    brute-forced)."""
    return hmac.new(key, f"{label}\x00{value}".encode(), hashlib.sha256).hexdigest()[:HASH_CHARS]


# The hint of a blocked answer: the request was not at fault (the input's hint, the error code's
# default, asks to rephrase it).
_ANSWER_BLOCKED = ("The model's answer was blocked, not the request; it was paid for and not cached. Ask "
                   "again, of another model or for the answer in another form.")


@dataclass
class Verdict:
    """What the pipeline decided about one text or message list."""

    direction: Direction
    checks: list[CheckResult] = field(default_factory=list)
    text: str | None = None  # the text to send on (placeholders in place of redacted values)
    messages: list[dict[str, Any]] | None = None  # the same for a message list
    duration_ms: float = 0.0
    source: str | None = None  # where untrusted content came from
    placeholders: dict[str, str] = field(default_factory=dict, repr=False)  # placeholder -> value
    audit_key: bytes | None = field(default=None, repr=False)

    @property
    def verdict(self) -> Outcome:
        return worst([c.verdict for c in self.checks])

    @property
    def blocked(self) -> bool:
        return self.verdict == "block"

    @property
    def blocking(self) -> CheckResult | None:
        return next((c for c in self.checks if c.verdict == "block"), None)

    @property
    def cost_usd(self) -> float:
        return sum(c.cost_usd for c in self.checks)

    @property
    def warnings(self) -> list[str]:
        return [f"{c.check}: {c.reason}" for c in self.checks if c.verdict == "flag" and c.reason]

    def check(self, name: str) -> CheckResult | None:
        return next((c for c in self.checks if c.check == name), None)

    def raise_if_blocked(self) -> None:
        """GUARDRAIL_BLOCKED naming the rule, never the text that tripped it."""
        check = self.blocking
        if check is None:
            return
        raise GatewiseError(ErrorCode.GUARDRAIL_BLOCKED,
                            f"blocked by guardrail '{check.check}' ({self.direction}): {check.reason}",
                            hint=_ANSWER_BLOCKED if self.direction == "output" else None,
                            details={"check": check.check, "direction": self.direction,
                                     "entities": dict(check.entities)})

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"direction": self.direction, "verdict": self.verdict,
                               "checks": [c.to_dict() for c in self.checks],
                               "duration_ms": round(self.duration_ms, 4)}
        if self.text is not None:
            out["text"] = self.text
        if self.messages is not None:
            out["messages"] = self.messages
        if self.source:
            out["source"] = self.source
        if self.cost_usd:
            out["cost_usd"] = self.cost_usd
        if self.warnings:
            out["warnings"] = self.warnings
        return out

    def audit_rows(self, request_id: str, key: bytes | None = None) -> list[AuditRow]:
        """One row per non-pass check; values only as keyed hashes."""
        key = key or self.audit_key
        if key is None:
            raise ValueError("audit rows need the installation's audit key")
        now = time.time()
        return [AuditRow(request_id, self.direction, c.check, c.verdict, c.action, c.reason,
                         dict(c.entities), [s.to_dict() for s in c.spans],
                         [keyed_hash(key, label, value) for label, value in c.values],
                         c.score, self.source, now)
                for c in self.checks if c.verdict != "pass"]



def count(labels: list[str]) -> dict[str, int]:
    return dict(Counter(labels))
