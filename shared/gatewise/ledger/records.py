"""The values the ledger stores and reports: one row per upstream call, and per-group summaries."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Literal, get_args

Status = Literal["ok", "error"]
# How a call used the response cache: answered from it (hit_exact, hit_semantic), looked it up in
# vain (miss), skipped the read on purpose and stored the fresh answer (refresh), or left it
# alone (bypass: no_cache, the cache off, or a tool whose answers are never cached).
CacheStatus = Literal["miss", "hit_exact", "hit_semantic", "bypass", "refresh"]
GroupBy = Literal["model", "provider", "task", "project", "caller", "day", "status"]

STATUSES: frozenset[str] = frozenset(get_args(Status))
CACHE_STATUSES: frozenset[str] = frozenset(get_args(CacheStatus))
CACHE_HITS: frozenset[str] = frozenset({"hit_exact", "hit_semantic"})  # answered from a cache, free
GROUP_BY_CHOICES: tuple[str, ...] = get_args(GroupBy)
MAX_STORED_INT = 2**63 - 1  # SQLite's INTEGER and PostgreSQL's bigint, the token columns


def group_key_sql(*, day: str, none: str) -> dict[str | None, str]:
    """Each grouping's SQL expression over ``calls``: its column of the same name, the engine's
    UTC date for "day", and a NULL for no grouping (spelled as the engine needs)."""
    keys: dict[str | None, str] = {choice: choice for choice in GROUP_BY_CHOICES}
    keys["day"] = day
    keys[None] = none
    return keys


@dataclass(frozen=True, slots=True, kw_only=True)
class CallRecord:
    """One upstream call. A tool call that falls back to other models writes one row per attempt,
    all sharing its ``request_id``; ``attempt`` 0 is the first model tried."""

    server: str
    tool: str
    provider: str
    model: str
    tokens_in: int
    tokens_out: int
    cost_usd: float
    latency_ms: float
    status: Status
    cache_status: CacheStatus
    route_reason: str
    request_id: str
    attempt: int
    error_code: str | None = None
    project: str | None = None
    # Who made the call over authenticated HTTP: a token's name or "jwt:<subject>" (never the
    # token itself); None for stdio and in-process calls.
    caller: str | None = None
    task: str | None = None
    # A keyed hash of the request's normalised text (see gatewise.cache.keys.request_hash), so
    # repeats can be counted without the text; None when the call had no text.
    request_hash: str | None = None
    ts: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        # Checked here, on the caller's side, so a malformed row can never fail a shared commit.
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {sorted(STATUSES)}, not {self.status!r}")
        if self.cache_status not in CACHE_STATUSES:
            raise ValueError(
                f"cache_status must be one of {sorted(CACHE_STATUSES)}, not {self.cache_status!r}"
            )
        if min(self.tokens_in, self.tokens_out, self.attempt) < 0:
            raise ValueError("tokens_in, tokens_out and attempt must not be negative")
        if max(self.tokens_in, self.tokens_out) > MAX_STORED_INT:
            raise ValueError("tokens_in and tokens_out must fit a 64-bit integer column")
        if not (math.isfinite(self.cost_usd) and self.cost_usd >= 0 and math.isfinite(self.latency_ms)):
            raise ValueError("cost_usd must be a finite amount of 0 or more, latency_ms finite")


@dataclass(frozen=True, slots=True)
class SummaryRow:
    """Totals for one group. ``requests`` counts distinct tool calls, ``attempts`` every upstream
    call (fallbacks included) and ``errors`` the failed attempts. Latency percentiles use the
    nearest-rank method, so each is a latency that was actually observed."""

    key: str | None
    requests: int
    attempts: int
    errors: int
    cost_usd: float
    tokens_in: int
    tokens_out: int
    avg_latency_ms: float
    p50_latency_ms: float
    p95_latency_ms: float
