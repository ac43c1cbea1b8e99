"""The command palette's own providers: past prompts, and the selected job's buttons.

The palette's other commands (every action with a ``palette`` title) come from the action
registry, through ``ImagineApp.get_system_commands``. Past prompts are searched on a
thread, with a connection of the palette's own: the newest few hundred distinct prompts
holding the query's words, whatever the history's length; whole jobs only for the hits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import TypeVar

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
from app.jobs.store import JobStore, PromptRow, StoreError, TreeReader, has_words, prompt_words
from app.text import button_text, clean_text
from app.ui.format import describe_button, shown_title
from app.ui.screens.main import MainScreen
from app.ui.widgets.in_order import PaletteInput

MAX_HITS = 40
DISCOVER = 8
LOOKED_AT = 200  # distinct prompts a search scores: the newest holding the query's words
# Textual orders hits by score, ties by which provider answered first: a race, so the
# list could come out in a different order for the same keys. Scaled a little, the
# selected job's buttons come just after an equally good command (``u`` Upscale, then
# U1-U4), past prompts after both, the same way every time.
BUTTON_RANK = 0.99
PROMPT_RANK = 0.98
J = TypeVar("J", Job, PromptRow)  # whole jobs, or just what the prompt search needs
Found = tuple[float, str, Job, Sequence[int]]  # score, prompt as shown, its job, offsets


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

    _reader: TreeReader | None = None
    _asked = 0  # searches begun: a read for an older one is skipped, its answer unwanted

    @property
    def _main(self) -> MainScreen | None:
        return self.screen if isinstance(self.screen, MainScreen) else None

    async def startup(self) -> None:
        main = self._main
        if main is not None and main.backend is not None:
            self._reader = TreeReader(main.backend.store)

    async def shutdown(self) -> None:
        if self._reader is not None:
            self._reader.close()  # after the read under way, if any

    async def _found(self, query: str, limit: int) -> list[Found]:
        """The ``limit`` best past prompts for ``query`` (the newest if it is empty), best
        first, with their jobs as the manager knows them: read and scored on a thread."""
        main, reader = self._main, self._reader
        if main is None or main.backend is None or reader is None:
            return []
        manager = main.backend.manager
        words = prompt_words(query)
        # Held jobs are newer than the store's, or not written yet: taken here, on the
        # loop that changes them.
        held = {job.id: job for job in manager.held() if has_words(job.prompt, words)}
        matcher = self.matcher(query)
        self._asked += 1
        asked = self._asked

        def read(store: JobStore) -> list[Found]:
            if asked != self._asked:  # typed on since: a newer search waits for this read
                return []
            rows = store.prompt_rows(words, LOOKED_AT)
            rows += (PromptRow(j.id, j.kind, j.prompt, j.created_at) for j in held.values())
            scored: list[tuple[float, str, PromptRow, Sequence[int]]] = []
            for prompt, row in unique_prompts(rows):
                shown = clean_text(prompt, single_line=True)
                score, offsets = matcher.fuzzy_search.match(query, shown) if query else (1, ())
                if score > 0:
                    scored.append((score, shown, row, offsets))
            scored.sort(key=lambda item: item[0], reverse=True)  # stable: newest first
            found: list[Found] = []
            for score, shown, row, offsets in scored[:limit]:
                job = held.get(row.id) or store.get(row.id)
                if job is not None:  # the history holds only what the hits name: read those
                    found.append((score, shown, job, offsets))
            return found

        try:
            found = await asyncio.to_thread(reader.read, read)
        except StoreError:  # closed: the palette went away meanwhile
            return []
        return [(score, shown, manager.fresh(job), offsets) for score, shown, job, offsets in found]

    def _show(self, job: Job) -> Callable[[], None]:
        assert self._main is not None  # there are hits
        return partial(self._main.show_job, job.id)

    async def discover(self) -> Hits:
        for _, shown, job, _ in await self._found("", DISCOVER):
            yield DiscoveryHit(
                hit_text(shown),
                self._show(job),
                text=f"imagine · {shown}",
                help="A recent prompt: select its job",
            )

    async def search(self, query: str) -> Hits:
        for score, shown, job, offsets in await self._found(query, MAX_HITS):
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
