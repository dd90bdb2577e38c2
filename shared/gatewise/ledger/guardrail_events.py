"""The guardrail audit trail: one row per non-pass verdict in the ledger's ``guardrail_events``
table, read back newest first and purged once older than the retention period.

Rows carry entity types and counts, offsets and keyed hashes of matched values, never the values
themselves (:class:`gatewise.guardrails.AuditRow` is what a verdict hands over). Each operation
opens its own short connection on a worker thread: rows are rare (only flags and blocks) and
reads are tool calls, so a long-lived writer would not pay for its lifecycle.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from gatewise.ledger.migrations import migrate
from gatewise.redact import scrub_data
from gatewise.sqlite_wal import create_private_file

if TYPE_CHECKING:  # the guardrails package imports the runtime, which imports this module
    from gatewise.guardrails.verdict import AuditRow

T = TypeVar("T")

BUSY_TIMEOUT_S = 5.0
PURGE_BATCH = 5000  # rows per delete transaction, so writers never wait long behind a purge
PURGE_EVERY_S = 6 * 3600.0  # a long-running process purges again after this, on its next write
MAX_PAGE = 200
MAX_OFFSET = 100_000
MAX_CHECKS = 100  # distinct checks counted; checks come from configuration, so far fewer in practice
DAY_S = 86_400.0

EventVerdict = Literal["flag", "block"]
_JSON_FIELDS = ("entities", "spans", "value_hashes")
_COLUMNS = ("ts", "request_id", "server", "tool", "project", "direction", "check_id", "verdict",
            "action", "reason", *_JSON_FIELDS, "score", "source")


class GuardrailEvent(BaseModel):
    """One stored non-pass verdict of one check, with the call it belongs to."""

    model_config = ConfigDict(frozen=True)

    id: int | None = Field(None, description="Row id; null until stored")
    ts: float = Field(default_factory=time.time, description="When the verdict was reached, epoch seconds")
    request_id: str
    server: str
    tool: str
    project: str | None = None
    direction: str = Field(description="input, output or untrusted")
    check_id: str = Field(
        description="The check, e.g. 'pii', 'custom_blocklist', 'portkey:default.regexMatch'")
    verdict: EventVerdict
    action: str = Field(description="What was done: redact, block, flag or transform")
    reason: str = Field(description="Why, naming types and rules, never the matched text")
    entities: dict[str, int] = Field(default_factory=dict, description="Entity type -> matches")
    spans: list[dict[str, Any]] = Field(default_factory=list, description="Offsets into the checked text")
    value_hashes: list[str] = Field(default_factory=list,
                                    description="Keyed hashes of matched values: equal values correlate")
    score: float | None = None
    source: str | None = Field(None, description="Where untrusted content came from")

    @classmethod
    def from_audit(cls, row: AuditRow, *, server: str, tool: str, project: str | None = None
                   ) -> GuardrailEvent:
        return cls(ts=row.created_at, request_id=row.request_id, server=server, tool=tool,
                   project=project, direction=row.direction, check_id=row.check,
                   verdict="block" if row.verdict == "block" else "flag", action=row.action,
                   reason=row.reason, entities=row.entities, spans=row.spans,
                   value_hashes=row.value_hashes, score=row.score, source=row.source)


class EventFilter(BaseModel):
    """Which rows: ``since <= ts < until`` (either open) and exact matches on the rest."""

    since: float | None = None
    until: float | None = None
    check_id: str | None = None
    direction: str | None = None
    verdict: EventVerdict | None = None
    project: str | None = None
    server: str | None = None
    tool: str | None = None
    request_id: str | None = None

    def where(self) -> tuple[str, list[Any]]:
        """A condition and its ``?`` parameters, valid in SQLite and (with ``%s``) PostgreSQL."""
        clauses, params = ["1 = 1"], []
        if self.since is not None:
            clauses.append("ts >= ?")
            params.append(self.since)
        if self.until is not None:
            clauses.append("ts < ?")
            params.append(self.until)
        for name in ("check_id", "direction", "verdict", "project", "server", "tool", "request_id"):
            value = getattr(self, name)
            if value is not None:
                clauses.append(f"{name} = ?")
                params.append(value)
        return " AND ".join(clauses), params


class CheckCounts(BaseModel):
    check_id: str
    blocked: int = 0
    flagged: int = 0


class EventPage(BaseModel):
    events: list[GuardrailEvent] = Field(description="Newest first")
    total: int = Field(description="Rows matching the filters, over every page")
    next_offset: int | None = Field(None, description="Offset of the next page; null on the last")
    by_check: list[CheckCounts] = Field(description="Blocked and flagged rows per check, over every page")


class GuardrailEvents:
    """The ``guardrail_events`` table of one ledger file."""

    def __init__(self, path: Path | str, *, retention_days: float = 90,
                 clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.retention_s = retention_days * DAY_S
        self._clock = clock
        self._migrated = False
        self._last_purge: float | None = None
        self._lock = threading.Lock()  # one writer per process: migrate once, purge once

    async def record(self, events: Sequence[GuardrailEvent]) -> None:
        """Store ``events`` in one transaction, purging expired rows first when it is time."""
        if not events:
            return
        rows = [_row(event) for event in events]
        await asyncio.to_thread(self._write, rows)

    async def query(self, filters: EventFilter, *, limit: int = 50, offset: int = 0) -> EventPage:
        if not 1 <= limit <= MAX_PAGE or not 0 <= offset <= MAX_OFFSET:
            raise ValueError(f"limit must be 1..{MAX_PAGE} and offset 0..{MAX_OFFSET}")
        return await self._read(lambda conn: _page(conn, filters, limit, offset),
                                EventPage(events=[], total=0, by_check=[]))

    async def counts(self, filters: EventFilter) -> list[CheckCounts]:
        """Blocked and flagged rows per check, most blocks first."""
        return await self._read(lambda conn: _counts(conn, *filters.where()), [])

    async def count(self) -> int:
        return await self._read(lambda conn: int(conn.execute(
            "SELECT COUNT(*) FROM guardrail_events").fetchone()[0]), 0)

    async def purge(self, before_ts: float) -> int:
        """Delete rows with ``ts < before_ts``; returns how many went."""
        return await asyncio.to_thread(self._purge_now, before_ts)

    async def purge_expired(self) -> int:
        """Delete rows older than the retention period."""
        return await self.purge(self._clock() - self.retention_s)

    # -- worker-thread side ------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if not self._migrated:
            create_private_file(self.path)
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        if not self._migrated:
            from sqlite_utils import Database  # on first use, not when a server lists its tools

            migrate(Database(conn, execute_plugins=False), name=f"the call ledger at {self.path}")
            self._migrated = True
        return conn

    def _write(self, rows: list[dict[str, Any]]) -> None:
        with self._lock, closing(self._connect()) as conn:
            now = self._clock()
            if self._last_purge is None or now - self._last_purge >= PURGE_EVERY_S:
                self._purge(conn, now - self.retention_s)
            marks = ", ".join("?" * len(_COLUMNS))
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(f"INSERT INTO guardrail_events ({', '.join(_COLUMNS)}) VALUES ({marks})",
                                 [[row[c] for c in _COLUMNS] for row in rows])
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def _purge_now(self, before_ts: float) -> int:
        with self._lock, closing(self._connect()) as conn:
            return self._purge(conn, before_ts)

    def _purge(self, conn: sqlite3.Connection, before_ts: float) -> int:
        self._last_purge = self._clock()
        removed = 0
        while True:
            deleted = conn.execute(
                "DELETE FROM guardrail_events WHERE id IN"
                " (SELECT id FROM guardrail_events WHERE ts < ? LIMIT ?)", [before_ts, PURGE_BATCH]).rowcount
            removed += deleted
            if deleted < PURGE_BATCH:
                return removed

    async def _read(self, query: Callable[[sqlite3.Connection], T], empty: T) -> T:
        return await asyncio.to_thread(self._run_read, query, empty)

    def _run_read(self, query: Callable[[sqlite3.Connection], T], empty: T) -> T:
        """``empty`` when no server has created the table yet: nothing was ever recorded."""
        if not self.path.is_file():
            return empty
        uri = self.path.resolve().as_uri() + "?mode=ro"
        with closing(sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None)) as conn:
            conn.row_factory = sqlite3.Row
            conn.execute("BEGIN")  # one snapshot for the page, its total and its counts
            found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table'"
                                 " AND name = 'guardrail_events'").fetchone()
            return query(conn) if found else empty


def _row(event: GuardrailEvent) -> dict[str, Any]:
    # A reason may quote a rule or an upstream message: no configured key reaches the file.
    row = scrub_data(event.model_dump(exclude={"id"}))
    for name in _JSON_FIELDS:
        row[name] = json.dumps(row[name], separators=(",", ":"), sort_keys=True)
    return dict(row)


def _event(row: sqlite3.Row) -> GuardrailEvent:
    values = dict(row)
    for name in _JSON_FIELDS:
        values[name] = json.loads(values[name])
    return GuardrailEvent.model_validate(values)


def _page(conn: sqlite3.Connection, filters: EventFilter, limit: int, offset: int) -> EventPage:
    where, params = filters.where()
    total = int(conn.execute(f"SELECT COUNT(*) FROM guardrail_events WHERE {where}", params).fetchone()[0])
    rows = conn.execute(f"SELECT id, {', '.join(_COLUMNS)} FROM guardrail_events WHERE {where}"
                        " ORDER BY ts DESC, id DESC LIMIT ? OFFSET ?", [*params, limit, offset]).fetchall()
    following = offset + len(rows)
    return EventPage(events=[_event(r) for r in rows], total=total,
                     next_offset=following if following < total and following <= MAX_OFFSET else None,
                     by_check=_counts(conn, where, params))


def _counts(conn: sqlite3.Connection, where: str, params: list[Any]) -> list[CheckCounts]:
    rows = conn.execute(
        "SELECT check_id, SUM(verdict = 'block') AS blocked, SUM(verdict = 'flag') AS flagged"
        f" FROM guardrail_events WHERE {where} GROUP BY check_id"
        " ORDER BY blocked DESC, flagged DESC, check_id LIMIT ?", [*params, MAX_CHECKS]).fetchall()
    return [CheckCounts(check_id=r["check_id"], blocked=r["blocked"], flagged=r["flagged"]) for r in rows]
