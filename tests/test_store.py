"""The SQLite history: jobs and lineage survive a reopen."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest

from app.jobs.model import Job, JobState
from app.jobs.store import PAGE, JobStore, read_history_shape


def test_jobs_and_lineage_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    parent = Job(
        id="p1",
        kind="imagine",
        prompt="a [bold]fox[/] 🦊",
        state=JobState.DONE,
        buttons=("U1", "🔄"),
        image_urls=("http://x/0.png",) * 4,
        button_message_id="b1",
    )
    child = Job(
        id="c1",
        kind="button",
        prompt=parent.prompt,
        label="V2",
        parent_id="p1",
        options={"zoom": 1.5},
    )
    with JobStore(path) as store:
        store.save(parent)
        store.save(child)
        store.remember_prompt("first", 1.0)
        store.remember_prompt("second", 2.0)
        store.remember_prompt("first", 3.0)
    with JobStore(path) as store:
        assert store.get("p1") == parent
        assert store.children("p1") == [child]
        assert [j.id for j in store.unfinished()] == ["c1"]
        assert store.prompts() == ["second", "first"]
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_many_jobs_round_trip(tmp_path: Path) -> None:
    with JobStore(tmp_path / "h.sqlite3") as store:
        store.save_many(
            Job(id=f"j{i}", kind="imagine", prompt=f"p{i}", created_at=i) for i in range(2000)
        )
        jobs = store.all()
    assert len(jobs) == 2000 and jobs[0].id == "j0" and jobs[-1].id == "j1999"


def test_loaded_jobs_behave_like_new_ones(tmp_path: Path) -> None:
    """store.all() builds jobs without __init__ (start-up speed): they must still be
    equal, frozen and evolvable, and a state this version does not know reads as failed."""
    path = tmp_path / "h.sqlite3"
    job = Job(
        id="a",
        kind="button",
        prompt="p",
        label="🔄",
        state=JobState.RUNNING,
        progress=40,
        options={"seed": 7},
        favourite=True,
        image_urls=("http://x/0.png", "http://x/1.png"),
        finished_at=None,
    )
    with JobStore(path) as store:
        store.save(job)
        store.save(Job(id="b", kind="imagine", prompt="q"))
    sqlite3.connect(path, isolation_level=None).execute(
        "UPDATE jobs SET state = 'from-the-future' WHERE id = 'b'"
    )
    with JobStore(path) as store:
        loaded, other = store.all()
    assert loaded == job and loaded.title == "🔄" and loaded.options == {"seed": 7}
    assert other.state is JobState.FAILED
    moved = loaded.evolve(progress=80)
    assert moved.progress == 80 and loaded.progress == 40
    with pytest.raises(dataclasses.FrozenInstanceError):
        loaded.progress = 99  # type: ignore[misc]


def test_the_history_shape_is_the_end_of_the_list(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    assert read_history_shape(path) is None  # no history yet
    with JobStore(path) as store:
        store.save_many(
            Job(id=f"j{i}", kind="imagine", prompt="p", created_at=i) for i in range(10)
        )
        store.save(Job(id="kid", kind="button", prompt="p", parent_id="j3", created_at=20))
    shape = read_history_shape(path)
    assert shape is not None and shape.snapshot.count == 11
    rows = shape.snapshot.pages[0]
    order = ["j0", "j1", "j2", "j3", "kid", *(f"j{i}" for i in range(4, 10))]
    assert [row.job.id for row in rows] == order  # the child under its parent
    assert rows[4].last == [True] and rows[3].last == []
    with JobStore(path) as store:  # a longer history: only its last two pages
        store.save_many(
            Job(id=f"n{i}", kind="imagine", prompt="p", created_at=100 + i) for i in range(3 * PAGE)
        )
    shape = read_history_shape(path)
    assert shape is not None and shape.snapshot.count == 11 + 3 * PAGE
    assert sorted(shape.snapshot.pages) == [2, 3]
    assert shape.snapshot.pages[3][-1].job.id == f"n{3 * PAGE - 1}"
    path.write_bytes(b"this is not a database" * 100)
    assert read_history_shape(path) is None  # opening the store later reports it


def test_an_update_changes_only_the_fields_it_names(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    with JobStore(path) as one, JobStore(path) as other:
        one.save(Job(id="a", kind="imagine", prompt="p"))
        stale = one.get("a")
        assert stale is not None
        other.update("a", {"favourite": True})
        fresh = one.update("a", {"state": JobState.RUNNING, "progress": 40})
        assert fresh is not None and fresh.favourite and fresh.progress == 40
        assert one.get("a") == fresh


def test_only_one_owner_can_claim_a_job(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    with JobStore(path) as one, JobStore(path) as other:
        one.save(Job(id="a", kind="imagine", prompt="p"))
        now = 1000.0
        assert one.claim("a", "one", now + 30, now) is not None
        assert other.claim("a", "two", now + 30, now + 10) is None  # still held
        assert other.update("a", {"progress": 5}, owner="two") is None
        assert other.claim("a", "two", now + 60, now + 31) is not None  # the lease ran out
        assert one.update("a", {"progress": 5}, owner="one") is None
        assert one.renew("one", now + 90) == set()
        assert other.renew("two", now + 90) == {"a"}


def test_other_connections_see_what_changed(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    with JobStore(path) as one, JobStore(path) as other:
        version, rev = other.data_version(), other.revision()
        one.save(Job(id="a", kind="imagine", prompt="p"))
        one.save(Job(id="b", kind="imagine", prompt="q"))
        one.update("a", {"favourite": True})
        one.claim("b", "one", 99.0, 0.0)  # ownership is not a change of the job
        assert other.data_version() != version
        jobs, rev = other.changed_since(rev)
        assert [j.id for j in jobs] == ["b", "a"] and jobs[1].favourite
        assert other.changed_since(rev) == ([], rev)


def test_a_history_from_before_sharing_opens_and_can_be_claimed(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    columns = ", ".join(f.name for f in dataclasses.fields(Job))
    old = sqlite3.connect(path)
    old.execute(f"CREATE TABLE jobs ({columns}, PRIMARY KEY (id))")
    old.execute(
        f"INSERT INTO jobs ({columns}) VALUES "
        "('a', 'imagine', 'p', NULL, NULL, 'queued', 0, NULL, NULL, NULL, '[]', NULL, '[]', "
        "NULL, NULL, '{}', 0, 1.0, 1.0, NULL)"
    )
    old.commit()
    old.close()
    with JobStore(path) as store:
        assert store.active_leases() == [("a", None, None)]
        job = store.claim("a", "me", 99.0, 0.0)
        assert job is not None and job.prompt == "p"
