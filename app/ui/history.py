"""Browsing the history: state filters, prompt search, and the command palette's job search.

All of it works on the in-memory job list: no database query per keystroke.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.command import DiscoveryHit, Hit, Hits, Provider

from app.jobs.model import Job, JobState
from app.text import button_text, clean_text, shorten
from app.ui.format import shown_title

if TYPE_CHECKING:
    from app.ui.app import ImagineApp

FILTERS = ("all", "running", "done", "failed", "favourites")

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

    def describe(self) -> str:
        """Plain words for the list title and the status line ('' when nothing is hidden)."""
        parts = []
        if self.state != "all":
            parts.append(self.state)
        if search_words(self.query):
            parts.append(f"“{shorten(self.query, 30)}”")
        return " · ".join(parts)


# -- the command palette ----------------------------------------------------------------

MAX_HITS = 40
DISCOVER = 8


def unique_prompts(jobs: Iterable[Job]) -> list[tuple[str, Job]]:
    """(prompt, newest job with it), newest first; originals preferred over button jobs."""
    best: dict[str, Job] = {}
    for job in jobs:
        key = " ".join(job.prompt.split())
        have = best.get(key)
        if (
            have is None
            or (have.kind != "imagine" and job.kind == "imagine")
            or (have.kind == job.kind and job.created_at > have.created_at)
        ):
            best[key] = job
    return sorted(best.items(), key=lambda kv: kv[1].created_at, reverse=True)


def _subsequence(query: str, candidate: str) -> bool:
    """Every character of ``query`` appears in ``candidate`` in order: a cheap pre-filter."""
    it = iter(candidate)
    return all(ch in it for ch in query)


def hit_text(prompt: str, offsets: Iterable[int] = ()) -> Text:
    """'imagine · <prompt>' as literal text (never markup), with matched letters bold."""
    shown = clean_text(prompt, single_line=True)
    text = Text("imagine · ", style="dim")
    start = len(text)
    text.append(shown)
    for offset in offsets:
        if 0 <= offset < len(shown) and not shown[offset].isspace():
            text.stylize("bold underline", start + offset, start + offset + 1)
    return text


class HistoryProvider(Provider):
    """Finds earlier jobs by prompt: choosing one selects it in the job list."""

    @property
    def _app(self) -> ImagineApp:
        from app.ui.app import ImagineApp

        app = self.app
        assert isinstance(app, ImagineApp)
        return app

    def _candidates(self) -> list[tuple[str, Job]]:
        backend = self._app.backend
        return unique_prompts(backend.manager.jobs()) if backend is not None else []

    async def discover(self) -> Hits:
        for prompt, job in self._candidates()[:DISCOVER]:
            yield DiscoveryHit(
                hit_text(prompt),
                partial(self._app.show_job, job.id),
                text=f"imagine · {prompt}",
                help="A recent prompt: select its job",
            )

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        folded = "".join(query.casefold().split())
        if not folded:
            return
        scored: list[tuple[float, str, Job, Any]] = []
        for prompt, job in self._candidates():
            shown = clean_text(prompt, single_line=True)
            if not _subsequence(folded, shown.casefold()):
                continue
            score, offsets = matcher.fuzzy_search.match(query, shown)
            if score > 0:
                scored.append((score, shown, job, offsets))
        scored.sort(key=lambda item: item[0], reverse=True)
        for score, shown, job, offsets in scored[:MAX_HITS]:
            yield Hit(
                score,
                hit_text(shown, offsets),
                partial(self._app.show_job, job.id),
                text=f"imagine · {shown}",
                help=f"{shown_title(job)} · {job.state} · select this job",
            )


class ButtonProvider(Provider):
    """The selected job's buttons, so every one of them is reachable from the keyboard."""

    def _hits(self) -> list[tuple[str, Callable[[], object]]]:
        from app.ui.app import ImagineApp

        app = self.app
        assert isinstance(app, ImagineApp)
        job = app.selected_job
        if job is None:
            return []
        # Shown cleaned (server text), sent back exactly as received.
        return [
            (f"button · {button_text(label)}", partial(app.press, job.id, label))
            for label in job.buttons
        ]

    async def discover(self) -> Hits:
        for shown, press in self._hits():
            yield DiscoveryHit(Text(shown), press, text=shown, help="Press it on the selected job")

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for shown, press in self._hits():
            score = matcher.match(shown)
            if score > 0:
                yield Hit(
                    score, Text(shown), press, text=shown, help="Press it on the selected job"
                )
