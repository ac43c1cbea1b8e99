"""Which running job to ask about next.

Every poll costs a slot of the request budget, so polls go where they pay: to the job
most likely to have finished, judged from its own progress rate (or, before it has one,
from how long finished jobs have taken). Far from its predicted finish a job is polled
only every ``max_gap`` seconds (enough to show progress); near it, every ``min_gap``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass


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

    def __contains__(self, job_id: str) -> bool:
        return job_id in self._tracks

    def __len__(self) -> int:
        return len(self._tracks)

    def job_ids(self) -> list[str]:
        return list(self._tracks)

    def add(
        self, job_id: str, progress: int = 0, *, started: float | None = None, defer: float = 0.0
    ) -> None:
        """Track a job; ``defer`` holds its first poll back (a webhook is expected)."""
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
        )

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
            due = min(
                track.last_poll + self.max_gap,
                max(self.predicted_finish(track), track.last_poll + gap),
            )
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
