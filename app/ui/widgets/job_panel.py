"""The right-hand pane: the selected job's detail lines, its image grid and its buttons.

Moving through the list shows the row's text at once. Its images load at once too when
the cursor had rested (the previous move was GRID_DELAY ago or longer); while moves come
faster than that (j held down), only once the cursor rests for GRID_DELAY, so holding j
scrolls smoothly and only the last row loads images. Images are fetched and thumbnailed
in workers; the grid draws what comes back only if the job is still the one shown.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.timer import Timer
from textual.widgets import Static

from app.jobs.model import Job, JobState
from app.text import clean_text
from app.ui.format import BLOCKED_CODES, STATE_STYLE, shown_title, state_text
from app.ui.grid import FULL_THUMB, ImageGrid, Tile, TileView, thumb_size
from app.ui.widgets.button_bar import ButtonBar

if TYPE_CHECKING:
    from PIL import Image as PILImage

    from app.images.pipeline import ImagePipeline

GRID_DELAY = 0.07  # seconds between moves that count as keys repeating (j held down)
DETAIL_LINES = 4  # the detail's max-height below
FAILED_LINES = 8  # a failure's: its reason and what to do next must fit


def waiting_hint(job: Job) -> str:
    """What the grid says while a job has no images to show."""
    if job.state is JobState.QUEUED:
        return "Queued: waiting for the request budget…"
    if job.state is JobState.SUBMITTED:
        return "Submitted: waiting for the first progress report…"
    if job.state is JobState.RUNNING:
        return "Running: waiting for a preview…"  # the percent: header and list, one source
    if job.state is JobState.STALLED:
        return f"Stalled at {job.progress}%. Press R to retry."
    if job.state is JobState.UNCERTAIN:
        return "Uncertain: the service may or may not have this job. Press R to resubmit."
    if job.state is JobState.FAILED:
        return f"Failed: {clean_text(job.error or 'unknown reason')}\n{_next_step(job)}."
    return "Done, but the service sent no images."


def _next_step(job: Job) -> str:
    """Retrying a refused prompt sends the same words again: editing it is what helps."""
    if job.error_code in BLOCKED_CODES:
        return "Press e to edit the prompt"
    return "Press R to retry"


def detail_text(job: Job, parent: Job | None) -> Text:
    """Title, state and parent; the prompt; the seed; a retryable job's error."""
    text = Text()
    text.append(shown_title(job), style="bold")
    if job.favourite:
        text.append(" ★", style="yellow")
    text.append(" · ")
    text.append_text(state_text(job, 200))
    if parent is not None:  # " · ": still apart when a narrow pane wraps the line there
        text.append(f" · from {shown_title(parent)}", style="dim")
    text.append("\n")
    text.append(clean_text(job.prompt, single_line=True), style="italic")
    seed = job.options.get("seed")
    if seed is not None:
        text.append("\n")
        text.append("seed ", style="dim")
        text.append(clean_text(str(seed), single_line=True), style="bold green")
    if job.error and job.state.retryable:
        # what to do first, on its own line: a long reason cannot push it out of sight
        text.append("\n")
        text.append(f"{_next_step(job)}.", style="bold")
        text.append("\n")
        text.append(clean_text(job.error), style=STATE_STYLE[job.state])
    return text


def _just_finished(before: Job | None, job: Job) -> bool:
    """``job`` turned done while shown, with images to show."""
    return (
        before is not None
        and before.id == job.id
        and before.state.active
        and job.state is JobState.DONE
        and bool(job.display_urls)
    )


class JobPanel(Vertical):
    """Detail, grid and buttons of one job; :meth:`show` is the one way in."""

    DEFAULT_CSS = f"""
    JobPanel {{
        width: 1fr;
        height: 1fr;
        padding: 0 1;
        & > #detail {{ height: auto; max-height: {DETAIL_LINES}; padding: 0 1; }}
        & > #detail.-failed {{ max-height: {FAILED_LINES}; }}
    }}
    ImageGrid {{
        grid-size: 2 2;
        grid-gutter: 0 1;
        height: 1fr;
        &.-single {{ grid-size: 1 1; }}
        &.-single #tile-2, &.-single #tile-3, &.-single #tile-4 {{ display: none; }}
    }}
    Tile {{
        width: 1fr;
        height: 1fr;
        border: round $panel-lighten-2;
        padding: 0;
        &.-selected {{ border: heavy $accent; }}
        &.-failed {{ border: round $error; }}
        & .tile-label {{
            dock: top;
            width: 100%;
            height: 1;
            color: $text-muted;
            text-style: bold;
            padding: 0 1;
        }}
        &.-selected .tile-label {{ color: $accent; }}
        & .tile-frame {{ width: 1fr; height: 1fr; align: center middle; }}
        & .tile-image {{ width: auto; height: auto; }}
        & .tile-note {{
            width: 100%;
            height: auto;
            content-align: center middle;
            text-align: center;
            color: $text-muted;
        }}
        &.-failed .tile-note {{ color: $error; }}
    }}
    """

    def __init__(self, graphics: str, id: str | None = None) -> None:
        super().__init__(id=id)
        self._graphics = graphics
        self.images: ImagePipeline | None = None  # set once the backend is open
        self._job: Job | None = None  # the job shown (its newest state)
        self._grid_key: tuple[Any, ...] | None = None  # what the grid was last asked to draw
        self._grid_job: str | None = None  # the job whose images the grid shows
        self._timer: Timer | None = None
        self._moved_at = -GRID_DELAY  # time.monotonic() of the last cursor move
        # A job that just finished: its buttons, shown with its images (job id, labels).
        self._buttons_later: tuple[str, tuple[str, ...]] | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="detail")
        yield ImageGrid(self._graphics, id="grid")
        yield ButtonBar(id="buttons")

    @property
    def grid(self) -> ImageGrid:
        return self.query_one("#grid", ImageGrid)

    @property
    def job(self) -> Job | None:
        return self._job

    @property
    def grid_job(self) -> str | None:
        """The job whose images (or waiting text) the grid shows; it follows the selection
        after GRID_DELAY."""
        return self._grid_job

    @property
    def current(self) -> bool:
        """The grid shows the selected job (not still the previous row's images)."""
        return self._job is not None and self._grid_job == self._job.id

    # -- what is shown ------------------------------------------------------------------

    def show(self, job: Job | None, parent: Job | None = None, *, later: bool = False) -> None:
        """Detail and buttons of ``job`` now; its images now, or if ``later`` (a cursor
        move) right after a quick previous move, once the cursor rests for GRID_DELAY.
        None: nothing selected."""
        before, self._job = self._job, job
        buttons = self.query_one("#buttons", ButtonBar)
        self._buttons_later = None
        if job is None:
            self.stop()
            self._set_detail(Text(""), DETAIL_LINES)
            buttons.show(None, ())
            self._grid_key = None
            self._grid_job = None
            return
        failed = bool(job.error and job.state.retryable)
        self._set_detail(detail_text(job, parent), FAILED_LINES if failed else DETAIL_LINES)
        hint = "Buttons appear when the job is done." if job.state.active else ""
        if _just_finished(before, job) and self.images is not None:
            # Shown with its images, in one layout pass: rebuilt now, the buttons' layout
            # held the event loop while the images downloaded, and again when they came.
            self._buttons_later = (job.id, job.buttons)
        else:
            buttons.show(job.id, job.buttons if job.state is JobState.DONE else (), hint)
        if later:
            now, moved = time.monotonic(), self._moved_at
            self._moved_at = now
            if self._timer is not None or now - moved < GRID_DELAY:  # keys repeating
                self.stop()
                self._timer = self.set_timer(GRID_DELAY, self._timer_fired)
                return
        if self._timer is None:  # else the pending timer draws the latest state
            self._show_images(job)

    def show_message(self, text: str) -> None:
        """No job's images: one line of text in the grid."""
        self.grid.show_message(text)

    def images_arrived(self, job_id: str) -> None:
        """The shown job's images are on disk now: draw them."""
        if self._job is not None and self._job.id == job_id:
            self._grid_key = None
            if self._timer is None:
                self._show_images(self._job)

    def reload(self) -> None:
        """Fetch the shown job's images again (tiles that failed to download)."""
        job = self._job
        if job is None or not (job.display_urls or job.progress_image_url):
            self.notify("Nothing to reload: this job has no images yet.", timeout=3)
            return
        failed = self.current and any(self.grid.tile(i).view.failed for i in range(1, 5))
        if self.current and not failed:
            self.notify("Nothing to reload: every image is here.", timeout=3)
            return
        self._show_images(job, force=True)

    def flush(self) -> None:
        """Draw the grid now if it is still waiting for GRID_DELAY."""
        if self._timer is not None:
            self.stop()
            self._timer_fired()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def _timer_fired(self) -> None:
        self._timer = None
        if self._job is not None:
            with contextlib.suppress(NoMatches):  # the timer fired during shut-down
                self._show_images(self._job)

    def _set_detail(self, text: Text, most: int) -> None:
        """Update the detail; re-lay out the screen only if its height may change.

        A layout pass re-renders every widget, the job list included: done on each cursor
        move it was the largest part of the key-to-screen time. When no line needs
        wrapping, the height is the line count, so an equal count needs no layout.
        ``most``: the lines it may take (more for a failure).
        """
        detail = self.query_one("#detail", Static)
        width, height = detail.content_size
        lines = text.plain.split("\n")
        fits = width > 0 and all(0 < cell_len(line) <= width for line in lines)
        detail.set_class(most == FAILED_LINES, "-failed")
        detail.update(text, layout=not (fits and min(len(lines), most) == height))

    def _show_images(self, job: Job, *, force: bool = False) -> None:
        grid = self.grid
        if job.state is JobState.DONE and job.display_urls:
            key: tuple[Any, ...] = (job.id, "done", job.display_urls)
            if force or key != self._grid_key:
                self._grid_key = key
                single = len(job.display_urls) == 1
                caption = [f"{shown_title(job)} · Enter opens"] if single else None
                self._load_tiles(job.id, job.display_urls, self._thumb_size(single), caption)
            return
        if job.state.active and job.progress_image_url:
            caption = ["preview"]
            key = (job.id, "preview", job.progress_image_url)
            if force or key != self._grid_key:
                self._grid_key = key
                url = job.progress_image_url
                self._load_tiles(job.id, (url,), self._thumb_size(True), caption)
            else:
                grid.tile(1).set_caption(caption[0])
            return
        key = (job.id, "text", job.state, job.progress, job.error)
        if force or key != self._grid_key:
            self._grid_key = key
            self._grid_job = job.id
            grid.show_message(waiting_hint(job))

    def _thumb_size(self, single: bool) -> tuple[int, int]:
        screen = self.app.size
        return thumb_size(self._graphics, (screen.width, screen.height), 1 if single else 2)

    @work(exclusive=True, group="grid", exit_on_error=False)
    async def _load_tiles(
        self,
        job_id: str,
        urls: tuple[str, ...],
        size: tuple[int, int],
        captions: list[str] | None,
    ) -> None:
        from app.images.model import ImageFailure  # not needed for the first screen

        if self.images is None:
            return
        results = await self.images.thumbnails(list(urls), size)
        if self._job is None or job_id != self._job.id:
            return  # the user moved on while we were loading
        views = [
            TileView(note=f"✗ {r.human}\nclick or press i to try again", failed=True, url=r.url)
            if isinstance(r, ImageFailure)
            else TileView(image=r.thumbnail, url=r.url)
            for r in results
        ]
        if len(views) > 1:
            await self.grid.four()
            if self._job is None or job_id != self._job.id:
                return
        self._grid_job = job_id
        self.grid.show_views(views, captions)
        if self._buttons_later is not None and self._buttons_later[0] == job_id:
            self.query_one("#buttons", ButtonBar).show(job_id, self._buttons_later[1])
            self._buttons_later = None

    # -- tiles and the full-screen view -------------------------------------------------

    @on(Tile.Clicked)
    def _tile_clicked(self, event: Tile.Clicked) -> None:
        if not self.current:
            return  # the grid still shows the previous row's images
        tile = self.grid.tile(event.index)
        if tile.view.failed:
            self.reload()
            return
        if not self.grid.single:
            self.grid.select(event.index)
        self.open_tile()

    def open_tile(self) -> None:
        """The selected tile full screen, as large as the terminal allows."""
        from app.ui.screens.image import ImageScreen  # with Pillow: not on the first screen

        self.flush()
        tile = self.grid.tile(self.grid.selected)
        job = self._job
        if not self.current or tile.view.image is None or tile.view.url is None or job is None:
            self.notify("No image to open here yet.", timeout=2)
            return
        shown = [self.grid.tile(i) for i in range(1, 2 if self.grid.single else 5)]
        tiles = [(t.view.url, t.view.image) for t in shown if t.view.url and t.view.image]
        index = tile.index if len(tiles) == len(shown) else 1
        job_id = job.id
        has_buttons = any(label in job.buttons for label in ("U1", "V1"))
        self.app.push_screen(
            ImageScreen(
                shown_title(job),
                tiles,
                index,
                self._graphics,
                load=self._load_full,
                on_tile=self.grid.select,
                press=(lambda label: self.post_message(ButtonBar.Pressed(job_id, label)))
                if has_buttons
                else None,
            )
        )

    async def _load_full(self, url: str, fallback: PILImage.Image) -> PILImage.Image:
        if self.images is None:
            return fallback
        return (await self.images.thumbnail(url, FULL_THUMB)).thumbnail
