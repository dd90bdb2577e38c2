"""The background tasks a budget backend owns, whichever engine keeps its rows.

Settlements run as tasks so that a caller cancelled mid-call cannot leave a hold half-written;
closing waits for them, after stopping the periodic reconcile so it cannot start another.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class BackgroundTasks:
    def __init__(self) -> None:
        self._pending: set[asyncio.Task[Any]] = set()
        self._upkeep: asyncio.Task[None] | None = None

    def track(self, job: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """Run ``job`` as a task that ``drain`` and ``stop`` wait for."""
        task = asyncio.ensure_future(job)
        self._pending.add(task)
        task.add_done_callback(self._forget)
        return task

    def start_upkeep(self, loop: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run ``loop`` until ``stop``, once however often this is called; needs a running event loop."""
        if self._upkeep is None:
            self._upkeep = asyncio.create_task(loop())

    async def drain(self) -> None:
        """Wait for every tracked task, including those the finishing ones start."""
        while self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    async def stop(self) -> None:
        """Cancel the upkeep loop, then wait for every tracked task. Safe twice."""
        if self._upkeep is not None:
            self._upkeep.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._upkeep
        await self.drain()

    def _forget(self, task: asyncio.Task[Any]) -> None:
        self._pending.discard(task)
        # Fetch the outcome so a task whose caller was cancelled does not log it as unretrieved;
        # a caller that stayed receives the same error through the shield.
        if not task.cancelled():
            task.exception()
