"""The history's writer thread: writes land in order, a locked history delays them and
loses none, a write that can never succeed does not hold back the others."""

from __future__ import annotations

import queue
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from app.jobs.model import Job, JobState
from app.jobs.store import JobStore, StoreError
from app.jobs.writer import StoreWriter

LOCKER = """
import select, sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
select.select([sys.stdin], [], [], 60)  # until told to let go (a line), at most 60 s
db.execute("COMMIT")
"""

Result = tuple[str, Any, BaseException | None]


@contextmanager
def write_lock_held(db: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Another process holds the history's write lock until the block ends."""
    proc = subprocess.Popen(
        [sys.executable, "-c", LOCKER, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"locked\n"
        yield proc
    finally:
        assert proc.stdin is not None
        proc.stdin.write(b"go\n")
        proc.stdin.close()
        proc.wait(30)


class Recorder:
    """What the writer reports, from its thread."""

    def __init__(self) -> None:
        self.results: queue.Queue[Result] = queue.Queue()
        self.trouble: queue.Queue[StoreError | None] = queue.Queue()

    def done(self, name: str) -> Any:
        return lambda value, error: self.results.put((name, value, error))

    def next(self) -> Result:
        return self.results.get(timeout=30)


def writer_for(db: Path, seen: Recorder) -> StoreWriter:
    return StoreWriter(lambda: JobStore(db), seen.trouble.put)


def test_writes_land_in_the_order_they_were_made(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    seen = Recorder()
    writer = writer_for(db, seen)
    writer.submit(lambda s: s.save(Job(id="a", kind="imagine", prompt="p")), seen.done("save"))
    for n in range(1, 51):
        writer.submit(lambda s, n=n: s.update("a", {"progress": n}), seen.done(f"p{n}"))
    writer.close(5)
    names = [seen.next()[0] for _ in range(51)]
    assert names == ["save"] + [f"p{n}" for n in range(1, 51)]
    with JobStore(db) as store:
        assert store.get("a").progress == 50  # type: ignore[union-attr]
    assert seen.trouble.empty()


def test_a_locked_history_delays_writes_and_loses_none(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    with JobStore(db) as store:
        store.save(Job(id="a", kind="imagine", prompt="p"))
    seen = Recorder()
    writer = writer_for(db, seen)
    with write_lock_held(db) as locker:
        writer.submit(lambda s: s.update("a", {"favourite": True}), seen.done("favourite"))
        writer.submit(lambda s: s.update("a", {"state": JobState.DONE}), seen.done("done"))
        trouble = seen.trouble.get(timeout=30)  # said once, while the lock is held
        assert trouble is not None and "locked" in trouble.human
        assert seen.results.empty() and locker.poll() is None
    assert [seen.next()[:2][0] for _ in range(2)] == ["favourite", "done"]
    assert seen.trouble.get(timeout=30) is None  # and that it works again
    writer.close(5)
    with JobStore(db) as store:
        job = store.get("a")
    assert job is not None and job.favourite and job.state is JobState.DONE


def test_a_write_that_can_never_succeed_does_not_hold_back_the_rest(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    seen = Recorder()
    writer = writer_for(db, seen)
    job = Job(id="a", kind="imagine", prompt="p")
    writer.submit(lambda s: s.insert(job, owner="me", lease_until=0.0), seen.done("first"))
    writer.submit(lambda s: s.insert(job, owner="me", lease_until=0.0), seen.done("twice"))
    writer.submit(lambda s: s.update("a", {"progress": 7}), seen.done("after"))
    writer.close(5)
    results = {name: error for name, _, error in (seen.next() for _ in range(3))}
    assert results["first"] is None and results["after"] is None
    twice = results["twice"]
    assert isinstance(twice, StoreError) and not twice.transient
    with JobStore(db) as store:
        assert store.get("a").progress == 7  # type: ignore[union-attr]


def test_closing_gives_up_on_a_history_locked_for_good_within_its_bound(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    with JobStore(db) as store:
        store.save(Job(id="a", kind="imagine", prompt="p"))
    seen = Recorder()
    writer = writer_for(db, seen)
    with write_lock_held(db):
        writer.submit(lambda s: s.update("a", {"progress": 9}), seen.done("refused"))
        writer.close(0.5)  # one more try (SQLite's own 5 s wait), then it stops
        name, _, error = seen.next()
    assert name == "refused" and isinstance(error, StoreError) and error.transient


def test_a_look_at_the_history_needs_no_write_lock(tmp_path: Path) -> None:
    """The first screen and `imagine-tui jobs` read the history while another program holds
    its write lock: they get the jobs (a read-write open would wait 5 s, then fail)."""
    from app.jobs.store import read_history_shape

    db = tmp_path / "history.sqlite3"
    with JobStore(db) as store:
        store.save(Job(id="a", kind="imagine", prompt="p"))
        store.set_meta("theme", "nord")
    with write_lock_held(db):
        shape = read_history_shape(db)
        with JobStore(db, read_only=True) as look:
            assert [j.id for j in look.newest(5)] == ["a"]
    assert shape is not None and shape.theme == "nord"
    assert [row.job.id for row in shape.snapshot.pages[0]] == ["a"]
