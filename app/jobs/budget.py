"""One request budget for every API call: at most one request per ``interval`` seconds.

The real service allows one request per 3 s in a sliding window. Waiters are served by
priority (user actions before polls), then in arrival order. A 429's Retry-After holds
the whole budget, since the window is per token, not per job.
"""

from __future__ import annotations

import asyncio
import enum
import heapq
import itertools
import time
from collections.abc import Callable

MAX_LEARNED_SPACING = 10.0


class Priority(enum.IntEnum):
    ACTION = 0  # imagine, button: a person is waiting for these
    POLL = 1
    IMAGE = 2  # /getImage fallbacks: never ahead of noticing that a job finished


class RequestBudget:
    def __init__(
        self,
        interval: float,
        *,
        margin: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # The margin absorbs the jitter between our send time and the server's receive time.
        self.interval = max(0.0, interval)
        self._spacing = self.interval + margin if self.interval > 0 else 0.0
        self._clock = clock
        self._next_free = 0.0
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self.granted = 0
        self.held_until = 0.0  # when a Retry-After hold ends (clock time)

    @property
    def waiting(self) -> int:
        return sum(1 for *_, f in self._waiters if not f.done())

    @property
    def holding_back(self) -> bool:
        """True when requests are queued behind the budget rather than going out."""
        return self.waiting > 0 and self._next_free > self._clock()

    async def acquire(self, priority: Priority = Priority.POLL) -> None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._waiters, (int(priority), next(self._seq), future))
        self._dispatch()
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                # Granted just as we were cancelled: hand the slot back.
                self._next_free = self._clock()
                self._dispatch()
            raise

    def give_back(self) -> None:
        """The last granted slot went unused: let the next request go now."""
        if self.held_until <= self._clock():
            self._next_free = self._clock()
            self._dispatch()

    def hold(self, seconds: float) -> None:
        """Send nothing for ``seconds`` (a 429's Retry-After).

        A 429 also means our spacing was tighter than the service's window: widen it to
        the wait the service asked for (capped), or the released waiters would burst
        into the next 429 together.
        """
        self._spacing = max(self._spacing, min(max(0.0, seconds), MAX_LEARNED_SPACING))
        until = self._clock() + max(0.0, seconds)
        self.held_until = max(self.held_until, until)
        self._next_free = max(self._next_free, until)
        self._reschedule()

    def _dispatch(self) -> None:
        now = self._clock()
        while self._waiters:
            _, _, future = self._waiters[0]
            if future.done():  # cancelled while waiting
                heapq.heappop(self._waiters)
                continue
            if now < self._next_free:
                break
            heapq.heappop(self._waiters)
            future.set_result(None)
            self.granted += 1
            self._next_free = now + self._spacing
        self._reschedule()

    def _reschedule(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if any(not f.done() for *_, f in self._waiters):
            delay = max(0.0, self._next_free - self._clock())
            self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._dispatch()
