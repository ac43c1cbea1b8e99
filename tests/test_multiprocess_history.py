"""The history file says what the app says while other processes open it.

Issue 13: with another process opening the history read-write every few tenths of a
second (``imagine-tui jobs``, a script), a running TUI's writes stopped reaching the file.
The TUI's own start-up had opened and closed a plain descriptor of the database file
(to make it private), and closing any descriptor drops every POSIX lock the process holds
on that file, SQLite's shared lock included. The next process to close its connection then
found itself alone, checkpointed and deleted the WAL, and the TUI went on writing into the
deleted one.
"""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from ui_helpers import SIZE, ui_settings, wait_done, wait_ready
from waiting import until

from app.jobs.model import Job, JobState
from app.jobs.store import JobStore
from app.ui.app import ImagineApp

# Opens the history read-write, reads one row count, closes; every 0.1 s, at most 60 s.
OPENER = """
import sqlite3, sys, time
for _ in range(600):
    db = sqlite3.connect(sys.argv[1])
    db.execute("SELECT count(*) FROM jobs").fetchall()
    db.close()
    print("opened", flush=True)
    time.sleep(0.1)
"""


@contextlib.contextmanager
def opening_in_a_loop(db: Path) -> Iterator[None]:
    """Another process opens and closes ``db`` read-write over and over meanwhile."""
    proc = subprocess.Popen([sys.executable, "-c", OPENER, str(db)], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        for _ in range(3):  # it has opened and closed the history a few times already
            assert proc.stdout.readline() == b"opened\n"
        yield
    finally:
        proc.kill()
        proc.wait()


def on_disk(db: Path, job_id: str) -> tuple[str, int] | None:
    """The job's state and progress as the file holds them; None when it does not hold
    the job (or cannot be read). Read-only: a look changes nothing."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as ro:
            row = ro.execute("SELECT state, progress FROM jobs WHERE id = ?", (job_id,)).fetchone()
    except sqlite3.Error:
        return None
    return (str(row[0]), int(row[1])) if row else None


def in_another_process(db: Path, job_id: str) -> str:
    """The job's state as a separate process reads it from the file ('' when missing)."""
    script = (
        "import sqlite3, sys\n"
        "db = sqlite3.connect(f'file:{sys.argv[1]}?mode=ro', uri=True)\n"
        "row = db.execute('SELECT state FROM jobs WHERE id = ?', (sys.argv[2],)).fetchone()\n"
        "print(row[0] if row else '')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(db), job_id],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return out.stdout.strip()


async def test_the_tuis_writes_land_while_another_process_keeps_opening_the_history(
    tmp_path: Path,
) -> None:
    app = ImagineApp(ui_settings(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        assert app.backend is not None
        if app.backend.pruning is not None:  # start-up work that opens the history too
            await app.backend.pruning
        db = app.settings.db_path
        with opening_in_a_loop(db):
            app.main.prompt_input.focus()
            app.main.prompt_input.value = "a lighthouse at dusk"
            await pilot.press("enter")
            job = await wait_done(pilot, app, prompt="a lighthouse at dusk")
            await until(
                lambda: on_disk(db, job.id) == ("done", 100),
                10,
                what="the file to say what the screen says",
            )
            assert in_another_process(db, job.id) == "done"
            app.main.table.select(job.id)
            app.main.table.focus()
            await pilot.press("f")  # a later write lands too
            await until(lambda: _favourite(db, job.id), 10, what="the favourite on disk")


def _favourite(db: Path, job_id: str) -> bool:
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as ro:
            row = ro.execute("SELECT favourite FROM jobs WHERE id = ?", (job_id,)).fetchone()
    except sqlite3.Error:
        return False
    return bool(row and row[0])


def test_a_second_store_in_the_same_process_leaves_the_first_its_lock(tmp_path: Path) -> None:
    """The app opens the history more than once (the first screen, cache pruning): the
    main store's writes must still reach the file once other processes come and go."""
    db = tmp_path / "history.sqlite3"
    with JobStore(db) as main:
        main.save(Job(id="a", kind="imagine", prompt="first"))
        JobStore(db).close()  # e.g. the start-up pruning reading which images to keep
        with opening_in_a_loop(db):
            main.update("a", {"state": JobState.DONE, "progress": 100})
            main.save(Job(id="b", kind="imagine", prompt="second"))
            assert in_another_process(db, "a") == "done"
            assert in_another_process(db, "b") == "queued"
