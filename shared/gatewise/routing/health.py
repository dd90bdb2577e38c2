"""Per (provider, model) health: a circuit breaker and a latency EWMA.

A model whose calls keep failing is taken out of rotation for a cooldown, then let back in for a
single probe (half-open); a 429 cools it down at once for as long as the upstream asked. Only
failures that say something about the model count: a prompt that is too long or refused says
something about the prompt.

The latency average works the same way: a model moved to the back of routes for being slow gets
no calls to show it is fast again, so its average counts for ``latency_recovery_s``; then one
call goes to it first, and what that call takes replaces the stale average.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from gatewise.config import HealthConfig
from gatewise.errors import ErrorCode, GatewiseError

State = Literal["closed", "open", "half_open"]
# Failures that count against a model's health (the rest are about the request).
COUNTED = frozenset({ErrorCode.UPSTREAM_ERROR, ErrorCode.UPSTREAM_TIMEOUT, ErrorCode.RATE_LIMITED})


@dataclass
class _Model:
    window: int
    state: State = "closed"
    consecutive_failures: int = 0
    open_until: float = 0.0
    probing: bool = False
    latency_ms: float | None = None
    latency_at: float = 0.0  # when latency_ms was last measured, or a probe of it went out
    latency_probe: bool = False  # the next answer's latency replaces latency_ms
    outcomes: deque[bool] = field(default_factory=deque)
    opened_reason: str = ""

    def remember(self, ok: bool) -> None:
        self.outcomes.append(ok)
        while len(self.outcomes) > self.window:
            self.outcomes.popleft()

    @property
    def error_rate(self) -> float:
        return self.outcomes.count(False) / len(self.outcomes) if self.outcomes else 0.0


@dataclass(frozen=True)
class HealthView:
    """What the router and explanations need to know about one model right now."""

    state: State
    available: bool
    reason: str | None
    latency_ms: float | None
    error_rate: float


class HealthTracker:
    def __init__(self, config: HealthConfig, *, provider: str,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.provider = provider
        self.clock = clock
        self._models: dict[str, _Model] = {}

    def _get(self, model: str) -> _Model:
        """The model's entry, with an expired cooldown turned into half-open."""
        key = f"{self.provider}:{model}"
        entry = self._models.get(key)
        if entry is None:
            entry = self._models[key] = _Model(self.config.window)
        if entry.state == "open" and self.clock() >= entry.open_until:
            entry.state = "half_open"
        return entry

    def view(self, model: str) -> HealthView:
        entry = self._get(model)
        reason = self._unavailable(entry)
        return HealthView(entry.state, reason is None, reason, self._latency(entry), entry.error_rate)

    def standing(self, model: str) -> tuple[str | None, float | None]:
        """What a route plan reads of a model, without a whole view: why it is out of rotation
        (None: it is in) and its latency average."""
        entry = self._get(model)
        return self._unavailable(entry), self._latency(entry)

    def _latency(self, entry: _Model) -> float | None:
        """The latency average while it is current; None once it is stale, so the next route
        puts the model back where its reason places it, and that call measures it again."""
        if self.clock() - entry.latency_at >= self.config.latency_recovery_s:
            return None
        return entry.latency_ms

    def _unavailable(self, entry: _Model) -> str | None:
        if entry.state == "open":
            wait = entry.open_until - self.clock()
            return f"circuit open for {wait:.1f}s more ({entry.opened_reason})"
        if entry.state == "half_open" and entry.probing:
            return "circuit half-open: a probe call is in flight"
        return None

    def begin(self, model: str) -> None:
        """A call is about to go out; in half-open state it is the single probe. To a model
        whose latency average is stale it is the latency probe: until it answers, the stale
        average counts again, so other calls do not all go to a model that may still be slow."""
        entry = self._get(model)
        if entry.state == "half_open":
            entry.probing = True
        if entry.latency_ms is not None and self._latency(entry) is None:
            entry.latency_at, entry.latency_probe = self.clock(), True

    def success(self, model: str, latency_ms: float) -> None:
        entry = self._get(model)
        alpha = self.config.latency_alpha
        entry.latency_ms = latency_ms if entry.latency_ms is None or entry.latency_probe else (
            alpha * latency_ms + (1 - alpha) * entry.latency_ms)
        entry.latency_at, entry.latency_probe = self.clock(), False
        entry.consecutive_failures = 0
        entry.remember(True)
        entry.state, entry.probing = "closed", False

    def failure(self, model: str, error: GatewiseError) -> None:
        entry = self._get(model)
        entry.probing = False
        if error.code not in COUNTED:
            return
        entry.consecutive_failures += 1
        entry.remember(False)
        if error.code is ErrorCode.RATE_LIMITED:
            self._open(entry, error.retry_after or self.config.cooldown_s, "rate limited")
        elif entry.state == "half_open":
            self._open(entry, self.config.cooldown_s, "the probe call failed")
        elif entry.consecutive_failures >= self.config.failure_threshold:
            self._open(entry, self.config.cooldown_s,
                       f"{entry.consecutive_failures} failures in a row")
        elif (len(entry.outcomes) >= self.config.window
              and entry.error_rate >= self.config.error_rate_threshold):
            self._open(entry, self.config.cooldown_s,
                       f"error rate {entry.error_rate:.0%} over the last {len(entry.outcomes)} calls")

    def _open(self, entry: _Model, seconds: float, reason: str) -> None:
        entry.state = "open"
        entry.open_until = self.clock() + seconds
        entry.opened_reason = reason
        entry.outcomes.clear()
        entry.consecutive_failures = 0
