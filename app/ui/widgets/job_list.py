"""The job list: the history in tree order (children under their parent), drawn line by line.

A history can hold 100,000 jobs (issue 13). The list holds how many rows it has and a
few pages of them, read from the store in its tree order (``JobStore.tree_snapshot``:
the tree_key index is the one order) on a thread, so the UI never waits on disk. Rows are
drawn through Textual's line API, as ``Log`` does; a row whose page is not read yet shows
"…" until it comes. A job's news (:meth:`JobList.upsert`) redraws its line when it is on a
page; anything else (a new job, from this process or another; a job entering or leaving a
filtered view) reads the count and the pages in view again, the cursor kept on its job.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from app.jobs.model import Job
from app.jobs.store import PAGE, StoreError, TreeRow, TreeSnapshot
from app.ui.actions import bindings
from app.ui.format import elapsed_text, prompt_text, state_text, title_text, tree_prefix

log = logging.getLogger(__name__)

# (key, header, width); the prompt (width 0) takes what the others leave.
COLUMNS = (
    ("job", "Job", 11),
    ("prompt", "Prompt", 0),
    ("state", "State", 22),
    ("time", "Time", 5),
)
MIN_PROMPT = 10
MIN_STATE = 19  # "running ██████  40%": the bar and the percent whole
HEADER = 1  # lines above the first row

Clock = Callable[[Job], float | None]
Reader = Callable[..., TreeSnapshot]  # TreeReader.snapshot, called on a worker thread
LINES_HELD = 512  # drawn lines kept: moving back and forth redraws none
PAGES_HELD = 24  # pages of PAGE rows kept: a few screens around where the user looked
EXPECT_READS = 10  # reads (one a second) a job told of is looked for in the store


def default_elapsed(job: Job) -> float | None:
    return job.elapsed


def column_widths(width: int) -> list[int]:
    """Cell widths (without the one-cell padding either side) for a list ``width`` wide.
    Where the prompt would get under MIN_PROMPT, the state column gives up its spare cells
    first (down to MIN_STATE), then the prompt goes: a fixed sum cut Time off at 100–120
    columns."""
    job, _, state, time = (w for _, _, w in COLUMNS)
    spare = width - 2 * len(COLUMNS) - job - time  # for the prompt and the state
    state = max(MIN_STATE, min(state, spare - MIN_PROMPT))
    if spare - state >= MIN_PROMPT:
        return [job, spare - state, state, time]
    # Too narrow for a prompt: it is left out (0) and the Job column, whose titles
    # begin with the prompt, takes the room.
    padding = 2 * (len(COLUMNS) - 1)
    state = max(MIN_STATE, min(state, width - padding - job - time))
    return [max(1, width - padding - state - time), 0, state, time]


def _as_stored(job: Job) -> Job:
    return job


class JobList(ScrollView, can_focus=True):
    """Rows are jobs in the store's tree order. ``elapsed`` lets snapshot tests hide
    wall-clock time."""

    # A row is picked, not its text selected (as DataTable and Tree): no selection offsets
    # on every segment, a third of the cost of drawing a new line.
    ALLOW_SELECT = False

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

    class Counted(Message):
        """The list's length was read again (a new view, new jobs)."""

    class OpenTile(Message):
        """Enter on the list opens the selected tile (the rows themselves have no page)."""

    def __init__(self, *, elapsed: Clock = default_elapsed, id: str | None = None) -> None:
        super().__init__(id=id)
        self._elapsed = elapsed
        self._stored = 0  # rows in the store's answer
        self._extra: list[Job] = []  # new roots shown below those until the store has them
        self._pages: OrderedDict[int, list[TreeRow]] = OrderedDict()  # least recent first
        self._row_of: dict[str, int] = {}  # row of each job on a held page
        self._jobs_seen = -1  # the history's length when the pages were read
        self._newest = float("-inf")  # the store's latest creation time
        self._where: tuple[str, tuple[Any, ...]] = ("", ())
        self._show: Callable[[Job], bool] | None = None  # None: every job is listed
        self._reader: Reader | None = None
        self._fresh: Callable[[Job], Job] = _as_stored
        self._stale = False  # the count and the pages in view are to be read again
        self._wanted: set[int] = set()  # pages to read
        self._expect: dict[str, int] = {}  # jobs told of, not read yet: reads left
        self._find: tuple[str, Callable[[], None] | None] | None = None  # select() asked
        self._find_asked = False  # ...and the store was asked (it looks again with _expect)
        self._reading = False
        self._moves = 0  # cursor moves: a read does not undo one made while it ran
        self._announced: str | None = None
        self.cursor_row = 0
        # Lines drawn, newest last. Not Textual's LRUCache: its clear() leaves the whole
        # ring of entries as cyclic garbage, strips and all, for a full collection.
        self._strips: OrderedDict[tuple[object, ...], tuple[Job, Strip]] = OrderedDict()
        self._base: Style | None = None  # the list's own style, until a style changes
        self._even = self._cursor = Style()  # rows' styles over it (see _styles)

    # -- queries ------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return self._stored + len(self._extra)

    @property
    def selected_id(self) -> str | None:
        row = self._row(self.cursor_row)
        return row.job.id if row is not None else None

    @property
    def filtered(self) -> bool:
        return self._show is not None

    @property
    def complete(self) -> bool:
        """Every row can be drawn: held, or read when it comes on screen."""
        return self._reader is not None

    @property
    def settled(self) -> bool:
        """Nothing asked of the store is on its way (tests, benchmarks)."""
        finding = self._find is not None and not self._find_asked
        return not (self._reading or self._stale or self._wanted or finding)

    def unloaded_on_screen(self) -> int:
        """Rows in view still waiting for their page (drawn as "…")."""
        top = self.scroll_offset.y
        end = min(self.row_count, top + max(0, self.size.height - HEADER))
        return sum(1 for row in range(top, end) if self._row(row) is None)

    def shows(self, job: Job) -> bool:
        return self._show is None or self._show(job)

    def row_index(self, job_id: str) -> int | None:
        """The row of ``job_id`` when it is on a held page (those in view are)."""
        return self._row_of.get(job_id)

    def listed(self) -> list[str]:
        """The ids of the held rows, top to bottom (every row of a short history)."""
        return [job_id for job_id, _ in sorted(self._row_of.items(), key=lambda kv: kv[1])]

    def cells(self, job_id: str) -> dict[str, Text]:
        """The row's cells as drawn, by column key (for tests and screen readers)."""
        row = self._row(self._row_of[job_id])
        assert row is not None
        widths = column_widths(self.scrollable_content_region.width)
        cells = self._cells(row, widths)
        return dict(zip((key for key, _, _ in COLUMNS), cells, strict=True))

    # -- changes ------------------------------------------------------------------------

    def show_snapshot(self, snapshot: TreeSnapshot) -> None:
        """The rows of ``snapshot`` (the first frame, read before the store is open)."""
        self._apply({"where": self._where, "moves": self._moves, "keep": None}, snapshot)

    def use_reader(self, reader: Reader, fresh: Callable[[Job], Job] = _as_stored) -> None:
        """Read rows with ``reader`` from now on (in a thread). ``fresh``: a job as the app
        knows it now (ahead of the store while a change is being written)."""
        self._reader, self._fresh = reader, fresh
        self._stale = True
        self._pump()

    def set_view(
        self,
        where: str = "",
        params: tuple[Any, ...] = (),
        show: Callable[[Job], bool] | None = None,
    ) -> None:
        """List only the jobs the SQL condition ``where`` accepts ("": all); ``show`` says
        the same of a job in memory. The rows change when the store has answered."""
        self._where, self._show = (where, params), show
        self._stale = True
        self._pump()

    def reread(self) -> None:
        """Read the count and the rows in view again, the cursor kept on its job."""
        self._stale = True
        self._pump()

    def upsert(self, job: Job) -> None:
        """A job changed or came: redraw its line when it is held; otherwise read the count
        and the pages in view again (a new root is shown at the end at once)."""
        row = self._row_of.get(job.id)
        if row is not None:
            old = self._set_row(row, job)
            self.refresh_line(row + HEADER)
            if self._show is not None and not (self._show(old) and self._show(job)):
                self._stale = True  # it leaves the filtered view, or comes back to it
                self._pump()
            return
        if self.shows(job):
            self._expect[job.id] = EXPECT_READS
            if self._append(job):
                self._rows_changed()
                self._announce()
        self._stale = True  # new, or a change off the held pages (leaving the view?)
        self._pump()

    def tick(self) -> None:
        """Once a second: redraw the elapsed time of unfinished jobs on screen, and look
        again for jobs told of that the store did not have yet."""
        top = self.scroll_offset.y
        leaving = False
        for row in range(top, min(self.row_count, top + self.size.height)):
            held = self._row(row)
            if held is not None and not held.job.state.finished:
                self.refresh_line(row + HEADER)
            # The view's SQL reads the store, which a change reaches a moment after the
            # app has it: a row read in between is the view's by the store, not by now.
            leaving = leaving or (held is not None and not self.shows(held.job))
        if leaving:
            self._stale = True
            self._pump()
        if self._expect:
            for job_id, left in list(self._expect.items()):
                if left <= 1:
                    del self._expect[job_id]  # never written (memory only): as it is
                else:
                    self._expect[job_id] = left - 1
            if self._find is not None and self._find_asked and self._find[0] not in self._expect:
                _, missing = self._find
                self._find = None
                if missing is not None:
                    missing()
            self._stale = True
            self._pump()

    def select(self, job_id: str, missing: Callable[[], None] | None = None) -> bool:
        """Put the cursor on ``job_id``: now when its row is held (True), else once the
        store has said where it is; ``missing`` is called when it is not listed."""
        row = self._row_of.get(job_id)
        if row is not None:
            self.move_cursor(row)
            return True
        if self._reader is None:
            if missing is not None:
                missing()
            return False
        self._find, self._find_asked = (job_id, missing), False
        self._pump()
        return False

    def move_cursor(self, row: int, *, scroll: bool = True) -> None:
        """Put the cursor on ``row`` (clamped), scroll it into view, say which job it is."""
        old = self.cursor_row
        self._moves += 1
        self.cursor_row = max(0, min(row, self.row_count - 1))
        if scroll:
            self._scroll_to_cursor()
        self.refresh_line(old + HEADER)
        self.refresh_line(self.cursor_row + HEADER)
        self._want_around(self.cursor_row)
        self._announce()

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
        self.move_cursor(self.row_count - 1)

    def action_select_cursor(self) -> None:
        self.post_message(self.OpenTile())

    def on_resize(self, event: events.Resize) -> None:
        self.call_after_refresh(self._scroll_to_cursor)  # a smaller view keeps the cursor

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < HEADER:
            return
        row = self.scroll_offset.y + offset.y - HEADER
        if row < self.row_count:
            self.move_cursor(row, scroll=False)

    # -- drawing ------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y < HEADER:
            return self._header(width)
        row = self.scroll_offset.y + y - HEADER
        if row >= self.row_count:
            return Strip.blank(width, self.rich_style)
        held = self._row(row, touch=True)
        cursor = row == self.cursor_row
        if held is None:
            self._want_around(row)
            waiting = [Text("…", style="dim"), Text(""), Text(""), Text("")]
            return self._line(waiting, width, row, cursor)
        job = held.job
        elapsed = None if job.state.finished else elapsed_text(self._elapsed(job)).plain
        # Jobs are immutable and a change is a new object: a strip is reused only for the
        # object it was drawn from (held by the cache, so no new job can take its id()).
        key = (job.id, tuple(held.last), width, cursor, row % 2, elapsed, self.has_focus)
        cached = self._strips.get(key)
        if cached is None or cached[0] is not job:
            strip = self._line(self._cells(held, column_widths(width)), width, row, cursor)
            cached = self._strips[key] = (job, strip)
            if len(self._strips) > LINES_HELD:
                self._strips.popitem(last=False)
        else:
            self._strips.move_to_end(key)
        return cached[1]

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()  # a theme change, or focus moving in or out
        self._base = None

    def _header(self, width: int) -> Strip:
        cells = [Text(label) for _, label, _ in COLUMNS]
        style = self.get_component_rich_style("joblist--header")
        return self._line(cells, width, -1, False, row_style=style)

    def _cells(self, row: TreeRow, widths: list[int]) -> list[Text]:
        job = row.job
        return [
            title_text(job, tree_prefix(row.last)),
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
            if not cell_width:  # a column left out at this width
                continue
            if cell.cell_len > cell_width:
                cell = cell.copy()
                cell.truncate(cell_width, overflow="ellipsis")
            # Padding in segments of its own, as DataTable does: SVG screenshots then
            # place every cell's text at its column.
            pad = " " * (cell_width - cell.cell_len)
            left, right = (pad + " ", " ") if cell.justify == "right" else (" ", " " + pad)
            # Text.render leaves the Text's own style out (its console rendering adds it)
            body = Segment.apply_style(cell.render(console), console.get_style(cell.style))
            drawn += [Segment(left), *body, Segment(right)]
        base, post = self._styles(row, cursor, row_style)
        return Strip(Segment.apply_style(drawn, base, post)).crop_extend(0, width, base)

    def _styles(
        self, row: int, cursor: bool, row_style: Style | None
    ) -> tuple[Style, Style | None]:
        """The line's base style and the cursor's over it, asked of the CSS once per style
        change: ~0.2 ms a line each time (the ancestors' styles are combined too)."""
        if self._base is None:
            self._base = self.rich_style
            self._even = self._base + self.get_component_rich_style("joblist--even-row")
            self._cursor = self.get_component_rich_style("joblist--cursor")
        if row_style is not None:
            base = self._base + row_style
        else:
            base = self._even if row % 2 == 0 else self._base
        return base, self._cursor if cursor else None

    # -- the rows held, and reading more ----------------------------------------------------

    def _row(self, row: int, *, touch: bool = False) -> TreeRow | None:
        if row >= self._stored:
            extra = row - self._stored
            return TreeRow(self._extra[extra], []) if extra < len(self._extra) else None
        page = self._pages.get(row // PAGE)
        if page is None or row % PAGE >= len(page):
            return None
        if touch:
            self._pages.move_to_end(row // PAGE)
        return page[row % PAGE]

    def _set_row(self, row: int, job: Job) -> Job:
        """Put the newer ``job`` on its held row; the job it replaces."""
        if row >= self._stored:
            extra = row - self._stored
            old, self._extra[extra] = self._extra[extra], job
            return old
        page = self._pages[row // PAGE]
        held = page[row % PAGE]
        page[row % PAGE] = TreeRow(job, held.last)
        return held.job

    def _append(self, job: Job) -> bool:
        """Show a new root at the end until the store has it: it goes there when it is
        newer than every job in the history."""
        if job.parent_id is not None or job.id in self._row_of:
            return False
        newest = self._extra[-1].created_at if self._extra else self._newest
        if job.created_at < newest:
            return False  # its place is the store's to say
        self._row_of[job.id] = self.row_count
        self._extra.append(job)
        return True

    def _want_around(self, row: int) -> None:
        """Read the pages a screen either side of ``row`` that are not held."""
        screen = max(1, self.size.height)
        first, last = max(0, row - screen) // PAGE, min(self._stored - 1, row + screen) // PAGE
        missing = {p for p in range(first, last + 1) if p not in self._pages}
        if missing and self._reader is not None:
            self._wanted |= missing
            self.call_later(self._pump)

    def _in_view(self) -> set[int]:
        """Pages of the rows in view and a page either side (all of a short history)."""
        top = self.scroll_offset.y
        bottom = top + max(1, self.size.height)
        return set(range(max(0, top // PAGE - 1), bottom // PAGE + 2))

    def _pump(self) -> None:
        if self._reader is not None and not self._reading and self.is_attached:
            self._reading = True
            self.run_worker(self._read_all(), group="job-list", exit_on_error=False)

    async def _read_all(self) -> None:
        try:
            for _ in range(1000):  # each turn one read; new wishes come while it runs
                query = self._next_query()
                if query is None or self._reader is None:
                    return
                where, params = query["where"]
                args = {k: query[k] for k in ("find", "keep", "jobs", "rows")}
                try:
                    snapshot = await asyncio.to_thread(
                        self._reader, query["pages"], where, params, **args
                    )
                except (StoreError, sqlite3.Error) as exc:  # read again at the next change
                    log.warning("reading the job list failed: %s", exc)
                    return
                self._apply(query, snapshot)
        finally:
            self._reading = False

    def _next_query(self) -> dict[str, Any] | None:
        find = [self._find[0]] if self._find is not None and not self._find_asked else []
        query: dict[str, Any] = {"where": self._where, "moves": self._moves, "find": find}
        if self._stale:
            self._stale = False
            self._wanted.clear()
            keep = self.selected_id
            if keep is not None and keep in self._expect:
                keep = None  # not in the store yet: kept below
            return query | {
                "pages": self._in_view(),
                "find": find + list(self._expect),
                "keep": keep,
                "jobs": None,
                "rows": None,
            }
        pages = {p for p in self._wanted if p not in self._pages}
        self._wanted.clear()
        if not pages and not find:
            return None
        known = {"jobs": self._jobs_seen, "rows": self._stored}  # unless new rows came
        return query | {"pages": pages, "keep": self.selected_id, **known}

    def _apply(self, query: dict[str, Any], snapshot: TreeSnapshot) -> None:
        """Take the store's answer to ``query`` (one read: its count and pages agree)."""
        if query["where"] != self._where:
            return  # for a view since replaced; the new one is on its way
        fresh = self._fresh
        pages = {
            p: [TreeRow(fresh(r.job), r.last) for r in rows] for p, rows in snapshot.pages.items()
        }
        found = snapshot.found
        recounted = snapshot.count >= 0
        if recounted:  # all held rows may have moved: only these pages stand
            self._stored = snapshot.count
            self._jobs_seen = snapshot.jobs
            self._newest = snapshot.newest
            self._pages = OrderedDict(sorted(pages.items()))
            self._strips.clear()  # a new child turns its elder sibling's └ into ├
        else:
            for page, rows in sorted(pages.items()):
                self._pages[page] = rows
                self._pages.move_to_end(page)
        while len(self._pages) > PAGES_HELD:
            self._pages.popitem(last=False)
        for job_id in found:
            self._expect.pop(job_id, None)
        extra, self._extra = self._extra, []
        self._index()
        for job in extra:  # still not in the store's answer: shown at the end again
            if job.id not in self._row_of and job.id in self._expect and self.shows(job):
                self._append(job)
        target = self._find[0] if self._find is not None else None
        if target is not None and target in query["find"]:
            missing = self._find[1] if self._find is not None else None
            if target in self._row_of:
                self._find = None
                self._moves += 1
                self.cursor_row = self._row_of[target]
                self.call_later(self._scroll_to_cursor)
            elif target in self._expect:  # told of, not written yet: looked for again
                self._find_asked = True
            else:
                self._find = None
                if missing is not None:
                    missing()
        elif recounted and query["moves"] == self._moves:
            keep = query["keep"]
            if keep is not None and keep in self._row_of:
                self.cursor_row = self._row_of[keep]
        self.cursor_row = max(0, min(self.cursor_row, self.row_count - 1))
        self._rows_changed()
        self._announce()
        if recounted:
            self.post_message(self.Counted())

    def _index(self) -> None:
        self._row_of = {
            held.job.id: page * PAGE + i
            for page, rows in self._pages.items()
            for i, held in enumerate(rows)
        }

    def _announce(self) -> None:
        """Say which job the cursor is on when that changed (not while its row is read)."""
        job_id = self.selected_id
        if job_id != self._announced and (job_id is not None or self.row_count == 0):
            self._announced = job_id
            self.post_message(self.Highlighted(self, job_id))

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

    def _rows_changed(self) -> None:
        count = self.row_count
        following = count > 0 and self.scroll_offset.y >= self.max_scroll_y
        self.virtual_size = Size(self.scrollable_content_region.width, count + HEADER)
        if following:  # the end was in view: keep it there, so new jobs show up
            top = max(0, count + HEADER - self.scrollable_content_region.height)
            if self.cursor_row >= top:
                self.scroll_to(y=top, animate=False, immediate=True, force=True)
        self.refresh()
