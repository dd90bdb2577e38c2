"""Per-caller limits on tool calls, and per-address limits on failed authentications: token
buckets, each refilled at its own rate."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable

MAX_TRACKED = 10_000  # buckets remembered at once; a full bucket is the same as a forgotten one


class RateLimiter:
    def __init__(self, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.burst = burst
        self.clock = clock
        # caller → (calls left, when counted, refill a second)
        self._buckets: dict[str, tuple[float, float, float]] = {}

    def take(self, caller: str, count: int, per_minute: float) -> float | None:
        """Spend ``count`` calls of ``caller``'s budget: None when allowed, else seconds to wait."""
        now = self.clock()
        rate = per_minute / 60.0
        left = self._left(caller, now, rate)
        if count > left:
            return (count - left) / rate
        self._buckets[caller] = (left - count, now, rate)
        if len(self._buckets) > MAX_TRACKED:
            self._forget_full(now)
        return None

    def wait(self, caller: str, count: int, per_minute: float) -> float | None:
        """What :meth:`take` would answer, spending nothing."""
        rate = per_minute / 60.0
        left = self._left(caller, self.clock(), rate)
        return None if count <= left else (count - left) / rate

    def _left(self, caller: str, now: float, rate: float) -> float:
        left, then, _ = self._buckets.get(caller, (float(self.burst), now, rate))
        return min(float(self.burst), left + (now - then) * rate)

    def _forget_full(self, now: float) -> None:
        """Drop callers whose bucket has refilled; if none has, the oldest half (they refill soon)."""
        full = [name for name, (left, then, rate) in self._buckets.items()
                if left + (now - then) * rate >= self.burst]
        if not full:
            by_age = sorted(self._buckets, key=lambda name: self._buckets[name][1])
            full = by_age[: len(by_age) // 2]
        for name in full:
            del self._buckets[name]


class FailedAuthLimit:
    """At most ``limit`` failed authentications per client address in ``window_s`` (a bucket
    refilled evenly over the window). An address with none left is refused before its token is
    checked, so guessing cannot go on; requests that authenticate spend nothing."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.buckets = RateLimiter(limit, clock)
        self.per_minute = limit * 60.0 / window_s

    def wait(self, address: str) -> float | None:
        """Seconds before ``address`` may try again, or None if it may now."""
        return self.buckets.wait(address_key(address), 1, self.per_minute)

    def failed(self, address: str) -> bool:
        """Count a failed attempt; True when it was the address's last one."""
        key = address_key(address)
        self.buckets.take(key, 1, self.per_minute)
        return self.buckets.wait(key, 1, self.per_minute) is not None


def address_key(address: str) -> str:
    """The bucket of a client address: an IPv6 host holds a whole /64, so the /64 is one bucket."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)
