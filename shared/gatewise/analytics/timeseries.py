"""Spend, volume and failures over time: the window cut into equal slots, summed in SQL."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from gatewise.analytics.source import IS_HIT, LedgerSource, count_if, integer_sum, ledger_source, total

MAX_SLOTS = 500  # a chart has far fewer pixels per slot beyond this

# Slot numbers come from SQL, so only one row per slot that had calls crosses into Python.
# ts >= since makes the division non-negative. (Epoch seconds stored as numbers: date_bin's
# arithmetic without converting every row to a timestamp.)
_SLOTS_SQL = f"""
SELECT {{slot}} AS slot,
       COUNT(DISTINCT request_id) AS requests,
       COUNT(*) AS attempts,
       {count_if("status = 'error'")} AS errors,
       {total(f"CASE WHEN {IS_HIT} THEN 0 ELSE cost_usd END")} AS cost_usd,
       {integer_sum("tokens_in")} AS tokens_in,
       {integer_sum("tokens_out")} AS tokens_out
FROM calls WHERE ts >= ? AND ts < ?
GROUP BY 1
"""


class TimeSlot(BaseModel):
    """Calls with ``start <= ts < start + slot_s``. A request whose attempts straddle a slot
    boundary counts in both; spend and attempts never double."""

    start: float = Field(description="Slot start, epoch seconds")
    requests: int = 0
    attempts: int = 0
    errors: int = Field(0, description="Failed attempts")
    cost_usd: float = Field(0.0, description="Actual spend; cache hits count as free")
    tokens_in: int = 0
    tokens_out: int = 0


class TimeSeries(BaseModel):
    since: float
    until: float
    slot_s: float
    slots: list[TimeSlot] = Field(description="Every slot of the window in order, empty ones as zeros")


async def usage_over_time(ledger: LedgerSource | Path | str, *, since: float, until: float,
                          slot_s: float) -> TimeSeries:
    """The window ``[since, until)`` in slots of ``slot_s`` seconds (the last may be shorter)."""
    if not (until > since and slot_s > 0):
        raise ValueError("the window must be non-empty and the slot positive")
    count = -(-(until - since) // slot_s)
    if count > MAX_SLOTS:
        raise ValueError(f"at most {MAX_SLOTS} slots; use longer slots for this window")
    async with ledger_source(ledger).reader() as reader:
        sql = _SLOTS_SQL.format(slot=reader.dialect.floor("(ts - ?) / ?"))
        rows = await reader.rows(sql, [since, slot_s, since, until])
    filled = {figures.pop("slot"): figures for figures in map(dict, rows)}
    slots = [TimeSlot(start=since + i * slot_s, **filled.get(i, {})) for i in range(int(count))]
    return TimeSeries(since=since, until=until, slot_s=slot_s, slots=slots)
