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

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from gatewise.ledger.budget_store import LEASE_PREFIX, Alert, CommitResult, Reservation
from gatewise.ledger.tasks import BackgroundTasks

__all__ = ["LEASE_PREFIX", "Lease", "LeaseDesk", "lease_end"]

# Scope sets remembered as too near a limit for a lease before expired entries are dropped.
_MAX_SCOPE_SETS = 1024

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


# A store's side of leasing: take a lease's hold (None: no room for one), charge a settled lease
# what its calls cost, give an unused one back.
TakeLease = Callable[[tuple[str, ...], float, str], Awaitable[Reservation | None]]
ChargeLease = Callable[[Reservation, float], Coroutine[Any, Any, object]]
ReturnLease = Callable[[Reservation], Coroutine[Any, Any, object]]


class LeaseDesk:
    """One process's leases over a budget store, one admitting calls per scope set.

    ``admit`` gives a call its share of the current lease, taking a new one (sized ``calls``
    times the call's amount) when that one is used up or over; ``finish`` closes a share; a
    lease that admits no more is settled in the background once its last call finishes. The
    store's steps are the three callables; settlements run on ``tasks``.
    """

    def __init__(self, *, calls: int, lease_s: float, clock: Callable[[], float], tasks: BackgroundTasks,
                 take: TakeLease, charge: ChargeLease, give_back: ReturnLease) -> None:
        self.calls, self._lease_s, self._clock, self._tasks = calls, lease_s, clock, tasks
        self._take, self._charge, self._give_back = take, charge, give_back
        self._leases: dict[tuple[str, ...], Lease] = {}  # the one admitting calls, per scope set
        self._retired: dict[str, Lease] = {}  # by lease id: admit nothing, settled once drained
        self._no_lease_until: dict[tuple[str, ...], float] = {}  # scopes whose budgets are near
        self._taking: dict[tuple[str, ...], asyncio.Task[Lease | None]] = {}
        self.closing = False  # set by the owner: a lease taken from now on is given straight back
        self.shut = False  # set by the owner once its store is closed: nothing is settled any more

    async def admit(self, scopes: tuple[str, ...], amount: float, request_id: str) -> Reservation | None:
        """The call's share of this process's lease for ``scopes``, taking a new lease when the
        current one is used up or over; None when the budgets leave no room for a lease."""
        now = self._clock()
        lease = self._leases.get(scopes)
        if lease is not None:
            admitted = lease.admit(request_id, amount, now)
            if admitted is not None:
                return admitted
            self._retire(lease)
        if now < self._no_lease_until.get(scopes, 0.0):
            return None
        # Calls arriving together wait for one new lease rather than each taking one.
        taking = self._taking.get(scopes)
        if taking is None:
            taking = self._tasks.track(self._take_lease(scopes, amount * self.calls))
            self._taking[scopes] = taking
            taking.add_done_callback(lambda _: self._taking.pop(scopes, None))
        fresh = await asyncio.shield(taking)
        return fresh.admit(request_id, amount, self._clock()) if fresh is not None else None

    async def commit(self, reservation: Reservation, cost: float) -> CommitResult:
        """Close a finished call's share. The last call of a lease that admits no more waits
        for the lease's settlement and reports the alert thresholds it crossed (spend charged
        there may pass one: other calls' committed spend rose while the lease was open)."""
        first, settling = self._finish(reservation, cost)
        alerts: tuple[Alert, ...] = ()
        if settling is not None:
            try:
                settled = await asyncio.shield(settling)
            except Exception:  # the settlement's own failure is not this call's
                settled = None
            alerts = settled.alerts if isinstance(settled, CommitResult) else ()
        return CommitResult(cost, alerts, settled_before=not first)

    def release(self, reservation: Reservation) -> bool:
        """Close a failed call's share; False when it was already closed."""
        return self._finish(reservation, None)[0]

    def _finish(self, reservation: Reservation,
                cost: float | None) -> tuple[bool, asyncio.Future[Any] | None]:
        """Close a call's share (``cost`` None: it failed): whether it was still open, and the
        lease's settlement when this call was the last of a lease that admits no more."""
        lease = self._leases.get(reservation.scopes)
        if lease is None or lease.hold.request_id != reservation.lease_id:
            lease = self._retired.get(reservation.lease_id or "")
        if lease is None:
            return False, None  # its lease is settled: so was this call's share
        first = lease.finish(reservation.request_id, cost)
        return first, self._settle(lease) if lease.drained else None

    async def settle_all(self, *, drain: bool = True) -> None:
        """Give back every lease: each is settled once its calls in flight finish
        (``drain=False``: at once, charging what finished so far), and waited for."""
        for lease in list(self._leases.values()):
            self._retire(lease)
        if not drain:
            for lease in list(self._retired.values()):
                self._settle(lease)
        await self._tasks.drain()

    async def _take_lease(self, scopes: tuple[str, ...], size: float) -> Lease | None:
        hold = await self._take(scopes, size, f"{LEASE_PREFIX}{uuid.uuid4().hex}")
        now = self._clock()
        if hold is None:
            # Near a limit or an alert threshold: calls hold one by one for a while.
            if len(self._no_lease_until) >= _MAX_SCOPE_SETS:  # one per project: keep it bounded
                self._no_lease_until = {k: t for k, t in self._no_lease_until.items() if t > now}
            self._no_lease_until[scopes] = now + self._lease_s
            return None
        fresh = Lease(hold, lease_end(now, self._lease_s))
        if self.closing:  # closed while the lease was being taken: give it straight back
            self._retire(fresh)
            return None
        self._leases[scopes] = fresh
        asyncio.get_running_loop().call_later(max(fresh.ends_at - now, 0.0), self._retire, fresh)
        return fresh

    def _retire(self, lease: Lease) -> None:
        """Admit no more calls on ``lease``; settle it now if no call of it is in flight."""
        if lease.retired:
            return
        lease.retired = True
        if self._leases.get(lease.hold.scopes) is lease:
            del self._leases[lease.hold.scopes]
        self._retired[lease.hold.request_id] = lease
        if lease.drained:
            self._settle(lease)

    def _settle(self, lease: Lease) -> asyncio.Future[Any] | None:
        """Charge the lease what its calls cost (giving the rest back), once, in the background:
        the task doing it, or None when it is settled already."""
        if self.shut or self._retired.pop(lease.hold.request_id, None) is None:
            return None
        if lease.spent_usd > 0:
            return self._tasks.track(self._charge(lease.hold, lease.spent_usd))
        return self._tasks.track(self._give_back(lease.hold))
