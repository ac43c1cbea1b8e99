"""The command palette's own providers: past prompts, and the selected job's buttons.

The palette's other commands (every action with a ``palette`` title) come from the action
registry, through ``ImagineApp.get_system_commands``. Past prompts come from one light
query of the history (id, kind, prompt, time); whole jobs are read for the hits shown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, TypeVar

from rich.text import Text
from textual.app import ComposeResult
from textual.command import (
    CommandList,
    CommandPalette,
    DiscoveryHit,
    Hit,
    Hits,
    Provider,
    SearchIcon,
)
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, LoadingIndicator

from app.jobs.model import Job
from app.jobs.store import PromptRow
from app.text import button_text, clean_text
from app.ui.format import describe_button, shown_title
from app.ui.screens.main import MainScreen
from app.ui.widgets.in_order import PaletteInput

MAX_HITS = 40
DISCOVER = 8
# Textual orders hits by score, ties by which provider answered first: a race, so the
# list could come out in a different order for the same keys. Scaled a little, the
# selected job's buttons come just after an equally good command (``u`` Upscale, then
# U1-U4), past prompts after both, the same way every time.
BUTTON_RANK = 0.99
PROMPT_RANK = 0.98
J = TypeVar("J", Job, PromptRow)  # whole jobs, or just what the prompt search needs


def unique_prompts(jobs: Iterable[J]) -> list[tuple[str, J]]:
    """(prompt, newest job with it), newest first; originals preferred over button jobs."""
    best: dict[str, J] = {}
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
    def _main(self) -> MainScreen | None:
        return self.screen if isinstance(self.screen, MainScreen) else None

    def _candidates(self) -> list[tuple[str, PromptRow]]:
        backend = self._main.backend if self._main is not None else None
        return unique_prompts(backend.manager.prompt_rows()) if backend is not None else []

    def _show(self, job: Job | PromptRow) -> Callable[[], None]:
        assert self._main is not None  # there are candidates
        return partial(self._main.show_job, job.id)

    async def discover(self) -> Hits:
        for prompt, job in self._candidates()[:DISCOVER]:
            yield DiscoveryHit(
                hit_text(prompt),
                self._show(job),
                text=f"imagine · {prompt}",
                help="A recent prompt: select its job",
            )

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        folded = "".join(query.casefold().split())
        if not folded:
            return
        scored: list[tuple[float, str, PromptRow, Any]] = []
        for prompt, row in self._candidates():
            shown = clean_text(prompt, single_line=True)
            if not _subsequence(folded, shown.casefold()):
                continue
            score, offsets = matcher.fuzzy_search.match(query, shown)
            if score > 0:
                scored.append((score, shown, row, offsets))
        scored.sort(key=lambda item: item[0], reverse=True)
        backend = self._main.backend if self._main is not None else None
        for score, shown, hit, offsets in scored[:MAX_HITS]:
            job = backend.manager.get(hit.id) if backend is not None else None
            if job is None:  # the history holds only what the hits name: read those
                continue
            yield Hit(
                score * PROMPT_RANK,
                hit_text(shown, offsets),
                self._show(job),
                text=f"imagine · {shown}",
                help=f"{shown_title(job)} · {job.state} · select this job",
            )


class ButtonProvider(Provider):
    """The selected job's buttons, so every one of them is reachable from the keyboard."""

    def _hits(self) -> list[tuple[str, str, Callable[[], object]]]:
        """(title, what it does, press) per button of the selected job."""
        main = self.screen
        job = main.selected_job if isinstance(main, MainScreen) else None
        if job is None or not isinstance(main, MainScreen):
            return []
        hits: list[tuple[str, str, Callable[[], object]]] = []
        for label in job.buttons:
            shown = button_text(label)  # server text cleaned; sent back exactly as received
            name, what = describe_button(label)
            title = f"button · {shown}" if name == label else f"button · {shown} {name}"
            hits.append((title, f"{what} · {shown_title(job)}", partial(main.press, job.id, label)))
        return hits

    async def discover(self) -> Hits:
        for shown, what, press in self._hits():
            yield DiscoveryHit(Text(shown), press, text=shown, help=what)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for shown, what, press in self._hits():
            score = matcher.match(shown)
            if score > 0:
                yield Hit(score * BUTTON_RANK, Text(shown), press, text=shown, help=what)


class Palette(CommandPalette):
    """Textual's command palette, its input keeping fast keys in order (widgets/in_order)."""

    def compose(self) -> ComposeResult:
        # CommandPalette.compose of Textual 8.2.8, the input swapped
        with Vertical(id="--container"):
            with Horizontal(id="--input"):
                yield SearchIcon()
                yield PaletteInput(placeholder=self._placeholder, select_on_focus=False)
                if not self.run_on_select:
                    yield Button("\u25b6")
            with Vertical(id="--results"):
                yield CommandList()
                yield LoadingIndicator()
