"""Response caching: exact-match answers by normalised request key."""

from gatewise.cache.keys import cache_key, content_hash
from gatewise.cache.response import (
    CacheHit,
    CacheStats,
    CacheStatus,
    ResponseCache,
    should_store,
)
from gatewise.cache.sqlite_db import CacheClosedError, CacheError

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
