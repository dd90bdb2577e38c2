"""The storage interface every ledger backend implements, and the errors they raise."""

from __future__ import annotations

from collections.abc import Awaitable, Iterable
from typing import Protocol, runtime_checkable

from gatewise.ledger.records import CallRecord, GroupBy, SummaryRow


class LedgerError(RuntimeError):
    """The ledger could not be opened or could not store calls."""


class LedgerClosedError(LedgerError):
    """The ledger was used after ``close()``."""


class LedgerSchemaError(LedgerError):
    """The stored schema is newer than this version of gatewise understands."""


@runtime_checkable
class LedgerStore(Protocol):
    """Where upstream calls are recorded. A returned ``record`` means the row is durable; every
    read sees the rows this process recorded before it, ``record_soon``'s included."""

    async def record(self, rec: CallRecord) -> None: ...

    def record_many(self, recs: Iterable[CallRecord]) -> Awaitable[None]:
        """Start storing ``recs`` at once; awaiting the result waits until they are durable."""
        ...

    def record_soon(self, recs: Iterable[CallRecord]) -> Awaitable[None] | None:
        """Store ``recs`` without making the caller wait, where the backend can: None when they
        are accepted (durable within the backend's short delay, at once for a read or a clean
        close, lost only if the process dies first); else what ``record_many`` returns."""
        ...

    async def flush(self) -> None:
        """Commit what ``record_soon`` accepted, for a reader of the backend elsewhere."""
        ...

    async def summary(
        self,
        since: float | None = None,
        until: float | None = None,
        group_by: GroupBy | None = None,
    ) -> list[SummaryRow]:
        """Totals for calls with ``since <= ts < until``; with no ``group_by``, exactly one row."""
        ...

    async def recent(self, limit: int = 50) -> list[CallRecord]:
        """The latest calls, newest first."""
        ...

    async def count(self) -> int: ...

    async def close(self) -> None:
        """Store everything already accepted, then release the backend."""
        ...
