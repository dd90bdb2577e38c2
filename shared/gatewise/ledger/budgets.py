"""Budgets that spend can never pass: hold the estimate before a call, settle the real cost after.

A caller reserves a call's estimated cost against every budget of its scopes (``global`` and
``project:<tag>``); the check and the hold are one transaction, so concurrent callers in any
number of processes sharing the ledger file cannot both squeeze into the last dollar. After the
call it commits the real cost (or releases the hold if the call failed); commits raise
threshold alerts, which also go to the configured webhook.

Spend is exact as long as real costs stay within their estimates and commits arrive within the
reservation TTL; a real cost above its estimate is still charged in full, since that money is
spent. A process killed between its call and the settle leaves its holds behind; they are
reconciled on start-up and every ``reconcile_interval_s`` (charged from the call's ledger rows,
which share the hold's ``request_id``, or released), so they do not block budgets until the TTL.

With ``spend_lease_calls`` set, calls far from every limit spend from a lease instead (see
``leases``): one hold admits many calls in memory and is settled once.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import httpx

from gatewise.config import BudgetRule, BudgetsConfig
from gatewise.ledger.alerts import WebhookNotifier
from gatewise.ledger.budget_store import (
    Alert,
    BudgetStatus,
    BudgetStore,
    CommitResult,
    DeliveryState,
    Reconciled,
    Reservation,
    Verdict,
    Window,
    check_alerts_query,
    check_request_id,
    check_scope,
    check_scopes,
    check_usd,
    check_window,
    iso_utc,
    log_kept_rules,
    window_key,
    window_reset,
)
from gatewise.ledger.leases import LeaseDesk
from gatewise.ledger.migrations import migrate
from gatewise.ledger.owners import this_process
from gatewise.ledger.sqlite import DEFAULT_BUSY_TIMEOUT_MS, _connect
from gatewise.ledger.store import LedgerClosedError, LedgerError
from gatewise.ledger.tasks import BackgroundTasks
from gatewise.sqlite_wal import create_private_file

__all__ = [
    "DEFAULT_RESERVATION_TTL_S",
    "Alert",
    "BudgetManager",
    "BudgetStatus",
    "CommitResult",
    "Reconciled",
    "Reservation",
    "Verdict",
    "Window",
    "budget_scopes",
    "iso_utc",
    "window_key",
    "window_reset",
]

T = TypeVar("T")

log = logging.getLogger(__name__)

# Long enough for any call to finish, short enough that a crashed process frees its holds soon.
DEFAULT_RESERVATION_TTL_S = 600.0


def budget_scopes(project: str | None) -> list[str]:
    """The scopes a request is charged to: always ``global``, plus its project when tagged."""
    return ["global"] if project is None else ["global", f"project:{project}"]


class BudgetManager:
    """Budgets, reservations and alerts in the SQLite file at ``path`` (normally the ledger's).

    One thread owns the connection, so this process's transactions run one at a time and the
    event loop never waits on the disk; ``BEGIN IMMEDIATE`` orders them against other processes.
    Config rules are written to the table on start-up (rules set at run time stand, see
    ``plan_rule_load``), and the holds of processes that are gone are settled (``recovered``
    says what that found).
    """

    def __init__(
        self,
        path: Path | str,
        config: BudgetsConfig,
        http: httpx.AsyncClient | None = None,
        *,
        reservation_ttl_s: float = DEFAULT_RESERVATION_TTL_S,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not reservation_ttl_s > 0:
            raise ValueError("reservation_ttl_s must be positive")
        self.path = Path(path)
        self._label = f"the budgets in {self.path}"
        db = None
        try:
            create_private_file(self.path)
            db = _connect(self.path, busy_timeout_ms)
            migrate(db, name=f"the call ledger at {self.path}")
            store = BudgetStore(
                db.conn,
                thresholds=config.alert_thresholds,
                ttl_s=reservation_ttl_s,
                clock=clock,
                webhook=config.webhook_url is not None,
                owner=this_process(),
                lease_s=config.owner_lease_s,
            )
            log_kept_rules(store.load_rules(config.rules))
            self.recovered = store.reconcile()
        except BaseException as exc:
            if db is not None:
                db.close()
            if isinstance(exc, OSError | sqlite3.Error):
                raise LedgerError(f"cannot open {self._label}: {exc}") from exc
            raise
        self._store = store
        self._clock = clock
        self._interval_s = config.reconcile_interval_s
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gatewise-budgets")
        self._notifier = (
            WebhookNotifier(config.webhook_url, http, self._record_delivery) if config.webhook_url else None
        )
        # Settlements that must finish even when their caller is cancelled; close() drains them.
        self._tasks = BackgroundTasks()
        self._leases = LeaseDesk(calls=config.spend_lease_calls, lease_s=config.spend_lease_s, clock=clock,
                                 tasks=self._tasks, take=self._take_lease, charge=self._commit,
                                 give_back=self._give_back)
        self._closed = False
        self._shut = False

    async def reserve(self, scopes: Sequence[str], amount_usd: float, request_id: str) -> Reservation:
        """Hold ``amount_usd`` in every scope, or raise ``BUDGET_EXCEEDED`` (nothing held) when a
        ``block`` budget would be passed. A ``downgrade`` budget that would be passed gives a
        ``downgrade`` verdict with nothing held; a ``warn`` budget holds and adds a warning."""
        clean = check_scopes(scopes)
        amount = check_usd(amount_usd, "amount_usd")
        request_id = check_request_id(request_id)
        self._check_open()
        if self._leases.calls and amount > 0:
            leased = await self._leases.admit(clean, amount, request_id)
            if leased is not None:
                return leased
        task = self._tasks.track(self._execute(self._store.reserve, clean, amount, request_id))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            # Nobody will ever commit or release a hold its caller never received.
            task.add_done_callback(self._release_unclaimed)
            raise

    async def commit(self, reservation: Reservation, actual_usd: float) -> CommitResult:
        """Charge the real cost (above or below the estimate) and report newly crossed alert
        thresholds. Idempotent; it completes even if the caller is cancelled."""
        cost = check_usd(actual_usd, "actual_usd")
        if not reservation.ids:
            raise ValueError("a downgrade verdict holds nothing to commit; reserve the cheaper call first")
        self._check_open()
        if reservation.lease_id is not None:
            # In memory: the lease's own settle charges it, and the lease's last call reports
            # the alerts that settle crosses.
            return await self._leases.commit(reservation, cost)
        return await asyncio.shield(self._tasks.track(self._commit(reservation, cost)))

    async def release(self, reservation: Reservation) -> bool:
        """Drop the hold of a call that failed; False if it was already settled. Idempotent."""
        if not reservation.ids:
            return False
        self._check_open()
        if reservation.lease_id is not None:
            return self._leases.release(reservation)
        job = self._execute(self._store.release, reservation.ids, reservation.request_id)
        return await asyncio.shield(self._tasks.track(job))

    async def status(self, scope: str | None = None) -> list[BudgetStatus]:
        """Every budget (or one scope's) in its current window."""
        if scope is not None:
            check_scope(scope)
        self._check_open()
        await self.settle_leases()  # so this process's idle headroom does not show as reserved
        return await self._execute(self._store.status, scope)

    async def set_budget(self, rule: BudgetRule) -> BudgetStatus:
        """Create or replace a budget at run time. It outlives restarts, and stands over the
        config's rule for its scope and window until the config's own rule for them changes."""
        self._check_open()
        await self.settle_leases()  # calls admitted from now on are held against the new rule
        return await self._execute(self._store.set_budget, rule)

    async def delete_budget(self, scope: str, window: Window) -> bool:
        """Remove a budget; a run-time rule standing over the config's gives way to it again."""
        check_scope(scope)
        check_window(window)
        self._check_open()
        await self.settle_leases()  # no call admitted from now on is held against the old rule
        return await self._execute(self._store.delete_budget, scope, window)

    async def alerts(self, limit: int = 50, scope: str | None = None) -> list[Alert]:
        """The ``limit`` newest alerts of ``scope`` (None: of every scope), newest first."""
        check_alerts_query(limit, scope)
        self._check_open()
        return await self._execute(self._store.alerts, limit, scope)

    async def reconcile(self) -> Reconciled:
        """Renew this process's lease and settle the holds of processes that are gone."""
        self._check_open()
        return await self._execute(self._store.reconcile)

    def start_upkeep(self) -> None:
        """Reconcile every ``reconcile_interval_s`` until closed; needs a running event loop."""
        self._tasks.start_upkeep(self._keep_reconciling)

    async def _keep_reconciling(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            try:
                await self.reconcile()
            except LedgerError as exc:  # a busy or unwritable file: try again next time
                log.warning("budget reconcile failed: %s", exc)

    async def close(self) -> None:
        """Finish settlements and webhook posts in flight, settle what is still held, then
        release the file. Safe twice."""
        if not self._closed:
            self._leases.closing = True
            await self.settle_leases(drain=False)
        self._closed = True
        await self._tasks.stop()
        if self._notifier is not None:
            await self._notifier.close()
        if not self._shut:
            self._shut = self._leases.shut = True
            await self._execute(self._store.close)
            self._executor.shutdown()

    # leases

    async def _take_lease(self, scopes: tuple[str, ...], size: float, lease_id: str) -> Reservation | None:
        return await self._execute(self._store.lease, scopes, size, lease_id)

    async def _give_back(self, hold: Reservation) -> bool:
        return await self._execute(self._store.release, hold.ids, hold.request_id)

    async def settle_leases(self, *, drain: bool = True) -> None:
        """Give back every lease of this process: each is settled once its calls in flight
        finish (``drain=False``: at once, charging what finished so far), and waited for."""
        await self._leases.settle_all(drain=drain)

    def _check_open(self) -> None:
        if self._closed:
            raise LedgerClosedError(f"{self._label} are closed; open them again to use them")

    async def _commit(self, reservation: Reservation, cost: float) -> CommitResult:
        result = await self._execute(self._store.commit, reservation.ids, reservation.request_id, cost)
        if self._notifier is not None:
            self._notifier.send(result.alerts)
        return result

    async def _record_delivery(self, alert_id: int, state: DeliveryState, error: str | None) -> None:
        await self._execute(self._store.record_delivery, alert_id, state, error)

    def _release_unclaimed(self, task: asyncio.Task[Reservation]) -> None:
        if task.cancelled() or task.exception() is not None:
            return
        held = task.result()
        if held.ids:
            self._tasks.track(self._execute(self._store.release, held.ids, held.request_id))

    async def _execute(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(self._guarded, fn, *args))

    def _guarded(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            return fn(*args)
        except sqlite3.Error as exc:
            raise LedgerError(f"{self._label} could not be updated: {exc}") from exc
