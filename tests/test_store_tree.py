"""The job list's tree order, a page at a time from SQLite: the same rows and tree lines
as the list builds from every job in memory, under a filter too, and for older files."""

from __future__ import annotations

import contextlib
import random
import sqlite3
import subprocess
import sys
from pathlib import Path

from app.jobs.model import Job, JobState
from app.jobs.store import _FIELDS, PAGE, SCHEMA_VERSION, JobStore, _job_to_row


def history(n: int, seed: int = 3) -> list[Job]:
    """Imagines with children, grandchildren (deep chains too), favourites, orphans."""
    rng = random.Random(seed)
    jobs: list[Job] = []
    for i in range(n):
        parent = rng.choice(jobs[-40:]) if jobs and rng.random() < 0.6 else None
        orphan = parent is None and rng.random() < 0.03  # its parent is not in the history
        jobs.append(
            Job(
                id=f"{rng.getrandbits(48):012x}",
                kind="button" if parent or orphan else "imagine",
                prompt=f"prompt {i}",
                label="V1" if parent or orphan else None,
                parent_id=parent.id if parent else ("gone" if orphan else None),
                state=JobState.DONE,
                favourite=rng.random() < 0.2,
                created_at=1_700_000_000 + i * 7.25 + rng.random(),
            )
        )
    return jobs


def as_the_list_draws(jobs: list[Job]) -> list[tuple[str, list[bool]]]:
    """The order and tree lines the job list computes from all jobs in memory."""
    parent_of: dict[str, str | None] = {}
    kids: dict[str | None, list[str]] = {}
    for job in sorted(jobs, key=lambda j: j.created_at):
        parent = job.parent_id if job.parent_id in parent_of else None
        parent_of[job.id] = parent
        kids.setdefault(parent, []).append(job.id)
    order: list[str] = []
    stack = list(reversed(kids.get(None, [])))
    for _ in range(len(jobs)):  # each job once
        job_id = stack.pop()
        order.append(job_id)
        stack.extend(reversed(kids.get(job_id, [])))
    assert not stack

    def flags(job_id: str) -> list[bool]:
        last: list[bool] = []
        node: str | None = job_id
        while node is not None and (parent := parent_of[node]) is not None:
            last.append(kids[parent][-1] == node)
            node = parent
        return last[::-1]

    return [(job_id, flags(job_id)) for job_id in order]


def paged(store: JobStore, size: int, where: str = "") -> list[tuple[str, list[bool]]]:
    """Every page, read from the start; the same again with the count known (the later
    half read from the end): both must agree."""
    count = store.tree_count(where)
    rows: list[tuple[str, list[bool]]] = []
    again: list[tuple[str, list[bool]]] = []
    for offset in range(0, count + size, size):  # bounded by the count
        rows += [(job.id, last) for job, last in store.tree_page(offset, size, where)]
        again += [(r.job.id, r.last) for r in store.tree_page(offset, size, where, rows=count)]
    assert again == rows
    for row in range(0, count, max(1, count // 37)):  # and a row found from either end
        assert store.tree_row(rows[row][0], where, rows=count) == row
    return rows


def test_pages_follow_the_lists_tree_order_and_lines(tmp_path: Path) -> None:
    jobs = history(3000)
    expected = as_the_list_draws(jobs)
    with JobStore(tmp_path / "h.sqlite3") as store:
        store.save_many(jobs[:2000])  # an import...
        for job in jobs[2000:]:  # ...and jobs made one by one, as the app does
            store.insert(job, owner="me", lease_until=0.0)
        assert store.tree_count() == 3000
        assert paged(store, 50) == expected
        by_id = {job.id: job for job in jobs}
        assert all(job == by_id[job.id] for job, _ in store.tree_page(0, 3000))  # as saved
        for row in (0, 1, 777, 2999):
            assert store.tree_row(expected[row][0]) == row
        assert store.tree_row("no such job") is None
    assert any(len(last) >= 3 for _, last in expected)  # deep enough to mean something


def test_a_filter_lists_matching_jobs_in_tree_order_with_the_whole_trees_lines(
    tmp_path: Path,
) -> None:
    jobs = history(1500, seed=5)
    favourites = {j.id for j in jobs if j.favourite}
    expected = [row for row in as_the_list_draws(jobs) if row[0] in favourites]
    with JobStore(tmp_path / "h.sqlite3") as store:
        store.save_many(jobs)
        assert store.tree_count("favourite = 1") == len(favourites)
        assert paged(store, 40, "favourite = 1") == expected
        pages = range(len(expected) // PAGE + 1)  # as the list reads them: the same rows
        snapshot = store.tree_snapshot(pages, "favourite = 1", keep=expected[7][0])
        rows = [(r.job.id, r.last) for page in pages for r in snapshot.pages.get(page, [])]
        assert snapshot.count == len(expected) and rows == expected
        assert snapshot.found == {expected[7][0]: 7}
        assert store.tree_row(expected[10][0], "favourite = 1") == 10
        hidden = next(j.id for j in jobs if not j.favourite)
        assert store.tree_row(hidden, "favourite = 1") is None
        found = store.tree_page(0, 10, "prompt LIKE ?", ("prompt 14%",))
        assert {job.prompt for job, _ in found} <= {f"prompt {n}" for n in range(1400)}


def test_an_older_history_gets_its_tree_keys_on_open(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    jobs = history(800, seed=9)
    with JobStore(path) as store:
        store.save_many(jobs)
    with sqlite3.connect(path) as db:  # as a file from before the tree keys
        db.execute("UPDATE jobs SET tree_key = NULL")
    with JobStore(path) as store:
        assert paged(store, 100) == as_the_list_draws(jobs)


def test_a_jobs_family_is_its_whole_tree_as_lineage_finds_it(tmp_path: Path) -> None:
    from app.jobs.lineage import descendants, tree_root

    jobs = history(1500)
    with JobStore(tmp_path / "h.sqlite3") as store:
        store.save_many(jobs)
        for job in jobs[::97]:
            root = tree_root(jobs, job.id)
            want = sorted(j.id for j, _ in descendants(jobs, root))
            assert sorted(j.id for j in store.family(job.id)) == want
        assert store.family("nobody") == []


def test_children_saved_before_their_parent_go_under_it(tmp_path: Path) -> None:
    """An import in any order gives the same tree: a child written before its parent is a
    root only until the parent comes (with everything under it)."""
    jobs = history(600, seed=11)
    shuffled = jobs[:]
    random.Random(1).shuffle(shuffled)
    with JobStore(tmp_path / "h.sqlite3") as store:
        for job in shuffled:
            store.save(job)
        assert paged(store, 50) == as_the_list_draws(jobs)


# The insert trigger before children saved first were moved under their parent.
_OLD_TRIGGER = """
DROP TRIGGER jobs_tree_keys;
CREATE TRIGGER jobs_tree_insert AFTER INSERT ON jobs BEGIN
    UPDATE jobs SET tree_key = COALESCE(
        (SELECT p.tree_key || '/' FROM jobs p
         WHERE p.id = NEW.parent_id AND p.rowid != NEW.rowid AND p.tree_key IS NOT NULL),
        '') || printf('%017.6f:', NEW.created_at) || NEW.id
    WHERE rowid = NEW.rowid;
END;
UPDATE meta SET value = '1' WHERE key = 'schema';
"""


def written_by_version_1(path: Path, jobs: list[Job]) -> None:
    """A history as version 1 left it: saved in a shuffled order (an import), each child
    saved before its parent keeping a root's key."""
    shuffled = jobs[:]
    random.Random(1).shuffle(shuffled)
    with JobStore(path):
        pass
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.executescript(_OLD_TRIGGER)
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        columns = ", ".join(_FIELDS)
        marks = ", ".join("?" * len(_FIELDS))
        db.executemany(
            f"INSERT INTO jobs ({columns}) VALUES ({marks})", [_job_to_row(j) for j in shuffled]
        )
    with JobStore(path, read_only=True) as store:  # the list as version 1 showed it
        assert paged(store, 100) != as_the_list_draws(jobs)


def test_an_older_historys_children_saved_first_go_under_their_parent_on_open(
    tmp_path: Path,
) -> None:
    path = tmp_path / "h.sqlite3"
    jobs = history(2000, seed=5)
    written_by_version_1(path, jobs)
    with JobStore(path) as store:
        assert paged(store, 50) == as_the_list_draws(jobs)
        assert store.get_meta("schema") == str(SCHEMA_VERSION)
    with contextlib.closing(sqlite3.connect(path)) as db, db:  # a later open leaves keys be
        db.execute("UPDATE jobs SET tree_key = 'moved' WHERE id = ?", (jobs[7].id,))
    with JobStore(path) as store:
        assert store.tree_page(store.tree_count() - 1, 1)[0].job.id == jobs[7].id


# Says it is ready, opens the history when told to, then prints the list's order (ids).
OPENER = """
import sys, time
from pathlib import Path
from app.jobs.store import JobStore
go = Path(sys.argv[2])
print("ready", flush=True)
for _ in range(1000):  # at most 10 s
    if go.exists():
        break
    time.sleep(0.01)
with JobStore(sys.argv[1]) as store:
    for job, _ in store.tree_page(0, store.tree_count()):
        print(job.id)
"""


def test_processes_opening_an_older_history_at_once_all_see_the_right_order(
    tmp_path: Path,
) -> None:
    path = tmp_path / "h.sqlite3"
    jobs = history(20_000, seed=6)
    written_by_version_1(path, jobs)
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", OPENER, str(path), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    try:
        for proc in procs:  # all started (EOF if one failed): they open it together
            assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        go.touch()
        results = [proc.communicate(timeout=60) for proc in procs]
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
    want = [job_id for job_id, _ in as_the_list_draws(jobs)]
    for proc, (out, err) in zip(procs, results, strict=True):
        assert (proc.returncode, err) == (0, "")
        assert out.split() == want
