"""One data dir, several processes: each job sent once, fields not overwritten, changes seen.

Every process here is a real one (tests/multiprocess_worker.py runs a JobManager), talking
to the real simulator over loopback with its rate limit on, sharing one SQLite history.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from multiprocess_worker import TOKEN

from app.jobs.model import Job, JobState
from app.jobs.store import JobStore
from app.simulator import Simulator, SimulatorConfig

WORKER = Path(__file__).with_name("multiprocess_worker.py")
RATE = 0.2  # the simulator accepts one request per 0.2 s per token
SPEED = 35.0  # a job takes about 1 s


class Worker:
    """One JobManager process; its stdout lines arrive on a queue."""

    def __init__(self, data_dir: Path, base_url: str, *, adopt: bool = True) -> None:
        args = [sys.executable, str(WORKER), str(data_dir), base_url, str(RATE)]
        self.proc = subprocess.Popen(
            [*args, *([] if adopt else ["--no-adopt"])],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).parent.parent,
        )
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(json.loads(line))

    def send(self, **command: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()

    def wait_for(
        self, cond: Callable[[dict[str, Any]], bool], timeout: float = 20.0
    ) -> dict[str, Any]:
        """The first line (seen before or arriving within ``timeout``) that ``cond`` likes."""
        for line in self.seen:
            if cond(line):
                return line
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            self.seen.append(line)
            if cond(line):
                return line
        raise AssertionError(f"worker never said what was waited for; it said {self.seen[-5:]}")

    def ask(self, op: str, **args: Any) -> dict[str, Any]:
        self.send(op=op, **args)
        return self.wait_for(lambda line: line.get("reply") == op)

    def quit(self) -> None:
        if self.proc.poll() is None:
            self.send(op="quit")
            self.wait_for(lambda line: line.get("event") == "closed")
        self.proc.wait(timeout=10)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)


@pytest.fixture
def sim_speed() -> float:
    return SPEED


@pytest.fixture
def sim(sim_speed: float) -> Iterator[Simulator]:
    config = SimulatorConfig(speed=sim_speed, tile_size=32, rate_limit=RATE, token=TOKEN)
    with Simulator(config) as simulator:
        yield simulator


@pytest.fixture
def workers(tmp_path: Path, sim: Simulator) -> Iterator[Callable[..., Worker]]:
    started: list[Worker] = []

    def start(*, adopt: bool = True) -> Worker:
        worker = Worker(tmp_path, sim.base_url, adopt=adopt)
        worker.wait_for(lambda line: line.get("event") == "ready")
        started.append(worker)
        return worker

    yield start
    for worker in started:
        if worker.proc.poll() is None:
            worker.proc.kill()
            worker.proc.wait(timeout=10)


def stored(tmp_path: Path, job_id: str, until: Callable[[Job], bool]) -> Job:
    """The job as the history file holds it once ``until`` holds, or after 10 s: a
    process shows a change at once and writes it a moment later (its writer thread)."""
    deadline = time.monotonic() + 10.0
    while True:
        with JobStore(tmp_path / "history.sqlite3", read_only=True) as store:
            job = store.get(job_id)
        if (job is not None and until(job)) or time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    assert job is not None
    return job


def done(job: Job) -> bool:
    return job.state is JobState.DONE


def is_event(job_id: str, state: JobState, **fields: Any) -> Callable[[dict[str, Any]], bool]:
    def match(line: dict[str, Any]) -> bool:
        return (
            line.get("event") == "changed"
            and line["id"] == job_id
            and line["state"] == state.value
            and all(line[k] == v for k, v in fields.items())
        )

    return match


def posts(sim: Simulator) -> list[str | None]:
    """The ref (our job id) of every job the service was asked to start."""
    return [j.ref for j in sim.jobs.values()]


def test_two_processes_resuming_the_same_queued_jobs_send_each_once(
    tmp_path: Path, sim: Simulator, workers: Callable[..., Worker]
) -> None:
    ids = [f"queued{i}" for i in range(6)]
    with JobStore(tmp_path / "history.sqlite3") as store:  # left queued by an earlier run
        store.save_many(Job(id=i, kind="imagine", prompt=f"a lake {i}") for i in ids)
    first, second = workers(), workers()  # both resume at once
    for job_id in ids:
        for worker in (first, second):
            worker.wait_for(is_event(job_id, JobState.DONE))
    assert sorted(posts(sim)) == ids  # every job sent, none twice
    assert sim.count(status=429) == 0  # the two processes shared one budget
    assert all(done(stored(tmp_path, i, done)) for i in ids)


@pytest.mark.parametrize("sim_speed", [7.0])  # a job takes 5 s
def test_a_favourite_set_in_one_window_survives_the_other_windows_writes(
    tmp_path: Path, workers: Callable[..., Worker]
) -> None:
    owner, other = workers(), workers()
    job_id = owner.ask("imagine", prompt="a slow river")["id"]
    other.wait_for(lambda line: line.get("id") == job_id)  # seen by the other window
    other.ask("favourite", id=job_id)
    assert not any(is_event(job_id, JobState.DONE)(line) for line in owner.seen)
    # The owner goes on writing this job (progress, done) after the favourite was set.
    done = owner.wait_for(is_event(job_id, JobState.DONE))
    assert done["favourite"] is True
    assert stored(tmp_path, job_id, lambda j: j.favourite).favourite is True
    other.wait_for(is_event(job_id, JobState.DONE, favourite=True))


def test_a_scripts_job_shows_up_live_in_a_window_that_does_not_poll_it(
    sim: Simulator, workers: Callable[..., Worker]
) -> None:
    window = workers()
    script = workers(adopt=False)
    job_id = script.ask("imagine", prompt="a meadow at noon")["id"]
    started = time.monotonic()
    window.wait_for(lambda line: line.get("id") == job_id, timeout=5.0)
    assert time.monotonic() - started < 5.0
    running = window.wait_for(lambda line: is_event(job_id, JobState.RUNNING)(line))
    assert running["progress"] > 0  # progress the script polled, seen by the window
    window.wait_for(is_event(job_id, JobState.DONE))
    assert window.ask("stats")["polls"].get(job_id, 0) == 0  # only the owner polls
    assert script.ask("stats")["polls"][job_id] >= 1
    assert posts(sim) == [job_id]


def test_a_killed_owners_job_is_taken_over_not_sent_again(
    tmp_path: Path, sim: Simulator, workers: Callable[..., Worker]
) -> None:
    window = workers()
    script = workers(adopt=False)
    job_id = script.ask("imagine", prompt="a storm over the sea")["id"]
    script.wait_for(is_event(job_id, JobState.SUBMITTED))
    script.kill()  # no goodbye: its lease names a process that no longer runs
    window.wait_for(is_event(job_id, JobState.DONE))
    assert window.ask("stats")["polls"][job_id] >= 1
    assert posts(sim) == [job_id]


def test_a_script_that_exits_without_waiting_hands_its_job_to_the_window(
    tmp_path: Path, sim: Simulator, workers: Callable[..., Worker]
) -> None:
    window = workers()
    script = workers(adopt=False)
    job_id = script.ask("imagine", prompt="dunes at dusk")["id"]
    script.wait_for(is_event(job_id, JobState.SUBMITTED))
    script.quit()
    window.wait_for(is_event(job_id, JobState.DONE))
    assert posts(sim) == [job_id]
    assert done(stored(tmp_path, job_id, done))


def test_a_job_sending_when_its_process_died_becomes_uncertain_in_the_next(
    tmp_path: Path, sim: Simulator, workers: Callable[..., Worker]
) -> None:
    """The dead process may have sent it: the one taking over must not send it again."""
    with JobStore(tmp_path / "history.sqlite3") as store:
        job = Job(id="halfsent", kind="imagine", prompt="p", options={"sending": True})
        store.insert(
            job, owner=f"{os.uname().nodename}/999999999/dead", lease_until=time.time() + 60
        )
    window = workers()
    window.wait_for(is_event("halfsent", JobState.UNCERTAIN))
    assert posts(sim) == []


def test_a_script_killed_while_its_post_is_out_leaves_a_row_saying_so(tmp_path: Path) -> None:
    """The one write before the POST holds the job, its lease and its "sending" mark: a
    script killed while the service holds its request leaves a row that says the POST may
    have gone out, and the window taking over says so instead of sending it again."""
    from hostile import Hostile, json_reply, serve

    arrived, release = threading.Event(), threading.Event()

    def held(_path: str, _body: bytes) -> Any:
        arrived.set()
        release.wait(30)  # bounded: the test ends by then
        return json_reply({"success": False}, 500)

    hostile = Hostile()
    hostile.on("/imagine", held)
    stop = serve(hostile)
    started: list[Worker] = []
    try:
        script = Worker(tmp_path, hostile.url, adopt=False)
        started.append(script)
        script.wait_for(lambda line: line.get("event") == "ready")
        job_id = script.ask("imagine", prompt="a lighthouse in fog")["id"]
        assert arrived.wait(20)
        with JobStore(tmp_path / "history.sqlite3", read_only=True) as store:
            row, owner = store.get(job_id), store.owner_of(job_id)
        assert row is not None and row.state is JobState.QUEUED and row.options.get("sending")
        assert owner is not None and owner.split("/")[1] == str(script.proc.pid)
        script.kill()
        window = Worker(tmp_path, hostile.url)
        started.append(window)
        window.wait_for(is_event(job_id, JobState.UNCERTAIN))
        assert hostile.hits.count("/imagine") == 1
    finally:
        release.set()
        for worker in started:
            if worker.proc.poll() is None:
                worker.proc.kill()
                worker.proc.wait(timeout=10)
        stop()


def test_processes_sharing_a_token_share_one_request_budget(
    tmp_path: Path, sim: Simulator, workers: Callable[..., Worker]
) -> None:
    scripts = [workers(adopt=False) for _ in range(4)]
    ids = {
        s: [s.ask("imagine", prompt=f"hills {n} {i}")["id"] for i in range(3)]
        for n, s in enumerate(scripts)
    }
    for script, job_ids in ids.items():
        for job_id in job_ids:
            script.wait_for(is_event(job_id, JobState.DONE), timeout=60.0)
    assert len(posts(sim)) == 12
    assert sim.count(status=429) == 0
