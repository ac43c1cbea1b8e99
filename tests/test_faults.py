"""Faults: a flaky service, one that goes away, and a kill -9. Nothing lost, nothing sent twice."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

from demo_settings import demo_settings, opened
from PIL import Image
from waiting import until

from app.jobs import ConnectionChanged, Job, JobEvent, JobManager, JobState, JobStore
from app.runtime import close_backend, open_backend
from app.settings import Settings
from app.simulator import Simulator, SimulatorConfig


def service_settings(tmp_path: Path, sim: Simulator, **extra: object) -> Settings:
    return demo_settings(
        tmp_path / "data", base_url=sim.base_url, rate_interval=0.0, timeout=0.5, **extra
    )


def settled(state: JobState) -> bool:
    return state.finished or state is JobState.UNCERTAIN


def job_of(m: JobManager, job_id: str) -> Job:
    job = m.get(job_id)
    assert job is not None, f"job {job_id} vanished"
    return job


async def test_chaos_30_jobs_all_end_cleanly_and_agree_with_the_service(tmp_path: Path) -> None:
    config = SimulatorConfig(speed=150, chaos=0.3, seed=11, hang_seconds=1.0, tile_size=64)
    with Simulator(config) as sim:
        async with opened(service_settings(tmp_path, sim)) as backend:
            m = backend.manager
            roots = [m.submit_imagine(f"chaos scene {i}") for i in range(18)]
            assert await until(lambda: all(settled(job_of(m, j.id).state) for j in roots), 60)
            parents = [m.get(j.id) for j in roots]
            done = [j for j in parents if j is not None and j.state is JobState.DONE]
            assert len(done) >= 6, [j.state for j in parents if j]
            labels = ["V1", "U2", "🔄", "V4"]
            presses = [m.press(done[i % len(done)].id, labels[i % 4]) for i in range(12)]
            everyone = [*roots, *presses]
            assert await until(lambda: all(settled(job_of(m, j.id).state) for j in everyone), 60)
            final = [m.get(j.id) for j in everyone]
        sim_jobs = list(sim.jobs.values())
    assert len(final) == 30 and all(j is not None for j in final)
    for job in final:
        assert job is not None
        assert job.state in (JobState.DONE, JobState.FAILED, JobState.UNCERTAIN)
        if job.state is not JobState.DONE:
            assert job.error and "Traceback" not in job.error, job
    # No job was submitted twice: every service job carries the ref of exactly one of ours.
    refs = Counter(j.ref for j in sim_jobs)
    assert all(n == 1 for n in refs.values()), refs
    # The store and the service agree job for job.
    with JobStore(tmp_path / "data" / "history.sqlite3") as store:
        stored = {j.id: j for j in store.all()}
    assert set(stored) == {j.id for j in final if j is not None}
    by_ref = {j.ref: j for j in sim_jobs}
    for job in stored.values():
        if job.message_id is not None:
            assert by_ref[job.id].message_id == job.message_id
        else:  # never accepted: the fault hit before the service took it
            assert job.id not in by_ref and job.state in (JobState.UNCERTAIN, JobState.FAILED)
    assert set(by_ref) <= set(stored)
    assert sum(j.state is JobState.DONE for j in stored.values()) >= 15


async def test_service_going_away_and_coming_back(tmp_path: Path) -> None:
    sim = Simulator(SimulatorConfig(speed=12, tile_size=64))  # ~3 s jobs
    sim.start()
    events: list[JobEvent] = []
    backend = await open_backend(service_settings(tmp_path, sim), events.append)
    m = backend.manager
    try:
        jobs = [m.submit_imagine(f"outage {i}") for i in range(3)]
        assert await until(lambda: all(job_of(m, j.id).message_id for j in jobs), 5)
        sim.stop()
        assert await until(lambda: not m.online, 10)
        offline = [e for e in events if isinstance(e, ConnectionChanged) and not e.online]
        assert offline and "Cannot reach" in offline[0].text
        assert all(job_of(m, j.id).state.active for j in jobs)
        await asyncio.sleep(1.0)
        sim.start()  # same port, same state
        assert await until(lambda: all(job_of(m, j.id).state is JobState.DONE for j in jobs), 30)
        assert m.online and any(isinstance(e, ConnectionChanged) and e.online for e in events)
    finally:
        await close_backend(backend)
        sim.stop()


WORKER = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from app.runtime import open_backend
    from app.settings import Settings

    async def main() -> None:
        s = Settings(
            data_dir=Path(sys.argv[1]), base_url=sys.argv[2], rate_interval=0.0, timeout=5.0
        )
        b = await open_backend(s)
        for i in range(int(sys.argv[3])):
            job = b.manager.submit_imagine(f"kill test {i}")
            print(job.id, flush=True)
        await asyncio.sleep(120)  # until killed

    asyncio.run(main())
    """
)


async def test_kill_9_loses_nothing_and_resumes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Simulator(SimulatorConfig(speed=35, tile_size=512)) as sim:  # ~1 s jobs, real-size images
        script = tmp_path / "worker.py"
        script.write_text(WORKER)
        proc = subprocess.Popen(
            [sys.executable, str(script), str(data), sim.base_url, "6"],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        ids = [proc.stdout.readline().strip() for _ in range(6)]
        # Kill once some are done (images downloading) and some still run.
        await until(lambda: any(j.finished is not None for j in sim.jobs.values()), 15)
        await asyncio.sleep(0.15)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        # The store opens clean and holds every job.
        db = sqlite3.connect(data / "history.sqlite3")
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        db.close()
        with JobStore(data / "history.sqlite3") as store:
            assert {j.id for j in store.all()} == set(ids)
        # No half-written image sits under a final name.
        for path in (data / "images").glob("*"):
            if path.suffix == ".png" and ".tmp" not in path.name:
                with Image.open(path) as img:
                    img.load()
        # A restart resumes the unfinished ones and finishes everything, nothing sent twice.
        settings = demo_settings(data, base_url=sim.base_url, rate_interval=0.0)
        async with opened(settings) as backend:
            m = backend.manager
            assert await until(lambda: all(settled(job_of(m, i).state) for i in ids), 30)
            states = Counter(job_of(m, i).state for i in ids)
            assert states[JobState.DONE] + states[JobState.UNCERTAIN] == 6, states
            urls = [u for i in ids for u in job_of(m, i).image_urls]
            assert await until(lambda: all(backend.images.cached_path(u) for u in urls), 20)
        refs = Counter(j.ref for j in sim.jobs.values())
        assert all(n == 1 for n in refs.values())
