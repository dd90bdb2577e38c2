"""Per-caller limits on tool calls: a token bucket each, refilled at the caller's rate a minute."""

from __future__ import annotations

import time
from collections.abc import Callable

MAX_TRACKED = 10_000  # callers remembered at once; a full bucket is the same as a forgotten one


class RateLimiter:
    def __init__(self, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.burst = burst
        self.clock = clock
        # caller → (calls left, when counted, refill a second)
        self._buckets: dict[str, tuple[float, float, float]] = {}

    def take(self, caller: str, count: int, per_minute: int) -> float | None:
        """Spend ``count`` calls of ``caller``'s budget: None when allowed, else seconds to wait."""
        now = self.clock()
        rate = per_minute / 60.0
        left, then, _ = self._buckets.get(caller, (float(self.burst), now, rate))
        left = min(float(self.burst), left + (now - then) * rate)
        if count > left:
            return (count - left) / rate
        self._buckets[caller] = (left - count, now, rate)
        if len(self._buckets) > MAX_TRACKED:
            self._forget_full(now)
        return None

    def _forget_full(self, now: float) -> None:
        """Drop callers whose bucket has refilled; if none has, the oldest half (they refill soon)."""
        full = [name for name, (left, then, rate) in self._buckets.items()
                if left + (now - then) * rate >= self.burst]
        if not full:
            by_age = sorted(self._buckets, key=lambda name: self._buckets[name][1])
            full = by_age[: len(by_age) // 2]
        for name in full:
            del self._buckets[name]
