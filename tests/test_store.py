"""The SQLite history: jobs and lineage survive a reopen."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from app.jobs.model import Job, JobState
from app.jobs.store import JobStore


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
