"""What the response caches hold and what they saved: entries and bytes from the cache files, hit
rates and dollars saved from the call ledger, by server and by project over a window.

A hit's ledger row costs nothing, so what it saved is what its answer cost when it was first
paid for: the cost of the latest earlier answered miss (or refresh) row of the same server and
tool with the same request hash and model, i.e. the call whose stored answer was served. A hit
with no such row (a semantic hit on other wording, or an original older than the ledger) is
priced from the tokens its row carries at catalogue prices; the report counts both kinds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from gatewise.analytics.source import IS_HIT, LedgerSource, Row, any_of, ledger_source, total
from gatewise.analytics.timeframe import window_label
from gatewise.cache.admin import CacheHome, StoreUsage, store_usage
from gatewise.catalog import Catalog
from gatewise.ledger.sqlite import window_clause

if TYPE_CHECKING:  # numpy and the embedder load with the cache, not with this report
    from gatewise.cache.semantic import SemanticCache, SemanticStats

MAX_GROUPS = 50  # servers or projects listed, most lookups first
SAVED_METHOD = (
    "Each hit is priced at what its answer cost when first paid for: the latest earlier answered "
    "miss/refresh row of the same server, tool, request hash and model (from_ledger); hits "
    "without one (semantic hits on other wording, originals outside the ledger) at their tokens' "
    "catalogue price (from_catalog); hits of models priced nowhere count in unpriced_hits."
)

# Per request (its attempts share the request id): did it read a cache, and which answered it.
# (A request's attempts share its server and project: MIN picks that one value.)
_LOOKUPS_SQL = f"""
SELECT server, project, COUNT(*) AS lookups, SUM(exact) AS exact, SUM(semantic) AS semantic
FROM (SELECT MIN(server) AS server, MIN(project) AS project,
             {any_of("cache_status = 'hit_exact'")} AS exact,
             {any_of("cache_status = 'hit_semantic'")} AS semantic
      FROM calls WHERE cache_status IN ('miss', 'hit_exact', 'hit_semantic') AND {{where}}
      GROUP BY request_id) AS requests
GROUP BY 1, 2
"""
# Each hit with the cost of the latest paid answer before it in its (server, tool, request hash,
# model) line: COUNT(paid) numbers the paid answers so far, so a hit shares its number with the
# answer it reused. Window functions keep this one sorted pass, not a lookup per hit. Paid
# answers are read from the whole ledger (an original may predate the window); hits only from
# the window, as no other hit changes the numbering.
_SAVED_SQL = f"""
WITH lines AS (
    SELECT ts, server, tool, project, model, tokens_in, tokens_out, request_hash,
           CASE WHEN cache_status IN ('miss', 'refresh') THEN cost_usd END AS paid,
           {IS_HIT} AS counted
    FROM calls
    WHERE status = 'ok' AND (({IS_HIT} AND ({{where}}))
                             OR (cache_status IN ('miss', 'refresh') AND request_hash IS NOT NULL))),
numbered AS (
    SELECT *, COUNT(paid) OVER (PARTITION BY server, tool, request_hash, model
                                ORDER BY ts, counted ROWS UNBOUNDED PRECEDING) AS answer
    FROM lines),
priced AS (
    SELECT *, CASE WHEN request_hash IS NOT NULL AND answer > 0 THEN
                   MAX(paid) OVER (PARTITION BY server, tool, request_hash, model, answer) END AS original
    FROM numbered)
SELECT server, project, model, original IS NOT NULL AS from_ledger, COUNT(*) AS hits,
       {total("original")} AS original_usd, {total("tokens_in")} AS tokens_in,
       {total("tokens_out")} AS tokens_out
FROM priced WHERE counted
GROUP BY 1, 2, 3, 4
"""


class CacheFigures(BaseModel):
    """One server's, one project's, or (key null) every call's use of the response caches."""

    key: str | None = Field(description="The server or project; null for the totals or no project")
    lookups: int = Field(0, description="Tool calls that read a cache: answered from it or missed "
                                        "(refresh, no_cache and uncached tools not counted)")
    hits_exact: int = 0
    hits_semantic: int = 0
    hit_rate_exact: float = Field(0.0, description="hits_exact / lookups")
    hit_rate_semantic: float = Field(0.0, description=(
        "hits_semantic / lookups: over every call that read a cache, exact hits included, so it "
        "adds up with hit_rate_exact (get_optimization_report's cache.semantic_hit_rate divides by "
        "the calls that reached the semantic cache instead, so it is the larger)"))
    calls_saved: int = Field(0, description="Upstream calls the hits avoided (one per hit)")
    saved_usd: float = Field(0.0, description="What the served answers cost when first paid for")


class SemanticMisses(BaseModel):
    """Why this server's semantic lookups served nothing, since it started: the ledger records a
    miss, not its reason."""

    missed: int = Field(description="Semantic lookups that served nothing")
    by_reason: dict[str, int] = Field(description=(
        "What refused the closest stored question: 'similarity' (under the threshold), a safety "
        "gate (verbatim, value, negation, polarity, question, role, name, rare_word, content), 'history' "
        "(another conversation), 'age' (older than the call's max_age_s) or 'embedder' (it "
        "failed); 'none_close' when no stored question in the scope reached the threshold"))


class CacheStatsReport(BaseModel):
    since: float | None = Field(description="Window start, epoch seconds (inclusive)")
    until: float | None = Field(description="Window end, epoch seconds (exclusive)")
    window: str
    stores: list[StoreUsage] = Field(description="What each cache file holds now, whatever the window")
    totals: CacheFigures
    by_server: list[CacheFigures] = Field(description=f"Most lookups first, at most {MAX_GROUPS}")
    by_project: list[CacheFigures] = Field(description=f"Most lookups first, at most {MAX_GROUPS}")
    saved_from_ledger: int = Field(description="Hits priced at their original's ledger cost")
    saved_from_catalog: int = Field(description="Hits priced from their tokens at catalogue prices")
    unpriced_hits: int = Field(description="Hits of models with no known price (counted at $0)")
    method: str = Field(SAVED_METHOD, description="How saved_usd is worked out")
    semantic_misses: SemanticMisses | None = Field(None, description=(
        "This server's semantic lookups that served nothing since it started, by reason, whatever "
        "the window (null when the semantic cache is off)"))


@dataclass
class _Tally:
    lookups: int = 0
    exact: int = 0
    semantic: int = 0
    saved_usd: float = 0.0

    def figures(self, key: str | None) -> CacheFigures:
        share = (lambda n: n / self.lookups) if self.lookups else (lambda n: 0.0)
        return CacheFigures(key=key, lookups=self.lookups, hits_exact=self.exact, hits_semantic=self.semantic,
                            hit_rate_exact=share(self.exact), hit_rate_semantic=share(self.semantic),
                            calls_saved=self.exact + self.semantic, saved_usd=self.saved_usd)


async def cache_stats(ledger: LedgerSource | Path | str, data_dir: CacheHome, catalog: Catalog, *,
                      since: float | None, until: float | None,
                      semantic: SemanticCache | None = None) -> CacheStatsReport:
    """The report over the window; with the server's ``semantic`` cache, its misses by reason."""
    where, params = window_clause(since, until)
    async with ledger_source(ledger).reader() as reader:
        lookups = await reader.rows(_LOOKUPS_SQL.format(where=where), params)
        saved = await reader.rows(_SAVED_SQL.format(where=where), params)
    totals = _Tally()
    servers: dict[str | None, _Tally] = {}
    projects: dict[str | None, _Tally] = {}

    def tallies(row: Row) -> Iterable[_Tally]:
        return (totals, servers.setdefault(row["server"], _Tally()),
                projects.setdefault(row["project"], _Tally()))

    for row in lookups:
        for tally in tallies(row):
            tally.lookups += row["lookups"]
            tally.exact += row["exact"]
            tally.semantic += row["semantic"]
    counts = {"ledger": 0, "catalog": 0, "unpriced": 0}
    for row in saved:
        usd, kind = _priced(catalog, row)
        counts[kind] += row["hits"]
        for tally in tallies(row):
            tally.saved_usd += usd
    return CacheStatsReport(
        since=since, until=until, window=window_label(since, until), stores=await store_usage(data_dir),
        totals=totals.figures(None), by_server=_ranked(servers), by_project=_ranked(projects),
        saved_from_ledger=counts["ledger"], saved_from_catalog=counts["catalog"],
        unpriced_hits=counts["unpriced"],
        semantic_misses=None if semantic is None else _misses(await semantic.stats()))


def _misses(stats: SemanticStats) -> SemanticMisses:
    """The cache's counters as reasons, most frequent first; a miss with no refusal counted had no
    stored question close enough in its scope to be judged."""
    none_close = stats.misses - sum(stats.refused.values())
    reasons = sorted(stats.refused.items(), key=lambda item: (-item[1], item[0]))
    return SemanticMisses(missed=stats.misses,
                          by_reason=dict(reasons) | ({"none_close": none_close} if none_close > 0 else {}))


def _priced(catalog: Catalog, row: Row) -> tuple[float, str]:
    """What a group of hits saved, and how it was priced."""
    if row["from_ledger"]:
        return row["original_usd"], "ledger"
    if catalog.price_of(row["model"]) is None:
        return 0.0, "unpriced"
    return catalog.cost_of(row["model"], int(row["tokens_in"]), int(row["tokens_out"])), "catalog"


def _ranked(tallies: dict[str | None, _Tally]) -> list[CacheFigures]:
    ranked = sorted(tallies.items(), key=lambda item: (-item[1].lookups, item[0] or ""))
    return [tally.figures(key) for key, tally in ranked[:MAX_GROUPS]]
