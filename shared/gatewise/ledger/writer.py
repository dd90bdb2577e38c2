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

Rows may also be deferred (``defer``): nobody waits for them. They are committed ``delay_s``
after the first of them arrived, together with whatever else came meanwhile, on that loop (by
then usually idle, waiting for upstream answers) or, when it cannot commit without waiting, by
the thread; so a call pays neither a commit of its own nor a thread switch (waking the thread
for every few calls cost the loop more than committing there). ``flush`` (which every read of
the ledger runs first) and ``close`` commit them at once. A failed commit keeps them for the
next one; past MAX_DEFERRED_ROWS waiting rows, ``defer`` hands back a future to wait for, as
``submit`` does.

A commit that fails because of a row's own values (``bad_row_errors``) is not retried as a
whole: every row is then written alone, so one bad row loses only itself, and the rows dropped
are logged once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gatewise.ledger.records import CallRecord
from gatewise.ledger.store import LedgerClosedError, LedgerError

log = logging.getLogger(__name__)


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
# How long a deferred row may wait for its commit: long enough for the calls of a few
# milliseconds to share one transaction, short enough that a crash loses only those.
DEFER_DELAY_S = 0.01
# Deferred rows waiting at most: past it (a database locked for long), callers wait again.
MAX_DEFERRED_ROWS = 10_000
# After a failed commit, deferred rows are tried again this much later (or at a flush).
RETRY_WAIT_S = 1.0
# Queued to wake the thread for deferred rows (the stop marker is None).
_DEFERRED = object()
# The dropped rows a log line names at most.
NAMED_DROPPED_ROWS = 3


def report_dropped(label: str, dropped: Sequence[tuple[CallRecord, BaseException]]) -> None:
    """One log line for rows a ledger could not store, naming the first few and why."""
    if not dropped:
        return
    named = "; ".join(f"{rec.request_id[:40]} {rec.tool[:40]} {rec.model[:60]}: {str(exc)[:100]}"
                      for rec, exc in dropped[:NAMED_DROPPED_ROWS])
    more = f" (and {len(dropped) - NAMED_DROPPED_ROWS} more)" if len(dropped) > NAMED_DROPPED_ROWS else ""
    log.error("%d call(s) dropped from %s, their values cannot be stored: %s%s",
              len(dropped), label, named, more)


class GroupCommitWriter:
    """Stores rows with ``write`` on a dedicated thread, or with ``write_now`` on the loop that
    recorded them. Each must store all given rows in one transaction; ``write_now`` returns
    False, having stored nothing, when it cannot do so without waiting."""

    def __init__(self, write: Callable[[list[CallRecord]], None], *, label: str,
                 bad_row_errors: tuple[type[Exception], ...] = (),
                 write_now: Callable[[list[CallRecord]], bool] | None = None,
                 delay_s: float = DEFER_DELAY_S) -> None:
        self._write = write
        self._bad_row_errors = bad_row_errors
        self._write_now = write_now
        self._label = label
        self._delay_s = delay_s
        self._queue: queue.SimpleQueue[_Pending | object | None] = queue.SimpleQueue()
        # Deferred rows not yet taken by the thread, and how many are not yet committed.
        self._deferred: list[CallRecord] = []
        self._uncommitted = 0
        self._timer_loop: asyncio.AbstractEventLoop | None = None  # where their commit is due
        self._hurry = threading.Event()  # a flush or close cuts the thread's wait short
        self._wait_s = delay_s
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
                self._hand_over(pending)
                return future
            gathered = self._gathering.setdefault(loop, [])
            gathered.append(pending)
        if len(gathered) == 1:
            loop.call_soon(self._commit_gathered, loop)
        return future

    def defer(self, records: Sequence[CallRecord]) -> asyncio.Future[None] | None:
        """Queue rows for a commit within ``delay_s``; None, or with too many rows already
        waiting, a future to wait for as from ``submit``. Needs a running loop."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._closed:
                raise self._closed_error()
            if self._uncommitted < MAX_DEFERRED_ROWS:
                timer = self._timer_loop
                if not self._deferred or (timer is not None and timer.is_closed()):
                    self._schedule(loop)
                self._deferred += records
                self._uncommitted += len(records)
                return None
        return self.submit(records)

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        """Under the lock: have the deferred rows committed ``delay_s`` from now, on ``loop``
        when rows may be committed there (no thread to wake), else by the thread."""
        if self._write_now is None:
            self._queue.put(_DEFERRED)
            return
        self._timer_loop = loop
        loop.call_later(self._delay_s, self._commit_deferred)

    def _commit_deferred(self) -> None:
        """On a loop: commit the deferred rows now, or hand them to the thread."""
        assert self._write_now is not None
        with self._lock:
            rows, self._deferred = self._deferred, []
            self._timer_loop = None
        if not rows:
            return
        try:
            done = self._write_now(rows)
        except Exception:  # the thread tries again, and reports what fails there
            done = False
        with self._lock:
            if done:
                self.commits += 1
                self._uncommitted -= len(rows)
                return
            if self._closed:  # closed from another loop meanwhile: the thread has stopped
                log.error("%d call(s) could not be written to %s at close", len(rows), self._label)
                return
            if not self._deferred:
                self._queue.put(_DEFERRED)
            self._deferred[:0] = rows
        self._hurry.set()  # their delay has passed already

    async def flush(self) -> None:
        """Commit the deferred rows now and wait for them; a failure is logged, not raised (the
        rows stay for the next commit). Returns at once when none are waiting."""
        if self._write_now is not None and self._deferred:
            self._commit_deferred()
        loop = asyncio.get_running_loop()
        with self._lock:
            if not self._uncommitted or self._closed:
                return
            future = loop.create_future()
            self._hand_over(_Pending((), loop, future))
        with contextlib.suppress(LedgerError):
            await future

    async def close(self) -> None:
        """Commit everything already submitted or deferred, then stop the thread. Safe to call
        twice."""
        with self._lock:
            if not self._closed:
                self._closed = True
                for gathered in self._gathering.values():  # their loop's turn may never come
                    for pending in gathered:
                        self._queue.put(pending)
                self._gathering.clear()
                self._queue.put(None)
        self._hurry.set()
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
                    self._hand_over(pending)
                return
        try:
            done = self._write_now(rows)
        except Exception:  # the thread tries again, row by row if one is at fault, and reports
            done = False
        if not done:
            with self._lock:
                if not self._closed:
                    for pending in batch:
                        self._hand_over(pending)
                    return
            # Closed from another thread's loop since this batch left the gathering: the stop
            # marker is queued, so the thread would never take these rows.
            for pending in batch:
                pending.settle(self._closed_error())
            return
        self.commits += 1
        for pending in batch:
            _resolve(pending.future, None)

    def _hand_over(self, pending: _Pending) -> None:
        """Queue rows someone waits for; the thread stops waiting for more deferred ones."""
        self._queue.put(pending)
        self._hurry.set()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is _DEFERRED:  # let more rows join them, unless a flush or close is waiting
                self._hurry.wait(self._wait_s)
            self._hurry.clear()
            batch = [first]
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            # The stop marker (None) is always the last thing ever queued.
            if batch[-1] is None:
                batch.pop()
                stopping = True
            with self._lock:
                deferred, self._deferred = self._deferred, []
            pending = [p for p in batch if isinstance(p, _Pending)]
            if pending or deferred:
                self._commit(pending, deferred, final=stopping)

    def _commit(self, batch: list[_Pending], deferred: list[CallRecord], *, final: bool) -> None:
        rows = [rec for pending in batch for rec in pending.records]
        try:
            if rows or deferred:  # a flush finds nothing left when a commit already took it
                self._write(rows + deferred)
                self.commits += 1
        except self._bad_row_errors:
            self._row_by_row(batch, deferred, final=final)
            return
        except Exception as exc:
            self._failed(batch, rows, exc)
            self._keep(deferred, exc, final=final)
            return
        self._wait_s = self._delay_s
        with self._lock:
            self._uncommitted -= len(deferred)
        for pending in batch:
            pending.settle(None)

    def _row_by_row(self, batch: list[_Pending], deferred: list[CallRecord], *, final: bool) -> None:
        """After a commit failed on some row's values: each row in a transaction of its own. A
        row failing on its values is dropped (its caller, if waiting, gets the error); one
        failing otherwise (the database) waits for the next commit or fails its caller, as a
        whole batch would."""
        dropped: list[tuple[CallRecord, BaseException]] = []
        retry: list[CallRecord] = []
        errors: dict[int, Exception] = {}
        unwritten: dict[int, list[CallRecord]] = {}  # each pending's rows that were not written
        last: Exception | None = None
        owned: list[tuple[_Pending | None, CallRecord]] = [(p, rec) for p in batch for rec in p.records]
        for owner, rec in owned + [(None, rec) for rec in deferred]:
            try:
                self._write([rec])
                self.commits += 1
                continue
            except self._bad_row_errors as exc:
                dropped.append((rec, exc))
                last = exc
            except Exception as exc:
                last = exc
                if owner is None:
                    retry.append(rec)
            if owner is not None:
                errors.setdefault(id(owner), last)
                unwritten.setdefault(id(owner), []).append(rec)
        report_dropped(self._label, dropped)
        with self._lock:
            self._uncommitted -= len(deferred) - len(retry)
        if retry and last is not None:
            self._keep(retry, last, final=final)
        for pending in batch:
            error = errors.get(id(pending))
            if error is None:
                pending.settle(None)
            else:
                self._failed([pending], unwritten[id(pending)], error)

    def _keep(self, deferred: list[CallRecord], exc: Exception, *, final: bool) -> None:
        """Deferred rows whose commit failed wait for the next one (there is none after close)."""
        if not deferred:
            return
        if final:
            log.error("%d call(s) could not be written to %s at close: %s", len(deferred), self._label, exc)
            return
        log.warning("%d call(s) wait to be written to %s: %s", len(deferred), self._label, exc)
        self._wait_s = RETRY_WAIT_S
        with self._lock:
            if not self._deferred:
                self._queue.put(_DEFERRED)
            self._deferred[:0] = deferred

    def _closed_error(self) -> LedgerClosedError:
        return LedgerClosedError(f"{self._label} is closed; open it again to record calls")

    def _failed(self, batch: list[_Pending], rows: list[CallRecord], exc: Exception) -> None:
        for pending in batch:
            # A fresh exception per caller: one instance re-raised in many tasks would collect
            # all their tracebacks.
            error = LedgerError(f"could not write {len(rows)} call(s) to {self._label}: {exc}")
            error.__cause__ = exc
            pending.settle(error)
