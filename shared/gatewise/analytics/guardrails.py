"""The guardrail audit trail as a report: which checks flagged or blocked what, when, for whom."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from gatewise.analytics.timeframe import parse_timeframe, window_label
from gatewise.ledger.guardrail_events import (
    MAX_OFFSET,
    MAX_PAGE,
    EventFilter,
    EventPage,
)
from gatewise.storage.interfaces import AuditTrail

Name = Annotated[str, Field(min_length=1, max_length=128)]


class EventQuery(BaseModel):
    """The arguments of ``get_guardrail_events``."""

    timeframe: str | None = Field(None, max_length=32, description=(
        "Window ending now: '24h', '7d', '30d', 'today', 'this_month'. Default 30d, or every "
        "stored row when `request_id` is given. Leave empty when giving start/end."))
    start: str | None = Field(None, max_length=40,
                              description="Explicit window start, ISO-8601 (UTC if no zone).")
    end: str | None = Field(None, max_length=40,
                            description="Explicit window end, ISO-8601; a date covers the day.")
    check: Name | None = Field(None, description="Only this check, e.g. 'pii', 'custom_blocklist', "
                                                 "'prompt_injection', 'portkey:default.regexMatch'.")
    direction: Literal["input", "output", "untrusted"] | None = Field(
        None, description="Only this direction.")
    verdict: Literal["flag", "block"] | None = Field(None, description="Only flags or only blocks.")
    project: Name | None = Field(None, description="Only calls tagged with this project.")
    server: Name | None = Field(None, description="Only this server, e.g. 'routing-gateway'.")
    tool: Name | None = Field(None, description="Only this tool, e.g. 'routed_complete'.")
    request_id: Name | None = Field(None, description="Only the events of this call (its request_id).")
    limit: int = Field(50, ge=1, le=MAX_PAGE, description=f"Rows per page, 1-{MAX_PAGE}.")
    offset: int = Field(0, ge=0, le=MAX_OFFSET,
                        description="Rows to skip: the `next_offset` of the last page.")


class GuardrailEventsReport(EventPage):
    since: float | None = Field(description="Window start, epoch seconds (inclusive); null: open")
    until: float | None = Field(description="Window end, epoch seconds (exclusive); null: open")
    window: str = Field(description="The window in readable UTC")


async def guardrail_events(store: AuditTrail, query: EventQuery) -> GuardrailEventsReport:
    """One page of events, newest first, with counts per check over every page."""
    since: float | None = None
    until: float | None = None
    if query.request_id is None or query.timeframe or query.start or query.end:
        since, until = parse_timeframe(query.timeframe, query.start, query.end)
    filters = EventFilter(since=since, until=until, check_id=query.check, direction=query.direction,
                          verdict=query.verdict, project=query.project, server=query.server,
                          tool=query.tool, request_id=query.request_id)
    page = await store.query(filters, limit=query.limit, offset=query.offset)
    return GuardrailEventsReport(**dict(page), since=since, until=until, window=window_label(since, until))

