"""Upstream connections in shards, so the cost of picking one does not grow with how many are open.

httpcore's pool walks every connection it holds on each request and again when each answer is
closed: it polls every idle socket and, for each idle connection, counts all of them again. With
n connections open that is n system calls and n² steps per call; at 64 concurrent calls it was
the largest cost that grew with concurrency (about 18 % of the process's samples, against 2 % with
one caller). Requests are spread over pools of at most SHARD_SIZE connections, the one with the
fewest requests in flight first, so each walk stays short; together they hold the configured
number of connections.
"""

from __future__ import annotations

import math
import ssl
from collections.abc import AsyncIterator, Callable

import httpx

SHARD_SIZE = 16


class ShardedTransport(httpx.AsyncBaseTransport):
    """``max_connections`` upstream connections in pools of at most SHARD_SIZE."""

    def __init__(self, max_connections: int, *, verify: ssl.SSLContext) -> None:
        count = max(1, math.ceil(max_connections / SHARD_SIZE))
        self.sizes = [max_connections // count + (i < max_connections % count) for i in range(count)]
        self._shards = [httpx.AsyncHTTPTransport(verify=verify, limits=httpx.Limits(
            max_connections=size, max_keepalive_connections=size)) for size in self.sizes]
        self.in_flight = [0] * count

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        index = min(range(len(self.in_flight)), key=self.in_flight.__getitem__)
        self.in_flight[index] += 1
        try:
            response = await self._shards[index].handle_async_request(request)
        except BaseException:
            self.in_flight[index] -= 1
            raise
        response.stream = _Released(response.stream, lambda: self._release(index))
        return response

    def _release(self, index: int) -> None:
        self.in_flight[index] -= 1

    async def aclose(self) -> None:
        for shard in self._shards:
            await shard.aclose()


class _Released(httpx.AsyncByteStream):
    """An answer's body that tells its shard, once, when it is closed (read or not)."""

    def __init__(self, stream: httpx.AsyncByteStream | httpx.SyncByteStream,
                 release: Callable[[], None]) -> None:
        assert isinstance(stream, httpx.AsyncByteStream)  # an async transport's answer
        self._stream = stream
        self._release: Callable[[], None] | None = release

    def __aiter__(self) -> AsyncIterator[bytes]:
        # The shard's own iterator: a generator relaying each chunk would cost every answer one
        # more frame per read.
        return self._stream.__aiter__()

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            release, self._release = self._release, None
            if release is not None:
                release()
