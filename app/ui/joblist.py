"""The job list: a DataTable in tree order (children under their parent), kept fast.

A DataTable draws only the visible lines, so 10,000 rows are fine as long as we never
rebuild on every change: a JobChanged updates that row's cells in place; only a new
child (which must be inserted mid-table) rebuilds, keeping the cursor on the same job.

Filling the table is the other cost. ``DataTable.add_row`` sets the cursor reactive and
schedules work per row, and on the next idle it measures every cell of every new row to
size auto-width columns, about 0.3 ms a row. Our columns have fixed widths and our rows
are one line high, so nothing needs measuring: :meth:`JobTable._append_rows` fills the
table's row maps in one pass and :meth:`JobTable._update_dimensions` only sets the
virtual size. (Both lean on DataTable internals; textual is pinned, and
tests/test_ui_units.py checks the result against ``add_row``'s.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.coordinate import Coordinate
from textual.geometry import Size
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, Row, RowDoesNotExist, RowKey

from app.gcpause import gc_paused
from app.jobs.model import Job
from app.ui.format import elapsed_cell, prompt_cell, state_cell, title_cell

COLUMNS = (
    ("job", "Job", 11),
    ("prompt", "Prompt", 16),
    ("state", "State", 22),
    ("time", "Time", 5),
)

Clock = Callable[[Job], float | None]


def default_elapsed(job: Job) -> float | None:
    return job.elapsed


class JobTable(DataTable[Text]):
    """Rows keyed by job id. ``elapsed`` lets snapshot tests hide wall-clock time."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("enter", "select_cursor", "Open tile", show=False),
    ]

    class OpenTile(Message):
        """Enter on the list opens the selected tile (the rows themselves have no page)."""

    def __init__(self, *, elapsed: Clock = default_elapsed, id: str | None = None) -> None:
        # ordered_rows / _y_offsets, kept while the rows stay the same (set before
        # DataTable.__init__, which already asks for them)
        self._order_cache: tuple[object, int, list[Row], list[tuple[RowKey, int]]] | None = None
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._elapsed = elapsed
        self._jobs: dict[str, Job] = {}
        self._kids: dict[str | None, list[str]] = {}
        self._depth: dict[str, int] = {}
        self._prompt_width = COLUMNS[1][2]
        self._show: Callable[[Job], bool] | None = None  # None: every job is listed

    def on_mount(self) -> None:
        for key, label, width in COLUMNS:
            self.add_column(label, key=key, width=width)

    def action_select_cursor(self) -> None:
        self.post_message(self.OpenTile())

    # -- queries ------------------------------------------------------------------------

    @property
    def selected_id(self) -> str | None:
        if not self.row_count:
            return None
        try:
            row_key, _ = self.coordinate_to_cell_key(Coordinate(self.cursor_row, 0))
        except CellDoesNotExist:
            return None
        return row_key.value

    @property
    def filtered(self) -> bool:
        return self._show is not None

    @property
    def total(self) -> int:
        return len(self._jobs)

    def shows(self, job: Job) -> bool:
        return self._show is None or self._show(job)

    def tree_order(self) -> list[str]:
        order: list[str] = []
        stack = list(reversed(self._kids.get(None, [])))
        while stack:  # iterative: a deep chain of variations must not hit the recursion limit
            job_id = stack.pop()
            order.append(job_id)
            stack.extend(reversed(self._kids.get(job_id, [])))
        return order

    # -- changes ------------------------------------------------------------------------

    def load(self, jobs: Iterable[Job]) -> None:
        """Replace everything (start-up)."""
        self._jobs = {}
        self._kids = {}
        self._depth = {}
        with gc_paused():
            for job in sorted(jobs, key=lambda j: j.created_at):
                self._link(job)
            self._rebuild()

    def set_filter(self, show: Callable[[Job], bool] | None) -> None:
        """List only the jobs ``show`` accepts (None: all); one rebuild, in memory."""
        self._show = show
        with gc_paused():
            self._rebuild()

    def upsert(self, job: Job) -> None:
        """Update a row in place, append a new root, or rebuild for a new child."""
        old = self._jobs.get(job.id)
        if old is not None:
            self._jobs[job.id] = job
            if self._show is not None and self._show(old) != self._show(job):
                self._rebuild()  # it enters or leaves the filtered view
            else:
                self._update_row(job)
            return
        self._link(job)
        if not self.shows(job):
            return
        if self._parent_key(job) is None:
            self.add_row(*self._cells(job), key=job.id)
        else:
            self._rebuild()

    def tick(self) -> None:
        """Refresh the elapsed time of unfinished jobs (called once a second)."""
        for job in self._jobs.values():
            if not job.state.finished:
                self._set(job.id, "time", elapsed_cell(self._elapsed(job)))

    def select(self, job_id: str) -> bool:
        try:
            row = self.get_row_index(job_id)
        except RowDoesNotExist:
            return False
        self.move_cursor(row=row, animate=False, scroll=True)
        return True

    # -- internals ------------------------------------------------------------------------

    def _parent_key(self, job: Job) -> str | None:
        # A child whose parent is missing from the history is shown as a root.
        return job.parent_id if job.parent_id in self._jobs else None

    def _link(self, job: Job) -> None:
        self._jobs[job.id] = job
        parent = self._parent_key(job)
        self._kids.setdefault(parent, []).append(job.id)
        self._depth[job.id] = 0 if parent is None else self._depth.get(parent, 0) + 1

    def _cells(self, job: Job) -> tuple[Text, Text, Text, Text]:
        return (
            title_cell(job, self._depth.get(job.id, 0)),
            prompt_cell(job, self._prompt_width),
            state_cell(job, COLUMNS[2][2]),
            elapsed_cell(self._elapsed(job)),
        )

    def _update_row(self, job: Job) -> None:
        for key, cell in zip(("job", "prompt", "state", "time"), self._cells(job), strict=True):
            self._set(job.id, key, cell)

    def _set(self, job_id: str, column: str, value: Text) -> None:
        try:
            if self.get_cell(job_id, column) != value:
                self.update_cell(job_id, column, value)
        except (CellDoesNotExist, RowDoesNotExist):
            pass

    def _rebuild(self) -> None:
        keep = self.selected_id
        self.clear()
        show = self._show
        jobs = self._jobs
        self._append_rows(
            [
                (job_id, self._cells(jobs[job_id]))
                for job_id in self.tree_order()
                if show is None or show(jobs[job_id])
            ]
        )
        if keep is not None:
            self.select(keep)

    # -- DataTable, in bulk ----------------------------------------------------------------

    def _fixed_layout(self) -> bool:
        """Nothing to measure: fixed-width columns, no row labels, one-line rows."""
        return not self._labelled_row_exists and not any(
            column.auto_width for column in self.columns.values()
        )

    def _append_rows(self, rows: Sequence[tuple[str, Sequence[Text]]]) -> None:
        """``add_row`` for many one-line rows at once: the same state, set in one pass."""
        if not rows:
            return
        if not self._fixed_layout():  # not our layout: take the documented path
            for key, cells in rows:
                self.add_row(*cells, key=key)
            return
        start = self.row_count
        column_keys = [column.key for column in self.ordered_columns]
        locations, data, metadata = self._row_locations, self._data, self.rows
        for index, (key, cells) in enumerate(rows, start):
            row_key = RowKey(key)
            if row_key in locations:
                raise ValueError(f"duplicate row key {key!r}")
            locations[row_key] = index
            data[row_key] = dict(zip(column_keys, cells, strict=True))
            metadata[row_key] = Row(row_key, 1)
        self._require_update_dimensions = True
        self._update_count += 1
        cursor = self.cursor_coordinate
        self.cursor_coordinate = self._clamp_cursor_coordinate(cursor)
        if start == 0 and self.columns and self.show_cursor and self.cursor_type != "none":
            self._highlight_cursor()  # what add_row does for the first row: RowHighlighted
        self.check_idle()
        self.refresh()

    def _row_order(self) -> tuple[list[Row], list[tuple[RowKey, int]]] | None:
        """DataTable recomputes both lists whenever any cell changes (O(rows) per job
        update); ours change only when rows are added, removed, cleared or sorted, and each
        of those either grows ``_row_locations`` or replaces it."""
        if not self._fixed_layout():
            return None
        locations, count = self._row_locations, len(self._data)
        cached = self._order_cache
        if cached is None or cached[0] is not locations or cached[1] != count:
            key_at = locations.get_key
            rows = self.rows
            ordered = [rows[key_at(index)] for index in range(count)]  # type: ignore[index]
            cached = (locations, count, ordered, [(row.key, 0) for row in ordered])
            self._order_cache = cached
        return cached[2], cached[3]

    @property
    def ordered_rows(self) -> list[Row]:
        order = self._row_order()
        return super().ordered_rows if order is None else order[0]

    @property
    def _y_offsets(self) -> list[tuple[RowKey, int]]:
        order = self._row_order()
        return super()._y_offsets if order is None else order[1]

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        if not self._fixed_layout() or any(row.auto_height for row in self.rows.values()):
            super()._update_dimensions(new_rows)
            return
        # Column widths are fixed: only the scrollable size follows the row count.
        width = sum(column.get_render_width(self) for column in self.columns.values())
        header = self.header_height if self.show_header else 0
        self.virtual_size = Size(width, self.row_count + header)
