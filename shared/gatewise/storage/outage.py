"""A shared database that cannot be reached: the error callers get, what the operator is told,
and the note a call gets when it goes ahead without the database (``storage.on_unavailable``).
No driver import, so the pipeline and the SQLite installation can use it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from gatewise.errors import ErrorCode, GatewiseError
from gatewise.ledger.store import LedgerError

FAIL_OPEN_NOTE = ("Budgets are not enforced for this call: the shared database is unavailable and "
                  "storage.on_unavailable is fail_open.")


class StorageUnavailable(GatewiseError):
    """The database cannot be reached (or answered too slowly); the pool keeps reconnecting.
    The message reaches callers, so it names no address; ``detail`` does, for the operator."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(ErrorCode.STORAGE_UNAVAILABLE, f"the shared database is unavailable: {reason}")
        self.detail = detail


@contextmanager
def told_to_the_operator() -> Iterator[None]:
    """Start-up, ``gatewise migrate`` and ``doctor`` speak to the operator: there an unreachable
    database is named, with the driver's reason, and a store that cannot be opened or migrated
    (a role without CREATE, a schema newer than this version) is its first line: the SQL and
    caret a driver adds after it are for the log."""
    try:
        yield
    except StorageUnavailable as exc:
        raise GatewiseError(ErrorCode.STORAGE_UNAVAILABLE, exc.detail) from None
    except LedgerError as exc:
        reason = str(exc).strip().splitlines()
        raise GatewiseError(ErrorCode.STORAGE_UNAVAILABLE, reason[0] if reason else repr(exc)) from None
