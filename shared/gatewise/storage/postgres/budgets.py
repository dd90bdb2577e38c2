"""Budgets shared by every gateway instance on one PostgreSQL database.

Same contract as :class:`gatewise.ledger.budgets.BudgetManager`; what changes is how the check
and the hold are made atomic across machines. Spend per scope and window lives in
``budget_spend`` rows (committed and held amounts, exact numerics). A reservation locks the rows
of its scopes with ``SELECT … FOR UPDATE`` in one fixed order (scope, window, window key), checks
the limits against what it locked and adds its hold before committing: a concurrent reservation
of the same scope waits for the row rather than reading a stale sum, so no two can squeeze into
the last dollar, and since every transaction (reserve, commit, release, reconcile) locks spend
rows in that same order, none can wait on another in a cycle.

Commit and release lock their own holds first (by id and request id), so a second settle finds
them settled and changes nothing. Holds of instances that are gone (see ``ledger.owners``) or
older than the reservation TTL are settled by ``reconcile``, which skips holds a live settle has
locked. Alert rows are unique per scope, window, threshold and limit, so each fires once
cluster-wide for a limit (a limit changed mid-window alerts at its own thresholds), and only the
instance whose insert won posts it to the webhook. An alert whose post failed, or
whose poster died before posting, is claimed and posted again by the next reconcile of any
instance with a webhook, a few times at most.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from gatewise.config import BudgetRule, BudgetsConfig
from gatewise.ledger.alerts import WebhookNotifier
from gatewise.ledger.budget_store import (
    _EPS,
    ALERT_COLUMNS,
    BACK_TO_CONFIG,
    DROP_RULE,
    OVER_CONFIG,
    RECENT_ALERTS,
    UNLINK_RULE,
    WRITE_CONFIG_RULE,
    Alert,
    BudgetStatus,
    CommitResult,
    DeliveryState,
    Reconciled,
    Reservation,
    StoredRule,
    Window,
    _alert,
    _downgrade_note,
    _exceeded,
    _warn_note,
    _would_pass,
    alert_message,
    check_alerts_query,
    check_request_id,
    check_scope,
    check_scopes,
    check_usd,
    check_window,
    config_row,
    iso_utc,
    log_kept_rules,
    plan_rule_load,
    status_of,
    window_key,
    window_reset,
)
from gatewise.ledger.budgets import DEFAULT_RESERVATION_TTL_S
from gatewise.ledger.leases import LEASE_PREFIX, LeaseDesk
from gatewise.ledger.owners import Owner, is_gone, this_process
from gatewise.ledger.store import LedgerClosedError, LedgerError
from gatewise.ledger.tasks import BackgroundTasks
from gatewise.storage.outage import FAIL_OPEN_NOTE, StorageUnavailable
from gatewise.storage.postgres.database import Connection, Database, pg_marks
from gatewise.storage.postgres.schema import MIGRATION_LOCK

log = logging.getLogger(__name__)

SpendKey = tuple[str, Window, str]  # scope, window, window key

# An instance posting an alert holds it this long (well past the webhook's own timeout); one
# still undelivered after that is posted again by whichever instance claims it, at most
# MAX_DELIVERIES times in all.
CLAIM_S = 60.0
MAX_DELIVERIES = 5
REDELIVER_BATCH = 20
RULES_LOCK = MIGRATION_LOCK + 1  # pg_advisory_xact_lock key for writing the config's rules

_ENSURE_SPEND = """
INSERT INTO budget_spend (scope, "window", window_key)
SELECT * FROM unnest(%s::text[], %s::text[], %s::text[]) AS k(scope, w, key) ORDER BY 1, 2, 3
ON CONFLICT DO NOTHING
"""
# FOR UPDATE after ORDER BY: rows are locked in the order sorted, the same in every transaction.
_LOCK_SPEND = """
SELECT s.scope, s."window", s.window_key, s.committed_usd::float8, s.held_usd::float8,
       b.limit_usd, b.on_exceed, b.source
FROM budget_spend s
LEFT JOIN budgets b ON b.scope = s.scope AND b."window" = s."window"
WHERE (s.scope, s."window", s.window_key) IN
      (SELECT * FROM unnest(%s::text[], %s::text[], %s::text[]))
ORDER BY s.scope, s."window", s.window_key
FOR UPDATE OF s
"""
_ADD_SPEND = """
UPDATE budget_spend s
SET committed_usd = s.committed_usd + d.committed, held_usd = GREATEST(s.held_usd + d.held, 0)
FROM unnest(%s::text[], %s::text[], %s::text[], %s::float8[], %s::float8[])
     AS d(scope, w, key, committed, held)
WHERE s.scope = d.scope AND s."window" = d.w AND s.window_key = d.key
RETURNING s.scope, s."window", s.window_key, s.committed_usd::float8,
          (SELECT b.limit_usd FROM budgets b WHERE b.scope = s.scope AND b."window" = s."window")
"""
# The hold and its spend in one round trip (the spend rows are already locked).
_HOLD = """
WITH added AS (
    UPDATE budget_spend s SET held_usd = s.held_usd + %s
    WHERE (s.scope, s."window", s.window_key) IN
          (SELECT * FROM unnest(%s::text[], %s::text[], %s::text[]))
)
INSERT INTO budget_reservations
    (request_id, scope, day_key, month_key, reserved_usd, state, created_at, owner)
SELECT %s, scope, %s, %s, %s, 'reserved', %s, %s FROM unnest(%s::text[]) AS t(scope)
RETURNING id
"""
# Lock a request's holds and settle the open ones in one round trip; rows as they were before.
_SETTLE = """
WITH held AS (
    SELECT id, scope, day_key, month_key, reserved_usd, state, cost_usd FROM budget_reservations
    WHERE request_id = %s AND id = ANY(%s) ORDER BY id FOR UPDATE
), settled AS (
    UPDATE budget_reservations r SET state = %s, cost_usd = COALESCE(%s::float8, r.cost_usd), settled_at = %s
    FROM held WHERE r.id = held.id AND held.state IN ('reserved', 'expired')
)
SELECT * FROM held
"""
_STATUS = """
SELECT b.scope, b."window", b.limit_usd, b.on_exceed, b.source,
       COALESCE(s.committed_usd, 0)::float8, COALESCE(s.held_usd, 0)::float8,
       b.config_limit_usd, b.config_on_exceed
FROM budgets b
LEFT JOIN budget_spend s ON s.scope = b.scope AND s."window" = b."window"
     AND s.window_key = CASE WHEN b."window" = 'daily' THEN %s ELSE %s END
WHERE %s::text IS NULL OR b.scope = %s
ORDER BY b.scope, b."window"
"""
# Holds to settle: gone owners' open ones (charged from their ledger rows when the call got that
# far) and anyone's still reserved past the TTL. SKIP LOCKED: a hold a live settle has locked is
# that settle's business, and reconcile never waits behind it. A lease's calls have rows of their
# own request ids: it is charged what the ledger shows in its scope since it was taken, at most its
# size (with other instances running that may count some of their calls too: more spend, never
# less), as the SQLite store does.
_STALE = f"""
SELECT r.id, r.scope, r.day_key, r.month_key, r.reserved_usd, r.state,
       r.owner = ANY(%s) AS gone,
       CASE WHEN r.request_id LIKE '{LEASE_PREFIX}%%' THEN leased.cost ELSE own.cost END
FROM budget_reservations r
LEFT JOIN LATERAL (SELECT SUM(cost_usd) AS cost FROM calls WHERE calls.request_id = r.request_id) own
     ON r.owner = ANY(%s)
LEFT JOIN LATERAL (SELECT LEAST(r.reserved_usd, COALESCE(SUM(cost_usd), 0)) AS cost FROM calls
                   WHERE r.request_id LIKE '{LEASE_PREFIX}%%' AND calls.ts >= r.created_at
                     AND (r.scope = 'global' OR calls.project = substr(r.scope, 9))) leased
     ON r.owner = ANY(%s)
WHERE (r.owner = ANY(%s) AND r.state IN ('reserved', 'expired'))
   OR (r.state = 'reserved' AND r.created_at < %s)
ORDER BY r.id
FOR UPDATE OF r SKIP LOCKED
"""
_CLAIM_UNDELIVERED = """
UPDATE alerts SET claimed_until = %s, attempts = attempts + 1
WHERE id IN (SELECT id FROM alerts
             WHERE delivered IN ('pending', 'failed') AND attempts < %s
               AND (claimed_until IS NULL OR claimed_until < %s)
             ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED)
RETURNING {columns}
"""


def _spend_keys(scope: str, day_key: str, month_key: str) -> list[SpendKey]:
    return [(scope, "daily", day_key), (scope, "monthly", month_key)]


def _columns(keys: Sequence[SpendKey]) -> list[list[str]]:
    return [list(column) for column in zip(*keys, strict=True)] if keys else [[], [], []]


def _left_held(reservation: Reservation) -> None:
    """Under fail_open a call stands though its hold could not be settled: the hold is released
    once past the reservation TTL (see reconcile)."""
    log.warning("the hold of request %s stays until the reservation TTL: the database is unavailable",
                reservation.request_id)


class PostgresBudgets:
    """Budgets, reservations and alerts in a shared database; see the module docstring."""

    def __init__(self, db: Database, config: BudgetsConfig, http: httpx.AsyncClient | None = None, *,
                 reservation_ttl_s: float = DEFAULT_RESERVATION_TTL_S,
                 clock: Callable[[], float] = time.time, fail_open: bool = False) -> None:
        if not reservation_ttl_s > 0:
            raise ValueError("reservation_ttl_s must be positive")
        self._db = db
        self._config = config
        self._label = f"the budgets at {db.label}"
        self._ttl_s = reservation_ttl_s
        self._clock = clock
        self._fail_open = fail_open
        self._owner: Owner = this_process()
        self._thresholds = sorted({*config.alert_thresholds, 1.0})
        self._new_delivery: DeliveryState = "pending" if config.webhook_url else "not_configured"
        self._notifier = (WebhookNotifier(config.webhook_url, http, self._record_delivery)
                          if config.webhook_url else None)
        # Spend rows never go away, and an alert once stored stays stored: both are remembered
        # so a hold skips creating the rows and a commit skips alerts already raised.
        self._known_spend: set[SpendKey] = set()
        self._alerted: set[tuple[str, str, str, float, float]] = set()  # its key, threshold, limit
        self._tasks = BackgroundTasks()  # settlements that outlive a cancelled caller, the upkeep loop
        # Calls far from every limit spend from a lease of headroom (see gatewise.ledger.leases):
        # one transaction holds a slice for many calls, settled once with what they cost.
        self._leases = LeaseDesk(calls=config.spend_lease_calls, lease_s=config.spend_lease_s, clock=clock,
                                 tasks=self._tasks, take=self._lease, charge=self._commit,
                                 give_back=self._give_back)
        self._closed = False
        self.recovered = Reconciled()

    @classmethod
    async def open(cls, db: Database, config: BudgetsConfig, http: httpx.AsyncClient | None = None,
                   **options: Any) -> PostgresBudgets:
        """Write the config's rules, register this instance and settle gone instances' holds."""
        budgets = cls(db, config, http, **options)
        await budgets._load_rules(config.rules)
        budgets.recovered = await budgets.reconcile()
        return budgets

    # -- the BudgetManager surface -------------------------------------------------------------

    async def reserve(self, scopes: Sequence[str], amount_usd: float, request_id: str) -> Reservation:
        clean = check_scopes(scopes)
        amount = check_usd(amount_usd, "amount_usd")
        request_id = check_request_id(request_id)
        self._check_open()
        if self._leases.calls and amount > 0:
            # Unreachable: the call's own hold below fails (or fails open) as it would without.
            with contextlib.suppress(StorageUnavailable):
                leased = await self._leases.admit(clean, amount, request_id)
                if leased is not None:
                    return leased
        task = self._tasks.track(self._reserve(clean, amount, request_id))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            task.add_done_callback(self._release_unclaimed)  # nobody will settle it otherwise
            raise
        except StorageUnavailable:
            if not self._fail_open:
                raise
            log.warning("budgets not enforced for request %s: the database is unavailable", request_id)
            return Reservation(request_id, amount, "ok", clean, (), (FAIL_OPEN_NOTE,))

    async def commit(self, reservation: Reservation, actual_usd: float) -> CommitResult:
        cost = check_usd(actual_usd, "actual_usd")
        if not reservation.ids:
            if FAIL_OPEN_NOTE in reservation.warnings:
                return CommitResult(cost)  # nothing was held while the database was away
            raise ValueError("a downgrade verdict holds nothing to commit; reserve the cheaper call first")
        self._check_open()
        if reservation.lease_id is not None:
            # In memory: the lease's own settle charges it, and the lease's last call reports
            # the alerts that settle crosses.
            return await self._leases.commit(reservation, cost)
        try:
            return await asyncio.shield(self._tasks.track(self._commit(reservation, cost)))
        except StorageUnavailable:
            if not self._fail_open:
                raise
            _left_held(reservation)
            return CommitResult(cost)

    async def release(self, reservation: Reservation) -> bool:
        if not reservation.ids:
            return False
        self._check_open()
        if reservation.lease_id is not None:
            return self._leases.release(reservation)
        try:
            return await asyncio.shield(self._tasks.track(self._give_back(reservation)))
        except StorageUnavailable:
            if not self._fail_open:
                raise
            _left_held(reservation)
            return False

    async def status(self, scope: str | None = None) -> list[BudgetStatus]:
        if scope is not None:
            check_scope(scope)
        self._check_open()
        await self._leases.settle_all()  # so this instance's idle headroom does not show as reserved
        now = self._clock()
        async with self._db.connection() as conn:
            cursor = await conn.execute(_STATUS, [window_key("daily", now), window_key("monthly", now),
                                                  scope, scope])
            rows = await cursor.fetchall()
        return [status_of(row[0], row[1], row[2], row[3], row[4], row[5], row[6], now, row[7:])
                for row in rows]

    async def set_budget(self, rule: BudgetRule) -> BudgetStatus:
        self._check_open()
        await self._leases.settle_all()  # calls admitted from now on are held against the new rule
        async with self._db.connection() as conn:
            await conn.execute(
                'INSERT INTO budgets (scope, "window", limit_usd, on_exceed, source, updated_at)'
                " VALUES (%s, %s, %s, %s, 'runtime', %s) ON CONFLICT (scope, \"window\") DO UPDATE SET"
                " limit_usd = excluded.limit_usd, on_exceed = excluded.on_exceed,"
                " source = excluded.source, updated_at = excluded.updated_at",
                [rule.scope, rule.window, rule.limit_usd, rule.on_exceed, self._clock()])
        return next(b for b in await self.status(rule.scope) if b.window == rule.window)

    async def delete_budget(self, scope: str, window: Window) -> bool:
        check_scope(scope)
        check_window(window)
        self._check_open()
        await self._leases.settle_all()  # no call admitted from now on is held against the old rule
        async with self._db.connection() as conn, conn.transaction():
            cursor = await conn.execute(
                f'UPDATE budgets SET {BACK_TO_CONFIG}, updated_at = %s WHERE scope = %s AND "window" = %s'
                f" AND {OVER_CONFIG}", [self._clock(), scope, window])
            if cursor.rowcount == 0:
                cursor = await conn.execute('DELETE FROM budgets WHERE scope = %s AND "window" = %s',
                                            [scope, window])
            return cursor.rowcount > 0

    async def alerts(self, limit: int = 50, scope: str | None = None) -> list[Alert]:
        check_alerts_query(limit, scope)
        self._check_open()
        async with self._db.connection() as conn:
            cursor = await conn.execute(pg_marks(RECENT_ALERTS), [scope, scope, limit])
            return [_alert(row) for row in await cursor.fetchall()]

    async def reconcile(self) -> Reconciled:
        """Renew this instance's lease, then settle gone instances' holds and expired ones."""
        self._check_open()
        now = self._clock()
        me = self._owner
        async with self._db.connection() as conn:
            async with conn.transaction():
                await conn.execute(
                    "INSERT INTO budget_owners (id, host, pid, started, heartbeat_at)"
                    " VALUES (%s, %s, %s, %s, %s)"
                    " ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
                    [me.id, me.host, me.pid, me.started, now])
            cursor = await conn.execute(
                "SELECT id, host, pid, started, heartbeat_at FROM budget_owners WHERE id != %s", [me.id])
            lease_s = self._config.owner_lease_s
            gone = [row[0] for row in await cursor.fetchall()
                    if is_gone(Owner(*row[:4]), row[4], here=me.host, now=now, lease_s=lease_s)]
            result = await self._settle_stale(conn, gone, now)
            if self._notifier is not None:
                cursor = await conn.execute(_CLAIM_UNDELIVERED.format(columns=ALERT_COLUMNS),
                                            [now + CLAIM_S, MAX_DELIVERIES, now, REDELIVER_BATCH])
                undelivered = sorted((_alert(row) for row in await cursor.fetchall()), key=lambda a: a.id)
                self._notifier.send(undelivered)
        if result.owners or result.charged or result.released:
            log.warning("budget holds settled: %d stopped instance(s); %d hold(s) charged from their "
                        "ledger rows, %d released", result.owners, result.charged, result.released)
        return result

    def start_upkeep(self) -> None:
        self._tasks.start_upkeep(self._keep_reconciling)

    async def close(self) -> None:
        """Finish settlements in flight, settle this instance's open holds, and leave. Safe twice;
        the pool belongs to the caller."""
        if self._closed:
            return
        self._leases.closing = True
        await self._leases.settle_all(drain=False)
        self._closed = True
        await self._tasks.stop()
        self._leases.shut = True
        if self._notifier is not None:
            await self._notifier.close()
        try:
            async with self._db.connection() as conn:
                await self._settle_stale(conn, [self._owner.id], self._clock(), expire=False)
        except (StorageUnavailable, LedgerError) as exc:  # another instance's reconcile does it
            log.warning("could not settle the open budget holds on close: %s", exc)

    # -- transactions ------------------------------------------------------------------------

    async def _reserve(self, scopes: tuple[str, ...], amount: float, request_id: str) -> Reservation:
        now = self._clock()
        day, month = window_key("daily", now), window_key("monthly", now)
        keys = sorted(key for scope in scopes for key in _spend_keys(scope, day, month))
        async with self._db.connection() as conn, conn.transaction():
            budgets = await self._locked_budgets(conn, keys, now)
            over = [b for b in budgets if amount > 0 and _would_pass(b, amount)]
            blocked = [b for b in over if b.on_exceed == "block"]
            downgrade = [b for b in over if b.on_exceed == "downgrade"]
            ids: tuple[int, ...] = ()
            if not blocked and not downgrade:
                ids = await self._hold(conn, keys, scopes, amount, request_id, now)
        if blocked:
            raise _exceeded(blocked[0], amount)
        if downgrade:
            headroom = min(b.remaining_usd for b in budgets if b.on_exceed != "warn")
            notes = tuple(_downgrade_note(b, amount, headroom) for b in downgrade)
            return Reservation(request_id, amount, "downgrade", scopes, (), notes, headroom)
        notes = tuple(_warn_note(b, amount) for b in over)
        return Reservation(request_id, amount, "warn" if over else "ok", scopes, ids, notes)

    async def _lease(self, scopes: tuple[str, ...], amount: float, lease_id: str) -> Reservation | None:
        """Hold ``amount`` in every scope as a lease, only if it passes no budget of them and
        crosses none of their alert thresholds; None (nothing held) otherwise."""
        now = self._clock()
        keys = sorted(key for scope in scopes for key in _spend_keys(scope, window_key("daily", now),
                                                                        window_key("monthly", now)))
        async with self._db.connection() as conn, conn.transaction():
            for budget in await self._locked_budgets(conn, keys, now):
                # The first alert threshold above the budget's spend and holds so far.
                used = budget.spent_usd + budget.reserved_usd
                bound = next((t for t in self._thresholds if used < t * budget.limit_usd), 1.0)
                if used + amount > bound * budget.limit_usd * (1 - _EPS):
                    return None
            ids = await self._hold(conn, keys, scopes, amount, lease_id, now)
        return Reservation(lease_id, amount, "ok", scopes, ids, lease_id=lease_id)

    async def _locked_budgets(self, conn: Connection, keys: Sequence[SpendKey],
                              now: float) -> list[BudgetStatus]:
        """Lock the spend rows of ``keys`` (in key order) and return the budgets they have."""
        rows = await self._lock(conn, keys)
        if len(rows) != len(keys):  # never: without its spend row a budget would go unchecked
            raise LedgerError(f"{self._label}: spend rows missing for {keys}")
        return [status_of(scope, window, limit, on_exceed, source, spent, held, now)
                for scope, window, _, spent, held, limit, on_exceed, source in rows if limit is not None]

    async def _hold(self, conn: Connection, keys: Sequence[SpendKey], scopes: Sequence[str], amount: float,
                    request_id: str, now: float) -> tuple[int, ...]:
        """Add ``amount`` to the locked spend rows' holds and a hold row per scope; their ids."""
        day, month = window_key("daily", now), window_key("monthly", now)
        cursor = await conn.execute(_HOLD, [amount, *_columns(keys), request_id, day, month, amount, now,
                                            self._owner.id, list(scopes)])
        return tuple(sorted(row[0] for row in await cursor.fetchall()))

    async def _give_back(self, reservation: Reservation) -> bool:
        return await self._release(reservation.ids, reservation.request_id)

    async def _commit(self, reservation: Reservation, cost: float) -> CommitResult:
        now = self._clock()
        async with self._db.connection() as conn, conn.transaction():
            rows = await self._settle(conn, reservation.ids, reservation.request_id, "committed", cost, now)
            open_rows = [row for row in rows if row[5] in ("reserved", "expired")]
            if not open_rows:
                previous = max((row[6] or 0.0 for row in rows if row[5] == "committed"), default=0.0)
                return CommitResult(previous, settled_before=True)
            deltas = [(key, cost, -row[4] if row[5] == "reserved" else 0.0)
                      for row in open_rows for key in _spend_keys(row[1], row[2], row[3])]
            spent = await self._add(conn, deltas)
            alerts = await self._new_alerts(conn, spent, now)
        if self._notifier is not None:
            self._notifier.send(alerts)
        return CommitResult(cost, tuple(alerts))

    async def _release(self, ids: Sequence[int], request_id: str) -> bool:
        now = self._clock()
        async with self._db.connection() as conn, conn.transaction():
            rows = await self._settle(conn, ids, request_id, "released", None, now)
            open_rows = [row for row in rows if row[5] in ("reserved", "expired")]
            if not open_rows:
                return False
            await self._add(conn, [(key, 0.0, -row[4]) for row in open_rows if row[5] == "reserved"
                                   for key in _spend_keys(row[1], row[2], row[3])])
            return True

    async def _settle_stale(self, conn: Connection, gone: Sequence[str], now: float, *,
                            expire: bool = True) -> Reconciled:
        """Charge gone owners' holds whose call reached the ledger, release the rest of theirs,
        and (``expire``) release anyone's holds older than the TTL; then forget the gone owners.
        A released hold becomes ``expired``: an owner that was only slow may still commit it."""
        cutoff = now - self._ttl_s if expire else float("-inf")
        async with conn.transaction():
            cursor = await conn.execute(_STALE, [list(gone)] * 4 + [cutoff])
            stale = await cursor.fetchall()
            charged = [row for row in stale if row[6] and row[7] is not None]
            released = [row for row in stale if row[5] == "reserved" and not (row[6] and row[7] is not None)]
            if charged:
                await conn.execute(
                    "UPDATE budget_reservations r SET state = 'committed', cost_usd = d.cost, settled_at = %s"
                    " FROM unnest(%s::bigint[], %s::float8[]) AS d(id, cost) WHERE r.id = d.id",
                    [now, [row[0] for row in charged], [row[7] for row in charged]])
            if released:
                await conn.execute("UPDATE budget_reservations SET state = 'expired', settled_at = %s"
                                   " WHERE id = ANY(%s)", [now, [row[0] for row in released]])
            deltas = [(key, row[7], -row[4] if row[5] == "reserved" else 0.0)
                      for row in charged for key in _spend_keys(row[1], row[2], row[3])]
            deltas += [(key, 0.0, -row[4]) for row in released for key in _spend_keys(row[1], row[2], row[3])]
            await self._add(conn, deltas)
            if gone:
                # A gone owner is forgotten only once none of its holds is open: one whose hold was
                # passed over (still locked by a transaction of the dead instance that the server
                # has not yet ended) is settled by a later reconcile, not left for the TTL.
                await conn.execute(
                    "DELETE FROM budget_owners o WHERE o.id = ANY(%s) AND NOT EXISTS (SELECT 1"
                    " FROM budget_reservations r WHERE r.owner = o.id AND r.state = 'reserved')",
                    [list(gone)])
        return Reconciled(len(gone), len(charged), len(released))

    async def _lock(self, conn: Connection, keys: Sequence[SpendKey]) -> list[tuple[Any, ...]]:
        """Create missing spend rows, then lock them in key order; rows as ``_LOCK_SPEND``. The
        insert comes first, before this transaction holds any row lock: inserting while holding
        one could wait on a transaction that waits on that lock."""
        columns = _columns(keys)
        if not self._known_spend.issuperset(keys):
            created = await conn.execute(_ENSURE_SPEND, columns)
            # Remembered only once they were there before this transaction: rows it created stay
            # invisible to others until it commits, and a hold that skipped the insert and found
            # no row would check no limit.
            if created.rowcount == 0:
                self._known_spend.update(keys)
        cursor = await conn.execute(_LOCK_SPEND, columns)
        return await cursor.fetchall()

    async def _add(self, conn: Connection, deltas: Sequence[tuple[SpendKey, float, float]]
                   ) -> dict[SpendKey, tuple[float, float | None]]:
        """Add (committed, held) amounts to spend rows, locking them in key order first; returns
        the committed spend of each row touched and its budget's limit (None: no budget)."""
        merged: dict[SpendKey, list[float]] = defaultdict(lambda: [0.0, 0.0])
        for key, committed, held in deltas:
            merged[key][0] += committed
            merged[key][1] += held
        if not merged:
            return {}
        keys = sorted(merged)
        await self._lock(conn, keys)
        cursor = await conn.execute(_ADD_SPEND, [*_columns(keys), [merged[k][0] for k in keys],
                                                 [merged[k][1] for k in keys]])
        return {(row[0], row[1], row[2]): (row[3], row[4]) for row in await cursor.fetchall()}

    async def _settle(self, conn: Connection, ids: Sequence[int], request_id: str, state: str,
                      cost: float | None, now: float) -> list[tuple[Any, ...]]:
        """Lock a request's holds and move the open ones to ``state``; the rows as they were."""
        cursor = await conn.execute(_SETTLE, [request_id, list(ids), state, cost, now])
        rows = await cursor.fetchall()
        if len(rows) != len(set(ids)):
            raise ValueError(
                f"reservation {tuple(ids)} for request {request_id!r} is not in this budget store")
        return rows

    async def _new_alerts(self, conn: Connection, spent: dict[SpendKey, tuple[float, float | None]],
                          now: float) -> list[Alert]:
        """Alert rows for thresholds the spend now passes under the budget's limit; the unique key
        lets one instance win."""
        alerts = []
        for key in sorted(spent):
            (scope, window, _), (total, limit) = key, spent[key]
            if limit is None:
                continue
            for threshold in self._thresholds:
                if total < threshold * limit * (1 - _EPS):
                    break
                if (*key, threshold, limit) in self._alerted:
                    continue
                resets = iso_utc(window_reset(window, key[2]))
                message = alert_message(scope, window, key[2], threshold, total, limit, resets)
                inserted = await conn.execute(
                    'INSERT INTO alerts (ts, scope, "window", window_key, threshold, spent_usd, limit_usd,'
                    " message, delivered, claimed_until, attempts)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                    ' ON CONFLICT (scope, "window", window_key, threshold, limit_usd)'
                    " DO NOTHING RETURNING id",
                    [now, scope, window, key[2], threshold, total, limit, message, self._new_delivery,
                     now + CLAIM_S, int(self._notifier is not None)])
                row = await inserted.fetchone()
                self._alerted.add((*key, threshold, limit))
                if row is not None:
                    alerts.append(_alert((row[0], now, scope, window, key[2], threshold, total, limit,
                                          message, self._new_delivery, None)))
        return alerts

    async def _load_rules(self, rules: Sequence[BudgetRule]) -> None:
        """Write the config's rules as ``plan_rule_load`` says (run-time rules stand unless the
        config's own rule for them changed; no budget the config does not define goes)."""
        now = self._clock()
        async with self._db.connection() as conn, conn.transaction():
            # Instances starting together each weigh the config's rules against the table: one at a time.
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", [RULES_LOCK])
            cursor = await conn.execute(
                'SELECT scope, "window", source, config_limit_usd, config_on_exceed FROM budgets')
            load = plan_rule_load((StoredRule(*row) for row in await cursor.fetchall()), rules)
            for statement, rows in ((DROP_RULE, load.drop), (UNLINK_RULE, load.unlink),
                                    (WRITE_CONFIG_RULE, [config_row(r, now) for r in load.write])):
                if rows:
                    async with conn.cursor() as cursor:
                        await cursor.executemany(pg_marks(statement), rows)
        log_kept_rules(load)

    async def _record_delivery(self, alert_id: int, state: DeliveryState, error: str | None) -> None:
        async with self._db.connection() as conn:
            await conn.execute("UPDATE alerts SET delivered = %s, delivery_error = %s WHERE id = %s",
                               [state, error, alert_id])

    # -- task bookkeeping ----------------------------------------------------------------------

    async def _keep_reconciling(self) -> None:
        while True:
            await asyncio.sleep(self._config.reconcile_interval_s)
            try:
                await self.reconcile()
            except (StorageUnavailable, LedgerError) as exc:  # try again next time
                log.warning("budget reconcile failed: %s", exc)

    def _check_open(self) -> None:
        if self._closed:
            raise LedgerClosedError(f"{self._label} are closed; open them again to use them")

    def _release_unclaimed(self, task: asyncio.Task[Reservation]) -> None:
        if task.cancelled() or task.exception() is not None:
            return
        held = task.result()
        if held.ids:
            self._tasks.track(self._release(held.ids, held.request_id))
