"""An older history brought up to date by one process while another has it open."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from test_store_tree import as_the_list_draws, history, written_by_version_1

from app.jobs.store import PAGE, JobStore

FAVOURITES = "favourite = 1"


def listed(store: JobStore, where: str) -> list[str]:
    """The ids a list reading through ``store`` shows under ``where``, every page."""
    count = store.tree_count(where)
    pages = range(count // PAGE + 1)
    snapshot = store.tree_snapshot(pages, where)
    return [row.job.id for page in pages for row in snapshot.pages.get(page, [])]


def test_a_window_open_on_an_older_history_lists_the_new_order_once_another_process_migrates(
    tmp_path: Path,
) -> None:
    path = tmp_path / "h.sqlite3"
    jobs = history(3000, seed=8)
    written_by_version_1(path, jobs)  # children saved before their parent: listed as roots
    favourites = {j.id for j in jobs if j.favourite}
    want = [job_id for job_id, _ in as_the_list_draws(jobs) if job_id in favourites]
    # A window's list reader (look-only: it never migrates) showing the favourites.
    with JobStore(path, read_only=True) as window:
        before = window.revision()
        assert listed(window, FAVOURITES) != want
        opened = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from app.jobs.store import JobStore; JobStore(sys.argv[1]).close()",
                str(path),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert (opened.returncode, opened.stderr) == (0, "")
        assert window.revision() > before  # what the window's reads are keyed on
        assert listed(window, FAVOURITES) == want
        assert listed(window, "") == [job_id for job_id, _ in as_the_list_draws(jobs)]
        # a later open finds nothing to do: the revision stays
        moved = window.revision()
        JobStore(path).close()
        assert window.revision() == moved


async def test_an_open_tui_lists_the_new_order_once_another_process_migrates(
    tmp_path: Path,
) -> None:
    """An older imagine-tui wrote jobs into the history the TUI shows (children saved
    before their parent stay roots); a newer process then opens the file and migrates
    it. The window follows: the list reads its rows again, in the new order."""
    from ui_helpers import ui_settings, wait_ready
    from waiting import until

    from app.ui.app import ImagineApp

    settings = ui_settings(tmp_path)
    jobs = history(40, seed=8)
    want = [job_id for job_id, _ in as_the_list_draws(jobs)]
    app = ImagineApp(settings)
    async with app.run_test(size=(120, 60)) as pilot:
        await wait_ready(pilot)
        written_by_version_1(settings.db_path, jobs)
        table = app.main.table
        await until(lambda: table.row_count == len(jobs) and table.settled, what="40 rows")
        assert table.listed() != want  # in the old program's order
        opened = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from app.jobs.store import JobStore; JobStore(sys.argv[1]).close()",
                str(settings.db_path),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert (opened.returncode, opened.stderr) == (0, "")
        await until(lambda: table.listed() == want, what="the migrated order in the window")
