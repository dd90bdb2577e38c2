"""What the servers need from the budget and audit stores, whichever backend holds them.

``LedgerStore`` (gatewise.ledger.store) is the ledger's; these are its friends for budgets and
the guardrail audit trail, met by the SQLite classes and their PostgreSQL counterparts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from gatewise.config import BudgetRule
from gatewise.ledger.budget_store import (
    Alert,
    BudgetStatus,
    CommitResult,
    Reconciled,
    Reservation,
    Window,
)
from gatewise.ledger.guardrail_events import CheckCounts, EventFilter, EventPage, GuardrailEvent


class BudgetBackend(Protocol):
    """Reserve → commit/release, budgets, alerts; see gatewise.ledger.budgets.BudgetManager."""

    recovered: Reconciled

    async def reserve(self, scopes: Sequence[str], amount_usd: float, request_id: str) -> Reservation: ...

    async def commit(self, reservation: Reservation, actual_usd: float) -> CommitResult: ...

    async def release(self, reservation: Reservation) -> bool: ...

    async def status(self, scope: str | None = None) -> list[BudgetStatus]: ...

    async def set_budget(self, rule: BudgetRule) -> BudgetStatus: ...

    async def delete_budget(self, scope: str, window: Window) -> bool: ...

    async def alerts(self, limit: int = 50, scope: str | None = None) -> list[Alert]:
        """The ``limit`` newest alerts of ``scope`` (None: of every scope), filtered before the limit."""
        ...

    async def reconcile(self) -> Reconciled: ...

    def start_upkeep(self) -> None: ...

    async def close(self) -> None: ...


class AuditTrail(Protocol):
    """Guardrail flags and blocks; see gatewise.ledger.guardrail_events.GuardrailEvents."""

    async def record(self, events: Sequence[GuardrailEvent]) -> None: ...

    async def query(self, filters: EventFilter, *, limit: int = 50, offset: int = 0) -> EventPage: ...

    async def counts(self, filters: EventFilter) -> list[CheckCounts]: ...

    async def count(self) -> int: ...

    async def purge(self, before_ts: float) -> int: ...

    async def purge_expired(self) -> int: ...
