"""Fault injection: per-model rules, a per-request header, and the seeded choice between them.

A rule fires at random (seeded, so a run can be replayed); the ``X-Gatewise-Fault`` header fires
on its own request every time. Both produce a :class:`Fault` that the chat handler acts on.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

WILDCARD = "*"
HEADER = "x-gatewise-fault"

FaultKind = Literal["error", "timeout", "mid_stream"]
MAX_USAGE_FIELDS = 16  # a usage override replaces a few fields, never builds a large object

# OpenRouter's `metadata.error_type` for an injected status, so clients see the real vocabulary.
ERROR_TYPE_BY_STATUS: dict[int, str] = {
    400: "invalid_request", 401: "authentication", 402: "payment_required",
    403: "permission_denied", 404: "not_found", 408: "timeout", 413: "payload_too_large",
    422: "unprocessable", 429: "rate_limit_exceeded", 500: "server", 502: "provider_unavailable",
    503: "provider_overloaded", 504: "timeout", 524: "timeout", 529: "provider_overloaded",
}

# The status that goes with an error type when a header names only the type.
STATUS_BY_ERROR_TYPE: dict[str, int] = {
    "context_length_exceeded": 400, "max_tokens_exceeded": 400, "token_limit_exceeded": 400,
    "string_too_long": 400, "invalid_request": 400, "invalid_prompt": 400,
    "authentication": 401, "payment_required": 402, "permission_denied": 403,
    "content_policy_violation": 403, "refusal": 403, "not_found": 404, "model_not_found": 404,
    "no_endpoints": 404,
    "timeout": 408, "payload_too_large": 413, "unprocessable": 422,
    "rate_limit_exceeded": 429, "server": 500, "provider_unavailable": 502,
    "provider_overloaded": 503,
}


@dataclass(frozen=True)
class FaultRule:
    """How one model (or ``"*"``, every model) misbehaves.

    ``error_rate`` and ``timeout_rate`` are probabilities per request. An injected error takes its
    status from ``statuses`` in turn; with ``mid_stream_error`` it arrives after the answer has
    started instead (an in-band SSE error event, or a choice with ``finish_reason: "error"``).
    ``latency_ms`` delays every answer of the model. ``usage`` replaces fields of the ``usage``
    object of every answer of the model, as a proxy rewriting them would (say
    ``{"completion_tokens": 1e308}``).
    """

    error_rate: float = 0.0
    statuses: tuple[int, ...] = (503,)
    latency_ms: float = 0.0
    timeout_rate: float = 0.0
    retry_after: float | None = None
    error_type: str | None = None
    mid_stream_error: bool = False
    usage: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.usage is not None and (not isinstance(self.usage, Mapping)
                                       or len(self.usage) > MAX_USAGE_FIELDS):
            raise ValueError(f"usage must be an object of at most {MAX_USAGE_FIELDS} fields")
        for name in ("error_rate", "timeout_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, not {value}")
        statuses = tuple(int(s) for s in self.statuses)
        if not statuses or any(not 400 <= s <= 599 for s in statuses):
            raise ValueError("statuses must be a non-empty list of HTTP error codes (400-599)")
        object.__setattr__(self, "statuses", statuses)
        if self.latency_ms < 0:
            raise ValueError("latency_ms must not be negative")
        if self.retry_after is not None and self.retry_after < 0:
            raise ValueError("retry_after must not be negative")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> FaultRule:
        """Build from JSON, rejecting unknown keys so typos do not pass silently."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(unknown)}")
        values: dict[str, Any] = dict(data)
        try:
            if "statuses" in values:
                raw = values["statuses"]
                values["statuses"] = tuple(raw) if isinstance(raw, list | tuple) else (int(raw),)
            for name in ("error_rate", "latency_ms", "timeout_rate"):
                if name in values:
                    values[name] = float(values[name])
            if values.get("retry_after") is not None:
                values["retry_after"] = float(values["retry_after"])
            if "mid_stream_error" in values:
                values["mid_stream_error"] = bool(values["mid_stream_error"])
            if values.get("usage") is not None and not isinstance(values["usage"], dict):
                raise ValueError("usage: expected an object")
        except (TypeError, ValueError) as exc:
            raise ValueError(f"bad fault value: {exc}") from None
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["statuses"] = list(self.statuses)
        return out


@dataclass(frozen=True)
class Fault:
    """What to do to one request: delay it, and possibly fail it in one of three ways."""

    kind: FaultKind | None = None
    status: int = 503
    error_type: str | None = None
    retry_after: float | None = None
    latency_ms: float = 0.0
    forced: bool = False  # from the request header: applies to this request, no failover
    usage: Mapping[str, Any] | None = None  # fields replacing those of the answer's usage

    def usage_of(self, usage: dict[str, Any]) -> dict[str, Any]:
        """An answer's usage object as the client receives it."""
        return {**usage, **self.usage} if self.usage else usage

    @property
    def error_type_or_default(self) -> str:
        return self.error_type or ERROR_TYPE_BY_STATUS.get(self.status, "unmapped")


def parse_fault_header(value: str) -> Fault:
    """``status=429;retry_after=1``, ``latency_ms=200``, ``timeout=1``, ``mid_stream_error=1``,
    ``error_type=context_length_exceeded`` (parts combine; ``,`` works as a separator too)."""
    parts: dict[str, str] = {}
    for item in value.replace(",", ";").split(";"):
        if not item.strip():
            continue
        key, sep, val = item.partition("=")
        if not sep:
            raise ValueError(f"fault header part {item.strip()!r} is not key=value")
        parts[key.strip().lower()] = val.strip()
    known = {"status", "retry_after", "latency_ms", "timeout", "error_type", "mid_stream_error"}
    unknown = sorted(set(parts) - known)
    if unknown:
        raise ValueError(f"unknown fault header key(s): {', '.join(unknown)}")
    try:
        status = int(parts["status"]) if "status" in parts else None
        retry_after = float(parts["retry_after"]) if "retry_after" in parts else None
        latency_ms = float(parts.get("latency_ms", 0.0))
        timeout = _flag(parts.get("timeout", "0"))
        mid_stream = _flag(parts.get("mid_stream_error", "0"))
    except ValueError as exc:
        raise ValueError(f"bad fault header value: {exc}") from None
    if status is not None and not 400 <= status <= 599:
        raise ValueError("fault status must be an HTTP error code (400-599)")
    if latency_ms < 0 or (retry_after is not None and retry_after < 0):
        raise ValueError("fault durations must not be negative")
    error_type = parts.get("error_type") or None
    kind: FaultKind | None = None
    if timeout:
        kind = "timeout"
    elif mid_stream:
        kind = "mid_stream"
    elif status is not None or error_type is not None:
        kind = "error"
    if status is None:
        status = STATUS_BY_ERROR_TYPE.get(error_type, 400) if error_type else 502
    return Fault(kind, status, error_type, retry_after, latency_ms, forced=True)


def _flag(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"{value!r} is not a flag")


class FaultBook:
    """The rule table and the seeded random source; safe to use from another thread."""

    def __init__(self, rules: Mapping[str, FaultRule | Mapping[str, Any]] | None = None,
                 seed: int = 0) -> None:
        self._lock = threading.Lock()
        # Plain dicts are accepted too (e.g. rules read from a JSON file).
        self._rules: dict[str, FaultRule] = {
            model: rule if isinstance(rule, FaultRule) else FaultRule.from_mapping(rule)
            for model, rule in (rules or {}).items()}
        self._turn: dict[str, int] = {}
        self._seed = seed
        self._rng = random.Random(seed)

    def set(self, model: str, rule: FaultRule) -> None:
        with self._lock:
            self._rules[model] = rule
            self._turn.pop(model, None)

    def clear(self, model: str | None = None) -> None:
        with self._lock:
            if model is None:
                self._rules.clear()
                self._turn.clear()
            else:
                self._rules.pop(model, None)
                self._turn.pop(model, None)

    def reseed(self, seed: int | None = None) -> None:
        with self._lock:
            self._seed = self._seed if seed is None else seed
            self._rng = random.Random(self._seed)
            self._turn.clear()

    def table(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {model: rule.to_dict() for model, rule in sorted(self._rules.items())}

    def usage_for(self, model: str) -> Fault:
        """Only the usage override of ``model``'s rule, for an answer whose fault is decided
        elsewhere (Portkey's gateway decides per target); no random draw."""
        with self._lock:
            rule = self._rules.get(model if model in self._rules else WILDCARD)
            return Fault(usage=rule.usage if rule else None)

    def decide(self, model: str) -> Fault:
        """The fault for one request to ``model``: its own rule, else the ``"*"`` rule."""
        with self._lock:
            key = model if model in self._rules else WILDCARD
            rule = self._rules.get(key)
            if rule is None:
                return Fault()
            # Draw only for rates in use, so adding latency to a rule keeps its error sequence.
            if rule.timeout_rate > 0 and self._rng.random() < rule.timeout_rate:
                return Fault("timeout", latency_ms=rule.latency_ms)
            if rule.error_rate > 0 and self._rng.random() < rule.error_rate:
                turn = self._turn.get(key, 0)
                self._turn[key] = turn + 1
                status = rule.statuses[turn % len(rule.statuses)]
                kind: FaultKind = "mid_stream" if rule.mid_stream_error else "error"
                return Fault(kind, status, rule.error_type, rule.retry_after, rule.latency_ms,
                             usage=rule.usage)
            return Fault(latency_ms=rule.latency_ms, usage=rule.usage)
