"""Run a route plan: call each candidate in turn until one answers, within one deadline."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gatewise.errors import ErrorCode, GatewiseError
from gatewise.routing.health import HealthTracker
from gatewise.routing.policy import RoutePlan
from gatewise.upstream.openrouter import ChatResult, OpenRouterClient

# Failures that say nothing about the next model: the account or the request itself is at fault.
STOP_CODES = frozenset({ErrorCode.UNAUTHORIZED, ErrorCode.INSUFFICIENT_CREDITS,
                        ErrorCode.FORBIDDEN_SCOPE, ErrorCode.BUDGET_EXCEEDED})


@dataclass
class Attempt:
    model: str
    status: str  # "ok" | "error"
    latency_ms: float
    error_code: str | None = None
    error: str | None = None
    result: ChatResult | None = field(default=None, repr=False)


@dataclass
class RouteOutcome:
    attempts: list[Attempt]
    result: ChatResult | None
    error: GatewiseError | None

    @property
    def answered_by(self) -> Attempt | None:
        return self.attempts[-1] if self.result is not None else None


class FallbackExecutor:
    """Tries the plan's candidates in order; every attempt is kept for the ledger."""

    def __init__(self, client: OpenRouterClient, health: HealthTracker, *, deadline_s: float) -> None:
        self.client = client
        self.health = health
        self.deadline_s = deadline_s

    async def run(self, plan: RoutePlan, body: Mapping[str, Any], *,
                  headers: Mapping[str, str] | None = None) -> RouteOutcome:
        deadline = time.monotonic() + self.deadline_s
        attempts: list[Attempt] = []
        last_error: GatewiseError | None = None
        last = len(plan.candidates) - 1
        for index, candidate in enumerate(plan.candidates):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                last_error = GatewiseError(
                    ErrorCode.UPSTREAM_TIMEOUT,
                    f"the call's deadline of {self.deadline_s:g}s passed before a model answered")
                break
            started = time.perf_counter()
            self.health.begin(candidate.model)
            try:
                # Fail over first, retry last: while another model is waiting, a retry of this
                # one (with its backoff) only delays the answer.
                result = await self.client.chat({**body, "model": candidate.model},
                                                timeout_s=remaining, headers=headers,
                                                retries=None if index == last else 0)
            except GatewiseError as exc:
                self.health.failure(candidate.model, exc)
                attempts.append(Attempt(candidate.model, "error", _ms_since(started),
                                        exc.code.value, exc.message))
                last_error = exc
                if exc.code in STOP_CODES:
                    break
                continue
            elapsed = _ms_since(started)
            self.health.success(candidate.model, elapsed)
            attempts.append(Attempt(candidate.model, "ok", elapsed, result=result))
            return RouteOutcome(attempts, result, None)
        return RouteOutcome(attempts, None, last_error)


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000
