"""The job: one imagine or one button press, and where it stands."""

from __future__ import annotations

import enum
import re
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from app.text import clean_text


class JobState(enum.StrEnum):
    QUEUED = "queued"  # waiting for the request budget, nothing sent yet
    SUBMITTED = "submitted"  # the service gave a message id
    RUNNING = "running"  # progress reported
    DONE = "done"
    FAILED = "failed"
    STALLED = "stalled"  # no progress for too long; still polled, retry offered
    UNCERTAIN = "uncertain"  # the POST's answer was lost: it may or may not exist

    @property
    def finished(self) -> bool:
        """Nothing more will happen to it: done or failed."""
        return self in FINISHED

    @property
    def active(self) -> bool:
        """Still on its way: waiting to be sent, sent, or being polled."""
        return self in ACTIVE

    @property
    def settled(self) -> bool:
        """Nothing more happens to it unless the user acts: finished, or uncertain (never
        resent on its own)."""
        return self in SETTLED

    @property
    def retryable(self) -> bool:
        """R may resubmit it (as a new job; the old one stays in the history)."""
        return self in RETRYABLE


# Sets, not tuples: these are asked about every job of a long history.
FINISHED = frozenset({JobState.DONE, JobState.FAILED})
ACTIVE = frozenset({JobState.QUEUED, JobState.SUBMITTED, JobState.RUNNING, JobState.STALLED})
SETTLED = FINISHED | {JobState.UNCERTAIN}
RETRYABLE = frozenset({JobState.FAILED, JobState.STALLED, JobState.UNCERTAIN})


def new_job_id() -> str:
    return uuid.uuid4().hex[:12]


_JOB_ID = re.compile(r"[0-9a-f]{12}")


def looks_like_job_id(text: str) -> bool:
    """``text`` has the shape of our own job ids (the services' ids have other shapes:
    UUIDs, 16-digit numbers, 20 letters and digits)."""
    return _JOB_ID.fullmatch(text) is not None


_TILE = re.compile(r"^[UV]([1-4])$")
UPSCALE_LABELS = ("U1", "U2", "U3", "U4")
VARIATION_LABELS = ("V1", "V2", "V3", "V4")
REROLL_LABEL = "🔄"
MAX_PROMPT = 6000  # well past the service's own limit; longer is surely a paste accident


def tile_of(label: str | None) -> int | None:
    """The tile (1..4) a U/V button acts on, or None."""
    match = _TILE.match(label or "")
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class Job:
    id: str
    kind: str  # "imagine" | "button" | "describe" | "blend"
    prompt: str
    label: str | None = None  # the button label for kind == "button"
    parent_id: str | None = None
    state: JobState = JobState.QUEUED
    progress: int = 0
    message_id: str | None = None
    button_message_id: str | None = None
    progress_image_url: str | None = None
    buttons: tuple[str, ...] = ()
    image_url: str | None = None
    image_urls: tuple[str, ...] = ()
    error: str | None = None
    error_code: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    favourite: bool = False
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    finished_at: float | None = None

    @property
    def title(self) -> str:
        """What the job is, as a person would say it: imagine, U2, V3, 🔄, Zoom Out 2x."""
        return title_of(self.kind, self.label)

    @property
    def is_upscale(self) -> bool:
        """An upscale's result is one image rather than a grid of four."""
        return self.kind == "button" and self.label in UPSCALE_LABELS

    @property
    def display_urls(self) -> tuple[str, ...]:
        """The images to show: the four tiles, or the single image of an upscale."""
        if self.is_upscale or not self.image_urls:
            return (self.image_url,) if self.image_url else ()
        return self.image_urls[:4]  # a grid has four tiles, whatever else the server sent

    @property
    def elapsed(self) -> float:
        end = self.finished_at if self.finished_at is not None else time.time()
        return max(0.0, end - self.created_at)

    @classmethod
    def restore(cls, fields: dict[str, Any]) -> Job:
        """A job from stored fields, every one present and typed: skips ``__init__``,
        which costs more than the rest of loading a row (10,000 rows at start-up)."""
        job = object.__new__(cls)
        object.__setattr__(job, "__dict__", fields)
        return job

    def evolve(self, **changes: Any) -> Job:
        return replace(self, updated_at=time.time(), **changes)


def title_of(kind: str, label: str | None) -> str:
    """A job's title from its kind and button label (see ``Job.title``)."""
    # Labels come from the server: shown cleaned, sent back exactly as received.
    if kind != "button":  # imagine, describe, blend
        return kind
    return clean_text(label or "") or "button"
