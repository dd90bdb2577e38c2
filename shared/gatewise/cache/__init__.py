"""Response caching: exact-match answers by normalised request key."""

from gatewise.cache.keys import cache_key, content_hash
from gatewise.cache.response import CacheHit, CacheStats, ResponseCache, should_store
from gatewise.cache.sqlite_db import CacheClosedError, CacheError
from gatewise.ledger.records import CacheStatus

__all__ = [
    "CacheClosedError",
    "CacheError",
    "CacheHit",
    "CacheStats",
    "CacheStatus",
    "ResponseCache",
    "cache_key",
    "content_hash",
    "should_store",
]
