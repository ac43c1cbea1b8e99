"""The job list: every job in tree order (children under their parent), drawn line by line.

A history can hold 10,000 jobs. The list keeps only their order (a list of ids) and draws
the rows on screen through Textual's line API, as ``Log`` does: start-up, filtering and a
new child cost list work over ids, never a widget, a Text or a table row per job. A
JobChanged redraws that one line; a new child rebuilds the order, keeping the cursor on
the same job.

The list can be drawn from the history's shape (every id and parent) and the newest jobs
alone (:meth:`JobList.load_shape`); a row whose job is not read yet shows "…" until a
source (:meth:`JobList.use_source`) reads the rows on screen, a few screens at a time: a
history of 100,000 jobs is never held whole (issue 13). Filters then take the ids the
store found (:meth:`JobList.set_filter`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from app.gcpause import gc_paused
from app.jobs.model import Job
from app.ui.actions import bindings
from app.ui.format import elapsed_text, prompt_text, state_text, title_text, tree_prefix

# (key, header, width); the prompt (width 0) takes what the others leave.
COLUMNS = (
    ("job", "Job", 11),
    ("prompt", "Prompt", 0),
    ("state", "State", 22),
    ("time", "Time", 5),
)
MIN_PROMPT = 10
HEADER = 1  # lines above the first row

Clock = Callable[[Job], float | None]
Source = Callable[[list[str]], dict[str, Job]]  # the jobs of these ids (those that exist)
HELD = 2000  # jobs kept for drawing: a few screens around the cursor


def default_elapsed(job: Job) -> float | None:
    return job.elapsed


def column_widths(width: int) -> list[int]:
    """Cell widths (without the one-cell padding either side) for a list ``width`` wide."""
    fixed = sum(w for _, _, w in COLUMNS) + 2 * len(COLUMNS)
    return [w or max(MIN_PROMPT, width - fixed) for _, _, w in COLUMNS]


class JobList(ScrollView, can_focus=True):
    """Rows are job ids. ``elapsed`` lets snapshot tests hide wall-clock time."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "joblist--header",
        "joblist--cursor",
        "joblist--even-row",
    }
    DEFAULT_CSS = """
    JobList {
        width: 100%;
        height: 1fr;
        border: round $panel-lighten-2;
        border-title-color: $text-muted;
        background: $surface;
        color: $foreground;
        overflow-x: hidden;
        &:focus {
            border: round $primary;
            background-tint: $foreground 5%;
            & > .joblist--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .joblist--header { background-tint: $foreground 5%; }
        }
        & > .joblist--header { text-style: bold; background: $panel; color: $foreground; }
        &:ansi > .joblist--header { background: ansi_bright_blue; color: ansi_default; }
        & > .joblist--even-row { background: $surface-lighten-1 50%; }
        &:dark > .joblist--even-row { background: $surface-darken-1 40%; }
        & > .joblist--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = bindings("jobs")

    class Highlighted(Message):
        """The cursor moved to another job (None: the list is empty)."""

        def __init__(self, job_list: JobList, job_id: str | None) -> None:
            super().__init__()
            self.job_list = job_list
            self.job_id = job_id

        @property
        def control(self) -> JobList:
            return self.job_list

    class OpenTile(Message):
        """Enter on the list opens the selected tile (the rows themselves have no page)."""

    def __init__(self, *, elapsed: Clock = default_elapsed, id: str | None = None) -> None:
        super().__init__(id=id)
        self._elapsed = elapsed
        self._jobs: dict[str, Job] = {}  # every listed job, once loaded
        self._parent_of: dict[str, str | None] = {}  # each id's parent on the list (None: root)
        self._kids: dict[str | None, list[str]] = {}
        self._show: Callable[[Job], bool] | None = None  # None: every job is listed
        self._shown: set[str] | None = None  # ids the filter accepted, as the store said
        self._source: Source | None = None
        self._rows: list[str] = []  # job ids on the list, top to bottom
        self._order: list[str] | None = None  # every job's id in tree order, until a link
        self._index: dict[str, int] | None = None  # row of each id, built when asked
        self.cursor_row = 0
        self._strips: LRUCache[tuple[object, ...], tuple[Job, Strip]] = LRUCache(512)

    # -- queries ------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self._rows)

    @property
    def selected_id(self) -> str | None:
        return self._rows[self.cursor_row] if self._rows else None

    @property
    def filtered(self) -> bool:
        return self._show is not None

    @property
    def total(self) -> int:
        return len(self._parent_of)

    @property
    def complete(self) -> bool:
        """Every job can be drawn: loaded, or read when it comes on screen."""
        return self._source is not None or len(self._jobs) == len(self._parent_of)

    def unloaded_on_screen(self) -> int:
        """Rows in view still waiting for their job (drawn as "…")."""
        top = self.scroll_offset.y
        on_screen = self._rows[top : top + max(0, self.size.height - HEADER)]
        return sum(1 for job_id in on_screen if job_id not in self._jobs)

    def shows(self, job: Job) -> bool:
        return self._show is None or self._show(job)

    def row_index(self, job_id: str) -> int | None:
        if self._index is None:
            self._index = {job_id: row for row, job_id in enumerate(self._rows)}
        return self._index.get(job_id)

    def cells(self, job_id: str) -> dict[str, Text]:
        """The row's cells as drawn, by column key (for tests and screen readers)."""
        job = self._jobs.get(job_id) or self._read_around(self.row_index(job_id) or 0)[job_id]
        widths = column_widths(self.scrollable_content_region.width)
        return dict(zip((key for key, _, _ in COLUMNS), self._cells(job, widths), strict=True))

    def tree_order(self) -> list[str]:
        return list(self._tree_order())

    def _tree_order(self) -> list[str]:
        """Kept until the tree changes: a filter then orders its rows without walking the
        tree (50 ms for 100,000 jobs)."""
        if self._order is None:
            order: list[str] = []
            stack = list(reversed(self._kids.get(None, [])))
            while stack:  # iterative: a deep chain of variations must not hit the recursion limit
                job_id = stack.pop()
                order.append(job_id)
                stack.extend(reversed(self._kids.get(job_id, [])))
            self._order = order
        return self._order

    # -- changes ------------------------------------------------------------------------

    def load(self, jobs: Iterable[Job]) -> None:
        """Replace everything (start-up), keeping the cursor on the same job."""
        with gc_paused():
            ordered = sorted(jobs, key=lambda j: j.created_at)
            self._reset()
            for job in ordered:
                self._link(job.id, job.parent_id)
            self._jobs = {job.id: job for job in ordered}
            self._rebuild()

    def load_shape(self, lineage: Iterable[tuple[str, str | None]], jobs: Iterable[Job]) -> None:
        """List every job of ``lineage`` ((id, parent id), oldest first) and draw those
        of ``jobs``; the others show "…" until :meth:`load`."""
        with gc_paused():
            self._reset()
            for job_id, parent_id in lineage:
                self._link(job_id, parent_id)
            self._jobs = {job.id: job for job in jobs if job.id in self._parent_of}
            self._rebuild()

    def use_source(self, source: Source) -> None:
        """Read the jobs of rows coming on screen from ``source``, not from :meth:`load`."""
        self._source = source
        self.refresh()

    def set_filter(
        self, show: Callable[[Job], bool] | None, matching: Iterable[str] | None = None
    ) -> None:
        """List only the jobs ``show`` accepts (None: all); one pass over the ids.
        ``matching``: the ids ``show`` accepts, when the jobs are not all loaded (the
        store's answer to the same question); later changes are tested with ``show``."""
        self._show = show
        self._shown = None if show is None or matching is None else set(matching)
        with gc_paused():
            self._rebuild()

    def add_links(self, lineage: Iterable[tuple[str, str | None]]) -> None:
        """List the ids of ``lineage`` ((id, parent id), oldest first) not listed yet."""
        new = [(i, p) for i, p in lineage if i not in self._parent_of]
        if new:
            for job_id, parent_id in new:
                self._link(job_id, parent_id)
            self._rebuild()

    def upsert(self, job: Job) -> None:
        """Redraw a changed row, append a new root, or rebuild for a new child."""
        if job.id in self._parent_of:
            old = self._jobs.get(job.id)
            self._hold(job)
            listed = self.shows(job)
            was = self._listed(job.id, old)
            if self._shown is not None:
                (self._shown.add if listed else self._shown.discard)(job.id)
            if self._show is not None and was != listed:
                self._rebuild()  # it enters or leaves the filtered view
            else:
                self._refresh_job(job.id)
            return
        self._link(job.id, job.parent_id)
        self._hold(job)
        if not self.shows(job):
            return
        if self._shown is not None:
            self._shown.add(job.id)
        if self._parent_of[job.id] is None:
            self._rows.append(job.id)
            if self._index is not None:
                self._index[job.id] = len(self._rows) - 1
            self._rows_changed(highlight=len(self._rows) == 1)
        else:
            self._rebuild()

    def tick(self) -> None:
        """Redraw the elapsed time of unfinished jobs on screen (called once a second)."""
        top = self.scroll_offset.y
        for row in range(top, min(len(self._rows), top + self.size.height)):
            job = self._jobs.get(self._rows[row])
            if job is not None and not job.state.finished:
                self.refresh_line(row + HEADER)

    def select(self, job_id: str) -> bool:
        row = self.row_index(job_id)
        if row is None:
            return False
        self.move_cursor(row)
        return True

    def move_cursor(self, row: int, *, scroll: bool = True) -> None:
        """Put the cursor on ``row`` (clamped), scroll it into view, say which job it is."""
        old = self.cursor_row
        self.cursor_row = max(0, min(row, len(self._rows) - 1))
        if scroll:
            self._scroll_to_cursor()
        self.refresh_line(old + HEADER)
        self.refresh_line(self.cursor_row + HEADER)
        if old != self.cursor_row:
            self.post_message(self.Highlighted(self, self.selected_id))

    # -- actions and mouse ---------------------------------------------------------------

    def action_cursor_down(self) -> None:
        self.move_cursor(self.cursor_row + 1)

    def action_cursor_up(self) -> None:
        self.move_cursor(self.cursor_row - 1)

    def action_page_down(self) -> None:
        self.move_cursor(self.cursor_row + self._page())

    def action_page_up(self) -> None:
        self.move_cursor(self.cursor_row - self._page())

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(len(self._rows) - 1)

    def action_select_cursor(self) -> None:
        self.post_message(self.OpenTile())

    def on_resize(self, event: events.Resize) -> None:
        self.call_after_refresh(self._scroll_to_cursor)  # a smaller view keeps the cursor

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < HEADER:
            return
        row = self.scroll_offset.y + offset.y - HEADER
        if row < len(self._rows):
            self.move_cursor(row, scroll=False)

    # -- drawing ------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y < HEADER:
            return self._header(width)
        row = self.scroll_offset.y + y - HEADER
        if row >= len(self._rows):
            return Strip.blank(width, self.rich_style)
        job_id = self._rows[row]
        job = self._jobs.get(job_id)
        if job is None and self._source is not None:
            job = self._read_around(row).get(job_id)
        cursor = row == self.cursor_row
        if job is None:
            return self._line(self._waiting(job_id), width, row, cursor).apply_offsets(0, row)
        elapsed = None if job.state.finished else elapsed_text(self._elapsed(job)).plain
        # Jobs are immutable and a change is a new object: a strip is reused only for the
        # object it was drawn from (held by the cache, so no new job can take its id()).
        key = (job.id, width, cursor, row % 2, elapsed, self.has_focus)
        cached = self._strips.get(key)
        if cached is None or cached[0] is not job:
            strip = self._line(self._cells(job, column_widths(width)), width, row, cursor)
            cached = self._strips[key] = (job, strip)
        return cached[1].apply_offsets(0, row)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()  # a theme change, or focus moving in or out

    def _header(self, width: int) -> Strip:
        cells = [Text(label) for _, label, _ in COLUMNS]
        style = self.get_component_rich_style("joblist--header")
        return self._line(cells, width, -1, False, row_style=style)

    def _waiting(self, job_id: str) -> list[Text]:
        return [Text(self._prefix(job_id) + "…", style="dim"), Text(""), Text(""), Text("")]

    def _prefix(self, job_id: str) -> str:
        """├ │ └ for the row: whether it and each of its ancestors is a last child."""
        last: list[bool] = []
        node: str | None = job_id
        while node is not None and (parent := self._parent_of.get(node)) is not None:
            last.append(self._kids[parent][-1] == node)
            node = parent
        return tree_prefix(last[::-1])

    def _cells(self, job: Job, widths: list[int]) -> list[Text]:
        return [
            title_text(job, self._prefix(job.id)),
            prompt_text(job, widths[1]),
            state_text(job, widths[2]),
            elapsed_text(self._elapsed(job)),
        ]

    def _line(
        self,
        cells: list[Text],
        width: int,
        row: int,
        cursor: bool,
        row_style: Style | None = None,
    ) -> Strip:
        console = self.app.console
        drawn: list[Segment] = []
        for cell, cell_width in zip(cells, column_widths(width), strict=True):
            cell = cell.copy()
            cell.truncate(cell_width, overflow="ellipsis")
            # Padding in segments of its own, as DataTable does: SVG screenshots then
            # place every cell's text at its column.
            pad = " " * (cell_width - cell.cell_len)
            left, right = (pad + " ", " ") if cell.justify == "right" else (" ", " " + pad)
            # Text.render leaves the Text's own style out (its console rendering adds it)
            body = Segment.apply_style(cell.render(console), console.get_style(cell.style))
            drawn += [Segment(left), *body, Segment(right)]
        if row_style is None:
            row_style = (
                self.get_component_rich_style("joblist--even-row") if row % 2 == 0 else Style()
            )
        base = self.rich_style + row_style
        post = self.get_component_rich_style("joblist--cursor") if cursor else None
        return Strip(Segment.apply_style(drawn, base, post)).crop_extend(0, width, base)

    # -- internals ------------------------------------------------------------------------

    def _listed(self, job_id: str, job: Job | None) -> bool:
        """Whether the list showed ``job_id`` (``job``: its version before a change)."""
        if self._show is None:
            return True
        if self._shown is not None:
            return job_id in self._shown
        return job is not None and self._show(job)

    def _hold(self, job: Job) -> None:
        self._jobs.pop(job.id, None)
        self._jobs[job.id] = job  # the most recently touched last
        if self._source is not None:
            for _ in range(len(self._jobs) - HELD):  # the least recent go
                del self._jobs[next(iter(self._jobs))]

    def _read_around(self, row: int) -> dict[str, Job]:
        """Read the jobs of the screens around ``row`` that are not held (one query of
        ~150 ids by key: about a millisecond)."""
        assert self._source is not None
        screen = max(1, self.size.height)
        start = max(0, row - screen)
        wanted = [i for i in self._rows[start : row + 2 * screen] if i not in self._jobs]
        found = self._source(wanted)
        for job_id in wanted:
            job = found.get(job_id)
            if job is not None:
                self._hold(job)
        return found

    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - HEADER - 1)

    def _scroll_to_cursor(self) -> None:
        visible = max(1, self.scrollable_content_region.height - HEADER)
        top = self.scroll_offset.y
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True, force=True)
        elif self.cursor_row >= top + visible:
            self.scroll_to(
                y=self.cursor_row - visible + 1, animate=False, immediate=True, force=True
            )

    def _refresh_job(self, job_id: str) -> None:
        row = self.row_index(job_id)
        if row is not None:
            self.refresh_line(row + HEADER)

    def _reset(self) -> None:
        self._jobs, self._parent_of, self._kids = {}, {}, {}
        self._order = None

    def _link(self, job_id: str, parent_id: str | None) -> None:
        # A child whose parent is missing from the history is shown as a root.
        parent = parent_id if parent_id in self._parent_of else None
        self._parent_of[job_id] = parent
        self._kids.setdefault(parent, []).append(job_id)
        self._order = None

    def _rebuild(self) -> None:
        keep = self.selected_id
        show, jobs = self._show, self._jobs
        order = self._tree_order()
        if show is None:
            self._rows = list(order)  # roots are appended to the rows, not to the order
        elif self._shown is not None:
            shown = self._shown
            self._rows = [i for i in order if i in shown]
        else:  # a job not loaded yet waits for load() to be listed
            self._rows = [i for i in order if i in jobs and show(jobs[i])]
        self._index = None
        self._strips.clear()  # a new child turns its elder sibling's └ into ├
        row = self.row_index(keep) if keep is not None else None
        self.cursor_row = min(self.cursor_row, max(0, len(self._rows) - 1)) if row is None else row
        self._rows_changed(highlight=row is None)

    def _rows_changed(self, *, highlight: bool) -> None:
        following = bool(self._rows) and self.scroll_offset.y >= self.max_scroll_y
        self.virtual_size = Size(self.scrollable_content_region.width, len(self._rows) + HEADER)
        if following:  # the end was in view: keep it there, so new jobs show up
            top = max(0, len(self._rows) + HEADER - self.scrollable_content_region.height)
            if self.cursor_row >= top:
                self.scroll_to(y=top, animate=False, immediate=True, force=True)
        self.refresh()
        if highlight:  # the cursor is on another job now (or on none)
            self.post_message(self.Highlighted(self, self.selected_id))
