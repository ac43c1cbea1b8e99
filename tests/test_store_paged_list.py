"""A long history in the TUI is read from SQLite a screen at a time (issue 13): the list
shows the same rows and tree lines as from every job in memory, filters and search are
answered by the store, another process's new job appears, and neither the list nor the
manager holds the whole history."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

import pytest
from test_store_tree import as_the_list_draws, history
from ui_helpers import SIZE, hold_backend, ui_settings, view_shown, wait_ready
from waiting import until

from app.jobs.model import Job
from app.jobs.store import JobStore
from app.ui.app import ImagineApp
from app.ui.format import tree_prefix
from app.ui.widgets.history_bar import View
from app.ui.widgets.job_list import JobList

JOBS = 6000


@pytest.fixture(autouse=True)
def _no_animations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")


def seeded(tmp_path: Path) -> list[Job]:
    jobs = history(JOBS)
    settings = ui_settings(tmp_path)
    with JobStore(settings.db_path) as store:
        store.save_many(jobs)
    return jobs


def job_objects() -> int:
    gc.unfreeze()  # the app freezes a long history's objects: count those too
    gc.collect()  # live ones only, not earlier tests' garbage (11,039 after the UI tests)
    return sum(1 for o in gc.get_objects() if type(o) is Job)


async def test_the_list_pages_a_long_history_from_sqlite(tmp_path: Path) -> None:
    jobs = seeded(tmp_path)
    expected = as_the_list_draws(jobs)
    prompts = {j.id: j.prompt for j in jobs}
    del jobs  # the test's own copy is not the app's
    app = ImagineApp(ui_settings(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        table = app.main.table
        assert table.row_count == JOBS
        table.focus()
        for row in (0, 1, 17, JOBS // 2, JOBS // 2 + 1, JOBS - 2, JOBS - 1):
            table.move_cursor(row)
            await pilot.pause()
            job_id, last = expected[row]
            assert table.selected_id == job_id
            title = table.cells(job_id)["job"].plain
            assert title.startswith(tree_prefix(last)), (row, title)
            assert prompts[job_id] in table.cells(job_id)["prompt"].plain
            assert app.main.selected_job is not None
            assert app.main.selected_job.prompt == prompts[job_id]
        for _ in range(30):  # j/k walk rows drawn from pages read as they come
            await pilot.press("j")
        assert table.selected_id == expected[JOBS - 1][0]  # clamped at the end
        await pilot.press("k", "k")
        assert table.selected_id == expected[JOBS - 3][0]
        # Neither the list nor the manager holds the history: far fewer jobs than it has.
        assert job_objects() < JOBS // 2


async def test_filters_and_search_are_answered_by_the_store(tmp_path: Path) -> None:
    jobs = seeded(tmp_path)
    order = [job_id for job_id, _ in as_the_list_draws(jobs)]
    app = ImagineApp(ui_settings(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        table = app.main.table
        for view in (
            View(state="favourites"),
            View(query="PROMPT 12"),  # casefolded, as in memory
            View(state="favourites", query="prompt 3 v1"),  # words in the prompt or title
        ):
            app.main._apply_view(view)
            await view_shown(pilot)
            show = view.predicate()
            assert show is not None
            passed = {j.id for j in jobs if show(j)}
            want = [i for i in order if i in passed]
            assert 0 < table.row_count == len(want) < JOBS, view
            assert await walk(table) == want, view
        del jobs
        assert job_objects() < JOBS // 2


async def walk(table: JobList) -> list[str | None]:
    """The job of every row, top to bottom, as the cursor finds them (pages come as read)."""
    got = []
    for row in range(table.row_count):
        table.move_cursor(row, scroll=False)
        got.append(await until(lambda: table.selected_id, what=f"row {row}"))
    return got


def write_elsewhere(db: Path, job_id: str, prompt: str) -> None:
    """Another process adds a job to the history."""
    script = (
        "import sys; from app.jobs.store import JobStore; from app.jobs.model import Job\n"
        "with JobStore(sys.argv[1]) as s:\n"
        "    s.save(Job(id=sys.argv[2], kind='imagine', prompt=sys.argv[3]))\n"
    )
    subprocess.run([sys.executable, "-c", script, str(db), job_id, prompt], check=True)


async def test_jobs_another_process_writes_appear_in_the_paged_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded(tmp_path)
    settings = ui_settings(tmp_path)
    gate = hold_backend(monkeypatch)
    app = ImagineApp(settings)  # the first frame's rows are read here
    async with app.run_test(size=SIZE) as pilot:
        write_elsewhere(settings.db_path, "while-starting", "a blue heron")
        gate.set()
        await wait_ready(pilot)
        table = app.main.table
        await until(lambda: table.row_index("while-starting") is not None, what="its row")
        write_elsewhere(settings.db_path, "from-elsewhere", "a red kite")
        await until(lambda: table.row_index("from-elsewhere") is not None, what="the new row")
        assert table.row_count == JOBS + 2
        assert "a blue heron" in table.cells("while-starting")["prompt"].plain
        assert "a red kite" in table.cells("from-elsewhere")["prompt"].plain
