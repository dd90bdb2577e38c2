"""Versioned schema for the SQLite ledger.

Migrations are applied in order and recorded in ``schema_migrations``; later features (budgets,
alerts, caches) append to ``MIGRATIONS`` and never edit an entry that has shipped. Each is plain
SQL rather than sqlite-utils' table builders so its schema stays fixed whatever the library version.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlite_utils import Database

from gatewise.ledger.store import LedgerSchemaError


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


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
)

SCHEMA_VERSION = MIGRATIONS[-1].version


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
        if current > SCHEMA_VERSION:
            raise LedgerSchemaError(
                f"{name} has schema version {current}, but this gatewise only understands up to "
                f"version {SCHEMA_VERSION}; upgrade gatewise or point it at another ledger file"
            )
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
