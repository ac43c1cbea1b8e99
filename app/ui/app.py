"""The imagine TUI: prompt on top, job tree left, image grid and buttons right.

The job manager runs on this app's own asyncio loop, so its listener is called on the UI
thread: we only post a Message from it, and handle events one at a time, cheaply.
Everything slow (opening the backend, decoding images) runs in workers that never take
the app down (``exit_on_error=False``).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, Static

from app.export import default_export_dir, export_tree, open_in_viewer, save_job_images
from app.images import ImageFailure
from app.images.cache import safe_stem
from app.jobs.lineage import ancestors, descendants, tree_root
from app.jobs.manager import (
    ConnectionChanged,
    ImagesReady,
    JobChanged,
    JobEvent,
    Notice,
    PromptError,
)
from app.jobs.model import REROLL_LABEL, RETRYABLE, Job, JobState
from app.jobs.store import read_history_shape
from app.runtime import Backend, close_backend, open_backend
from app.settings import Settings
from app.text import clean_text
from app.ui.buttons import CUSTOM_ZOOM, ButtonBar
from app.ui.format import STATE_STYLE, shown_title, state_text
from app.ui.grid import FULL_THUMB, LARGE_THUMB, TILE_THUMB, ImageGrid, Tile, TileView
from app.ui.history import FILTERS, ButtonProvider, HistoryProvider, View, next_filter
from app.ui.joblist import Clock, JobList, default_elapsed
from app.ui.keys import help_rows, key_for, unknown_keymap_ids
from app.ui.prompt import PromptInput, PromptPane, SearchInput
from app.ui.screens import CustomZoomScreen, HelpScreen, ImageScreen, SaveScreen
from app.ui.status import StatusInfo, StatusLine

# Moving through the list shows the row's text at once; its images only once the cursor
# has rested this long, so holding j scrolls smoothly and only the last row loads images.
GRID_DELAY = 0.07
FREEZE_HISTORY = 1000  # jobs; see _open_backend
DETAIL_LINES = 4  # #detail's max-height in app.tcss


class JobEventMessage(Message):
    """A job-layer event, carried into Textual's message queue."""

    def __init__(self, event: JobEvent) -> None:
        super().__init__()
        self.event = event


class ImagineApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "imagine"

    COMMANDS = App.COMMANDS | {HistoryProvider, ButtonProvider}

    # Every binding has an id: the config file's [keys] table remaps it (id = "keys").
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", priority=True, id="quit"),
        Binding(
            App.COMMAND_PALETTE_BINDING,
            "command_palette",
            "palette",
            show=False,
            key_display=App.COMMAND_PALETTE_DISPLAY,
            priority=True,
            tooltip="Open the command palette",
            id="command_palette",
        ),
        Binding("slash", "focus_prompt", "Prompt", id="focus_prompt"),
        Binding("u", "upscale", "Upscale", id="upscale"),
        Binding("v", "vary", "Vary", id="vary"),
        Binding("r", "reroll", "Reroll", id="reroll"),
        Binding("p", "parent", "Parent", id="parent"),
        Binding("c,right_square_bracket", "child", "Child", id="child"),
        Binding("R", "retry", "Retry", id="retry"),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("1", "tile(1)", "Tile 1", show=False, id="tile_1"),
        Binding("2", "tile(2)", "Tile 2", show=False, id="tile_2"),
        Binding("3", "tile(3)", "Tile 3", show=False, id="tile_3"),
        Binding("4", "tile(4)", "Tile 4", show=False, id="tile_4"),
        Binding("i", "reload_images", "Reload images", show=False, id="reload_images"),
        Binding("f", "favourite", "Favourite", show=False, id="favourite"),
        Binding("F", "cycle_filter", "Filter", show=False, id="filter"),
        Binding("ctrl+f", "search", "Search", show=False, id="search"),
        Binding("escape", "clear_view", "Show all", show=False, id="show_all"),
        Binding("e", "edit_prompt", "Edit prompt", show=False, id="edit_prompt"),
        Binding("s", "save_tile", "Save tile", show=False, id="save"),
        Binding("S", "save_job", "Save all", show=False, id="save_all"),
        Binding("o", "open_external", "Open in viewer", show=False, id="open"),
        Binding("y", "copy_url", "Copy link", show=False, id="copy_url"),
        Binding("Y", "copy_prompt", "Copy prompt", show=False, id="copy_prompt"),
        Binding("x", "export_tree", "Export tree", show=False, id="export"),
    ]

    def __init__(self, settings: Settings, *, elapsed: Clock = default_elapsed) -> None:
        super().__init__()
        self.settings = settings
        # Before the UI exists: the first frame can then list the history (see on_mount).
        self._shape = read_history_shape(settings.db_path)
        self.backend: Backend | None = None
        self._elapsed = elapsed
        self._selected: str | None = None
        self._grid_key: tuple[Any, ...] | None = None
        self._grid_job: str | None = None  # the job whose images the grid shows
        self._grid_timer: Timer | None = None
        self._frozen = False  # gc.freeze() called for a long history
        self._online = (True, "")
        self._closing = False
        self._view = View()
        self._search_timer: Timer | None = None
        self._seeds: set[str] = set()  # jobs whose seed was already announced
        self._early_prompt: str | None = None  # submitted before the backend was open
        self.set_keymap(settings.keymap)

    # -- layout -------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield PromptPane(id="prompt-pane")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield SearchInput(id="search")
                yield JobList(elapsed=self._elapsed, id="jobs")
            with Vertical(id="right"):
                yield Static("", id="detail")
                yield ImageGrid(self.settings.graphics, id="grid")
                yield ButtonBar(id="buttons")
        yield StatusLine(id="status")
        yield Footer()

    @property
    def table(self) -> JobList:
        return self.query_one("#jobs", JobList)

    @property
    def grid(self) -> ImageGrid:
        return self.query_one("#grid", ImageGrid)

    @property
    def prompt_input(self) -> PromptInput:
        return self.query_one("#prompt", PromptInput)

    @property
    def search_input(self) -> SearchInput:
        return self.query_one("#search", SearchInput)

    def on_mount(self) -> None:
        self.table.border_title = "Jobs"
        self.search_input.display = False
        unknown = unknown_keymap_ids(self)
        if unknown:
            self.notify(
                "Unknown key binding ids in the config file's [keys]: "
                + ", ".join(unknown)
                + " (press ? for the keys, ctrl+p for commands)",
                severity="warning",
                markup=False,
                timeout=15,
            )
        # Before the first frame: the config file's theme, else the one last used.
        theme = self.settings.theme or (self._shape.theme if self._shape else None)
        if theme and theme in self.available_themes:
            self.theme = theme
        self.query_one("#prompt-pane", PromptPane).show_error("")
        self.grid.show_message("Starting…")
        self.query_one("#buttons", ButtonBar).show(None, ())
        self.prompt_input.focus()
        self.set_interval(1.0, self._tick)
        self.set_interval(0.5, self.refresh_status)
        if self._shape is not None:
            self.table.load_shape(self._shape.lineage, self._shape.newest)
            self._shape = None
            if self.table.row_count:
                self.table.move_cursor(self.table.row_count - 1)
        # After the first frame: reading a long history and starting the simulator would
        # otherwise hold it back (10,000 jobs: ~100 ms).
        self.call_after_refresh(self._open_backend)

    @work(exclusive=True, group="backend", exit_on_error=False)
    async def _open_backend(self) -> None:
        try:
            backend = await open_backend(self.settings, listener=self._on_job_event)
        except Exception as exc:  # a bad config or a locked database must not crash the UI
            why = clean_text(getattr(exc, "human", None) or str(exc) or type(exc).__name__)
            self.notify(f"Could not start: {why}", severity="error", markup=False, timeout=30)
            self.grid.show_message(f"Could not start: {why}")
            return
        if self._closing:
            await close_backend(backend)
            return
        self.backend = backend
        self._save_theme(backend)  # one picked before the backend was open
        self._seeds = {j.id for j in backend.manager.jobs() if j.options.get("seed") is not None}
        self.prompt_input.set_history(list(reversed(backend.store.prompts())))
        shown_early = self.table.row_count > 0  # from the history's shape
        self.table.load(backend.manager.jobs())
        if self.table.total >= FREEZE_HISTORY and not self._frozen:
            # The history now in memory lives as long as the app. Freezing it keeps the
            # cyclic GC from walking it again and again: with 10,000 jobs the first
            # collection after start-up took ~100 ms (it landed on the first frame), and
            # every later full one would be a pause of that size under a key press.
            gc.freeze()
            self._frozen = True
        if self.table.row_count and not shown_early:
            self.table.move_cursor(self.table.row_count - 1)
        self._selected = None  # selected before the jobs were there: show it now
        self._select(self.table.selected_id)
        if not self.table.row_count:
            self.grid.show_message("No jobs yet: type a prompt above and press Enter.")
        if self._early_prompt is not None:
            prompt, self._early_prompt = self._early_prompt, None
            self._submit(prompt)
        self.refresh_status()

    async def on_unmount(self) -> None:
        self._closing = True
        self._stop_grid_timer()
        if self._frozen:
            gc.unfreeze()  # collectable again (tests run many apps in one process)
            self._frozen = False
        backend, self.backend = self.backend, None
        if backend is not None:
            await close_backend(backend)

    # -- job events ---------------------------------------------------------------------

    def _on_job_event(self, event: JobEvent) -> None:
        self.post_message(JobEventMessage(event))

    def on_job_event_message(self, message: JobEventMessage) -> None:
        if self.backend is None or self._closing:
            return
        # NoMatches: the app is shutting down and its widgets are already gone.
        with contextlib.suppress(NoMatches):
            self._handle_job_event(message.event)

    def _handle_job_event(self, event: JobEvent) -> None:
        assert self.backend is not None
        if isinstance(event, JobChanged):
            self.table.upsert(event.job)
            if event.job.id == self._selected:
                self._show_job(event.job)
            self._announce_seed(event.job)
        elif isinstance(event, ImagesReady):
            if event.job_id == self._selected:
                self._grid_key = None  # the images are on disk now: draw them
                job = self.backend.manager.get(event.job_id)
                if job is not None:
                    self._show_job(job)
        elif isinstance(event, Notice):
            self.notify(clean_text(event.text), severity=event.severity, markup=False)
        elif isinstance(event, ConnectionChanged):
            self._online = (event.online, clean_text(event.text))
            self.notify(
                clean_text(event.text),
                severity="information" if event.online else "warning",
                markup=False,
            )
            self.refresh_status()

    # -- selection and the right-hand pane ------------------------------------------------

    @on(JobList.Highlighted, "#jobs")
    def _row_highlighted(self, event: JobList.Highlighted) -> None:
        self._select(event.job_id)

    def _select(self, job_id: str | None) -> None:
        if job_id == self._selected and job_id is not None:
            return
        self._selected = job_id
        job = self._job(job_id)
        if job is None:
            self._stop_grid_timer()
            self._set_detail(Text(""))
            self.query_one("#buttons", ButtonBar).show(None, ())
            self._grid_key = None
            self._grid_job = None
            return
        self._show_job(job, images_later=True)

    def _job(self, job_id: str | None) -> Job | None:
        if self.backend is None or job_id is None:
            return None
        return self.backend.manager.get(job_id)

    @property
    def selected_job(self) -> Job | None:
        return self._job(self._selected)

    @property
    def grid_job(self) -> str | None:
        """The job whose images (or waiting text) the grid shows; it follows the selection
        after GRID_DELAY."""
        return self._grid_job

    def _show_job(self, job: Job, *, images_later: bool = False) -> None:
        """The detail line and buttons now; the images now or after GRID_DELAY."""
        self._set_detail(self._detail(job))
        hint = "Buttons appear when the job is done." if job.state.active else ""
        labels = job.buttons if job.state is JobState.DONE else ()
        self.query_one("#buttons", ButtonBar).show(job.id, labels, hint)
        if images_later:
            self._stop_grid_timer()
            self._grid_timer = self.set_timer(GRID_DELAY, self._show_selected_images)
        elif self._grid_timer is None:  # else the pending timer draws the latest state
            self._show_images(job)

    def _stop_grid_timer(self) -> None:
        if self._grid_timer is not None:
            self._grid_timer.stop()
            self._grid_timer = None

    def _show_selected_images(self) -> None:
        self._grid_timer = None
        job = self.selected_job
        if job is not None and not self._closing:
            with contextlib.suppress(NoMatches):  # the timer fired during shut-down
                self._show_images(job)

    def flush_grid(self) -> None:
        """Draw the selected job's grid now if it is still waiting for GRID_DELAY."""
        if self._grid_timer is not None:
            self._stop_grid_timer()
            self._show_selected_images()

    def _set_detail(self, text: Text) -> None:
        """Update the detail pane; re-lay out the screen only if its height may change.

        A layout pass re-renders every widget, the job list included: done on each cursor
        move it was the largest part of the key-to-screen time. When no line needs
        wrapping, the height is the line count, so an equal count needs no layout.
        """
        detail = self.query_one("#detail", Static)
        width, height = detail.content_size
        lines = text.plain.split("\n")
        fits = width > 0 and all(0 < cell_len(line) <= width for line in lines)
        detail.update(text, layout=not (fits and min(len(lines), DETAIL_LINES) == height))

    def _detail(self, job: Job) -> Text:
        text = Text()
        text.append(shown_title(job), style="bold")
        text.append("  ")
        text.append_text(state_text(job, 200))
        parent = self._job(job.parent_id)
        if parent is not None:
            text.append(f"   from {shown_title(parent)}", style="dim")
        text.append("\n")
        text.append(clean_text(job.prompt, single_line=True), style="italic")
        seed = job.options.get("seed")
        if seed is not None:
            text.append("\n")
            text.append("seed ", style="dim")
            text.append(clean_text(str(seed), single_line=True), style="bold green")
        if job.error and job.state in RETRYABLE:
            text.append("\n")
            text.append(clean_text(job.error), style=STATE_STYLE[job.state])
            text.append("  (R retries)", style="dim")
        return text

    def _show_images(self, job: Job, *, force: bool = False) -> None:
        grid = self.grid
        if job.state is JobState.DONE and job.display_urls:
            key: tuple[Any, ...] = (job.id, "done", job.display_urls)
            if force or key != self._grid_key:
                self._grid_key = key
                single = len(job.display_urls) == 1
                caption = [f"{shown_title(job)} · Enter opens"] if single else None
                self._load_tiles(
                    job.id, job.display_urls, LARGE_THUMB if single else TILE_THUMB, caption
                )
            return
        if job.state.active and job.progress_image_url:
            caption = [f"preview · {job.progress}%"]
            key = (job.id, "preview", job.progress_image_url)
            if force or key != self._grid_key:
                self._grid_key = key
                self._load_tiles(job.id, (job.progress_image_url,), LARGE_THUMB, caption)
            else:
                grid.tile(1).set_caption(caption[0])
            return
        key = (job.id, "text", job.state, job.progress, job.error)
        if force or key != self._grid_key:
            self._grid_key = key
            self._grid_job = job.id
            grid.show_message(_waiting_hint(job))

    @work(exclusive=True, group="grid", exit_on_error=False)
    async def _load_tiles(
        self,
        job_id: str,
        urls: tuple[str, ...],
        size: tuple[int, int],
        captions: list[str] | None,
    ) -> None:
        if self.backend is None:
            return
        results = await self.backend.images.thumbnails(list(urls), size)
        if job_id != self._selected:
            return  # the user moved on while we were loading
        views = [
            TileView(
                note=f"✗ {r.human}\nclick or press i to try again",
                failed=True,
                url=r.url,
            )
            if isinstance(r, ImageFailure)
            else TileView(image=r.thumbnail, url=r.url)
            for r in results
        ]
        self._grid_job = job_id
        self.grid.show_views(views, captions)

    # -- prompt -------------------------------------------------------------------------

    @on(Input.Submitted, "#prompt")
    def _submit_prompt(self, event: Input.Submitted) -> None:
        pane = self.query_one("#prompt-pane", PromptPane)
        if self.backend is None:  # sent as soon as the backend is open
            self._early_prompt = event.value
            pane.show_error("Starting up: it goes out in a moment.")
            return
        self._submit(event.value)

    def _submit(self, prompt: str) -> None:
        pane = self.query_one("#prompt-pane", PromptPane)
        assert self.backend is not None
        try:
            job = self.backend.manager.submit_imagine(prompt)
        except PromptError as exc:
            pane.show_error(str(exc.args[0]))
            return
        pane.show_error("")
        self.prompt_input.remember(job.prompt)
        if self.prompt_input.value == prompt:  # not a new draft typed while it waited
            self.prompt_input.value = ""
        self.table.upsert(job)  # its JobChanged is still queued: list it now to select it
        if self.table.select(job.id):
            self._select(job.id)  # now, not when RowHighlighted arrives: keys may come first

    @on(Input.Changed, "#prompt")
    def _prompt_changed(self) -> None:
        self.query_one("#prompt-pane", PromptPane).show_error("")

    def action_focus_prompt(self) -> None:
        self.prompt_input.focus()

    def action_leave_prompt(self) -> None:
        self.table.focus()

    # -- buttons ------------------------------------------------------------------------

    @on(ButtonBar.Pressed)
    def _button_pressed(self, event: ButtonBar.Pressed) -> None:
        self.press(event.job_id, event.label)

    def press(self, job_id: str, label: str, **options: Any) -> Job | None:
        """Press a job's button; Custom Zoom first asks for its zoom and aspect ratio."""
        if self.backend is None:
            return None
        if label == CUSTOM_ZOOM and not options:

            def answered(answer: tuple[float, str | None] | None) -> None:
                if answer is not None:
                    self.press(job_id, label, zoom=answer[0], ar=answer[1])

            self.push_screen(CustomZoomScreen(), answered)
            return None
        try:
            child = self.backend.manager.press(job_id, label, **options)
        except (ValueError, KeyError) as exc:
            self.notify(_reason(exc), severity="warning", markup=False)
            return None
        self.notify(f"{shown_title(child)} started · press c to follow it", markup=False, timeout=3)
        return child

    def _press_selected(self, label: str) -> None:
        job = self.selected_job
        if job is None:
            self.notify("Select a job first.", severity="warning")
            return
        self.press(job.id, label)

    def action_upscale(self) -> None:
        self._press_selected(f"U{self.grid.selected}")

    def action_vary(self) -> None:
        self._press_selected(f"V{self.grid.selected}")

    def action_reroll(self) -> None:
        self._press_selected(REROLL_LABEL)

    # -- navigation ---------------------------------------------------------------------

    def action_tile(self, index: int) -> None:
        if self.grid.single:
            self.notify("This job has one image.", timeout=2)
            return
        self.grid.select(index)

    def action_parent(self) -> None:
        job = self.selected_job
        if job is None:
            return
        if job.parent_id is None or not self.table.select(job.parent_id):
            self.notify("This job is an original prompt: it has no parent.", timeout=3)

    def action_child(self) -> None:
        job = self.selected_job
        if job is None or self.backend is None:
            return
        kids = sorted(self.backend.manager.children(job.id), key=lambda j: j.created_at)
        if not kids:
            self.notify("This job has no child jobs yet.", timeout=3)
            return
        self.table.select(kids[0].id)

    def action_retry(self) -> None:
        job = self.selected_job
        if job is None or self.backend is None:
            return
        if job.state not in RETRYABLE:
            self.notify(
                f"Only a failed, stalled or uncertain job can be retried ({job.state}).",
                severity="warning",
                markup=False,
            )
            return
        try:
            new = self.backend.manager.retry(job.id)
        except (ValueError, KeyError, PromptError) as exc:
            self.notify(_reason(exc), severity="warning", markup=False)
            return
        self.table.upsert(new)
        if self.table.select(new.id):
            self._select(new.id)

    def action_reload_images(self) -> None:
        job = self.selected_job
        if job is not None:
            self._show_images(job, force=True)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(help_rows(self)))

    # -- tiles and the full-screen view -------------------------------------------------

    @on(Tile.Clicked)
    def _tile_clicked(self, event: Tile.Clicked) -> None:
        if self._grid_job != self._selected:
            return  # the grid still shows the previous row's images
        tile = self.grid.tile(event.index)
        if tile.view.failed:
            self.action_reload_images()
            return
        if not self.grid.single:
            self.grid.select(event.index)
        self.action_open_tile()

    @on(JobList.OpenTile)
    def action_open_tile(self) -> None:
        self.flush_grid()
        tile = self.grid.tile(self.grid.selected)
        job = self.selected_job
        stale = self._grid_job != self._selected  # its images are still loading
        if stale or tile.view.image is None or tile.view.url is None or job is None:
            self.notify("No image to open here yet.", timeout=2)
            return
        self._open_full(tile.view.url, tile.view.image, f"{shown_title(job)} · tile {tile.index}")

    @work(group="full", exit_on_error=False)
    async def _open_full(self, url: str, fallback: Any, title: str) -> None:
        image = fallback
        if self.backend is not None:
            try:
                image = (await self.backend.images.thumbnail(url, FULL_THUMB)).thumbnail
            except Exception:  # the small tile is still worth showing
                image = fallback
        self.push_screen(ImageScreen(image, f"{title}   (Esc closes)", self.settings.graphics))

    # -- history: filter, search, favourites, re-run ----------------------------------------

    def show_job(self, job_id: str) -> None:
        """Select ``job_id`` in the list, showing all jobs again if the view hides it."""
        if not self.table.select(job_id):
            self.action_clear_search()  # the view hid it: show every job
            self.table.select(job_id)
        self._select(self.table.selected_id)
        self.table.focus()

    def action_cycle_filter(self) -> None:
        self._set_view(replace(self._view, state=next_filter(self._view.state)))
        self.notify(f"Showing {self._view.state} jobs", timeout=2)

    def action_search(self) -> None:
        search = self.search_input
        search.display = True
        search.value = self._view.query
        search.cursor_position = len(search.value)
        search.focus()

    def action_clear_view(self) -> None:
        if self._view.active or self.search_input.display:
            self.action_clear_search()

    def action_clear_search(self) -> None:
        """Esc in the search box or on the list: every job again, the list focused."""
        if self._search_timer is not None:
            self._search_timer.stop()
        self.search_input.display = False
        self.search_input.value = ""
        self._set_view(View())
        self.table.focus()

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        # Debounced: one rebuild when typing pauses, not one per key.
        if self._search_timer is not None:
            self._search_timer.stop()
        query = event.value
        self._search_timer = self.set_timer(
            0.15, lambda: self._set_view(replace(self._view, query=query))
        )

    @on(Input.Submitted, "#search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        self._set_view(replace(self._view, query=event.value))
        if not event.value.strip():
            self.search_input.display = False
        self.table.focus()

    @property
    def view(self) -> View:
        return self._view

    def _set_view(self, view: View) -> None:
        if view == self._view:
            return
        self._view = view
        self.table.set_filter(view.predicate())
        self._update_list_title()
        if self.table.row_count:
            self._select(self.table.selected_id)
        else:
            self._select(None)
            if self.backend is not None and self.table.total:
                self.grid.show_message("No job matches. Esc shows every job.")
        self.refresh_status()

    def _update_list_title(self) -> None:
        words = self._view.describe()
        if not words:
            self.table.border_title = Text("Jobs")
            return
        self.table.border_title = Text(
            f"Jobs · {words} · {self.table.row_count} of {self.table.total}"
        )

    def action_favourite(self) -> None:
        job = self.selected_job
        if job is not None and self.backend is not None:
            self.backend.manager.set_favourite(job.id, not job.favourite)

    def action_edit_prompt(self) -> None:
        """The selected job's prompt in the prompt pane, focused: Enter runs it again."""
        job = self.selected_job
        if job is None:
            self.notify("Select a job first.", severity="warning")
            return
        self.prompt_input.value = job.prompt
        self.prompt_input.cursor_position = len(job.prompt)
        self.prompt_input.focus()
        self.notify("Edit the prompt, then Enter runs it again.", timeout=2)

    # -- saving and sharing ---------------------------------------------------------------

    def _tile_of(self, job: Job) -> tuple[int, str] | None:
        """(tile number, URL) of the selected tile of a done job, or None."""
        urls = job.display_urls
        if job.state is not JobState.DONE or not urls:
            return None
        index = 1 if len(urls) == 1 else self.grid.selected
        index = index if 1 <= index <= len(urls) else 1
        return index, urls[index - 1]

    def _selected_tile(self) -> tuple[Job, int, str] | None:
        job = self.selected_job
        found = self._tile_of(job) if job is not None else None
        if job is None or found is None:
            self.notify("No finished image selected.", severity="warning", timeout=3)
            return None
        return job, found[0], found[1]

    def save_folder(self) -> Path:
        """Where saves go: the last folder used, else ~/Pictures/imagine-tui or exports/."""
        if self.backend is not None:
            last = self.backend.store.get_meta("save_dir")
            if last:
                return Path(last)
        return default_export_dir(self.settings.data_dir)

    def action_save_tile(self) -> None:
        picked = self._selected_tile()
        if picked is None:
            return
        job, index, _url = picked
        self._ask_and_save(job, [index], f"Save tile {index} of {shown_title(job)}")

    def action_save_job(self) -> None:
        picked = self._selected_tile()
        if picked is None:
            return
        job = picked[0]
        count = len(job.display_urls)
        self._ask_and_save(job, None, f"Save all {count} images of {shown_title(job)}")

    def _ask_and_save(self, job: Job, tiles: list[int] | None, title: str) -> None:
        def answered(folder: Path | None) -> None:
            if folder is not None:
                self._save_images(job, tiles, folder)

        self.push_screen(SaveScreen(title, self.save_folder()), answered)

    async def _fetch_quietly(self, url: str) -> None:
        if self.backend is not None:
            # a failure is saved as "missing"; the notification says how many
            with contextlib.suppress(Exception):
                await self.backend.images.fetch(url)

    @work(group="save", exit_on_error=False)
    async def _save_images(self, job: Job, tiles: list[int] | None, dest: Path) -> list[Path]:
        backend = self.backend
        if backend is None:
            return []
        urls = job.display_urls
        wanted = [urls[i - 1] for i in tiles] if tiles else list(urls)
        await asyncio.gather(*(self._fetch_quietly(u) for u in wanted))
        lineage = ancestors({j.id: j for j in backend.manager.jobs()}, job)
        try:
            files = await asyncio.to_thread(
                save_job_images, job, backend.images.cached_path, dest, tiles, lineage=lineage
            )
        except (OSError, ValueError) as exc:
            self.notify(f"Could not save: {_reason(exc)}", severity="error", markup=False)
            return []
        backend.store.set_meta("save_dir", str(dest))
        missing = len(wanted) - len(files)
        what = f"{len(files)} image" + ("s" if len(files) != 1 else "")
        note = f" ({missing} could not be downloaded)" if missing else ""
        self.notify(
            f"Saved {what} + JSON sidecar to {dest}{note}",
            severity="warning" if missing else "information",
            markup=False,
            timeout=6,
        )
        return files

    def action_open_external(self) -> None:
        picked = self._selected_tile()
        if picked is not None:
            self._open_external(picked[2])

    @work(group="open", exit_on_error=False)
    async def _open_external(self, url: str) -> None:
        if self.backend is None:
            return
        try:
            path = await self.backend.images.fetch(url)
        except Exception as exc:
            why = clean_text(getattr(exc, "human", None) or _reason(exc))
            self.notify(f"Could not get the image: {why}", severity="error", markup=False)
            return
        opened = await asyncio.to_thread(open_in_viewer, path)
        if opened:
            self.notify(f"Opening {path.name} in the image viewer", markup=False, timeout=3)
        else:
            self.notify(
                f"No image viewer here. The image is at {path}",
                severity="warning",
                markup=False,
                timeout=20,
            )

    def action_copy_url(self) -> None:
        picked = self._selected_tile()
        if picked is not None:
            job, index, url = picked
            self.copy_to_clipboard(url)
            self.notify(
                f"Copied the link of {shown_title(job)} tile {index} (OSC 52)",
                markup=False,
                timeout=3,
            )

    def action_copy_prompt(self) -> None:
        job = self.selected_job
        if job is None:
            self.notify("Select a job first.", severity="warning")
            return
        self.copy_to_clipboard(job.prompt)
        self.notify("Copied the prompt (OSC 52)", timeout=3)

    def action_export_tree(self) -> None:
        job = self.selected_job
        if job is None or self.backend is None:
            self.notify("Select a job first.", severity="warning")
            return
        jobs = self.backend.manager.jobs()
        root = tree_root(jobs, job.id)
        count = len(descendants(jobs, root))
        folder = self.save_folder() / f"imagine-tree-{safe_stem(root)}"

        def answered(dest: Path | None) -> None:
            if dest is not None:
                self._export_tree(root, dest)

        title = f"Export this tree ({count} job{'s' if count != 1 else ''}) with an index.html"
        self.push_screen(SaveScreen(title, folder, "Export"), answered)

    @work(group="save", exit_on_error=False)
    async def _export_tree(self, root: str, dest: Path) -> Path | None:
        backend = self.backend
        if backend is None:
            return None
        jobs = backend.manager.jobs()
        cached = backend.images.cached_path

        def run() -> tuple[Path, int]:
            index = export_tree(jobs, root, cached, dest)
            urls = [u for j, _ in descendants(jobs, root) for u in j.display_urls]
            return index, sum(1 for u in urls if cached(u) is None)

        try:
            index, missing = await asyncio.to_thread(run)
        except (OSError, ValueError, KeyError) as exc:
            self.notify(f"Could not export: {_reason(exc)}", severity="error", markup=False)
            return None
        backend.store.set_meta("save_dir", str(dest.parent))
        note = f" ({missing} images not downloaded yet are listed as missing)" if missing else ""
        self.notify(f"Exported to {index}{note}", markup=False, timeout=8)
        return index

    # -- seeds (✉️) and themes ---------------------------------------------------------------

    def _announce_seed(self, job: Job) -> None:
        seed = job.options.get("seed")
        if seed is None or job.state is not JobState.DONE or job.id in self._seeds:
            return
        self._seeds.add(job.id)
        text = clean_text(str(seed), single_line=True)
        self.notify(
            f"{shown_title(job)}: the seed is {text}", title="Seed", markup=False, timeout=15
        )

    def watch_theme(self, theme: str) -> None:
        """Remember the theme picked in the palette for the next start."""
        if self.backend is not None and not self._closing:
            self._save_theme(self.backend)

    def _save_theme(self, backend: Backend) -> None:
        try:
            if backend.store.get_meta("theme") != self.theme:
                backend.store.set_meta("theme", self.theme)
        except Exception:  # a read-only or locked store must not break theme switching
            pass

    # -- timers -------------------------------------------------------------------------

    def _tick(self) -> None:
        if self.backend is not None and not self._closing:
            with contextlib.suppress(NoMatches):  # a tick while the app shuts down
                self.table.tick()

    def refresh_status(self) -> None:
        with contextlib.suppress(NoMatches):  # a tick while the app shuts down
            self._refresh_status()

    def _refresh_status(self) -> None:
        backend = self.backend
        status = self.query_one("#status", StatusLine)
        if backend is None:
            status.set_info(StatusInfo())
            return
        budget = backend.budget
        status.set_info(
            StatusInfo(
                backend=_host(backend.base_url),
                demo=backend.demo,
                in_flight=backend.manager.in_flight,
                holding=budget.waiting if budget.holding_back else 0,
                online=self._online[0],
                offline_reason=self._online[1],
                total=len(backend.manager.jobs()),
                view=self._view.describe(),
                shown=self.table.row_count,
            )
        )
        if self._view.active:
            self._update_list_title()

    # -- command palette ------------------------------------------------------------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for title, help_text, action in (
            ("Focus the prompt", "Type a new prompt", self.action_focus_prompt),
            ("Upscale selected tile", "Press U1–U4 for the selected tile", self.action_upscale),
            ("Variations of selected tile", "Press V1–V4", self.action_vary),
            ("Reroll", "Press 🔄 on the selected job", self.action_reroll),
            ("Parent job", "Go to the job this one came from", self.action_parent),
            ("First child job", "Go to the first job made from this one", self.action_child),
            ("Retry job", "Resubmit a failed, stalled or uncertain job", self.action_retry),
            ("Open tile full screen", "Show the selected tile large", self.action_open_tile),
            ("Reload images", "Download failed tiles again", self.action_reload_images),
            ("Toggle favourite", "Mark the selected job with ★", self.action_favourite),
            ("Filter jobs by state", " → ".join(FILTERS), self.action_cycle_filter),
            ("Search prompts", "Show only jobs whose prompt matches", self.action_search),
            ("Show all jobs", "Clear the filter and the search", self.action_clear_search),
            ("Edit and re-run prompt", "Put it in the prompt pane", self.action_edit_prompt),
            ("Save selected tile", "Save the image and a JSON sidecar", self.action_save_tile),
            ("Save all images of job", "Every image and a JSON sidecar", self.action_save_job),
            ("Open in image viewer", "Open the selected tile outside", self.action_open_external),
            ("Copy image link", "The selected tile's URL, via OSC 52", self.action_copy_url),
            ("Copy prompt", "The selected job's prompt, via OSC 52", self.action_copy_prompt),
            ("Export job tree", "Images, sidecars and an index.html", self.action_export_tree),
            ("Keys", "Show every key", self.action_help),
        ):
            key = key_for(self, action.__name__.removeprefix("action_"))
            yield SystemCommand(title, f"{help_text} ({key})" if key else help_text, action)


def _waiting_hint(job: Job) -> str:
    if job.state is JobState.QUEUED:
        return "Queued: waiting for the request budget…"
    if job.state is JobState.SUBMITTED:
        return "Submitted: waiting for the first progress report…"
    if job.state is JobState.RUNNING:
        return f"Running {job.progress}%: waiting for a preview…"
    if job.state is JobState.STALLED:
        return f"Stalled at {job.progress}%. Press R to retry."
    if job.state is JobState.UNCERTAIN:
        return "Uncertain: the service may or may not have this job. Press R to resubmit."
    if job.state is JobState.FAILED:
        return f"Failed: {clean_text(job.error or 'unknown reason')}\nPress R to retry."
    return "Done, but the service sent no images."


def _reason(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return "That job is no longer in the history."
    return clean_text(str(exc.args[0]) if exc.args else type(exc).__name__)


def _host(url: str) -> str:
    rest = url.split("://", 1)[-1]
    return rest.split("/", 1)[0] or url


def run_app(settings: Settings) -> int:
    """Run the TUI in this terminal; the exit code for the command line."""
    ImagineApp(settings).run()
    return 0
