"""Group commit: every row recorded on an event loop in one turn of it goes in one transaction.

The rows an event loop's callers record are gathered until the loop's next turn, so a burst of
concurrent calls shares one transaction instead of one each. A small batch is then committed
right there by ``write_now``, which never waits: it refuses when another connection holds the
write lock (or it is time for the thread's connection to checkpoint), and the batch goes to one
thread that owns a waiting connection and commits every row queued there at once, so a slow
or locked database never stalls the loop. Committing on the loop spares the two thread switches
of a handover (the thread's wake-up and the loop's), which cost a lone call more than the
commit itself. Either way a future resolves only after its rows are committed, so an
acknowledged call is never lost.
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


# The most rows committed on the loop at once: a larger burst goes to the thread, which lets the
# loop run while SQLite works.
MAX_ROWS_ON_LOOP = 16


class GroupCommitWriter:
    """Stores rows with ``write`` on a dedicated thread, or with ``write_now`` on the loop that
    recorded them. Each must store all given rows in one transaction; ``write_now`` returns
    False, having stored nothing, when it cannot do so without waiting."""

    def __init__(self, write: Callable[[list[CallRecord]], None], *, label: str,
                 write_now: Callable[[list[CallRecord]], bool] | None = None) -> None:
        self._write = write
        self._write_now = write_now
        self._label = label
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        # Rows recorded on each loop since its last turn, committed together at its next one.
        self._gathering: dict[asyncio.AbstractEventLoop, list[_Pending]] = {}
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
        pending = _Pending(records, loop, future)
        with self._lock:
            if self._closed:
                raise self._closed_error()
            if self._write_now is None:
                self._queue.put(pending)
                return future
            gathered = self._gathering.setdefault(loop, [])
            gathered.append(pending)
        if len(gathered) == 1:
            loop.call_soon(self._commit_gathered, loop)
        return future

    async def close(self) -> None:
        """Commit everything already submitted, then stop the thread. Safe to call twice."""
        with self._lock:
            if not self._closed:
                self._closed = True
                for gathered in self._gathering.values():  # their loop's turn may never come
                    for pending in gathered:
                        self._queue.put(pending)
                self._gathering.clear()
                self._queue.put(None)
        await asyncio.to_thread(self._thread.join)

    def _commit_gathered(self, loop: asyncio.AbstractEventLoop) -> None:
        """On ``loop``: commit what it gathered now, or hand it to the thread."""
        assert self._write_now is not None
        with self._lock:
            batch = self._gathering.pop(loop, [])
            if not batch:  # close() handed it to the thread
                return
            rows = [rec for pending in batch for rec in pending.records]
            if len(rows) > MAX_ROWS_ON_LOOP:
                for pending in batch:
                    self._queue.put(pending)
                return
        try:
            done = self._write_now(rows)
        except Exception as exc:
            self._failed(batch, rows, exc)
            return
        if not done:
            with self._lock:
                if not self._closed:
                    for pending in batch:
                        self._queue.put(pending)
                    return
            # Closed from another thread's loop since this batch left the gathering: the stop
            # marker is queued, so the thread would never take these rows.
            for pending in batch:
                pending.settle(self._closed_error())
            return
        self.commits += 1
        for pending in batch:
            _resolve(pending.future, None)

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
            self._failed(batch, rows, exc)
            return
        self.commits += 1
        for pending in batch:
            pending.settle(None)

    def _closed_error(self) -> LedgerClosedError:
        return LedgerClosedError(f"{self._label} is closed; open it again to record calls")

    def _failed(self, batch: list[_Pending], rows: list[CallRecord], exc: Exception) -> None:
        for pending in batch:
            # A fresh exception per caller: one instance re-raised in many tasks would collect
            # all their tracebacks.
            error = LedgerError(f"could not write {len(rows)} call(s) to {self._label}: {exc}")
            error.__cause__ = exc
            pending.settle(error)
