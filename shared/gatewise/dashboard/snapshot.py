"""Everything the dashboard shows for one window, gathered from the ledger's stores and analytics.

Figures come from the analytics queries (aggregated in SQL: one row per combination of model,
project and caller, or per time slot, crosses into Python, never one per call; the three
breakdowns share one query for each figure that adds up), budgets and alerts from the budget
manager, guardrail events from their store. Each list is capped, so a ledger with thousands of
models, projects (tags are caller-supplied) or callers still gives a small answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple, Protocol

from pydantic import BaseModel, Field

from gatewise.analytics.results import UsageGroup
from gatewise.analytics.source import LedgerSource
from gatewise.analytics.timeframe import window_label
from gatewise.analytics.timeseries import TimeSeries, usage_over_time
from gatewise.analytics.usage import usage_breakdowns
from gatewise.catalog import Catalog
from gatewise.ledger.budget_store import Alert, BudgetStatus
from gatewise.ledger.guardrail_events import CheckCounts, EventFilter, EventPage

if TYPE_CHECKING:
    from gatewise.runtime import Runtime

MAX_GROUPS = 10  # bars per breakdown chart, most spend first; the rest are counted
MAX_ALERTS = 10
MAX_EVENTS = 15
MAX_CHECKS = 12


class Span(NamedTuple):
    seconds: float
    slot_s: float  # chart resolution: 48-72 slots whatever the window
    # How often an open page refreshes: a longer window reads more rows and changes less in a minute.
    refresh_s: float

    @property
    def max_age_s(self) -> float:
        """How long one snapshot serves every viewer of the window polling meanwhile."""
        return self.refresh_s / 3


WindowName = Literal["1h", "6h", "24h", "7d", "30d"]
WINDOWS: dict[str, Span] = {
    "1h": Span(3600, 60, 15),
    "6h": Span(6 * 3600, 300, 30),
    "24h": Span(86_400, 1800, 60),
    "7d": Span(7 * 86_400, 3 * 3600, 300),
    "30d": Span(30 * 86_400, 12 * 3600, 600),
}
DEFAULT_WINDOW: WindowName = "24h"


class EventSource(Protocol):
    """What the dashboard reads of the guardrail audit trail (``GuardrailEvents`` or another backend)."""

    async def query(self, filters: EventFilter, *, limit: int = 50, offset: int = 0) -> EventPage: ...


class BudgetSource(Protocol):
    """What the dashboard reads of the budgets (``BudgetManager`` or another backend)."""

    async def status(self, scope: str | None = None) -> list[BudgetStatus]: ...

    async def alerts(self, limit: int = 50) -> list[Alert]: ...


@dataclass(frozen=True, slots=True)
class DashboardSources:
    """Where the figures come from: the ledger (a file, or the shared database) and the stores
    beside it."""

    ledger: LedgerSource | Path
    guardrail_events: EventSource
    budgets: BudgetSource | None
    catalog: Callable[[], Catalog]  # read per snapshot: the catalogue is refreshed in place

    @classmethod
    def from_runtime(cls, runtime: Runtime) -> DashboardSources:
        return cls(runtime.analytics, runtime.guardrail_events, runtime.budgets,
                   lambda: runtime.catalog)


class Breakdown(BaseModel):
    groups: list[UsageGroup] = Field(description=f"At most {MAX_GROUPS}, most spend first")
    others: int = Field(0, description="Groups left out")


class EventView(BaseModel):
    """A guardrail event as the dashboard lists it (no spans or value hashes)."""

    ts: float
    check_id: str
    verdict: str
    direction: str
    action: str
    reason: str
    server: str
    tool: str
    project: str | None


class DashboardSnapshot(BaseModel):
    window: WindowName
    label: str = Field(description="The window in readable UTC")
    since: float
    until: float
    totals: UsageGroup
    series: TimeSeries
    by_model: Breakdown
    by_project: Breakdown
    by_caller: Breakdown = Field(description="Token names and JWT subjects; null: stdio or in-process")
    budgets: list[BudgetStatus]
    alerts: list[Alert] = Field(description=f"The latest {MAX_ALERTS} budget alerts, any window")
    guardrail_checks: list[CheckCounts] = Field(description="Blocks and flags per check in the window")
    guardrail_events: list[EventView] = Field(description=f"The latest {MAX_EVENTS} in the window")
    notes: list[str] = Field(default_factory=list)


async def build_snapshot(sources: DashboardSources, window: WindowName, *, now: float | None = None
                         ) -> DashboardSnapshot:
    span = WINDOWS[window]
    until = time.time() if now is None else now
    since = until - span.seconds
    catalog = sources.catalog()
    # The reads are independent and run side by side: on SQLite each on a worker thread (SQLite
    # lets go of the GIL while it works), on PostgreSQL each on a pooled connection of its own.
    async with asyncio.TaskGroup() as reads:
        usage = reads.create_task(usage_breakdowns(sources.ledger, catalog, since=since, until=until,
                                                   group_bys=("model", "project", "caller")))
        slots = reads.create_task(usage_over_time(sources.ledger, since=since, until=until,
                                                  slot_s=span.slot_s))
        found = reads.create_task(sources.guardrail_events.query(EventFilter(since=since, until=until),
                                                                 limit=MAX_EVENTS))
        budgets: list[BudgetStatus] = []
        alerts: list[Alert] = []
        if sources.budgets is not None:
            budgets = await sources.budgets.status()
            alerts = await sources.budgets.alerts(MAX_ALERTS)
    breakdowns, series, events = usage.result(), slots.result(), found.result()
    by_model = breakdowns["model"]
    notes = list(by_model.notes)
    if sources.budgets is None:
        notes.append("Budgets are not available in this process.")
    return DashboardSnapshot(
        window=window, label=window_label(since, until), since=since, until=until,
        totals=by_model.totals, series=series,
        by_model=_top(by_model.groups), by_project=_top(breakdowns["project"].groups),
        by_caller=_top(breakdowns["caller"].groups),
        budgets=budgets, alerts=alerts,
        guardrail_checks=events.by_check[:MAX_CHECKS],
        guardrail_events=[EventView.model_validate(e, from_attributes=True) for e in events.events],
        notes=notes)


def _top(groups: list[UsageGroup]) -> Breakdown:
    """``usage_analytics`` already orders groups by spend."""
    return Breakdown(groups=groups[:MAX_GROUPS], others=max(0, len(groups) - MAX_GROUPS))


class Snapshots:
    """At most one snapshot per window is built at a time and reused for the window's
    ``max_age_s`` (or the one given), so many open dashboards polling together cost the ledger
    one set of queries."""

    def __init__(self, sources: DashboardSources, *, max_age_s: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._sources = sources
        self._max_age_s = max_age_s
        self._clock = clock
        self._latest: dict[WindowName, tuple[float, asyncio.Task[DashboardSnapshot]]] = {}

    async def get(self, window: WindowName) -> DashboardSnapshot:
        now = self._clock()
        entry = self._latest.get(window)
        max_age_s = WINDOWS[window].max_age_s if self._max_age_s is None else self._max_age_s
        # A build still running is waited for however old: on a slow ledger, starting another
        # each poll would pile up queries on the database it is waiting for.
        if entry is None or _failed(entry[1]) or (entry[1].done() and now - entry[0] > max_age_s):
            task = asyncio.ensure_future(build_snapshot(self._sources, window))
            task.add_done_callback(_retrieve)
            entry = self._latest[window] = (now, task)
        # Shielded: a viewer that goes away must not cancel the build others are waiting for.
        return await asyncio.shield(entry[1])


def _failed(task: asyncio.Task[DashboardSnapshot]) -> bool:
    return task.done() and (task.cancelled() or task.exception() is not None)


def _retrieve(task: asyncio.Task[DashboardSnapshot]) -> None:
    # Waiters get the error through the shield; this only keeps an unwaited failure out of the log.
    if not task.cancelled():
        task.exception()
