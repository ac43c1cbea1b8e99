"""The main screen: prompt on top, job tree left, the selected job's pane right.

It owns the selection and the actions on it (the keys are in ``app/ui/actions.py``);
the widgets draw, the job manager does the work. Job news arrives as typed messages
(``app/ui/messages.py``), handled one at a time, cheaply.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Awaitable
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input

from app.jobs.lineage import descendants, tree_root
from app.jobs.model import REROLL_LABEL, Job, JobState
from app.jobs.store import HistoryShape, TreeReader
from app.runtime import Backend
from app.settings import Settings
from app.text import clean_text
from app.ui.actions import Target, bindings
from app.ui.format import shown_title
from app.ui.grid import ImageGrid
from app.ui.messages import (
    ConnectionStatus,
    HistoryMoved,
    ImagesArrived,
    JobUpdated,
    ServiceNotice,
)
from app.ui.prompt_check import problem_line
from app.ui.widgets.button_bar import CUSTOM_ZOOM, ButtonBar
from app.ui.widgets.footer import KeyFooter
from app.ui.widgets.history_bar import HistoryBar, View
from app.ui.widgets.job_list import Clock, JobList
from app.ui.widgets.job_panel import JobPanel
from app.ui.widgets.prompt import PromptInput, PromptPane
from app.ui.widgets.status import StatusInfo, StatusLine

# The job manager and the backends load after the first frame (app.py opens them in a
# worker); the dialogs, saving and exporting when first asked for.
if TYPE_CHECKING:
    from app.ui import sharing

NARROW_BELOW = 100  # columns: below this the list and the job take turns
POST_FIRST = 0.05  # seconds a new job's layout waits at most for its POST to go out


class MainScreen(Screen[None]):
    DEFAULT_CSS = """
    MainScreen {
        layout: vertical;
        & > #main { height: 1fr; }
        & #left { width: 46%; height: 1fr; }
        /* Narrow: the list or the selected job, each the full width (side by side the
           list lost its State column and the tiles were 8 cells wide). Enter shows the
           job, Esc the list again. */
        &.-narrow #left { width: 1fr; }
        &.-narrow #right { display: none; }
        &.-narrow.-job #left { display: none; }
        &.-narrow.-job #right { display: block; }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = bindings("main")
    HORIZONTAL_BREAKPOINTS = [  # noqa: RUF012 (Screen declares it an instance variable)
        (0, "-narrow"),
        (NARROW_BELOW, "-wide"),
    ]

    def __init__(
        self, settings: Settings, shape: Future[HistoryShape | None], elapsed: Clock
    ) -> None:
        super().__init__()
        self.settings = settings
        self.backend: Backend | None = None
        self._shape = shape  # the end of the list, drawn before the backend is open
        self._reader: TreeReader | None = None  # the list's reads (a thread's connection)
        self._elapsed = elapsed
        self._selected: str | None = None
        self._view = View()  # the view the list shows (the history bar's, once applied)
        self._online = (True, "")
        self._seeds: set[str] = set()  # jobs whose seed was announced
        self._attached_at = float("inf")  # jobs that finished before are history: no news
        self._early_prompt: str | None = None  # submitted before the backend was open
        self._start_failed = False
        self._blend: list[str] = []  # tile URLs marked for a blend (b), in order
        self._told_clipboard = False  # how to make OSC 52 copies work, said once

    def compose(self) -> ComposeResult:
        yield PromptPane(id="prompt-pane")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield HistoryBar(id="search")
                yield JobList(elapsed=self._elapsed, id="jobs")
            yield JobPanel(self.settings.graphics, id="right")
        yield StatusLine(id="status")
        yield KeyFooter()

    # -- the widgets, by name ---------------------------------------------------------------

    @property
    def table(self) -> JobList:
        return self.query_one("#jobs", JobList)

    @property
    def panel(self) -> JobPanel:
        return self.query_one("#right", JobPanel)

    @property
    def grid(self) -> ImageGrid:
        return self.panel.grid

    @property
    def prompt_input(self) -> PromptInput:
        return self.query_one("#prompt", PromptInput)

    @property
    def search_input(self) -> HistoryBar:
        return self.query_one("#search", HistoryBar)

    def node_for(self, target: Target) -> Widget | None:
        """The node whose BINDINGS hold ``target``'s actions (None: the app)."""
        found = {"main": self, "jobs": self.table, "prompt": self.prompt_input}
        return found.get(target, self.search_input if target == "search" else None)

    @property
    def view(self) -> View:
        return self._view

    @property
    def selected_job(self) -> Job | None:
        return self._job(self._selected)

    @property
    def grid_job(self) -> str | None:
        return self.panel.grid_job

    def _job(self, job_id: str | None) -> Job | None:
        if self.backend is None or job_id is None:
            return None
        return self.backend.manager.get(job_id)

    # -- start-up ---------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.table.border_title = "Jobs"
        self.query_one("#prompt-pane", PromptPane).show_error("")
        self.panel.show_message("Starting…")
        self.query_one("#buttons", ButtonBar).show(None, ())
        self.prompt_input.focus()
        self.set_interval(1.0, self._tick)
        self.set_interval(0.5, self.refresh_status)
        shape = self._shape.result()
        if shape is not None:  # the first frame shows the end of the history
            self.table.show_snapshot(shape.snapshot)
            if self.table.row_count:
                self.table.move_cursor(self.table.row_count - 1)

    def attach(self, backend: Backend) -> None:
        """The backend is open: list the jobs that came since the history's shape was
        read, and send a prompt typed while starting."""
        self.backend = backend
        self.panel.images = backend.images
        self._attached_at = time.time()
        self.prompt_input.set_history(list(reversed(backend.store.prompts())))
        self.prompt_input.check_params = lambda: backend.manager.settings.prompt_parameters
        # Rows are read a page at a time as they come on screen: never the whole history.
        self._reader = TreeReader(backend.store)
        self.table.use_reader(self._reader.snapshot, backend.manager.fresh)
        if self._view.active:
            self._filter()
        self._selected = None  # selected before the jobs were there: show it now
        self._select(self.table.selected_id)
        if not self.table.row_count:
            self.panel.show_message("No jobs yet: type a prompt above and press Enter.")
        if self._early_prompt is not None:
            prompt, self._early_prompt = self._early_prompt, None
            self._submit(prompt)
        self.refresh_status()

    def start_failed(self, why: str) -> None:
        self._start_failed = True
        self.panel.show_message(f"Could not start: {why}")
        self.refresh_status()

    def on_unmount(self) -> None:
        self.backend = None  # news still queued finds nothing to draw on
        if self._reader is not None:
            self._reader.close()

    # -- job news ----------------------------------------------------------------------------

    def on_job_updated(self, message: JobUpdated) -> None:
        if self.backend is None:
            return
        with contextlib.suppress(NoMatches):  # news arriving while the app shuts down
            job = message.job
            self.table.upsert(job)
            if job.id == self._selected:
                self.panel.show(job, self._job(job.parent_id))
            self._announce_seed(job)

    def on_history_moved(self, message: HistoryMoved) -> None:
        self.table.reread()

    def on_images_arrived(self, message: ImagesArrived) -> None:
        if self.backend is not None:
            with contextlib.suppress(NoMatches):
                self.panel.images_arrived(message.job_id)

    def on_service_notice(self, message: ServiceNotice) -> None:
        self.notify(message.text, severity=message.severity, markup=False)

    def on_connection_status(self, message: ConnectionStatus) -> None:
        self._online = (message.online, message.text)
        self.notify(
            message.text, severity="information" if message.online else "warning", markup=False
        )
        self.refresh_status()

    def _announce_seed(self, job: Job) -> None:
        seed = job.options.get("seed")
        if seed is None or job.state is not JobState.DONE or job.id in self._seeds:
            return
        if (job.finished_at or time.time()) < self._attached_at:
            return
        self._seeds.add(job.id)
        text = clean_text(str(seed), single_line=True)
        self.notify(
            f"{shown_title(job)}: the seed is {text}", title="Seed", markup=False, timeout=15
        )

    # -- selection -----------------------------------------------------------------------------

    @on(JobList.Highlighted, "#jobs")
    def _row_highlighted(self, event: JobList.Highlighted) -> None:
        self._select(event.job_id)

    def _select(self, job_id: str | None) -> None:
        if job_id == self._selected and job_id is not None:
            return
        self._selected = job_id
        job = self._job(job_id)
        self.panel.show(job, self._job(job.parent_id) if job else None, later=True)

    def _select_new(self, job: Job) -> None:
        self.table.upsert(job)  # its JobUpdated is still queued: list it now to select it
        if self.table.select(job.id):  # else once the store has it
            self._select(job.id)  # now, not when Highlighted arrives: keys may come first

    def show_job(self, job_id: str) -> None:
        """Select ``job_id`` in the list, showing all jobs again if the view hides it."""

        def hidden() -> None:  # the view hid it: show every job
            self.action_clear_search()
            self.table.select(job_id)

        if self.table.select(job_id, hidden):
            self._select(job_id)
        self.table.focus()

    def _need_job(self) -> Job | None:
        job = self.selected_job
        if job is None:
            self.notify("Select a job first.", severity="warning")
        return job

    # -- the prompt ----------------------------------------------------------------------------

    @on(Input.Submitted, "#prompt")
    async def _submit_prompt(self, event: Input.Submitted) -> None:
        if self.backend is None:  # sent as soon as the backend is open
            self._early_prompt = event.value
            self.query_one("#prompt-pane", PromptPane).show_error(
                "Starting up: it goes out in a moment."
            )
            return
        job = self._send(event.value)
        if job is not None:
            # Its POST first: laying out the new job and drawing that frame held the event
            # loop the request needed (Enter -> the service had it: 60-90 ms).
            await self.backend.manager.posted(job.id, POST_FIRST)
            if self.backend is not None:  # not closing meanwhile
                self._show_new(job, event.value)

    def _submit(self, prompt: str) -> None:
        job = self._send(prompt)
        if job is not None:
            self._show_new(job, prompt)

    def _send(self, prompt: str) -> Job | None:
        """The new job, or None when the prompt was refused (said so under it)."""
        from app.jobs.manager import PromptError

        assert self.backend is not None
        try:
            return self.backend.manager.submit_imagine(prompt)
        except PromptError as exc:
            problem = self.prompt_input.problem()
            pane = self.query_one("#prompt-pane", PromptPane)
            pane.show_error(problem_line(problem) if problem else str(exc.args[0]))
            return None

    def _show_new(self, job: Job, prompt: str) -> None:
        self.query_one("#prompt-pane", PromptPane).show_error("")
        self.prompt_input.remember(job.prompt)
        if self.prompt_input.value == prompt:  # not a new draft typed while it waited
            self.prompt_input.value = ""
        self._select_new(job)
        # Keys act on the new job again (?, u, j were typed as text); / comes back.
        self.table.focus()

    @on(Input.Changed, "#prompt")
    def _prompt_changed(self) -> None:
        pane = self.query_one("#prompt-pane", PromptPane)
        # After a refused Enter the sentence follows the edits until the prompt is right.
        problem = self.prompt_input.problem() if pane.error_shown else None
        pane.show_error(problem_line(problem) if problem else "")

    # /, Esc, e and ctrl+f are priority bindings (see actions.py): the focus is set at
    # once, not later as Widget.focus() does, so that the keys behind them follow it.
    def action_focus_prompt(self) -> None:
        if isinstance(self.focused, Input):
            raise SkipAction()  # "/" typed in a text box is a slash
        self.set_focus(self.prompt_input)

    def action_leave_prompt(self) -> None:
        self.set_focus(self.table)

    async def action_key(self, action: str) -> None:
        """``action`` as its key runs it: in a text box the key is the box's own (e is
        typed, ctrl+f deletes a word); the palette runs ``action`` itself."""
        if isinstance(self.focused, Input):
            raise SkipAction()
        await self.run_action(action)

    def action_edit_prompt(self) -> None:
        """The selected job's prompt in the prompt pane, focused: Enter runs it again."""
        job = self._need_job()
        if job is not None:
            self.prompt_input.value = job.prompt
            self.prompt_input.cursor_position = len(job.prompt)
            self.set_focus(self.prompt_input)
            self.notify("Edit the prompt, then Enter runs it again.", timeout=2)

    # -- buttons -------------------------------------------------------------------------------

    @on(ButtonBar.Pressed)
    def _button_pressed(self, event: ButtonBar.Pressed) -> None:
        self.press(event.job_id, event.label)

    def press(self, job_id: str, label: str, **options: Any) -> Job | None:
        """Press a job's button; Custom Zoom first asks for its zoom and aspect ratio."""
        from app.ui import sharing

        if self.backend is None:
            return None
        if label == CUSTOM_ZOOM and not options:
            from app.ui.screens.zoom import CustomZoomScreen

            def answered(answer: tuple[float, str | None] | None) -> None:
                if answer is not None:
                    self.press(job_id, label, zoom=answer[0], ar=answer[1])

            self.app.push_screen(CustomZoomScreen(), answered)
            return None
        try:
            child = self.backend.manager.press(job_id, label, **options)
        except (ValueError, KeyError) as exc:
            self.notify(sharing.reason(exc), severity="warning", markup=False)
            return None
        self.notify(f"{shown_title(child)} started · press c to follow it", markup=False, timeout=3)
        return child

    def _press_selected(self, label: str) -> None:
        job = self._need_job()
        if job is not None:
            self.press(job.id, label)

    def action_upscale(self) -> None:
        self._press_selected(f"U{self.grid.selected}")

    def action_vary(self) -> None:
        self._press_selected(f"V{self.grid.selected}")

    def action_reroll(self) -> None:
        self._press_selected(REROLL_LABEL)

    # -- remix, describe, blend, seed (where the backend offers them) --------------------------

    def action_remix(self) -> None:
        from app.ui.screens.prompts import RemixScreen

        job = self._need_job()
        label = f"V{self.grid.selected}"
        if job is None or label not in job.buttons:
            self.notify("Remix works on a finished grid.", severity="warning", timeout=3)
            return

        def answered(prompt: str | None) -> None:
            if prompt is not None:
                self.press(job.id, label, prompt=prompt, remix=True)

        self.app.push_screen(RemixScreen(label, job.prompt), answered)

    def action_describe(self) -> None:
        from app.jobs.manager import PromptError
        from app.ui.screens.prompts import PickPromptScreen

        job = self.selected_job
        prompts = job.options.get("prompts") if job is not None else None
        if job is not None and job.kind == "describe" and prompts:

            def picked(prompt: str | None) -> None:
                if prompt is not None:  # into the prompt box: Enter runs it
                    self.prompt_input.value = prompt
                    self.prompt_input.cursor_position = len(prompt)
                    self.prompt_input.focus()

            self.app.push_screen(PickPromptScreen(prompts), picked)
            return
        tile = self._selected_tile()
        if tile is None or self.backend is None:
            return
        try:
            child = self.backend.manager.submit_describe(tile[2])
        except PromptError as exc:
            self.notify(str(exc.args[0]), severity="warning", markup=False)
            return
        self._select_new(child)
        self.notify("Describing: press d on it when done to pick a prompt.", timeout=3)

    def action_blend_mark(self) -> None:
        tile = self._selected_tile()
        if tile is None:
            return
        url = tile[2]
        if url in self._blend:
            self._blend.remove(url)
        elif len(self._blend) < 5:
            self._blend.append(url)
        else:
            self.notify("A blend takes at most 5 images.", severity="warning", timeout=3)
            return
        self.notify(f"{len(self._blend)} image(s) marked for a blend · B blends them", timeout=3)

    def action_blend(self) -> None:
        from app.jobs.manager import PromptError

        if self.backend is None:
            return
        try:
            child = self.backend.manager.submit_blend(list(self._blend))
        except PromptError as exc:
            self.notify(str(exc.args[0]), severity="warning", markup=False)
            return
        self._blend.clear()
        self._select_new(child)

    @work(group="seed", exclusive=True, exit_on_error=False)
    async def action_seed(self) -> None:
        from app.api.errors import ApiError

        job = self._need_job()
        if job is None or self.backend is None:
            return
        try:
            seed = await self.backend.manager.fetch_seed(job.id)
        except ApiError as exc:
            hint = " Press ✉️ for it." if "✉️" in job.buttons else ""
            self.notify(exc.human + hint, severity="warning", markup=False, timeout=4)
            return
        self.notify(f"{shown_title(job)}: the seed is {seed}", markup=False, timeout=6)

    # -- navigation ----------------------------------------------------------------------------

    def action_tile(self, index: int) -> None:
        if self.grid.single:
            self.notify("This job has one image.", timeout=2)
            return
        self.grid.select(index)

    def action_parent(self) -> None:
        job = self.selected_job
        if job is None:
            return

        def none() -> None:
            self.notify("This job is an original prompt: it has no parent.", timeout=3)

        if job.parent_id is None:
            none()
        else:
            self.table.select(job.parent_id, none)

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
        from app.jobs.manager import PromptError
        from app.ui import sharing

        job = self.selected_job
        if job is None or self.backend is None:
            return
        if not job.state.retryable:
            self.notify(
                f"Only a failed, stalled or uncertain job can be retried ({job.state}).",
                severity="warning",
                markup=False,
            )
            return
        try:
            new = self.backend.manager.retry(job.id)
        except (ValueError, KeyError, PromptError) as exc:
            self.notify(sharing.reason(exc), severity="warning", markup=False)
            return
        self._select_new(new)

    def action_reload_images(self) -> None:
        self.panel.reload()

    @on(JobList.OpenTile)
    def action_open_tile(self) -> None:
        if self.has_class("-narrow") and not self.has_class("-job"):
            self.add_class("-job")  # first the job, full width; Enter again: the tile
            self.set_focus(None)  # the screen's keys: u v 1–4, Enter, Esc
            self.refresh_bindings()  # Esc (back to the list) joins the footer
            return
        self.panel.open_tile()

    # -- the history: filter, search, favourites -------------------------------------------------

    def action_cycle_filter(self) -> None:
        state = self.search_input.cycle_filter()
        self._apply_view(self.search_input.view)
        self.notify(f"Showing {state} jobs", timeout=2)

    def action_search(self) -> None:
        self.search_input.open()
        self.set_focus(self.search_input)  # at once: the keys typed next are the query

    def on_resize(self) -> None:
        self.refresh_bindings()  # Esc back to the list: in the footer only when narrow

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back_to_list":  # in the footer only where it applies
            return self.has_class("-narrow") and self.has_class("-job")
        return True

    def action_back_to_list(self) -> None:
        self.remove_class("-job")
        self.table.focus()
        self.refresh_bindings()

    def action_clear_view(self) -> None:
        if self.has_class("-job"):  # the job was shown in a narrow terminal, since widened
            self.action_back_to_list()
            return
        if self._view.active or self.search_input.display:
            self.action_clear_search()

    def action_clear_search(self) -> None:
        """Esc in the search box or on the list: every job again, the list focused."""
        self.search_input.clear()
        self._apply_view(self.search_input.view)
        self.table.focus()

    @on(HistoryBar.ViewChanged)
    def _view_changed(self, event: HistoryBar.ViewChanged) -> None:
        self._apply_view(event.view)

    @on(HistoryBar.Done)
    def _search_done(self) -> None:
        self.table.focus()

    def _apply_view(self, view: View) -> None:
        if view == self._view:
            return
        self._view = view
        self._filter()

    def _filter(self) -> None:
        """List the jobs the view accepts: the store finds them a page at a time, in a
        thread (a search of 100,000 jobs takes a quarter of a second)."""
        view = self._view
        if view.active:
            self.table.set_view(*view.condition(), view.predicate())
        else:
            self.table.set_view()

    @on(JobList.Counted)
    def _counted(self) -> None:
        """The list's length was read again: say it, and that nothing matches."""
        self._update_list_title()
        if not self.table.row_count:
            self._select(None)
            if self.backend is not None and self.backend.manager.count:
                self.panel.show_message("No job matches. Esc shows every job.")
        self.refresh_status()

    def _update_list_title(self) -> None:
        words = self._view.describe()
        total = self.backend.manager.count if self.backend is not None else 0
        count = f" · {words} · {self.table.row_count} of {total}" if words else ""
        self.table.border_title = Text(f"Jobs{count}")

    def action_favourite(self) -> None:
        job = self.selected_job
        if job is not None and self.backend is not None:
            self.backend.manager.set_favourite(job.id, not job.favourite)

    # -- saving and sharing ------------------------------------------------------------------------

    def _selected_tile(self) -> tuple[Job, int, str] | None:
        """The selected job, tile number and URL of the selected tile of a done job."""
        job = self.selected_job
        urls = job.display_urls if job is not None else ()
        if job is None or job.state is not JobState.DONE or not urls:
            self.notify("No finished image selected.", severity="warning", timeout=3)
            return None
        index = 1 if len(urls) == 1 else self.grid.selected
        index = index if 1 <= index <= len(urls) else 1
        return job, index, urls[index - 1]

    def save_folder(self) -> Path:
        """Where saves go: the last folder used, else ~/Pictures/imagine-tui or exports/."""
        from app.export import default_export_dir

        last = self.backend.manager.recalled("save_dir") if self.backend is not None else None
        return Path(last) if last else default_export_dir(self.settings.data_dir)

    @work(group="share", exit_on_error=False)
    async def _share(self, task: Awaitable[sharing.Note]) -> None:
        note = await task
        self.notify(note.text, severity=note.severity, markup=False, timeout=note.timeout)

    def _ask_folder(self, title: str, folder: Path, what: str, then: Any) -> None:
        from app.ui.screens.save import SaveScreen

        def answered(dest: Path | None) -> None:
            if dest is not None and self.backend is not None:
                self._share(then(self.backend, dest))

        self.app.push_screen(SaveScreen(title, folder, what), answered)

    def action_save_tile(self) -> None:
        from app.ui import sharing

        picked = self._selected_tile()
        if picked is not None:
            job, index, _url = picked
            self._ask_folder(
                f"Save tile {index} of {shown_title(job)}",
                self.save_folder(),
                "Save",
                lambda backend, dest: sharing.save_images(backend, job, [index], dest),
            )

    def action_save_job(self) -> None:
        from app.ui import sharing

        picked = self._selected_tile()
        if picked is not None:
            job = picked[0]
            self._ask_folder(
                f"Save all {len(job.display_urls)} images of {shown_title(job)}",
                self.save_folder(),
                "Save",
                lambda backend, dest: sharing.save_images(backend, job, None, dest),
            )

    def action_export_tree(self) -> None:
        from app.images.cache import safe_stem
        from app.ui import sharing

        job = self.selected_job
        if job is None or self.backend is None:
            self.notify("Select a job first.", severity="warning")
            return
        jobs = self.backend.manager.family(job.id)
        root = tree_root(jobs, job.id)
        count = len(descendants(jobs, root))
        self._ask_folder(
            f"Export this tree ({count} job{'s' if count != 1 else ''}) with an index.html",
            self.save_folder() / f"imagine-tree-{safe_stem(root)}",
            "Export",
            lambda backend, dest: sharing.export(backend, root, dest),
        )

    def action_open_external(self) -> None:
        from app.ui import sharing

        picked = self._selected_tile()
        if picked is not None and self.backend is not None:
            self._share(sharing.open_external(self.backend, picked[2]))

    def action_copy_url(self) -> None:
        picked = self._selected_tile()
        if picked is not None:
            job, index, url = picked
            self._copy(url, f"the link of {shown_title(job)} tile {index}")

    def action_copy_prompt(self) -> None:
        job = self._need_job()
        if job is not None:
            self._copy(job.prompt, "the prompt")

    @work(group="copy", exit_on_error=False)
    async def _copy(self, text: str, what: str) -> None:
        from app.ui import sharing

        self.app.copy_to_clipboard(text)
        self.notify(f"Copied {what} (OSC 52)", markup=False, timeout=3)
        if not self._told_clipboard:  # once: the terminal may drop it without a word
            self._told_clipboard = True
            problem = await sharing.clipboard_problem(dict(os.environ))
            if problem is not None:
                self.notify(problem, title="Clipboard", markup=False, timeout=15)

    # -- timers ----------------------------------------------------------------------------------

    def _tick(self) -> None:
        if self.backend is not None:
            with contextlib.suppress(NoMatches):  # a tick while the app shuts down
                self.table.tick()

    def refresh_status(self) -> None:
        with contextlib.suppress(NoMatches):  # a tick while the app shuts down
            self.query_one("#status", StatusLine).set_info(self._status())
            if self._view.active:
                self._update_list_title()

    def _status(self) -> StatusInfo:
        backend = self.backend
        if backend is None:
            return StatusInfo(backend="not started") if self._start_failed else StatusInfo()
        budget = backend.budget
        return StatusInfo(
            backend=_host(backend.base_url),
            demo=backend.demo,
            in_flight=backend.manager.in_flight,
            holding=budget.waiting if budget.holding_back else 0,
            online=self._online[0],
            offline_reason=self._online[1],
            total=backend.manager.count,
            view=self._view.describe(),
            shown=self.table.row_count,
        )


def _host(url: str) -> str:
    rest = url.split("://", 1)[-1]
    return rest.split("/", 1)[0].rpartition("@")[2] or url  # never user:password@
