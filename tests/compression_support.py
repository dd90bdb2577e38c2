"""Compression bombs, and the peak memory a piece of code reaches while it meets one."""

from __future__ import annotations

import functools
import tracemalloc
import zlib
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")
MB = 1_000_000


@functools.cache
def gzip_zeros(megabytes: int, layers: int = 1) -> bytes:
    """``megabytes`` MB of zeros gzipped ``layers`` times (100 MB: about 100 KB once, 1 KB twice)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = bytes(MB)
    body = b"".join(compressor.compress(block) for _ in range(megabytes)) + compressor.flush()
    for _ in range(layers - 1):
        outer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
        body = outer.compress(body) + outer.flush()
    return body


async def peak_while(work: Awaitable[T]) -> tuple[T | BaseException, int]:
    """What ``work`` returned (or raised), and the most memory Python held meanwhile beyond what it
    held before (tracemalloc sees every bytes object a decompressor makes)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        outcome: T | BaseException
        try:
            outcome = await work
        except Exception as exc:
            outcome = exc
        return outcome, tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
