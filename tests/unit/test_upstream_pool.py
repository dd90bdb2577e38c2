"""Upstream connections in shards: every answer arrives whole, requests go to the least busy
shard, each shard is told when its answer is closed, and the shards hold the configured number
of connections between them."""

from __future__ import annotations

import asyncio

import httpx

from gatewise.upstream.http import tls_context
from gatewise.upstream.pool import SHARD_SIZE, ShardedTransport

BODY = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "What is 17*23?"}]}


def test_the_shards_hold_the_configured_connections_between_them() -> None:
    for total in (1, SHARD_SIZE, SHARD_SIZE + 1, 100):
        sizes = ShardedTransport(total, verify=tls_context()).sizes
        assert sum(sizes) == total and max(sizes) <= SHARD_SIZE and max(sizes) - min(sizes) <= 1


async def test_concurrent_answers_arrive_whole_and_every_shard_is_released(sandbox) -> None:
    transport = ShardedTransport(100, verify=tls_context())
    async with httpx.AsyncClient(base_url=sandbox.url, transport=transport, timeout=30) as client:
        peak = 0

        async def call() -> str:
            nonlocal peak
            peak = max(peak, max(transport.in_flight))
            reply = await client.post("/chat/completions", json=BODY)
            reply.raise_for_status()
            return str(reply.json()["choices"][0]["message"]["content"])

        answers = await asyncio.gather(*(call() for _ in range(64)))
        assert all(answers) and transport.in_flight == [0] * len(transport.in_flight)
        # Spread: 64 at once over 7 shards put no more than a fair share on any one.
        assert len(transport.in_flight) == 7 and peak <= 64 // 7 + 1
        async with client.stream("POST", "/chat/completions", json=BODY) as streamed:
            assert streamed.status_code == 200
            assert sum(transport.in_flight) == 1  # held until the answer is closed, read or not
        assert sum(transport.in_flight) == 0
