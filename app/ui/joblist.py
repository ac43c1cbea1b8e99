"""The job list: a DataTable in tree order (children under their parent), kept fast.

A DataTable draws only the visible lines, so 10,000 rows are fine as long as we never
rebuild on every change: a JobChanged updates that row's cells in place; only a new
child (which must be inserted mid-table) rebuilds, keeping the cursor on the same job.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.coordinate import Coordinate
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, RowDoesNotExist

from app.jobs.model import Job
from app.ui.format import elapsed_text, prompt_text, state_text, title_text

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
        for job in sorted(jobs, key=lambda j: j.created_at):
            self._link(job)
        self._rebuild()

    def set_filter(self, show: Callable[[Job], bool] | None) -> None:
        """List only the jobs ``show`` accepts (None: all); one rebuild, in memory."""
        self._show = show
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
                self._set(job.id, "time", elapsed_text(self._elapsed(job)))

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
            title_text(job, self._depth.get(job.id, 0)),
            prompt_text(job, self._prompt_width),
            state_text(job, COLUMNS[2][2]),
            elapsed_text(self._elapsed(job)),
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
        for job_id in self.tree_order():
            job = self._jobs[job_id]
            if show is None or show(job):
                self.add_row(*self._cells(job), key=job_id)
        if keep is not None:
            self.select(keep)
