"""Browsing the history: the state filter, the prompt search box, and what they show.

A view is a test of one job (changes as they come) and the same test as an SQL
condition (the store answers it for the whole history: issue 13).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from textual import on
from textual.binding import BindingType
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input

from app.jobs.model import Job, JobState
from app.jobs.store import view_condition
from app.text import shorten
from app.ui.actions import bindings
from app.ui.widgets.in_order import InOrderInput

FILTERS = ("all", "running", "done", "failed", "favourites")
SEARCH_PAUSE = 0.15  # seconds of no typing before the list is filtered again

_STATE_TESTS: dict[str, Callable[[Job], bool]] = {
    "all": lambda job: True,
    "running": lambda job: job.state.active,
    "done": lambda job: job.state is JobState.DONE,
    "failed": lambda job: job.state in (JobState.FAILED, JobState.UNCERTAIN),
    "favourites": lambda job: job.favourite,
}


def next_filter(current: str) -> str:
    return FILTERS[(FILTERS.index(current) + 1) % len(FILTERS)] if current in FILTERS else "all"


def search_words(query: str) -> tuple[str, ...]:
    return tuple(query.casefold().split())


@dataclass(frozen=True)
class View:
    """What the job list shows: a state filter and the words a prompt must contain."""

    state: str = "all"
    query: str = ""

    @property
    def active(self) -> bool:
        return self.state != "all" or bool(search_words(self.query))

    def predicate(self) -> Callable[[Job], bool] | None:
        """A test for one job, or None when everything is shown."""
        if not self.active:
            return None
        state_ok = _STATE_TESTS.get(self.state, _STATE_TESTS["all"])
        words = search_words(self.query)

        def matches(job: Job) -> bool:
            if not state_ok(job):
                return False
            if not words:
                return True
            haystack = f"{job.prompt}\n{job.title}".casefold()
            return all(word in haystack for word in words)

        return matches

    def condition(self) -> tuple[str, tuple[Any, ...]]:
        """:meth:`predicate` as an SQL condition on the store's jobs."""
        states = {
            "running": [s for s in JobState if s.active],
            "done": [JobState.DONE],
            "failed": [JobState.FAILED, JobState.UNCERTAIN],
        }.get(self.state)
        return view_condition(states, self.state == "favourites", search_words(self.query))

    def describe(self) -> str:
        """Plain words for the list title and the status line ('' when nothing is hidden)."""
        parts = []
        if self.state != "all":
            parts.append(self.state)
        if search_words(self.query):
            parts.append(f"“{shorten(self.query, 30)}”")
        return " · ".join(parts)


class HistoryBar(InOrderInput):
    """The search box above the job list (hidden until ctrl+f), and the current View.

    It posts :class:`HistoryBar.ViewChanged` whenever the View changes: typing is debounced,
    one change when typing pauses, not one per key.
    """

    DEFAULT_CSS = """
    HistoryBar {
        border: tall $accent;
        height: 3;
        display: none;
        &:focus { border: tall $primary; }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = bindings("search")

    class ViewChanged(Message):
        def __init__(self, view: View) -> None:
            super().__init__()
            self.view = view

    class Done(Message):
        """Enter or Esc in the box: the job list takes the focus back."""

    def __init__(self, id: str | None = None) -> None:
        super().__init__(placeholder="Search prompts…  (Enter: back to the list, Esc: all)", id=id)
        self.view = View()
        self._timer: Timer | None = None

    def cycle_filter(self) -> str:
        """The next state filter; returns its name."""
        self._set(replace(self.view, state=next_filter(self.view.state)))
        return self.view.state

    def open(self) -> None:
        """Show the box with the current search, focused."""
        self.display = True
        self.value = self.view.query
        self.cursor_position = len(self.value)
        self.focus()

    def clear(self) -> None:
        """Every job again, the box hidden."""
        self._stop()
        self.display = False
        self.value = ""
        self._set(View())

    def _set(self, view: View) -> None:
        if view != self.view:
            self.view = view
            self.post_message(self.ViewChanged(view))

    def _stop(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        self._stop()
        query = event.value
        self._timer = self.set_timer(
            SEARCH_PAUSE, lambda: self._set(replace(self.view, query=query))
        )

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._stop()
        self._set(replace(self.view, query=event.value))
        if not event.value.strip():
            self.display = False
        self.post_message(self.Done())
