"""The imagine TUI: prompt on top, job tree left, image grid and buttons right.

The job manager runs on this app's own asyncio loop, so its listener is called on the UI
thread: we only post a Message from it, and handle events one at a time, cheaply.
Everything slow (opening the backend, decoding images) runs in workers that never take
the app down (``exit_on_error=False``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from app.api.text import clean_text
from app.images import ImageFailure
from app.jobs.manager import (
    ConnectionChanged,
    ImagesReady,
    JobChanged,
    JobEvent,
    Notice,
    PromptError,
)
from app.jobs.model import REROLL_LABEL, Job, JobState
from app.runtime import Backend, close_backend, open_backend
from app.settings import Settings
from app.ui.buttons import CUSTOM_ZOOM, ButtonBar
from app.ui.format import STATE_STYLE, state_text
from app.ui.grid import FULL_THUMB, LARGE_THUMB, TILE_THUMB, ImageGrid, Tile, TileView
from app.ui.joblist import Clock, JobTable, default_elapsed
from app.ui.prompt import PromptInput, PromptPane
from app.ui.screens import CustomZoomScreen, HelpScreen, ImageScreen
from app.ui.status import StatusInfo, StatusLine

RETRYABLE = (JobState.FAILED, JobState.STALLED, JobState.UNCERTAIN)


class JobEventMessage(Message):
    """A job-layer event, carried into Textual's message queue."""

    def __init__(self, event: JobEvent) -> None:
        super().__init__()
        self.event = event


class ImagineApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "imagine"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("slash", "focus_prompt", "Prompt"),
        Binding("u", "upscale", "Upscale"),
        Binding("v", "vary", "Vary"),
        Binding("r", "reroll", "Reroll"),
        Binding("p", "parent", "Parent"),
        Binding("c", "child", "Child"),
        Binding("right_square_bracket", "child", "Child", show=False),
        Binding("R", "retry", "Retry"),
        Binding("question_mark", "help", "Help"),
        Binding("1", "tile(1)", "Tile 1", show=False),
        Binding("2", "tile(2)", "Tile 2", show=False),
        Binding("3", "tile(3)", "Tile 3", show=False),
        Binding("4", "tile(4)", "Tile 4", show=False),
        Binding("i", "reload_images", "Reload images", show=False),
        Binding("f", "favourite", "Favourite", show=False),
    ]

    def __init__(self, settings: Settings, *, elapsed: Clock = default_elapsed) -> None:
        super().__init__()
        self.settings = settings
        self.backend: Backend | None = None
        self._elapsed = elapsed
        self._selected: str | None = None
        self._grid_key: tuple[Any, ...] | None = None
        self._online = (True, "")
        self._closing = False

    # -- layout -------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield PromptPane(id="prompt-pane")
        with Horizontal(id="main"):
            yield JobTable(elapsed=self._elapsed, id="jobs")
            with Vertical(id="right"):
                yield Static("", id="detail")
                yield ImageGrid(self.settings.graphics, id="grid")
                yield ButtonBar(id="buttons")
        yield StatusLine(id="status")
        yield Footer()

    @property
    def table(self) -> JobTable:
        return self.query_one("#jobs", JobTable)

    @property
    def grid(self) -> ImageGrid:
        return self.query_one("#grid", ImageGrid)

    @property
    def prompt_input(self) -> PromptInput:
        return self.query_one("#prompt", PromptInput)

    def on_mount(self) -> None:
        self.table.border_title = "Jobs"
        if self.settings.theme and self.settings.theme in self.available_themes:
            self.theme = self.settings.theme
        self.query_one("#prompt-pane", PromptPane).show_error("")
        self.grid.show_message("Starting…")
        self.query_one("#buttons", ButtonBar).show(None, ())
        self.prompt_input.focus()
        self.set_interval(1.0, self._tick)
        self.set_interval(0.5, self.refresh_status)
        self._open_backend()

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
        self.prompt_input.set_history(list(reversed(backend.store.prompts())))
        self.table.load(backend.manager.jobs())
        if self.table.row_count:
            self.table.move_cursor(row=self.table.row_count - 1, animate=False)
        self._select(self.table.selected_id)
        if not self.table.row_count:
            self.grid.show_message("No jobs yet: type a prompt above and press Enter.")
        self.refresh_status()

    async def on_unmount(self) -> None:
        self._closing = True
        backend, self.backend = self.backend, None
        if backend is not None:
            await close_backend(backend)

    # -- job events ---------------------------------------------------------------------

    def _on_job_event(self, event: JobEvent) -> None:
        self.post_message(JobEventMessage(event))

    def on_job_event_message(self, message: JobEventMessage) -> None:
        event = message.event
        if self.backend is None:
            return
        if isinstance(event, JobChanged):
            self.table.upsert(event.job)
            if event.job.id == self._selected:
                self._show_job(event.job)
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

    @on(DataTable.RowHighlighted, "#jobs")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._select(event.row_key.value)

    def _select(self, job_id: str | None) -> None:
        if job_id == self._selected and job_id is not None:
            return
        self._selected = job_id
        job = self._job(job_id)
        if job is None:
            self.query_one("#detail", Static).update("")
            self.query_one("#buttons", ButtonBar).show(None, ())
            self._grid_key = None
            return
        self._show_job(job)

    def _job(self, job_id: str | None) -> Job | None:
        if self.backend is None or job_id is None:
            return None
        return self.backend.manager.get(job_id)

    @property
    def selected_job(self) -> Job | None:
        return self._job(self._selected)

    def _show_job(self, job: Job) -> None:
        self.query_one("#detail", Static).update(self._detail(job))
        hint = "Buttons appear when the job is done." if job.state.active else ""
        labels = job.buttons if job.state is JobState.DONE else ()
        self.query_one("#buttons", ButtonBar).show(job.id, labels, hint)
        self._show_images(job)

    def _detail(self, job: Job) -> Text:
        text = Text()
        text.append(job.title, style="bold")
        text.append("  ")
        text.append_text(state_text(job, 200))
        parent = self._job(job.parent_id)
        if parent is not None:
            text.append(f"   from {parent.title}", style="dim")
        text.append("\n")
        text.append(clean_text(job.prompt, single_line=True), style="italic")
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
                caption = [f"{job.title} · Enter opens"] if single else None
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
        self._grid_key = (job.id, "text", job.state, job.progress, job.error)
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
        self.grid.show_views(views, captions)

    # -- prompt -------------------------------------------------------------------------

    @on(Input.Submitted, "#prompt")
    def _submit_prompt(self, event: Input.Submitted) -> None:
        pane = self.query_one("#prompt-pane", PromptPane)
        if self.backend is None:
            pane.show_error("Still starting up: try again in a moment.")
            return
        try:
            job = self.backend.manager.submit_imagine(event.value)
        except PromptError as exc:
            pane.show_error(str(exc.args[0]))
            return
        pane.show_error("")
        self.prompt_input.remember(job.prompt)
        self.prompt_input.value = ""
        self.table.select(job.id)

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
        self.notify(f"{child.title} started · press c to follow it", markup=False, timeout=3)
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
        self.table.select(new.id)

    def action_favourite(self) -> None:
        job = self.selected_job
        if job is not None and self.backend is not None:
            self.backend.manager.set_favourite(job.id, not job.favourite)

    def action_reload_images(self) -> None:
        job = self.selected_job
        if job is not None:
            self._show_images(job, force=True)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    # -- tiles and the full-screen view -------------------------------------------------

    @on(Tile.Clicked)
    def _tile_clicked(self, event: Tile.Clicked) -> None:
        tile = self.grid.tile(event.index)
        if tile.view.failed:
            self.action_reload_images()
            return
        if not self.grid.single:
            self.grid.select(event.index)
        self.action_open_tile()

    @on(JobTable.OpenTile)
    def action_open_tile(self) -> None:
        tile = self.grid.tile(self.grid.selected)
        job = self.selected_job
        if tile.view.image is None or tile.view.url is None or job is None:
            self.notify("No image to open here yet.", timeout=2)
            return
        self._open_full(tile.view.url, tile.view.image, f"{job.title} · tile {tile.index}")

    @work(group="full", exit_on_error=False)
    async def _open_full(self, url: str, fallback: Any, title: str) -> None:
        image = fallback
        if self.backend is not None:
            try:
                image = (await self.backend.images.thumbnail(url, FULL_THUMB)).thumbnail
            except Exception:  # the small tile is still worth showing
                image = fallback
        self.push_screen(ImageScreen(image, f"{title}   (Esc closes)", self.settings.graphics))

    # -- timers -------------------------------------------------------------------------

    def _tick(self) -> None:
        if self.backend is not None:
            self.table.tick()

    def refresh_status(self) -> None:
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
            )
        )

    # -- command palette ------------------------------------------------------------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for title, help_text, action in (
            ("Focus the prompt", "Type a new prompt (/)", self.action_focus_prompt),
            ("Upscale selected tile", "Press U1–U4 for the selected tile (u)", self.action_upscale),
            ("Variations of selected tile", "Press V1–V4 (v)", self.action_vary),
            ("Reroll", "Press 🔄 on the selected job (r)", self.action_reroll),
            ("Parent job", "Go to the job this one came from (p)", self.action_parent),
            ("First child job", "Go to the first job made from this one (c)", self.action_child),
            ("Retry job", "Resubmit a failed, stalled or uncertain job (R)", self.action_retry),
            (
                "Open tile full screen",
                "Show the selected tile large (Enter)",
                self.action_open_tile,
            ),
            ("Reload images", "Download failed tiles again (i)", self.action_reload_images),
            ("Toggle favourite", "Mark the selected job (f)", self.action_favourite),
            ("Keys", "Show every key (?)", self.action_help),
        ):
            yield SystemCommand(title, help_text, action)


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
