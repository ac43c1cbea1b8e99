"""Typed messages from the job layer to the main screen: one class per kind of news.

The job manager runs on the app's own loop and calls the app's listener on the UI
thread; the listener only turns each event into one of these and posts it, so the
screen handles them one at a time with ``on_job_updated`` & co.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

from app.text import clean_text

if TYPE_CHECKING:  # the manager loads with the backend, after the first frame
    from app.jobs.manager import JobEvent, Severity
    from app.jobs.model import Job


class JobUpdated(Message):
    """A job is new or changed; ``job`` is its whole new state."""

    def __init__(self, job: Job) -> None:
        super().__init__()
        self.job = job

    def can_replace(self, message: Message) -> bool:
        # Progress of one job, queued behind a newer report of it in the same state:
        # only the newest is drawn. A change of state is never skipped.
        return (
            isinstance(message, JobUpdated)
            and message.job.id == self.job.id
            and message.job.state is self.job.state
        )


class ImagesArrived(Message):
    """A job's images are on disk now."""

    def __init__(self, job_id: str) -> None:
        super().__init__()
        self.job_id = job_id


class ServiceNotice(Message):
    """A sentence for the user (already cleaned of escape sequences)."""

    def __init__(self, text: str, severity: Severity) -> None:
        super().__init__()
        self.text = text
        self.severity = severity


class ConnectionStatus(Message):
    """The service became reachable or unreachable; ``text`` says why."""

    def __init__(self, online: bool, text: str) -> None:
        super().__init__()
        self.online = online
        self.text = text


class HistoryMoved(Message):
    """The list's order changed with no job's news (another process migrated it)."""


def message_for(event: JobEvent) -> Message:
    """The message that carries ``event`` into Textual's queue."""
    from app.jobs.manager import (
        ConnectionChanged,
        HistoryReordered,
        ImagesReady,
        JobChanged,
        Notice,
    )

    match event:
        case JobChanged(job=job):
            return JobUpdated(job)
        case ImagesReady(job_id=job_id):
            return ImagesArrived(job_id)
        case Notice(text=text, severity=severity):
            return ServiceNotice(clean_text(text), severity)
        case ConnectionChanged(online=online, text=text):
            return ConnectionStatus(online, clean_text(text))
        case HistoryReordered():
            return HistoryMoved()
    raise TypeError(f"not a job event: {event!r}")
