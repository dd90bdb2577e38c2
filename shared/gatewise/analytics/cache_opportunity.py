"""What caching would have saved, from the request hashes in the ledger.

Measured: replaying each tool's requests in time order, a request whose text (case and
whitespace folded) repeats one answered less than its cache's TTL earlier (the exact cache's, or
for web_search the search cache's) would have been answered by that cache; the paid ones among
them are the opportunity, at their ledger cost. The text hash ignores the model and parameters
the exact cache also keys on, so this is an upper bound. Estimated: when the semantic cache
served calls in the window, its measured hit rate (semantic hits / calls that reached it after an
exact miss) applied to the paid calls that were not exact repeats.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from gatewise.analytics.results import CacheOpportunity, Recommendation
from gatewise.analytics.source import Reader, Row, any_of, total
from gatewise.bounds import format_usd, rounded_usd

# One row per request with text: its first attempt's time, what it cost, how a cache served it.
# (Its attempts share the server, tool and text: MIN picks that one value.)
_REQUESTS = f"""
SELECT request_id, MIN(server) AS server, MIN(tool) AS tool, MIN(request_hash) AS request_hash,
       MIN(ts) AS ts, {total("cost_usd")} AS cost,
       {any_of("cache_status IN ('hit_exact', 'hit_semantic')")} AS from_cache,
       {any_of("cache_status = 'hit_semantic'")} AS hit_semantic,
       {any_of("cache_status IN ('miss', 'hit_semantic')")} AS reached_semantic,
       {any_of("cache_status = 'refresh'")} AS refreshed, {any_of("cache_status = 'bypass'")} AS bypassed
FROM calls WHERE request_hash IS NOT NULL AND {{where}}
GROUP BY request_id
"""
_TOTALS_SQL = f"""
SELECT COUNT(*) AS requests, {total("hit_semantic")} AS semantic_hits,
       {total("reached_semantic")} AS reached_semantic, {total("cost")} AS cost,
       {total("CASE WHEN cost > 0 AND from_cache = 0 THEN 1 ELSE 0 END")} AS paid_requests
FROM ({_REQUESTS}) AS requests
"""
# Only the texts asked more than once by one tool, grouped as the replay needs (any order of the
# groups will do) and in time order within each.
_REPEATS_SQL = f"""
SELECT server, tool, request_hash, ts, cost, from_cache, refreshed, bypassed
FROM (SELECT *, COUNT(*) OVER (PARTITION BY server, tool, request_hash) AS n
      FROM ({_REQUESTS}) AS requests) AS counted
WHERE n > 1
ORDER BY server, tool, request_hash, ts
"""


async def cache_opportunity(reader: Reader, where: str, params: list[Any], *, ttl_s: float,
                            tool_ttl_s: Mapping[str, float], threshold: float | None) -> CacheOpportunity:
    """``ttl_s``: the exact cache's TTL; ``tool_ttl_s``: the TTL of a tool whose answers another
    cache keeps, by tool name."""
    totals = await reader.rows(_TOTALS_SQL.format(where=where), params)
    replay = _Replay(ttl_s, dict(tool_ttl_s))
    await reader.each(_REPEATS_SQL.format(where=where), params, replay.feed)
    paid, paid_usd = replay.paid, replay.paid_usd
    row = totals[0] if totals else None
    requests = int(row["requests"]) if row else 0
    found = CacheOpportunity(requests_with_text=requests, exact_ttl_s=ttl_s, tool_ttl_s=dict(tool_ttl_s),
                             exact_repeats=replay.answered, exact_repeats_served=replay.served,
                             exact_repeats_refreshed=replay.refreshed, exact_repeats_paid=paid,
                             exact_repeats_bypassed=replay.bypassed, exact_saving_usd=rounded_usd(paid_usd))
    semantic_hits = int(row["semantic_hits"]) if row else 0
    reached = int(row["reached_semantic"]) if row else 0
    if row is None or semantic_hits == 0 or reached == 0:
        return found
    rate = semantic_hits / reached
    # Paid calls that no exact cache would have answered, counted and priced over the same calls:
    # the semantic cache's share of them.
    others = max(0, int(row["paid_requests"]) - paid - replay.refreshed)
    others_usd = max(0.0, row["cost"] - paid_usd - replay.refreshed_usd)
    return found.model_copy(update={
        "semantic_hits": semantic_hits, "semantic_hit_rate": rate, "semantic_threshold": threshold,
        "semantic_estimated_calls": round(rate * others, 1),
        "semantic_estimated_saving_usd": rounded_usd(rate * others_usd)})


@dataclass
class _Replay:
    """Requests a cache with ``ttl_s`` (or the tool's own in ``tool_ttl_s``) would have answered
    (each text stored at its first paid answer, until it expires), how many of them a cache (exact
    or semantic) did answer, the ones paid on purpose (``force_refresh``), and the paid rest with
    their cost, those that skipped the cache among them; fed the repeats in order, a batch at a
    time."""

    ttl_s: float
    tool_ttl_s: dict[str, float]
    answered: int = 0
    served: int = 0
    refreshed: int = 0
    refreshed_usd: float = 0.0
    paid: int = 0
    paid_usd: float = 0.0
    bypassed: int = 0
    key: tuple[str, str, str] | None = None
    stored_at: float = float("-inf")

    def feed(self, rows: Iterable[Row]) -> None:
        for row in rows:
            this = (row["server"], row["tool"], row["request_hash"])
            if this != self.key:
                self.key, self.stored_at = this, float("-inf")
            if row["ts"] - self.stored_at < self.tool_ttl_s.get(row["tool"], self.ttl_s):
                self.answered += 1
                if row["from_cache"]:  # exact or semantic: either way not paid for
                    self.served += 1
                elif row["refreshed"]:  # the caller asked for a fresh answer
                    self.refreshed += 1
                    self.refreshed_usd += row["cost"]
                else:
                    self.paid += 1
                    self.paid_usd += row["cost"]
                    self.bypassed += bool(row["bypassed"])
            else:
                self.stored_at = row["ts"]


def cache_recommendation(found: CacheOpportunity, per_month: float) -> list[Recommendation]:
    if found.exact_repeats_paid == 0:
        return []
    share = found.exact_repeats_paid / found.requests_with_text
    return [Recommendation(
        kind="cache_repeats",
        title=f"{found.exact_repeats_paid} paid calls repeated a request asked within the cache TTL",
        detail=(
            f"{found.exact_repeats_paid} of {found.requests_with_text} requests ({share:.0%}) asked the "
            f"same text as one answered less than {_ttls(found)} earlier, yet went "
            f"upstream for {format_usd(found.exact_saving_usd)} (measured from the ledger). "
            + _causes(found)
            + " The exact cache also keys on model and parameters, so this is an upper bound."
        ),
        estimated_monthly_saving_usd=found.exact_saving_usd * per_month,
        evidence={"requests_with_text": found.requests_with_text, "paid_repeats": found.exact_repeats_paid,
                  "served_repeats": found.exact_repeats_served,
                  "bypassed_repeats": found.exact_repeats_bypassed,
                  "refreshed_repeats": found.exact_repeats_refreshed,
                  "window_saving_usd": found.exact_saving_usd,
                  "ttl_s": found.exact_ttl_s,
                  **{f"{tool}_ttl_s": ttl for tool, ttl in sorted(found.tool_ttl_s.items())}},
    )]


def _causes(found: CacheOpportunity) -> str:
    """What to change, by how the paid repeats met the cache: skipped it, or looked and missed."""
    bypassed, missed = found.exact_repeats_bypassed, found.exact_repeats_paid - found.exact_repeats_bypassed
    causes = []
    if bypassed:
        causes.append(f"{bypassed} skipped the cache (no_cache, temperature > 0 without cache_sampled, "
                      "or caching off): drop no_cache or set cache_sampled where a stored answer will "
                      "do, and turn on caching.response_cache (search.cache_enabled for web_search) if "
                      "it is off.")
    if missed:
        causes.append(f"{missed} looked it up and missed (a max_age_s younger than the stored answer, "
                      "or another model or parameters): loosen max_age_s or raise the TTL where that "
                      "is the cause.")
    if found.exact_repeats_refreshed:
        causes.append(f"{found.exact_repeats_refreshed} force_refresh calls asked for a fresh answer "
                      "and are left out.")
    return " ".join(causes)


def _ttls(found: CacheOpportunity) -> str:
    """'1,800 s' or '1,800 s (web_search: 3,600 s)'."""
    others = ", ".join(f"{tool}: {ttl:,.0f} s" for tool, ttl in sorted(found.tool_ttl_s.items())
                       if ttl != found.exact_ttl_s)
    return f"{found.exact_ttl_s:,.0f} s" + (f" ({others})" if others else "")
