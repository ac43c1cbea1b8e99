"""One request budget for every API call: at most one request per ``interval`` seconds.

The real service allows one request per 3 s in a sliding window. Waiters are served by
priority (user actions before polls), then in arrival order. A 429's Retry-After holds
the whole budget, since the window is per token, not per job.

The window is per token, not per process: with a :class:`SharedBudget` every process
using one service and token (two windows, twenty scripts) takes its slots from one table
in SQLite. Processes queue there by the priority of their most urgent request, then in
arrival order, so a script's submission is not starved by another window's polls.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import hashlib
import heapq
import itertools
import logging
import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

MAX_LEARNED_SPACING = 10.0
STALE_SECONDS = 3.0  # a queued process not heard from for this long has gone
RECHECK_SECONDS = 1.0  # a waiting process says it is still there at least this often
NUDGE_SECONDS = 0.02  # behind the head of the queue: look again just after it took its slot
MAX_BUSY = 10  # takes that find the file locked before this process paces alone
IN_FLIGHT_CAP = 5.0  # a request unanswered this long (or its process died) stops blocking
IN_FLIGHT_RECHECK = 0.01  # while a request is out, how often the next in line looks

log = logging.getLogger(__name__)

_SHARED_SCHEMA = """
CREATE TABLE IF NOT EXISTS slots (
    key TEXT PRIMARY KEY,
    next_free REAL NOT NULL,
    held_until REAL NOT NULL,
    spacing REAL NOT NULL,
    granted_to TEXT,
    busy_until REAL NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS queue (
    key TEXT NOT NULL,
    member TEXT NOT NULL,
    priority INTEGER NOT NULL,
    since REAL NOT NULL,
    seen REAL NOT NULL,
    PRIMARY KEY (key, member)
);
"""


def budget_key(base_url: str, token: str | None) -> str:
    """Which budget a service and token share: a hash, since the base URL may carry a
    password and the file must hold neither it nor the token."""
    service = f"{base_url.rstrip('/')}\0{token or ''}"
    return "sha256:" + hashlib.sha256(service.encode()).hexdigest()


def shared_budget(
    data_dir: Path, base_url: str, token: str | None
) -> Callable[[float], SharedBudget | None]:
    """For ``RequestBudget(shared=...)``: the budget every process using this service and
    token shares, kept in ``data_dir``; None (pacing alone) when its file cannot be used."""

    def open_shared(spacing: float) -> SharedBudget | None:
        try:
            return SharedBudget(data_dir / "budget.sqlite3", budget_key(base_url, token), spacing)
        except (OSError, sqlite3.Error) as exc:
            log.warning("no shared request budget in %s, pacing alone: %s", data_dir, exc)
            return None

    return open_shared


class SharedBudget:
    """The slots of one service and token, shared by every process using a SQLite file.

    Times are wall-clock seconds (``time.time()``): monotonic clocks differ per process.
    Each transaction is a few statements under ``BEGIN IMMEDIATE``, well under a
    millisecond; any SQLite failure lets the request go (local pacing still applies).
    """

    def __init__(self, path: Path, key: str, spacing: float) -> None:
        self.path = path
        self.key = key
        self.spacing = spacing
        self.member = f"{os.getpid()}/{uuid.uuid4().hex[:8]}"
        self._failed = False
        self._queued = False  # this process has a row in the queue
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA busy_timeout=2000")  # first: switching to WAL waits too
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SHARED_SCHEMA)
        # Keys used to be the base URL itself, password included: overwrite, not just unlink.
        self._db.execute("PRAGMA secure_delete=ON")
        old = self._db.execute("DELETE FROM slots WHERE key NOT LIKE 'sha256:%'").rowcount
        old += self._db.execute("DELETE FROM queue WHERE key NOT LIKE 'sha256:%'").rowcount
        if old:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(slots)")}
        if "busy_until" not in columns:  # a file from before requests were tracked
            self._db.execute("ALTER TABLE slots ADD COLUMN busy_until REAL NOT NULL DEFAULT 0")
        self._busy = 0  # takes in a row that found the file locked

    def take(self, priority: int) -> float:
        """0 when this process may send now (the slot is taken), else seconds to wait
        before asking again."""
        try:
            with self._transaction() as db:
                now = time.time()
                db.execute(
                    "DELETE FROM queue WHERE key = ? AND seen < ?", (self.key, now - STALE_SECONDS)
                )
                row = db.execute(
                    "SELECT priority, since FROM queue WHERE key = ? AND member = ?",
                    (self.key, self.member),
                ).fetchone()
                since = row[1] if row and row[0] == priority else now  # keep its place
                db.execute(
                    "INSERT OR REPLACE INTO queue VALUES (?, ?, ?, ?, ?)",
                    (self.key, self.member, priority, since, now),
                )
                self._queued = True
                next_free, held_until, spacing, busy_until = self._slot(db)
                head = db.execute(
                    "SELECT member FROM queue WHERE key = ? ORDER BY priority, since, member "
                    "LIMIT 1",
                    (self.key,),
                ).fetchone()[0]
                wait = max(next_free, held_until) - now
                if busy_until > now:  # a request is out: its answer frees the slot, soon
                    wait = max(wait, IN_FLIGHT_RECHECK)
                if head != self.member:
                    return min(max(wait, 0.0) + NUDGE_SECONDS, RECHECK_SECONDS)
                if wait > 0:
                    return min(wait, RECHECK_SECONDS)
                db.execute(
                    "UPDATE slots SET next_free = ?, granted_to = ?, busy_until = ? WHERE key = ?",
                    (now + spacing, self.member, now + max(IN_FLIGHT_CAP, spacing), self.key),
                )
                db.execute(
                    "DELETE FROM queue WHERE key = ? AND member = ?", (self.key, self.member)
                )
                self._queued = False
                self._busy = 0
                return 0.0
        except sqlite3.OperationalError as exc:
            # Locked for longer than the busy timeout (a crowd starting at once): ask again
            # rather than send unpaced; pace alone only if it stays locked.
            self._busy += 1
            if self._busy < MAX_BUSY:
                return NUDGE_SECONDS
            self._warn(exc)
            return 0.0
        except sqlite3.Error as exc:
            self._warn(exc)
            return 0.0

    def leave(self) -> None:
        """Nothing is waiting here any more: out of the queue."""
        if not self._queued:
            return
        self._queued = False
        with contextlib.suppress(sqlite3.Error):
            self._db.execute(
                "DELETE FROM queue WHERE key = ? AND member = ?", (self.key, self.member)
            )

    def give_back(self) -> None:
        """The slot this process took last went unused."""
        with contextlib.suppress(sqlite3.Error):
            self._db.execute(
                "UPDATE slots SET next_free = ?, busy_until = 0 WHERE key = ? AND granted_to = ?",
                (time.time(), self.key, self.member),
            )

    def answered(self) -> None:
        """A request was answered: no process sends the next one sooner than a spacing
        from now (see ``RequestBudget.answered``), and this one is no longer in flight."""
        with contextlib.suppress(sqlite3.Error):
            self._db.execute(
                "UPDATE slots SET next_free = MAX(next_free, ?), busy_until = CASE "
                "WHEN granted_to = ? THEN 0 ELSE busy_until END WHERE key = ?",
                (time.time() + self.spacing, self.member, self.key),
            )

    def hold(self, seconds: float) -> None:
        """A 429: no process sends for ``seconds``."""
        try:
            with self._transaction() as db:
                self._slot(db)
                db.execute(
                    "UPDATE slots SET held_until = MAX(held_until, ?) WHERE key = ?",
                    (time.time() + seconds, self.key),
                )
        except sqlite3.Error as exc:
            self._warn(exc)

    def close(self) -> None:
        self.leave()
        self._db.close()

    def _slot(self, db: sqlite3.Connection) -> tuple[float, float, float, float]:
        row = db.execute(
            "SELECT next_free, held_until, spacing, busy_until FROM slots WHERE key = ?",
            (self.key,),
        ).fetchone()
        if row is None:
            db.execute("INSERT INTO slots VALUES (?, 0, 0, ?, NULL, 0)", (self.key, self.spacing))
            return 0.0, 0.0, self.spacing, 0.0
        return float(row[0]), float(row[1]), max(float(row[2]), self.spacing), float(row[3])

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _warn(self, exc: sqlite3.Error) -> None:
        if not self._failed:
            log.warning("the shared request budget at %s failed, pacing alone: %s", self.path, exc)
        self._failed = True


class Priority(enum.IntEnum):
    ACTION = 0  # imagine, button: a person is waiting for these
    POLL = 1
    IMAGE = 2  # /getImage fallbacks: never ahead of noticing that a job finished


class RequestBudget:
    def __init__(
        self,
        interval: float,
        *,
        margin: float = 0.01,
        clock: Callable[[], float] = time.monotonic,
        shared: Callable[[float], SharedBudget | None] | None = None,
    ) -> None:
        """``shared``: makes the budget shared with other processes, given the spacing."""
        # Small: answered() already spaces from the answer, which follows the arrival.
        self.interval = max(0.0, interval)
        self._spacing = self.interval + margin if self.interval > 0 else 0.0
        self._clock = clock
        self.shared = shared(self._spacing) if shared is not None and self._spacing else None
        self._next_free = 0.0
        self._shared_retry = 0.0  # when to ask the shared budget again (clock time)
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
        return self.waiting > 0 and max(self._next_free, self._shared_retry) > self._clock()

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
                self.give_back()
            else:
                self._dispatch()  # out of the shared queue if nothing else waits
            raise

    def try_acquire(self, priority: Priority = Priority.POLL) -> bool:
        """Take a slot now if one is free and nobody waits for one; never waits. A caller
        that knows at once it may send writes its "sending" mark with the job itself."""
        if self.waiting or self._clock() < max(self._next_free, self._shared_retry):
            return False
        if self.shared is not None and self.shared.take(int(priority)) > 0:
            self.shared.leave()  # nothing waits here: out of the shared queue
            return False
        self.granted += 1
        self._next_free = self._clock() + self._spacing
        return True

    def give_back(self) -> None:
        """The last granted slot went unused: let the next request go now."""
        if self.held_until <= self._clock():
            self._next_free = self._clock()
            if self.shared is not None:
                self.shared.give_back()
            self._dispatch()

    def answered(self) -> None:
        """The request of a granted slot has been answered.

        The service counts a request when it arrives, which can be well after the slot
        was granted (a new connection, a busy machine): spacing from the grant alone let
        another process's request arrive too soon after it. The next slot is therefore
        also at least a spacing after the answer, which came after the arrival; and with
        a shared budget no process is granted one while a request is unanswered (for up
        to ``IN_FLIGHT_CAP``). Every granted slot ends in ``answered`` or ``give_back``.
        """
        if self.shared is not None:
            self.shared.answered()
        self._next_free = max(self._next_free, self._clock() + self._spacing)
        self._reschedule()

    def hold(self, seconds: float) -> None:
        """Send nothing for ``seconds`` (a 429's Retry-After).

        A 429 also means our spacing was tighter than the service's window: widen it to
        the wait the service asked for (capped), or the released waiters would burst
        into the next 429 together.
        """
        self._spacing = max(self._spacing, min(max(0.0, seconds), MAX_LEARNED_SPACING))
        if self.shared is not None:
            self.shared.hold(max(0.0, seconds))
        until = self._clock() + max(0.0, seconds)
        self.held_until = max(self.held_until, until)
        self._next_free = max(self._next_free, until)
        self._reschedule()

    def _dispatch(self) -> None:
        now = self._clock()
        while self._waiters:
            priority, _, future = self._waiters[0]
            if future.done():  # cancelled while waiting
                heapq.heappop(self._waiters)
                continue
            if now < self._next_free:
                break
            if self.shared is not None:
                wait = self.shared.take(priority)
                if wait > 0:
                    self._shared_retry = now + wait
                    break
            heapq.heappop(self._waiters)
            future.set_result(None)
            self.granted += 1
            self._next_free = now + self._spacing
        if self.shared is not None and not self.waiting:
            self.shared.leave()
        self._reschedule()

    def _reschedule(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if any(not f.done() for *_, f in self._waiters):
            free_at = max(self._next_free, self._shared_retry)
            delay = max(0.0, free_at - self._clock())
            self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._dispatch()
