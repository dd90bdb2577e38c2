"""Versioned schema for the SQLite ledger.

Migrations are applied in order and recorded in ``schema_migrations``; later features (budgets,
alerts, caches) append to ``MIGRATIONS`` and never edit an entry that has shipped. Each is plain
SQL rather than sqlite-utils' table builders so its schema stays fixed whatever the library version.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gatewise.ledger.store import LedgerSchemaError

if TYPE_CHECKING:  # imported by the stores when they open: a server lists its tools without it
    from sqlite_utils import Database


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


# SQL condition: row {a} of a request outranks row {b} of the same request as the attempt its
# figures are reported under. The successful attempt answered the request; without one, the last
# attempt (then the last row written) stands for it. Row values compare in order in both engines.
OUTRANKS = ("(CASE WHEN {a}.status = 'ok' THEN 1 ELSE 0 END, {a}.attempt, {a}.id)"
            " > (CASE WHEN {b}.status = 'ok' THEN 1 ELSE 0 END, {b}.attempt, {b}.id)")
# Once, on the rows written before calls.final_attempt (added as 1 everywhere).
MARK_EARLIER_ROWS = ("UPDATE calls SET final_attempt = 0 WHERE EXISTS (SELECT 1 FROM calls AS other"
                     " WHERE other.request_id = calls.request_id"
                     f" AND {OUTRANKS.format(a='other', b='calls')})")
# Each new row, in a row trigger: any final row of its request it outranks is final
# no more, and the new row is final unless a row of its request still is (which outranks it).
MARK_NEW_ROW = f"""
    UPDATE calls SET final_attempt = 0
     WHERE request_id = NEW.request_id AND final_attempt = 1 AND id <> NEW.id
       AND {OUTRANKS.format(a='NEW', b='calls')};
    UPDATE calls SET final_attempt = 0
     WHERE id = NEW.id AND EXISTS (SELECT 1 FROM calls AS other WHERE
           other.request_id = NEW.request_id AND other.final_attempt = 1 AND other.id <> NEW.id);
"""


def _alerts_table(name: str, unique: str) -> str:
    """The alerts table, one row per alert; ``unique`` is what an alert fires once for. Shipped
    migrations (1 and 8) build their tables with it, so its text is frozen as they are: a new
    shape of the table is a new migration's own statement."""
    return f"""CREATE TABLE {name} (
                id INTEGER PRIMARY KEY,
                ts REAL NOT NULL,
                scope TEXT NOT NULL,
                window TEXT NOT NULL,
                window_key TEXT NOT NULL,
                threshold REAL NOT NULL,
                spent_usd REAL NOT NULL,
                limit_usd REAL NOT NULL,
                message TEXT NOT NULL,
                delivered TEXT NOT NULL
                    CHECK (delivered IN ('not_configured', 'pending', 'delivered', 'failed')),
                delivery_error TEXT,
                UNIQUE ({unique})
            )"""


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "calls",
        (
            """CREATE TABLE calls (
                id INTEGER PRIMARY KEY,
                ts REAL NOT NULL,
                server TEXT NOT NULL,
                tool TEXT NOT NULL,
                provider TEXT NOT NULL,
                model TEXT NOT NULL,
                tokens_in INTEGER NOT NULL,
                tokens_out INTEGER NOT NULL,
                cost_usd REAL NOT NULL,
                latency_ms REAL NOT NULL,
                status TEXT NOT NULL,
                error_code TEXT,
                cache_status TEXT NOT NULL,
                route_reason TEXT NOT NULL,
                project TEXT,
                request_id TEXT NOT NULL,
                attempt INTEGER NOT NULL,
                task TEXT
            )""",
            "CREATE INDEX calls_ts ON calls (ts)",
            # Budgets and reports filter by project or model within a time window.
            "CREATE INDEX calls_project_ts ON calls (project, ts)",
            "CREATE INDEX calls_model_ts ON calls (model, ts)",
            "CREATE INDEX calls_request_id ON calls (request_id)",
        ),
    ),
    Migration(
        2,
        "budgets",
        (
            """CREATE TABLE budgets (
                scope TEXT NOT NULL,
                window TEXT NOT NULL CHECK (window IN ('daily', 'monthly')),
                limit_usd REAL NOT NULL CHECK (limit_usd > 0),
                on_exceed TEXT NOT NULL CHECK (on_exceed IN ('block', 'downgrade', 'warn')),
                source TEXT NOT NULL CHECK (source IN ('config', 'runtime')),
                updated_at REAL NOT NULL,
                PRIMARY KEY (scope, window)
            )""",
            # One row per (request, scope); it counts toward that scope's UTC day and month.
            """CREATE TABLE budget_reservations (
                id INTEGER PRIMARY KEY,
                request_id TEXT NOT NULL,
                scope TEXT NOT NULL,
                day_key TEXT NOT NULL,
                month_key TEXT NOT NULL,
                reserved_usd REAL NOT NULL,
                cost_usd REAL,
                state TEXT NOT NULL
                    CHECK (state IN ('reserved', 'committed', 'released', 'expired')),
                created_at REAL NOT NULL,
                settled_at REAL
            )""",
            # Covering indexes: a budget check sums one scope's window without reading the table.
            "CREATE INDEX budget_reservations_day ON budget_reservations"
            " (scope, day_key, state, created_at, reserved_usd, cost_usd)",
            "CREATE INDEX budget_reservations_month ON budget_reservations"
            " (scope, month_key, state, created_at, reserved_usd, cost_usd)",
            # Expiry finds the holds that are still open.
            "CREATE INDEX budget_reservations_open ON budget_reservations (state, created_at)",
            _alerts_table("alerts", "scope, window, window_key, threshold"),
            "CREATE INDEX alerts_ts ON alerts (ts)",
        ),
    ),
    Migration(
        3,
        "budget_owners",
        (
            # One row per open BudgetManager: enough to tell, after a crash, that it is gone.
            """CREATE TABLE budget_owners (
                id TEXT PRIMARY KEY,
                host TEXT NOT NULL,
                pid INTEGER NOT NULL,
                started TEXT,
                heartbeat_at REAL NOT NULL
            )""",
            # NULL on holds written before owners were recorded: only their TTL frees those.
            "ALTER TABLE budget_reservations ADD COLUMN owner TEXT",
            # Reconciling finds a gone owner's holds. Keyed on the owner alone, so settling a
            # hold (a state change) leaves this index untouched.
            "CREATE INDEX budget_reservations_owner ON budget_reservations (owner)",
        ),
    ),
    Migration(
        4,
        "guardrail_events_and_request_fingerprints",
        (
            # One row per non-pass guardrail verdict. Matched values only as keyed hashes
            # (the installation's audit key), never raw; spans are offsets into the checked text.
            """CREATE TABLE guardrail_events (
                id INTEGER PRIMARY KEY,
                ts REAL NOT NULL,
                request_id TEXT NOT NULL,
                server TEXT NOT NULL,
                tool TEXT NOT NULL,
                project TEXT,
                direction TEXT NOT NULL,
                check_id TEXT NOT NULL,
                verdict TEXT NOT NULL CHECK (verdict IN ('flag', 'block')),
                action TEXT NOT NULL,
                reason TEXT NOT NULL,
                entities TEXT NOT NULL DEFAULT '{}',
                spans TEXT NOT NULL DEFAULT '[]',
                value_hashes TEXT NOT NULL DEFAULT '[]',
                score REAL,
                source TEXT
            )""",
            "CREATE INDEX guardrail_events_ts ON guardrail_events (ts)",
            "CREATE INDEX guardrail_events_request_id ON guardrail_events (request_id)",
            # A keyed hash of the request's normalised text (NULL when the call had none), so
            # the optimisation report can count repeats a cache would have answered.
            "ALTER TABLE calls ADD COLUMN request_hash TEXT",
        ),
    ),
    Migration(
        5,
        "call_callers",
        (
            # Who made the call (gatewise.caller): NULL on older rows and on stdio calls. No index:
            # reports group a time window's rows, which calls_ts already finds.
            "ALTER TABLE calls ADD COLUMN caller TEXT",
        ),
    ),
    Migration(
        6,
        "call_final_attempts",
        (
            # 1 on the attempt a request's figures are reported under (see OUTRANKS), so
            # reports count requests with a filter instead of sorting every row of their window.
            "ALTER TABLE calls ADD COLUMN final_attempt INTEGER NOT NULL DEFAULT 1",
            MARK_EARLIER_ROWS,
            f"CREATE TRIGGER calls_final_attempt AFTER INSERT ON calls BEGIN {MARK_NEW_ROW} END",
        ),
    ),
    Migration(
        7,
        "budget_config_rules",
        (
            # On every rule: the config's rule for its scope and window when the config was last
            # loaded (NULL: the config has none), so start-up tells a run-time rule that should
            # stand from one the config has since changed.
            "ALTER TABLE budgets ADD COLUMN config_limit_usd REAL",
            "ALTER TABLE budgets ADD COLUMN config_on_exceed TEXT",
        ),
    ),
    Migration(
        8,
        "alerts_per_limit",
        (
            # An alert fires once per threshold, window and limit: a limit changed mid-window
            # alerts at its own thresholds. SQLite cannot change a table's UNIQUE constraint, so
            # the table is rebuilt with every row (and id) kept.
            _alerts_table("alerts_per_limit", "scope, window, window_key, threshold, limit_usd"),
            "INSERT INTO alerts_per_limit SELECT id, ts, scope, window, window_key, threshold, spent_usd,"
            " limit_usd, message, delivered, delivery_error FROM alerts",
            "DROP TABLE alerts",
            "ALTER TABLE alerts_per_limit RENAME TO alerts",
            "CREATE INDEX alerts_ts ON alerts (ts)",
        ),
    ),
)

SCHEMA_VERSION = MIGRATIONS[-1].version


def refuse_newer(current: int, known: int, *, name: str, elsewhere: str) -> None:
    """Raise when a newer gatewise migrated ``name`` past the ``known`` version: this one would
    misread tables it does not know, whichever engine holds them."""
    if current > known:
        raise LedgerSchemaError(
            f"{name} has schema version {current}, but this gatewise only understands up to "
            f"version {known}; upgrade gatewise or point it at {elsewhere}"
        )


def migrate(db: Database, *, name: str = "the ledger") -> int:
    """Apply every migration newer than the stored version and return the resulting version.

    The whole check-and-apply runs in one ``BEGIN IMMEDIATE`` transaction, so processes opening
    the same fresh file at once apply each migration exactly once.
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations"
            " (version INTEGER PRIMARY KEY, applied_at REAL NOT NULL)"
        )
        current: int = db.execute(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations"
        ).fetchone()[0]
        refuse_newer(current, SCHEMA_VERSION, name=name, elsewhere="another ledger file")
        for migration in MIGRATIONS:
            if migration.version > current:
                for statement in migration.statements:
                    db.execute(statement)
                db.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                    [migration.version, time.time()],
                )
        db.commit()
    except BaseException:
        db.rollback()
        raise
    return SCHEMA_VERSION
