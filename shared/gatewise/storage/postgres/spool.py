"""Ledger rows kept in memory while the shared database is away, under ``storage.on_unavailable
= "fail_open"``: at most ``storage.spool_max_rows``, written once it answers again. Rows past the
bound are dropped and counted in the log; rows still kept when the process stops are lost (the
log says how many)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from gatewise.ledger.records import CallRecord

log = logging.getLogger(__name__)


class Spool:
    def __init__(self, label: str, max_rows: int) -> None:
        self._label = label
        self.max_rows = max_rows
        self.rows: list[CallRecord] = []
        self.dropped = 0  # since the database was last found answering
        self._written = 0

    def keep(self, rows: Sequence[CallRecord]) -> None:
        if not self.rows and not self.dropped:
            log.warning("%s is unavailable: its rows are kept in memory (at most %d) until it answers",
                        self._label, self.max_rows)
        room = max(0, self.max_rows - len(self.rows))
        if len(rows) > room and not self.dropped:
            log.warning("%s: the %d rows kept are the most storage.spool_max_rows allows; further "
                        "rows are dropped until it answers", self._label, self.max_rows)
        self.dropped += max(0, len(rows) - room)
        self.rows += rows[:room]

    def take(self) -> list[CallRecord]:
        rows, self.rows = self.rows, []
        return rows

    def written(self, count: int) -> None:
        """``count`` kept rows reached the database; once none are left, say what was lost."""
        self._written += count
        if self.rows:
            return
        log.warning("%s answers again: %d kept row(s) written, %d dropped while it was away",
                    self._label, self._written, self.dropped)
        self.dropped = self._written = 0
