"""Budget leases: a process holds a slice of its budgets' headroom and spends it in memory.

Without a lease every budgeted call costs two transactions on the budget thread (hold, settle).
With one, a process reserves ``lease_calls`` calls' worth of headroom in one hold (a row per
scope, like any reservation, so every other process sees it as reserved), then admits calls
against it with no I/O at all, and settles it in one commit with what its calls really cost.

A lease is only taken where it fits with room to spare: when the slice would pass, downgrade or
warn any budget of its scopes, calls hold and settle one by one as before, so a budget near its
limit behaves exactly as without leases (and its warnings and alerts reach the call that crossed
them). A lease lives at most ``lease_s`` and never past the end of the UTC day it was taken in,
so its spend is charged to the right window and unused headroom goes back soon.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from gatewise.ledger.budget_store import LEASE_PREFIX, Reservation

__all__ = ["LEASE_PREFIX", "Lease", "lease_end"]

# Relative slack for float sums, as in the budget store.
_EPS = 1e-9


@dataclass(eq=False, slots=True)
class Lease:
    """One held slice of headroom for a set of scopes, and what calls have taken from it."""

    hold: Reservation  # the store's hold: request_id starts with LEASE_PREFIX
    ends_at: float  # wall-clock time after which no call is admitted
    open: dict[str, float] = field(default_factory=dict)  # request_id → amount of calls in flight
    spent_usd: float = 0.0  # what finished calls really cost
    retired: bool = False  # admits no more calls; settled once the last open call finishes

    def admit(self, request_id: str, amount: float, now: float) -> Reservation | None:
        """A call's share of the lease, or None when it does not fit (or the lease is over)."""
        if self.retired or now >= self.ends_at or request_id in self.open:
            return None
        used = self.spent_usd + sum(self.open.values())
        if used + amount > self.hold.amount_usd * (1 + _EPS):
            return None
        self.open[request_id] = amount
        return Reservation(request_id, amount, "ok", self.hold.scopes, self.hold.ids,
                           lease_id=self.hold.request_id)

    def finish(self, request_id: str, cost_usd: float | None) -> bool:
        """Close a call's share: charge ``cost_usd`` (None: the call failed, nothing spent).
        False when the share was already closed."""
        if self.open.pop(request_id, None) is None:
            return False
        self.spent_usd += cost_usd or 0.0
        return True

    @property
    def drained(self) -> bool:
        return self.retired and not self.open


def lease_end(now: float, lease_s: float) -> float:
    """When a lease taken at ``now`` stops admitting calls: ``lease_s`` later, or at the next
    UTC midnight if sooner (its holds are keyed by the day and month they were taken in)."""
    at = datetime.fromtimestamp(now, UTC)
    midnight = datetime(at.year, at.month, at.day, tzinfo=UTC) + timedelta(days=1)
    return min(now + lease_s, midnight.timestamp())
