"""Run a route: call each candidate in turn until one answers, within one deadline.

While another model waits to be tried, an attempt may take only ``limits.attempt_share`` of the
time left (or less, by its own ``timeout_s``): a model that answers at a trickle, each read in
time, is cut off and the next one still has time to answer.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gatewise.catalog import PORTKEY_PREFIX
from gatewise.config import Limits
from gatewise.errors import ErrorCode, GatewiseError
from gatewise.ledger.records import Status
from gatewise.routing.health import HealthTracker
from gatewise.routing.policy import Candidate
from gatewise.routing.portkey_config import next_attempt_index
from gatewise.upstream.chat import ChatUpstream
from gatewise.upstream.openrouter import ChatResult, UnusableAnswer

# Failures that say nothing about the next model: the account or the request itself is at fault.
STOP_CODES = frozenset({ErrorCode.UNAUTHORIZED, ErrorCode.INSUFFICIENT_CREDITS,
                        ErrorCode.FORBIDDEN_SCOPE, ErrorCode.BUDGET_EXCEEDED})
# OpenRouter's error types for a request no model could take as sent (a malformed message). Other
# refusals are the model's own (context length, or 404 no_endpoints for an input it lacks) and
# move on; so does a 400 with no error type, since a provider's 400 may be either.
REQUEST_FAULTS = frozenset({"invalid_request", "invalid_prompt"})
# The arguments passed this server's checks; what the provider refused is their content.
_REQUEST_FAULT_HINT = ("The provider refused the request itself: change what the messages or "
                       "parameters say (the provider's words are above), not their types.")


@dataclass
class Attempt:
    model: str
    provider: str
    status: Status
    latency_ms: float
    error_code: str | None = None
    error: str | None = None
    result: ChatResult | None = field(default=None, repr=False)
    # A failed attempt's usage, when an answer came back unusable (the provider may bill it)
    billed: ChatResult | None = field(default=None, repr=False)

    @property
    def usage(self) -> ChatResult | None:
        """What the attempt's tokens and cost are read from: its answer, or the unusable one."""
        return self.result or self.billed


BilledFallback = Callable[[Attempt], Awaitable[None]]


@dataclass
class RouteOutcome:
    attempts: list[Attempt]
    result: ChatResult | None
    error: GatewiseError | None
    routed: bool = False  # more than one candidate could have answered

    def failure(self) -> GatewiseError:
        """The error a caller sees when no candidate answered: a lone model's own error, or for a
        route of several every tried model's code and the last error in full."""
        if self.error is not None and not self.routed:
            return self.error
        last = self.error or GatewiseError(ErrorCode.UPSTREAM_ERROR, "no model was tried")
        tried = "; ".join(f"{a.model}: {a.error_code}" for a in self.attempts) or "none"
        head = ("the route stopped at a failure no other model would avoid" if stops_route(last)
                else "every model in the route failed")
        hint = _REQUEST_FAULT_HINT if last.details.get("error_type") in REQUEST_FAULTS else last.hint
        return GatewiseError(last.code, f"{head} ({tried}). Last: {last.message}",
                             hint=hint, retry_after=last.retry_after)


class FallbackExecutor:
    """Tries the candidates in order; every attempt is kept for the ledger. ``health`` (routed
    calls only) learns from every attempt, for the policy's next plans."""

    def __init__(self, client: ChatUpstream, portkey: ChatUpstream,
                 health: HealthTracker | None = None, *, limits: Limits) -> None:
        self.client = client
        self.portkey = portkey
        self.health = health
        self.deadline_s = limits.deadline_s
        self.attempt_share = limits.attempt_share

    def _upstream(self, model: str) -> tuple[ChatUpstream, str]:
        """The client that serves ``model`` and the model name it expects."""
        if model.startswith(PORTKEY_PREFIX):
            return self.portkey, model.removeprefix(PORTKEY_PREFIX)
        return self.client, model

    def _time_for(self, candidate: Candidate, index: int, last: int, remaining: float) -> float:
        """How long an attempt may take: its share of the time left while another model would be
        tried should it run out, else all of it; never more than its own ``timeout_s``."""
        following = _next_index(candidate, index, None)
        limit = remaining * self.attempt_share if following is not None and following <= last else remaining
        return min(limit, candidate.timeout_s or limit)

    async def run(self, candidates: Sequence[Candidate], body: Mapping[str, Any], *,
                  headers: Mapping[str, str] | None = None,
                  portkey_headers: Mapping[str, str] | None = None,
                  before_billed_fallback: BilledFallback | None = None) -> RouteOutcome:
        """``portkey_headers`` (metadata, trace id) go only to calls routed through Portkey.
        ``before_billed_fallback`` is awaited before another model is tried after an unusable
        answer the upstream may have billed (the budget holds more for it); its error ends the
        route."""
        deadline = time.monotonic() + self.deadline_s
        attempts: list[Attempt] = []
        last_error: GatewiseError | None = None
        last = len(candidates) - 1
        routed = last > 0
        index: int | None = 0
        while index is not None and index <= last:
            candidate = candidates[index]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                last_error = GatewiseError(
                    ErrorCode.UPSTREAM_TIMEOUT,
                    f"the call's deadline of {self.deadline_s:g}s passed before a model answered")
                break
            started = time.perf_counter()
            health = self.health
            if health is not None:
                health.begin(candidate.model)
            client, model = self._upstream(candidate.model)
            try:
                result = await client.chat(
                    {**body, **candidate.params, "model": model},
                    timeout_s=self._time_for(candidate, index, last, remaining),
                    headers={**(headers or {}), **(portkey_headers or {})} if client is self.portkey
                    else headers,
                    retries=_retries(candidate, index == last), retry_on=candidate.retry_on)
            except GatewiseError as exc:
                if health is not None:
                    health.failure(candidate.model, exc)
                attempts.append(Attempt(candidate.model, client.name, "error", _ms_since(started),
                                        exc.code.value, exc.message,
                                        billed=exc.billed if isinstance(exc, UnusableAnswer) else None))
                last_error = exc
                index = _next_index(candidate, index, exc.status, stops=stops_route(exc))
                billed = attempts[-1]
                if before_billed_fallback is not None and billed.billed is not None \
                        and index is not None and index <= last:
                    try:
                        await before_billed_fallback(billed)
                    except GatewiseError as stopped:
                        return RouteOutcome(attempts, None, GatewiseError(
                            stopped.code, f"the route stopped after {billed.model} returned no usable answer "
                                          f"({billed.error_code}), which may be billed: {stopped.message}",
                            hint=stopped.hint))
                continue
            elapsed = _ms_since(started)
            if health is not None:
                health.success(candidate.model, elapsed)
            attempts.append(Attempt(candidate.model, client.name, "ok", elapsed, result=result))
            return RouteOutcome(attempts, result, None, routed)
        return RouteOutcome(attempts, None, last_error, routed)


def _retries(candidate: Candidate, is_last: bool) -> int | None:
    """Fail over first, retry last: while another model waits, retrying this one only delays."""
    if candidate.retries is not None:
        return candidate.retries
    return None if is_last else 0


def _next_index(candidate: Candidate, index: int, status: int | None, *, stops: bool = False) -> int | None:
    """The candidate tried after this one failed with ``status`` (None: no answer in time)."""
    if candidate.target is not None:  # a Portkey config: its on_status_codes decide
        return next_attempt_index(candidate.target, status)
    return None if stops else index + 1


def stops_route(error: GatewiseError) -> bool:
    """Whether ``error`` would recur on every other model, so the route ends with it."""
    return error.code in STOP_CODES or error.details.get("error_type") in REQUEST_FAULTS


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000
