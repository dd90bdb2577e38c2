"""The guardrail audit trail in the shared database's ``guardrail_events`` table: the same rows,
filters, pages and retention as :class:`gatewise.ledger.guardrail_events.GuardrailEvents`."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from gatewise.ledger.guardrail_events import (
    _COLUMNS,
    _JSON_FIELDS,
    DAY_S,
    MAX_CHECKS,
    MAX_OFFSET,
    MAX_PAGE,
    PURGE_BATCH,
    PURGE_EVERY_S,
    CheckCounts,
    EventFilter,
    EventPage,
    GuardrailEvent,
    _row,
)
from gatewise.storage.postgres.database import Connection, Database, pg_marks

log = logging.getLogger(__name__)

_COUNTS_SQL = (
    "SELECT check_id, COUNT(*) FILTER (WHERE verdict = 'block') AS blocked,"
    " COUNT(*) FILTER (WHERE verdict = 'flag') AS flagged"
    " FROM guardrail_events WHERE {where} GROUP BY check_id"
    " ORDER BY blocked DESC, flagged DESC, check_id LIMIT %s"
)


def _where(filters: EventFilter) -> tuple[str, list[Any]]:
    where, params = filters.where()
    return pg_marks(where), params


class PostgresGuardrailEvents:
    """Flags and blocks of every instance, in one table."""

    def __init__(self, db: Database, *, retention_days: float = 90,
                 clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self.retention_s = retention_days * DAY_S
        self._clock = clock
        self._last_purge: float | None = None

    async def record(self, events: Sequence[GuardrailEvent]) -> None:
        if not events:
            return
        rows = [_row(event) for event in events]
        now = self._clock()
        with self._db.skipped_while_down():
            if self._last_purge is None or now - self._last_purge >= PURGE_EVERY_S:
                await self.purge_expired()
            marks = ", ".join(["%s"] * len(_COLUMNS))
            async with self._db.connection() as conn, conn.cursor() as cur:
                await cur.executemany(
                    f"INSERT INTO guardrail_events ({', '.join(_COLUMNS)}) VALUES ({marks})",
                    [[row[c] for c in _COLUMNS] for row in rows])
            return
        log.warning("%d guardrail audit row(s) dropped: the database is unavailable and "
                    "storage.on_unavailable is fail_open", len(rows))

    async def query(self, filters: EventFilter, *, limit: int = 50, offset: int = 0) -> EventPage:
        if not 1 <= limit <= MAX_PAGE or not 0 <= offset <= MAX_OFFSET:
            raise ValueError(f"limit must be 1..{MAX_PAGE} and offset 0..{MAX_OFFSET}")
        where, params = _where(filters)
        # One snapshot for the page, its total and its counts.
        async with self._db.connection() as conn, conn.transaction():
            await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            cursor = await conn.execute(f"SELECT COUNT(*) FROM guardrail_events WHERE {where}", params)
            total_row = await cursor.fetchone()
            total = int(total_row[0]) if total_row else 0
            cursor = await conn.execute(
                f"SELECT id, {', '.join(_COLUMNS)} FROM guardrail_events WHERE {where}"
                " ORDER BY ts DESC, id DESC LIMIT %s OFFSET %s", [*params, limit, offset])
            rows = await cursor.fetchall()
            by_check = await _counts(conn, where, params)
        following = offset + len(rows)
        return EventPage(events=[_event(row) for row in rows], total=total,
                         next_offset=following if following < total and following <= MAX_OFFSET else None,
                         by_check=by_check)

    async def counts(self, filters: EventFilter) -> list[CheckCounts]:
        where, params = _where(filters)
        async with self._db.connection() as conn:
            return await _counts(conn, where, params)

    async def count(self) -> int:
        async with self._db.connection() as conn:
            cursor = await conn.execute("SELECT COUNT(*) FROM guardrail_events")
            row = await cursor.fetchone()
            return int(row[0]) if row else 0

    async def purge(self, before_ts: float) -> int:
        """Delete rows with ``ts < before_ts`` in batches, so writers never wait long behind it."""
        self._last_purge = self._clock()
        removed = 0
        async with self._db.connection() as conn:
            while True:
                cursor = await conn.execute(
                    "DELETE FROM guardrail_events WHERE id IN"
                    " (SELECT id FROM guardrail_events WHERE ts < %s LIMIT %s)", [before_ts, PURGE_BATCH])
                removed += cursor.rowcount
                if cursor.rowcount < PURGE_BATCH:
                    return removed

    async def purge_expired(self) -> int:
        return await self.purge(self._clock() - self.retention_s)


async def _counts(conn: Connection, where: str, params: list[Any]) -> list[CheckCounts]:
    cursor = await conn.execute(_COUNTS_SQL.format(where=where), [*params, MAX_CHECKS])
    return [CheckCounts(check_id=row[0], blocked=row[1], flagged=row[2]) for row in await cursor.fetchall()]


def _event(row: tuple[Any, ...]) -> GuardrailEvent:
    values = dict(zip(("id", *_COLUMNS), row, strict=True))
    for name in _JSON_FIELDS:
        values[name] = json.loads(values[name])
    return GuardrailEvent.model_validate(values)
