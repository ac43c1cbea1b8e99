"""Which running job to ask about next.

Every poll costs a slot of the request budget, so polls go where they pay: to the job
most likely to have finished, judged from its own progress rate (or, before it has one,
from how long finished jobs have taken). Far from its predicted finish a job is polled
only every ``max_gap`` seconds (enough to show progress); near it, every ``min_gap``.

Once jobs of a kind have finished, the service's own timestamps (when it took a job, when
it finished it) say how long such jobs take: the next one is asked about just after that
time, so "done" is seen within a round trip of it, not up to a poll gap later.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass

FINISH_MARGIN = 0.01  # after a learned finish: the service's timestamps are in whole ms
LEARNED_JOBS = 5  # durations kept per kind of job: their median is the next one's


@dataclass
class Track:
    job_id: str
    started: float  # when the service accepted the job
    last_poll: float
    last_progress: int = 0
    last_change: float = 0.0  # when progress last moved
    first_progress_at: float | None = None  # (time, value) of the first progress > 0
    first_progress: int = 0
    misses: int = 0  # polls since progress last moved
    not_before: float = 0.0  # error backoff
    kind: str = ""  # jobs of one kind take about as long (an imagine, a V, a U...)
    service_start: float | None = None  # when the service took it, by the service's clock
    expect: float | None = None  # how long its kind took lately, by the service's clock


class PollPlanner:
    def __init__(
        self,
        *,
        min_gap: float,
        max_gap: float,
        expected_seconds: float = 40.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.min_gap = min_gap
        self.max_gap = max(max_gap, min_gap)
        self.expected_seconds = expected_seconds
        self._clock = clock
        self._tracks: dict[str, Track] = {}
        self._durations: dict[str, list[float]] = {}  # kind -> the last few, oldest first

    def __contains__(self, job_id: str) -> bool:
        return job_id in self._tracks

    def __len__(self) -> int:
        return len(self._tracks)

    def job_ids(self) -> list[str]:
        return list(self._tracks)

    def now(self) -> float:
        return self._clock()

    def add(
        self,
        job_id: str,
        progress: int = 0,
        *,
        started: float | None = None,
        defer: float = 0.0,
        kind: str = "",
        service_start: float | None = None,
    ) -> None:
        """Track a job; ``defer`` holds its first poll back (a webhook is expected).
        ``started``: when the service's answer taking it came (this planner's clock);
        ``service_start``: the service's own time for that, if it says."""
        now = self._clock()
        start = started if started is not None else now
        # First poll soon: the service may answer with progress quickly.
        self._tracks[job_id] = Track(
            job_id,
            start,
            last_poll=now - self.max_gap + self.min_gap,
            last_progress=progress,
            last_change=start,
            not_before=now + defer,
            kind=kind,
            service_start=service_start,
            expect=self.typical(kind) if kind else None,
        )

    def typical(self, kind: str) -> float | None:
        """Seconds jobs of ``kind`` took lately by the service's clock, if any finished."""
        seen = self._durations.get(kind)
        return statistics.median(seen) if seen else None

    def finished(self, job_id: str, service_end: float | None) -> None:
        """The job is done, at ``service_end`` by the service's clock: learn how long its
        kind takes (both ends by one clock, so a skewed clock here does not matter)."""
        track = self._tracks.get(job_id)
        if track is None or track.service_start is None or service_end is None or not track.kind:
            return
        seconds = service_end - track.service_start
        if 0 < seconds < 86400:
            seen = self._durations.setdefault(track.kind, [])
            seen.append(seconds)
            del seen[:-LEARNED_JOBS]

    def remove(self, job_id: str) -> None:
        self._tracks.pop(job_id, None)

    def learn_duration(self, seconds: float) -> None:
        """A job finished in ``seconds``: move the prior towards it."""
        if seconds > 0:
            self.expected_seconds = 0.7 * self.expected_seconds + 0.3 * seconds

    def touch(self, job_id: str) -> None:
        """A poll of this job is going out now."""
        track = self._tracks.get(job_id)
        if track is not None:
            track.last_poll = self._clock()

    def polled(self, job_id: str, progress: int) -> None:
        track = self._tracks.get(job_id)
        if track is None:
            return
        now = self._clock()
        track.last_poll = now
        track.not_before = 0.0
        if progress > track.last_progress:
            if track.first_progress_at is None:
                track.first_progress_at, track.first_progress = now, progress
            track.last_progress, track.last_change, track.misses = progress, now, 0
        else:
            track.misses += 1

    def failed(self, job_id: str, backoff: float) -> None:
        track = self._tracks.get(job_id)
        if track is not None:
            track.last_poll = self._clock()
            track.not_before = track.last_poll + backoff

    def seconds_since_change(self, job_id: str) -> float:
        track = self._tracks.get(job_id)
        return self._clock() - track.last_change if track else 0.0

    def rate(self, track: Track) -> float:
        """Progress points per second."""
        now = self._clock()
        if track.first_progress_at is not None and track.last_change > track.first_progress_at:
            span = track.last_change - track.started
            return max(track.last_progress / max(span, 1e-3), 1e-3)
        return 100.0 / max(self.expected_seconds, 1e-3) if now >= track.started else 1e-3

    def predicted_finish(self, track: Track) -> float:
        if track.expect is not None:
            learned = track.started + track.expect + FINISH_MARGIN
            if track.last_poll < learned:  # not asked since it should have finished
                return learned
        return track.last_change + (100 - track.last_progress) / self.rate(track)

    def predicted_progress(self, track: Track, now: float) -> float:
        return track.last_progress + self.rate(track) * (now - track.last_change)

    def next_due(self, busy: Collection[str] = ()) -> tuple[str | None, float]:
        """The job to poll now, or (None, seconds until one is due); ``busy`` are skipped."""
        now = self._clock()
        best: tuple[float, float, str] | None = None
        soonest = float("inf")
        for track in self._tracks.values():
            if track.job_id in busy:
                continue
            gap = min(self.min_gap * (1 + track.misses), self.max_gap)
            finish = self.predicted_finish(track)
            regular = track.last_poll + self.max_gap
            if finish - self.min_gap < regular < finish:
                regular = finish  # a poll just before the finish would hold the one at it back
            due = min(regular, max(finish, track.last_poll + gap))
            due = max(due, track.not_before)
            if due <= now:
                key = (self.predicted_progress(track, now), -track.started, track.job_id)
                if best is None or key > best:
                    best = key
            else:
                soonest = min(soonest, due)
        if best is not None:
            return best[2], 0.0
        return None, (soonest - now if soonest != float("inf") else float("inf"))
