"""Pick the backend from the settings: SQLite files in ``data_dir`` unless ``storage.url`` names
a PostgreSQL database, which then holds the ledger, budgets, alerts and guardrail audit rows of
every instance that points at it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gatewise.analytics.source import EventCounts, LedgerReader, LedgerSource
from gatewise.config import Settings
from gatewise.ledger import LedgerStore, open_ledger
from gatewise.ledger.budgets import BudgetManager
from gatewise.ledger.guardrail_events import GuardrailEvents
from gatewise.storage.data_dir import check_local_storage
from gatewise.storage.dsn import describe_dsn
from gatewise.storage.interfaces import AuditTrail, BudgetBackend
from gatewise.storage.outage import told_to_the_operator

if TYPE_CHECKING:
    from gatewise.storage.postgres.database import Database


@dataclass
class Stores:
    ledger: LedgerStore
    budgets: BudgetBackend
    guardrail_events: AuditTrail
    # The PostgreSQL pool the stores share (closed after them); None on SQLite.
    database: Database | None = None


def backend_name(settings: Settings) -> str:
    """Which backend and where, for people: never the password."""
    url = settings.storage.url
    return f"PostgreSQL {describe_dsn(url.get_secret_value())}" if url else f"SQLite {settings.ledger_path}"


async def open_stores(settings: Settings) -> Stores:
    """Open the ledger, budgets and audit trail. A data directory or ledger file that cannot be
    used fails here with one line naming it (``CONFIG_ERROR``); on PostgreSQL an unreachable
    server does (``STORAGE_UNAVAILABLE``), and the schema is migrated first."""
    audit_days = settings.guardrails.audit_retention_days
    url = settings.storage.url
    if url is None:
        check_local_storage(settings)  # a clear line rather than the file's first failure
        return Stores(open_ledger(settings.ledger_path),
                      BudgetManager(settings.ledger_path, settings.budgets),
                      GuardrailEvents(settings.ledger_path, retention_days=audit_days))
    # Imported only here: a SQLite installation never loads the driver.
    from gatewise.storage.postgres.budgets import PostgresBudgets
    from gatewise.storage.postgres.guardrail_events import PostgresGuardrailEvents
    from gatewise.storage.postgres.ledger import PostgresLedger

    db = await open_shared(settings)
    try:
        budgets = await PostgresBudgets.open(
            db, settings.budgets, fail_open=settings.storage.on_unavailable == "fail_open")
    except BaseException:
        await db.close()
        raise
    return Stores(PostgresLedger(db), budgets, PostgresGuardrailEvents(db, retention_days=audit_days), db)


async def open_shared(settings: Settings) -> Database:
    """The shared database, reached, migrated, and agreeing with this instance's audit key."""
    from gatewise.storage.postgres.audit_key import check_audit_key
    from gatewise.storage.postgres.database import Database

    db = await Database.open(settings.storage)
    try:
        await check_audit_key(db, settings.audit_key_path)
    except BaseException:
        await db.close()
        raise
    return db


def analytics_source(ledger_path: Path, database: Database | None,
                     guardrail_events: EventCounts) -> LedgerSource:
    """What the analytics read: the shared database's calls when there is one, so every instance
    reports the whole cluster; otherwise the ledger file."""
    if database is None:
        return LedgerSource(lambda: LedgerReader(ledger_path), guardrail_events)
    from gatewise.storage.postgres.analytics import PostgresLedgerReader

    return LedgerSource(lambda: PostgresLedgerReader(database), guardrail_events)


@asynccontextmanager
async def opened_analytics(settings: Settings) -> AsyncIterator[LedgerSource]:
    """The analytics source of a process that holds no stores (portkey-admin beside the
    gateway): on PostgreSQL, a pool opened for the report and closed after it."""
    if settings.storage.url is None:
        yield analytics_source(settings.ledger_path, None, GuardrailEvents(settings.ledger_path))
        return
    from gatewise.storage.postgres.database import Database
    from gatewise.storage.postgres.guardrail_events import PostgresGuardrailEvents

    db = await Database.open(settings.storage)
    try:
        yield analytics_source(settings.ledger_path, db, PostgresGuardrailEvents(db))
    finally:
        await db.close()


async def migrate_storage(settings: Settings) -> tuple[str, int]:
    """Bring the configured backend's schema up to date; (backend, schema version)."""
    check_local_storage(settings)
    if settings.storage.url is None:
        with told_to_the_operator():
            ledger = await asyncio.to_thread(open_ledger, settings.ledger_path)  # opening migrates
        await ledger.close()
        from gatewise.ledger.migrations import SCHEMA_VERSION

        return backend_name(settings), SCHEMA_VERSION
    from gatewise.storage.postgres.database import Database
    from gatewise.storage.postgres.schema import SCHEMA_VERSION as PG_VERSION

    with told_to_the_operator():
        db = await Database.open(settings.storage)
    await db.close()
    return backend_name(settings), PG_VERSION


def check_storage(settings: Settings) -> None:
    """Before a server starts: the data directory is one it can write and the SQLite ledger in
    it a database; on PostgreSQL, reach the database, migrate it and check the audit key is the
    cluster's. Else raise the one-line error."""
    check_local_storage(settings)
    if settings.storage.url is not None:
        with told_to_the_operator():
            asyncio.run(_reach_shared(settings))


async def _reach_shared(settings: Settings) -> None:
    await (await open_shared(settings)).close()
