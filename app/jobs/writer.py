"""One thread that writes the history, so that no caller waits for the disk or a lock.

Another program holding the SQLite write lock makes a write wait up to the busy timeout
(5 s), and a full disk makes it fail: neither may freeze the UI, lose a change, or let a
later change of a job land before an earlier one. Writes run here one at a time, in the
order they were asked for; a write that may work later (locked, disk full) is tried again,
holding back the writes behind it, until it lands or the writer closes.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from app.jobs.store import JobStore, StoreError

log = logging.getLogger(__name__)

RETRY_FIRST = 0.2  # seconds before a failed write is tried again, doubling
RETRY_MAX = 5.0

Op = Callable[[JobStore], Any]
Done = Callable[[Any, BaseException | None], None]  # (result, error): called in the thread
Trouble = Callable[[StoreError | None], None]  # a spell of failures starts (error) or ends


class StoreWriter:
    def __init__(self, store: Callable[[], JobStore] | JobStore, on_trouble: Trouble) -> None:
        """``store``: how to open this writer's own connection (then a read on another one
        never waits behind a write), called in the thread and retried like a write; or a
        store to share (an in-memory one), left open at the end."""
        self._open_store = store if callable(store) else None
        self._store: JobStore | None = None if callable(store) else store
        self._on_trouble = on_trouble
        self._queue: queue.SimpleQueue[tuple[Op, Done] | None] = queue.SimpleQueue()
        self._stop = threading.Event()  # set by close: retry only until the deadline
        self._deadline = float("inf")
        self._troubled = False
        self._thread = threading.Thread(target=self._run, name="history-writer", daemon=True)
        self._thread.start()

    def submit(self, op: Op, done: Done) -> None:
        """Run ``op`` on the writer's store after every write submitted before it."""
        self._queue.put((op, done))

    def close(self, timeout: float) -> None:
        """Write what is queued, trying failed writes for at most ``timeout`` seconds more;
        writes still failing then are given up (their ``done`` gets the error). Blocking."""
        self._deadline = time.monotonic() + timeout
        self._stop.set()
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        try:
            while (item := self._queue.get()) is not None:
                op, done = item
                result, error = self._attempt(op)
                try:
                    done(result, error)
                except Exception:  # a caller's callback must not stop the writes behind it
                    log.exception("history write callback failed")
        finally:
            if self._store is not None and self._open_store is not None:
                self._store.close()

    def _attempt(self, op: Op) -> tuple[Any, BaseException | None]:
        delay = RETRY_FIRST
        while True:
            try:
                if self._store is None:
                    assert self._open_store is not None
                    self._store = self._open_store()
                result = op(self._store)
            except StoreError as exc:
                if not exc.transient:
                    return None, exc
                if time.monotonic() >= self._deadline:
                    log.warning("closing: a history write was given up: %s", exc.human)
                    return None, exc
                self._trouble(exc)
                # Woken early by close(): then retried until its deadline.
                self._stop.wait(min(delay, max(self._deadline - time.monotonic(), 0.0)))
                delay = min(delay * 2, RETRY_MAX)
                continue
            except Exception as exc:  # a bug in the op: this write only
                return None, exc
            if self._troubled:
                self._troubled = False
                self._on_trouble(None)
            return result, None

    def _trouble(self, exc: StoreError) -> None:
        first = not self._troubled
        self._troubled = True
        if first:
            self._on_trouble(exc)
