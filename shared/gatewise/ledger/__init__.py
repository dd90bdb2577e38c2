"""The call ledger: every upstream call, recorded durably for analytics and budgets."""

from gatewise.ledger.migrations import MIGRATIONS, SCHEMA_VERSION, Migration, migrate
from gatewise.ledger.records import (
    CACHE_STATUSES,
    GROUP_BY_CHOICES,
    STATUSES,
    CacheStatus,
    CallRecord,
    GroupBy,
    Status,
    SummaryRow,
)
from gatewise.ledger.sqlite import SQLiteLedger, open_ledger
from gatewise.ledger.store import LedgerClosedError, LedgerError, LedgerSchemaError, LedgerStore

__all__ = [
    "CACHE_STATUSES",
    "GROUP_BY_CHOICES",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "STATUSES",
    "CacheStatus",
    "CallRecord",
    "GroupBy",
    "LedgerClosedError",
    "LedgerError",
    "LedgerSchemaError",
    "LedgerStore",
    "Migration",
    "SQLiteLedger",
    "Status",
    "SummaryRow",
    "migrate",
    "open_ledger",
]
