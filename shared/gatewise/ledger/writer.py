"""Group commit: one thread owns the write connection and commits every waiting row at once.

Callers on the event loop only enqueue rows and await a future, so a slow disk never stalls the
loop, and a burst of concurrent calls shares one transaction (one fsync) instead of one each.
A future resolves only after its rows are committed, so an acknowledged call is never lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gatewise.ledger.records import CallRecord
from gatewise.ledger.store import LedgerClosedError, LedgerError


@dataclass(slots=True)
class _Pending:
    records: Sequence[CallRecord]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]

    def settle(self, error: BaseException | None) -> None:
        # A RuntimeError means the caller's event loop has closed: nobody is waiting any more.
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(_resolve, self.future, error)


def _resolve(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():  # the caller was cancelled; the rows are stored all the same
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


class GroupCommitWriter:
    """Runs ``write`` (which must store all given rows in one transaction) on a dedicated thread."""

    def __init__(self, write: Callable[[list[CallRecord]], None], *, label: str) -> None:
        self._write = write
        self._label = label
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        # Guards "closed?" plus the enqueue, so nothing can be queued behind the stop marker.
        self._lock = threading.Lock()
        self._closed = False
        self.commits = 0
        self._thread = threading.Thread(
            target=self._run, name="gatewise-ledger-writer", daemon=True
        )
        self._thread.start()

    def submit(self, records: Sequence[CallRecord]) -> asyncio.Future[None]:
        """Queue rows; the future resolves once they are committed. Needs a running loop."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if self._closed:
                raise LedgerClosedError(f"{self._label} is closed; open it again to record calls")
            self._queue.put(_Pending(records, loop, future))
        return future

    async def close(self) -> None:
        """Commit everything already submitted, then stop the thread. Safe to call twice."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._queue.put(None)
        await asyncio.to_thread(self._thread.join)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            batch = [self._queue.get()]
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            # The stop marker (None) is always the last thing ever queued.
            if batch[-1] is None:
                batch.pop()
                stopping = True
            pending = [p for p in batch if p is not None]
            if pending:
                self._commit(pending)

    def _commit(self, batch: list[_Pending]) -> None:
        rows = [rec for pending in batch for rec in pending.records]
        try:
            self._write(rows)
        except Exception as exc:
            for pending in batch:
                # A fresh exception per caller: one instance re-raised in many tasks would
                # collect all their tracebacks.
                error = LedgerError(f"could not write {len(rows)} call(s) to {self._label}: {exc}")
                error.__cause__ = exc
                pending.settle(error)
            return
        self.commits += 1
        for pending in batch:
            pending.settle(None)
