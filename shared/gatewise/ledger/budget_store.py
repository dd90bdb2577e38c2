"""Budgets in the ledger file: the atomic check-and-reserve, settlement, status and alert rows.

Everything here is synchronous and runs on the BudgetManager's one database thread. Every write
is a single ``BEGIN IMMEDIATE`` transaction: SQLite admits one writer at a time across all the
processes sharing the file, so a budget check and the reservation it admits cannot interleave
with anyone else's.

Spend is kept per scope rather than per budget: each reservation writes one row per scope,
keyed by its UTC day and month, whether or not that scope has a budget yet, so a budget added
mid-window starts from the window's true spend.

Each hold names the process that wrote it (see ``owners``). Reconciling settles the holds of
processes that are gone: a hold whose request has rows in the ``calls`` table (the call finished,
its settle never ran) is charged their cost; any other stops counting at once rather than when
its TTL runs out.
"""

from __future__ import annotations

import logging
import math
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, get_args

from gatewise.bounds import MIN_LIMIT_USD, format_usd, reportable_usd, rounded_usd
from gatewise.config import BudgetRule
from gatewise.errors import ErrorCode, GatewiseError, quoted
from gatewise.ledger.owners import Owner, is_gone

LEASE_PREFIX = "lease-"  # the request_id of a lease's holds (see leases); no call's id starts so

log = logging.getLogger(__name__)

Window = Literal["daily", "monthly"]
OnExceed = Literal["block", "downgrade", "warn"]
Verdict = Literal["ok", "warn", "downgrade"]
Source = Literal["config", "runtime"]
DeliveryState = Literal["not_configured", "pending", "delivered", "failed"]

WINDOWS: tuple[Window, ...] = get_args(Window)

# The shape BudgetRule.scope accepts. Used with fullmatch: "$" would let a trailing newline in.
_SCOPE = re.compile(r"global|project:[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}")
_KEY_COLUMN = {"daily": "day_key", "monthly": "month_key"}
# Relative slack for float sums, so that e.g. three $0.10 calls still fit a $0.30 budget.
_EPS = 1e-9

_USAGE_SQL = """
SELECT TOTAL(CASE WHEN state = 'committed' THEN cost_usd END),
       TOTAL(CASE WHEN state = 'reserved' AND created_at >= ? THEN reserved_usd END)
FROM budget_reservations
WHERE scope = ? AND {column} = ? AND state IN ('committed', 'reserved')
"""
_BUDGET_COLUMNS = "scope, window, limit_usd, on_exceed, source, config_limit_usd, config_on_exceed"
# The statements that load the config's rules (see plan_rule_load); pg_marks makes them psycopg's.
DROP_RULE = 'DELETE FROM budgets WHERE scope = ? AND "window" = ?'
UNLINK_RULE = ('UPDATE budgets SET config_limit_usd = NULL, config_on_exceed = NULL'
               ' WHERE scope = ? AND "window" = ?')
WRITE_CONFIG_RULE = (
    'INSERT INTO budgets (scope, "window", limit_usd, on_exceed, source, updated_at, config_limit_usd,'
    " config_on_exceed) VALUES (?, ?, ?, ?, 'config', ?, ?, ?) ON CONFLICT (scope, \"window\")"
    " DO UPDATE SET limit_usd = excluded.limit_usd, on_exceed = excluded.on_exceed, source = excluded.source,"
    " updated_at = excluded.updated_at, config_limit_usd = excluded.config_limit_usd,"
    " config_on_exceed = excluded.config_on_exceed")
# A run-time rule standing over the config's, and the change that hands its key back to the config.
OVER_CONFIG = "source = 'runtime' AND config_limit_usd IS NOT NULL"
BACK_TO_CONFIG = "limit_usd = config_limit_usd, on_exceed = config_on_exceed, source = 'config'"
ALERT_COLUMNS = ('id, ts, scope, "window", window_key, threshold, spent_usd, limit_usd, message, '
                 "delivered, delivery_error")
# The newest alerts of one scope, or of every scope when it is NULL: the scope is filtered before
# the limit, so other scopes' alerts never push a scope's own out. pg_marks makes it psycopg's.
RECENT_ALERTS = (f"SELECT {ALERT_COLUMNS} FROM alerts WHERE CAST(? AS TEXT) IS NULL OR scope = ?"
                 " ORDER BY ts DESC, id DESC LIMIT ?")


# --- windows -----------------------------------------------------------------------------------


def window_key(window: Window, ts: float) -> str:
    """The UTC calendar window holding ``ts``: ``2026-11-29`` (daily) or ``2026-11`` (monthly)."""
    at = datetime.fromtimestamp(ts, UTC)
    return f"{at:%Y-%m-%d}" if window == "daily" else f"{at:%Y-%m}"


def window_reset(window: Window, key: str) -> datetime:
    """The UTC midnight at which the window named ``key`` ends and the next one begins."""
    if window == "daily":
        return datetime.strptime(key, "%Y-%m-%d").replace(tzinfo=UTC) + timedelta(days=1)
    year, month = (int(part) for part in key.split("-"))
    return datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)


def iso_utc(at: datetime) -> str:
    return f"{at:%Y-%m-%dT%H:%M:%SZ}"


def alert_message(scope: str, window: str, key: str, threshold: float, spent: float, limit: float,
                  resets: str) -> str:
    """A budget alert as people read it, whichever store raised it."""
    level = "is used up" if threshold >= 1 else f"has reached {threshold * 100:g}%"
    return (f"Budget alert: the {scope} {window} budget for {key} {level}: {format_usd(spent)} of "
            f"{format_usd(limit)} spent. It resets at {resets}.")


# --- input checks --------------------------------------------------------------------------------


def _invalid(message: str) -> GatewiseError:
    return GatewiseError(ErrorCode.INVALID_INPUT, message)


def check_scope(scope: object) -> str:
    if not isinstance(scope, str) or not _SCOPE.fullmatch(scope):
        raise _invalid(
            "a budget scope is 'global' or 'project:<tag>' (the tag: letters, digits and '_.:-', "
            f"at most 64 characters), not {quoted(scope)}"
        )
    return scope


def check_scopes(scopes: object) -> tuple[str, ...]:
    """Validated scopes, duplicates dropped, order kept."""
    # A list or tuple (every budgeted call's) skips the slower ABC check.
    if not isinstance(scopes, (list, tuple)) and (isinstance(scopes, str)
                                                   or not isinstance(scopes, Iterable)):
        raise _invalid("scopes must be a list such as ['global', 'project:billing-bot']")
    clean = tuple(dict.fromkeys(map(check_scope, scopes)))
    if not clean:
        raise _invalid("scopes must name at least one budget scope, e.g. ['global']")
    return clean


def check_window(window: object) -> Window:
    for known in WINDOWS:
        if window == known:
            return known
    raise _invalid(f"a budget window is one of {list(WINDOWS)}, not {quoted(window)}")


def check_usd(value: object, name: str) -> float:
    if (
        # A float (nearly every amount) is told at once; a bool is an int, yet no amount.
        (type(value) is not float and (isinstance(value, bool) or not isinstance(value, int | float)))
        or not math.isfinite(value)
        or value < 0
    ):
        raise _invalid(f"{name} must be a finite, non-negative amount in USD, not {quoted(value)}")
    return float(value)


def check_alerts_query(limit: object, scope: object) -> None:
    """The arguments of an alerts query: how many at most, and the one scope (None: every scope)."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ValueError("limit must be a non-negative integer")
    if scope is not None:
        check_scope(scope)


def check_request_id(request_id: object) -> str:
    if not isinstance(request_id, str) or not request_id.strip():
        raise _invalid("request_id must be a non-empty string")
    return request_id


# --- values --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    """One budget in its current window. ``spent_usd`` is committed cost, ``reserved_usd`` the
    holds still open; ``fraction`` is spent over limit and may pass 1 for a ``warn`` budget.
    ``source`` says who set the rule: the config file, or set_budget at run time; on a run-time
    rule, ``config_limit_usd`` and ``config_on_exceed`` are the config's rule for the same scope
    and window, which it stands over. ``warning`` says which stored amounts were out of range and
    are shown brought into it."""

    scope: str
    window: Window
    window_key: str
    limit_usd: float
    spent_usd: float
    reserved_usd: float
    remaining_usd: float
    fraction: float
    on_exceed: OnExceed
    resets_at: str
    source: Source
    config_limit_usd: float | None = None
    config_on_exceed: OnExceed | None = None
    warning: str | None = None


@dataclass(frozen=True, slots=True)
class StoredRule:
    """A stored budget as start-up weighs it against the config: where it came from and, for
    a run-time rule, the config's rule for its scope and window when it was last loaded."""

    scope: str
    window: str
    source: str
    config_limit_usd: float | None
    config_on_exceed: str | None


@dataclass(frozen=True, slots=True)
class RuleLoad:
    """What loading the config's rules changes: ``write`` is stored as config rules; ``drop``
    are config rules the config no longer has; ``unlink`` are run-time rules whose config rule
    is gone (they stand on their own now); ``kept`` are run-time rules that stand over the
    config's rule for their scope and window."""

    write: tuple[BudgetRule, ...]
    drop: tuple[tuple[str, str], ...]
    unlink: tuple[tuple[str, str], ...]
    kept: tuple[tuple[str, str], ...]


def plan_rule_load(stored: Iterable[StoredRule], rules: Sequence[BudgetRule]) -> RuleLoad:
    """How the config's rules meet the stored ones, the same on every backend.

    A restart never deletes a budget the config does not define, and a rule set at run time
    outlives restarts: it stands over the config's rule for its scope and window until the
    config's own rule for them changes (a new limit or on_exceed, or a rule the config did not
    have when the run-time one was set), which an operator editing the config means to apply.
    """
    by_key: dict[tuple[str, str], BudgetRule] = {}
    for rule in rules:
        if (rule.scope, rule.window) in by_key:
            raise GatewiseError(ErrorCode.CONFIG_ERROR,
                                f"budgets.rules has two {rule.window} budgets for {rule.scope}; keep one")
        by_key[(rule.scope, rule.window)] = rule
    known = {(row.scope, row.window): row for row in stored}
    kept = tuple(key for key, rule in by_key.items()
                 if (row := known.get(key)) is not None and row.source == "runtime"
                 and (row.config_limit_usd, row.config_on_exceed) == (rule.limit_usd, rule.on_exceed))
    gone = [(key, row) for key, row in known.items() if key not in by_key]
    return RuleLoad(write=tuple(rule for key, rule in by_key.items() if key not in kept),
                    drop=tuple(key for key, row in gone if row.source == "config"),
                    unlink=tuple(key for key, row in gone
                                 if row.source == "runtime" and row.config_limit_usd is not None),
                    kept=kept)


def config_row(rule: BudgetRule, now: float) -> tuple[Any, ...]:
    """WRITE_CONFIG_RULE's values for one config rule."""
    return rule.scope, rule.window, rule.limit_usd, rule.on_exceed, now, rule.limit_usd, rule.on_exceed


def log_kept_rules(load: RuleLoad) -> None:
    for scope, window in load.kept:
        log.info("the run-time %s budget of %s stands over the config's (set_budget set it; a change "
                 "to the config's rule for it replaces it)", window, scope)


@dataclass(frozen=True, slots=True)
class Reservation:
    """The answer to a reserve. ``ok`` and ``warn`` hold ``amount_usd`` in every scope (``ids``
    are the holds); ``downgrade`` holds nothing: plan a call costing at most ``headroom_usd``
    and reserve again."""

    request_id: str
    amount_usd: float
    verdict: Verdict
    scopes: tuple[str, ...]
    ids: tuple[int, ...] = ()
    warnings: tuple[str, ...] = ()
    headroom_usd: float | None = None
    lease_id: str | None = None  # set when the call spends from this process's lease (see leases)


@dataclass(frozen=True, slots=True)
class Alert:
    id: int
    ts: float
    scope: str
    window: Window
    window_key: str
    threshold: float
    spent_usd: float
    limit_usd: float
    message: str
    delivered: DeliveryState
    delivery_error: str | None
    resets_at: str


@dataclass(frozen=True, slots=True)
class CommitResult:
    """``alerts`` are the thresholds this commit crossed first; ``settled_before`` means the
    reservation had already been committed or released and nothing changed."""

    cost_usd: float
    alerts: tuple[Alert, ...] = ()
    settled_before: bool = False

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(alert.message for alert in self.alerts)


@dataclass(frozen=True, slots=True)
class Reconciled:
    """What settling gone processes' holds did: ``owners`` gone, holds ``charged`` from their
    ledger rows, holds ``released`` (no ledger row: the call never finished)."""

    owners: int = 0
    charged: int = 0
    released: int = 0


# --- the store -----------------------------------------------------------------------------------


class BudgetStore:
    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        thresholds: Iterable[float],
        ttl_s: float,
        clock: Callable[[], float],
        webhook: bool,
        owner: Owner,
        lease_s: float,
    ) -> None:
        self._conn = conn
        self._owner = owner
        self._lease_s = lease_s
        # Ascending, and always 1.0: "the budget is used up" is worth telling whatever the config.
        self._thresholds = sorted({*thresholds, 1.0})
        self._ttl_s = ttl_s
        self._clock = clock
        self._new_delivery: DeliveryState = "pending" if webhook else "not_configured"

    def close(self) -> None:
        """Settle what this owner still holds and leave the owners, then drop the connection."""
        try:
            with self._write() as conn:
                self._settle_gone(conn, [self._owner.id], self._clock())
        except sqlite3.Error as exc:  # harmless: the next reconcile elsewhere does it instead
            log.warning("could not settle the open budget holds on close: %s", exc)
        finally:
            self._conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
            self._conn.commit()
        except BaseException:
            self._conn.rollback()
            raise

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        # A deferred transaction: every query inside sees the same snapshot.
        self._conn.execute("BEGIN")
        try:
            yield self._conn
        finally:
            self._conn.rollback()

    # budgets

    def load_rules(self, rules: Sequence[BudgetRule]) -> RuleLoad:
        """Write the config's rules as ``plan_rule_load`` says: run-time rules stand unless the
        config's own rule for them changed, and no budget the config does not define goes."""
        now = self._clock()
        with self._write() as conn:
            stored = conn.execute(
                "SELECT scope, window, source, config_limit_usd, config_on_exceed FROM budgets").fetchall()
            load = plan_rule_load((StoredRule(*row) for row in stored), rules)
            conn.executemany(DROP_RULE, load.drop)
            conn.executemany(UNLINK_RULE, load.unlink)
            conn.executemany(WRITE_CONFIG_RULE, [config_row(r, now) for r in load.write])
        return load

    def set_budget(self, rule: BudgetRule) -> BudgetStatus:
        now = self._clock()
        with self._write() as conn:
            conn.execute(
                "INSERT INTO budgets (scope, window, limit_usd, on_exceed, source, updated_at)"
                " VALUES (?, ?, ?, ?, 'runtime', ?) ON CONFLICT (scope, window) DO UPDATE SET"
                " limit_usd = excluded.limit_usd, on_exceed = excluded.on_exceed,"
                " source = excluded.source, updated_at = excluded.updated_at",
                (rule.scope, rule.window, rule.limit_usd, rule.on_exceed, now),
            )
            row = conn.execute(
                f"SELECT {_BUDGET_COLUMNS} FROM budgets WHERE scope = ? AND window = ?",
                (rule.scope, rule.window),
            ).fetchone()
            return self._status(conn, row, now)

    def delete_budget(self, scope: str, window: Window) -> bool:
        """Remove a budget; a run-time rule standing over the config's gives way to it again."""
        with self._write() as conn:
            cursor = conn.execute(
                f"UPDATE budgets SET {BACK_TO_CONFIG}, updated_at = ? WHERE scope = ? AND window = ?"
                f" AND {OVER_CONFIG}", (self._clock(), scope, window))
            if cursor.rowcount == 0:
                cursor = conn.execute("DELETE FROM budgets WHERE scope = ? AND window = ?", (scope, window))
            return cursor.rowcount > 0

    def status(self, scope: str | None) -> list[BudgetStatus]:
        now = self._clock()
        where, params = ("WHERE scope = ?", (scope,)) if scope else ("", ())
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {_BUDGET_COLUMNS} FROM budgets {where} ORDER BY scope, window", params
            ).fetchall()
            return [self._status(conn, row, now) for row in rows]

    # reservations

    def reserve(self, scopes: Sequence[str], amount: float, request_id: str) -> Reservation:
        now = self._clock()
        with self._write() as conn:
            # A hold older than the TTL belongs to a call that crashed or hung: stop counting it.
            conn.execute(
                "UPDATE budget_reservations SET state = 'expired', settled_at = ?"
                " WHERE state = 'reserved' AND created_at < ?",
                (now, now - self._ttl_s),
            )
            rows = conn.execute(
                f"SELECT {_BUDGET_COLUMNS} FROM budgets WHERE scope IN ({_marks(scopes)})"
                " ORDER BY scope, window",
                scopes,
            ).fetchall()
            budgets = [self._status(conn, row, now) for row in rows]
            over = [b for b in budgets if amount > 0 and _would_pass(b, amount)]
            blocked = [b for b in over if b.on_exceed == "block"]
            downgrade = [b for b in over if b.on_exceed == "downgrade"]
            ids = () if blocked or downgrade else self._hold(conn, scopes, amount, request_id, now)
        if blocked:
            raise _exceeded(blocked[0], amount)
        if downgrade:
            headroom = min(b.remaining_usd for b in budgets if b.on_exceed != "warn")
            notes = tuple(_downgrade_note(b, amount, headroom) for b in downgrade)
            return Reservation(request_id, amount, "downgrade", tuple(scopes), (), notes, headroom)
        notes = tuple(_warn_note(b, amount) for b in over)
        return Reservation(request_id, amount, "warn" if over else "ok", tuple(scopes), ids, notes)

    def lease(self, scopes: Sequence[str], amount: float, lease_id: str) -> Reservation | None:
        """Hold ``amount`` in every scope as a lease, only if it passes no budget of them and
        crosses none of their alert thresholds; None (nothing held) otherwise."""
        now = self._clock()
        with self._write() as conn:
            rows = conn.execute(
                f"SELECT {_BUDGET_COLUMNS} FROM budgets WHERE scope IN ({_marks(scopes)})", scopes
            ).fetchall()
            for budget in (self._status(conn, row, now) for row in rows):
                # The first alert threshold above the budget's spend and holds so far.
                used = budget.spent_usd + budget.reserved_usd
                bound = next((t for t in self._thresholds if used < t * budget.limit_usd), 1.0)
                if used + amount > bound * budget.limit_usd * (1 - _EPS):
                    return None
            ids = self._hold(conn, scopes, amount, lease_id, now)
        return Reservation(lease_id, amount, "ok", tuple(scopes), ids, lease_id=lease_id)

    def _hold(
        self, conn: sqlite3.Connection, scopes: Sequence[str], amount: float, request_id: str, now: float
    ) -> tuple[int, ...]:
        day, month = window_key("daily", now), window_key("monthly", now)
        ids = []
        for scope in scopes:
            cursor = conn.execute(
                "INSERT INTO budget_reservations"
                " (request_id, scope, day_key, month_key, reserved_usd, state, created_at, owner)"
                " VALUES (?, ?, ?, ?, ?, 'reserved', ?, ?)",
                (request_id, scope, day, month, amount, now, self._owner.id),
            )
            ids.append(cursor.lastrowid or 0)  # always set after an INSERT into a rowid table
        return tuple(ids)

    def commit(self, ids: Sequence[int], request_id: str, cost: float) -> CommitResult:
        """Charge the real cost to every scope held. A hold that already expired still takes
        the charge: the money was spent whether or not the hold outlived its TTL."""
        now = self._clock()
        with self._write() as conn:
            rows = self._holds(conn, ids, request_id)
            open_rows = [row for row in rows if row[4] in ("reserved", "expired")]
            if not open_rows:
                previous = max((row[5] or 0.0 for row in rows if row[4] == "committed"), default=0.0)
                return CommitResult(previous, settled_before=True)
            conn.executemany(
                "UPDATE budget_reservations SET state = 'committed', cost_usd = ?, settled_at = ?"
                " WHERE id = ?",
                [(cost, now, row[0]) for row in open_rows],
            )
            alerts = [alert for row in open_rows for alert in self._new_alerts(conn, row, now)]
        return CommitResult(cost, tuple(alerts))

    def release(self, ids: Sequence[int], request_id: str) -> bool:
        now = self._clock()
        with self._write() as conn:
            self._holds(conn, ids, request_id)
            cursor = conn.execute(
                "UPDATE budget_reservations SET state = 'released', settled_at = ?"
                f" WHERE id IN ({_marks(ids)}) AND state IN ('reserved', 'expired')",
                (now, *ids),
            )
            return cursor.rowcount > 0

    def _holds(self, conn: sqlite3.Connection, ids: Sequence[int], request_id: str) -> list[Any]:
        rows = conn.execute(
            "SELECT id, scope, day_key, month_key, state, cost_usd FROM budget_reservations"
            f" WHERE request_id = ? AND id IN ({_marks(ids)})",
            (request_id, *ids),
        ).fetchall()
        if len(rows) != len(set(ids)):
            raise ValueError(f"reservation {ids} for request {request_id!r} is not in this budget store")
        return rows

    # owners

    def reconcile(self) -> Reconciled:
        """Renew this owner's lease (registering it if new or reaped), then settle the holds of
        every owner that is gone. Concurrent reconciles are serialised by the transaction, so
        each gone owner is settled once."""
        now = self._clock()
        me = self._owner
        with self._write() as conn:
            conn.execute(
                "INSERT INTO budget_owners (id, host, pid, started, heartbeat_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
                (me.id, me.host, me.pid, me.started, now),
            )
            others = conn.execute(
                "SELECT id, host, pid, started, heartbeat_at FROM budget_owners WHERE id != ?", (me.id,)
            ).fetchall()
            gone = [
                row[0] for row in others
                if is_gone(Owner(*row[:4]), row[4], here=me.host, now=now, lease_s=self._lease_s)
            ]
            result = self._settle_gone(conn, gone, now)
        if result.owners:
            log.warning(
                "%d stopped process(es) left budget holds: %d charged from their ledger rows, "
                "%d released", result.owners, result.charged, result.released,
            )
        return result

    def _settle_gone(self, conn: sqlite3.Connection, owners: Sequence[str], now: float) -> Reconciled:
        """Settle the open holds of ``owners`` and forget them. Committed holds are left alone,
        so a settle that did run is never counted twice. Released holds become ``expired``: an
        owner elsewhere that was only slow may still commit, and that charge still counts.
        Alerts for spend charged here come with the next commit in the window."""
        if not owners:
            return Reconciled()
        marks = _marks(owners)
        # A lease's calls have rows of their own request ids: it is charged what the ledger shows
        # in its scope since it was taken, at most its size. Exact for one process; with others
        # running it may count some of their calls too, so it errs towards more spend, never less.
        leases = conn.execute(
            "UPDATE budget_reservations SET state = 'committed', settled_at = ?,"
            " cost_usd = MIN(reserved_usd, (SELECT TOTAL(cost_usd) FROM calls"
            "  WHERE calls.ts >= budget_reservations.created_at AND (budget_reservations.scope = 'global'"
            "  OR calls.project = substr(budget_reservations.scope, 9))))"
            f" WHERE owner IN ({marks}) AND state IN ('reserved', 'expired') AND request_id LIKE ?",
            (now, *owners, f"{LEASE_PREFIX}%"),
        ).rowcount
        ledger_rows = "FROM calls WHERE calls.request_id = budget_reservations.request_id"
        charged = leases + conn.execute(
            f"UPDATE budget_reservations SET state = 'committed', settled_at = ?,"
            f" cost_usd = (SELECT TOTAL(cost_usd) {ledger_rows})"
            f" WHERE owner IN ({marks}) AND state IN ('reserved', 'expired')"
            f" AND EXISTS (SELECT 1 {ledger_rows})",
            (now, *owners),
        ).rowcount
        released = conn.execute(
            "UPDATE budget_reservations SET state = 'expired', settled_at = ?"
            f" WHERE owner IN ({marks}) AND state = 'reserved'",
            (now, *owners),
        ).rowcount
        conn.execute(f"DELETE FROM budget_owners WHERE id IN ({marks})", owners)
        return Reconciled(len(owners), charged, released)

    # alerts

    def _new_alerts(self, conn: sqlite3.Connection, hold: Any, now: float) -> list[Alert]:
        """Alert rows for thresholds now crossed in the hold's windows, each at most once per limit:
        the unique key (scope, window, window key, threshold, limit) makes a second crossing (in any
        process) insert nothing, while a limit changed mid-window alerts at its own thresholds."""
        _, scope, day_key, month_key, *_ = hold
        budgets = conn.execute(
            "SELECT window, limit_usd FROM budgets WHERE scope = ? ORDER BY window", (scope,)
        ).fetchall()
        alerts = []
        for window, limit in budgets:
            key = day_key if window == "daily" else month_key
            spent, _ = self._usage(conn, scope, window, key, now)
            for threshold in self._thresholds:
                if spent < threshold * limit * (1 - _EPS):
                    break
                resets = iso_utc(window_reset(window, key))
                message = alert_message(scope, window, key, threshold, spent, limit, resets)
                cursor = conn.execute(
                    "INSERT OR IGNORE INTO alerts (ts, scope, window, window_key, threshold,"
                    " spent_usd, limit_usd, message, delivered) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (now, scope, window, key, threshold, spent, limit, message, self._new_delivery),
                )
                if cursor.rowcount == 1:
                    alerts.append(_alert((cursor.lastrowid or 0, now, scope, window, key, threshold, spent,
                                          limit, message, self._new_delivery, None)))
        return alerts

    def alerts(self, limit: int, scope: str | None) -> list[Alert]:
        with self._read() as conn:
            rows = conn.execute(RECENT_ALERTS, (scope, scope, limit)).fetchall()
        return [_alert(row) for row in rows]

    def record_delivery(self, alert_id: int, state: DeliveryState, error: str | None) -> None:
        with self._write() as conn:
            conn.execute(
                "UPDATE alerts SET delivered = ?, delivery_error = ? WHERE id = ?", (state, error, alert_id)
            )

    # usage

    def _usage(
        self, conn: sqlite3.Connection, scope: str, window: Window, key: str, now: float
    ) -> tuple[float, float]:
        sql = _USAGE_SQL.format(column=_KEY_COLUMN[window])
        spent, reserved = conn.execute(sql, (now - self._ttl_s, scope, key)).fetchone()
        return spent, reserved

    def _status(self, conn: sqlite3.Connection, row: Any, now: float) -> BudgetStatus:
        scope, window, stored_limit, on_exceed, source, *config_rule = row
        spent, held = self._usage(conn, scope, window, window_key(window, now), now)
        return status_of(scope, window, stored_limit, on_exceed, source, spent, held, now, config_rule)


def status_of(scope: str, window: Window, stored_limit: float, on_exceed: Any, source: Any,
              spent: float, held: float, now: float,
              config_rule: Sequence[Any] = (None, None)) -> BudgetStatus:
    """A budget's report from its stored limit and the sums of its window's costs and holds;
    ``config_rule`` (limit, on_exceed) is the config's for its key, shown on a run-time rule."""
    key = window_key(window, now)
    config_limit, config_on_exceed = config_rule if source == "runtime" else (None, None)
    (limit, spent, reserved), warning = _reportable(stored_limit, spent, held)
    return BudgetStatus(scope=scope, window=window, window_key=key, limit_usd=limit, spent_usd=spent,
                        reserved_usd=reserved, remaining_usd=rounded_usd(max(0.0, limit - spent - reserved)),
                        fraction=spent / limit, on_exceed=on_exceed,
                        resets_at=iso_utc(window_reset(window, key)), source=source,
                        config_limit_usd=config_limit, config_on_exceed=config_on_exceed, warning=warning)


def _reportable(limit: float, spent: float, reserved: float) -> tuple[tuple[float, float, float], str | None]:
    """Limit, spent and reserved as a report can carry them. Older versions stored whatever
    they were given (an infinite limit, which no JSON number holds, or one too small to divide
    by), so each is brought into range and the budget says so, rather than every report failing."""
    clean, moved = [], []
    for name, value, floor in (("limit_usd", limit, MIN_LIMIT_USD), ("spent_usd", spent, 0.0),
                               ("reserved_usd", reserved, 0.0)):
        amount, changed = reportable_usd(value, floor)
        clean.append(amount)
        if changed:
            moved.append(f"{name} {value!r} as {format_usd(amount)}")
    warning = (f"Stored amounts out of range are shown as: {'; '.join(moved)}. Set this budget "
               "again with set_budget." if moved else None)
    return (clean[0], clean[1], clean[2]), warning


def _alert(row: Any) -> Alert:
    """An alert from its row's values, as every output of it (a tool result, a status, the webhook's
    post, the dashboard) carries it: its amounts brought into range and rounded, as in a status."""
    alert_id, ts, scope, window, window_key, threshold, spent, limit, message, delivered, error = row
    return Alert(alert_id, ts, scope, window, window_key, threshold, reportable_usd(spent)[0],
                 reportable_usd(limit)[0], message, delivered, error,
                 iso_utc(window_reset(window, window_key)))


def _marks(values: Sequence[object]) -> str:
    return ", ".join("?" * len(values))


def _would_pass(budget: BudgetStatus, amount: float) -> bool:
    return budget.spent_usd + budget.reserved_usd + amount > budget.limit_usd * (1 + _EPS)


def _describe(budget: BudgetStatus, amount: float) -> str:
    """What a call's hold meets: the most it may cost against what the budget has left."""
    return (
        f"this call may cost up to {format_usd(amount)} (its worst case), more than the "
        f"{format_usd(budget.remaining_usd)} left of the {budget.scope} {budget.window} budget of "
        f"{format_usd(budget.limit_usd)} for {budget.window_key} ({format_usd(budget.spent_usd)} spent, "
        f"{format_usd(budget.reserved_usd)} held by calls in flight)"
    )


def _used_up(budget: BudgetStatus) -> bool:
    """Whether spend itself has reached the limit, rather than a call's worst case passing it."""
    return budget.spent_usd >= budget.limit_usd * (1 - _EPS)


def _exceeded(budget: BudgetStatus, amount: float) -> GatewiseError:
    head = "Budget used up" if _used_up(budget) else "Budget would be exceeded"
    return GatewiseError(
        ErrorCode.BUDGET_EXCEEDED,
        f"{head}: {_describe(budget, amount)}. It resets at {budget.resets_at}.",
        details={**asdict(budget), "requested_usd": amount},
    )


def _downgrade_note(budget: BudgetStatus, amount: float, headroom: float) -> str:
    return (f"Downgrade needed: {_describe(budget, amount)}; "
            f"choose a call costing at most {format_usd(headroom)}.")


def _warn_note(budget: BudgetStatus, amount: float) -> str:
    head = "Over budget" if _used_up(budget) else "Budget may be exceeded"
    return f"{head}: {_describe(budget, amount)}; the call goes ahead because this budget only warns."
