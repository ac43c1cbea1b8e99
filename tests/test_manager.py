"""The job layer against the real simulator: lineage, persistence, failures, no double sends."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from waiting import until

from app.jobs import JobChanged, JobEvent, JobState, PromptError
from app.runtime import Backend, close_backend, open_backend
from app.settings import Settings


async def test_imagine_then_variation_then_upscale_builds_a_tree(settings: Settings) -> None:
    events: list[JobEvent] = []
    backend: Backend = await open_backend(settings, events.append)
    try:
        m = backend.manager
        job = m.submit_imagine("a red fox in snow")
        assert job.state is JobState.QUEUED  # listed at once, before any network
        assert m.in_flight == 1  # the status line's count
        await until(lambda: m.get(job.id).state is JobState.DONE)  # type: ignore[union-attr]
        assert m.in_flight == 0
        done = m.get(job.id)
        assert done is not None and len(done.image_urls) == 4 and "V2" in done.buttons
        v2 = m.press(job.id, "V2")
        await until(lambda: m.get(v2.id).state is JobState.DONE)  # type: ignore[union-attr]
        up = m.press(v2.id, "U1")
        await until(lambda: m.get(up.id).state is JobState.DONE)  # type: ignore[union-attr]
        upscaled = m.get(up.id)
        assert upscaled is not None and upscaled.is_upscale and len(upscaled.display_urls) == 1
        assert "Zoom Out 2x" in upscaled.buttons and "Web" not in upscaled.buttons
        assert [c.id for c in m.children(job.id)] == [v2.id]
        assert m.get(up.id).parent_id == v2.id  # type: ignore[union-attr]
        states = [e.job.state for e in events if isinstance(e, JobChanged) and e.job.id == job.id]
        assert states[0] is JobState.QUEUED and JobState.RUNNING in states
        # images are downloaded at once (result URLs expire)
        await until(lambda: all(backend.images.cached_path(u) for u in done.image_urls))
    finally:
        await close_backend(backend)
    # a restart finds everything, images included, with no network needed
    again = await open_backend(settings.with_(base_url="http://127.0.0.1:9"))
    try:
        jobs = {j.id: j for j in again.manager.jobs()}
        assert set(jobs) == {job.id, v2.id, up.id}
        assert all(j.state is JobState.DONE for j in jobs.values())
        tiles = await again.images.thumbnails(list(done.image_urls), (64, 64))
        assert all(hasattr(t, "thumbnail") for t in tiles)
    finally:
        await close_backend(again)


async def test_blank_prompt_is_refused_and_nothing_sent(settings: Settings) -> None:
    backend = await open_backend(settings)
    try:
        with pytest.raises(PromptError):
            backend.manager.submit_imagine("   \n\t ")
        assert backend.manager.jobs() == []
        assert backend.simulator is not None and backend.simulator.jobs == {}
    finally:
        await close_backend(backend)


async def test_blocked_prompt_fails_with_the_phrase(settings: Settings) -> None:
    backend = await open_backend(settings.with_(sim_banned=("ass",)))
    try:
        job = backend.manager.submit_imagine("a field of grass")
        await until(lambda: backend.manager.get(job.id).state is JobState.FAILED)  # type: ignore[union-attr]
        failed = backend.manager.get(job.id)
        assert failed is not None and "'ass'" in (failed.error or "")
    finally:
        await close_backend(backend)


async def test_unknown_button_is_refused_before_sending(settings: Settings) -> None:
    backend = await open_backend(settings)
    try:
        job = backend.manager.submit_imagine("boats")
        await until(lambda: backend.manager.get(job.id).state is JobState.DONE)  # type: ignore[union-attr]
        with pytest.raises(ValueError, match="no 'V9' button"):
            backend.manager.press(job.id, "V9")
    finally:
        await close_backend(backend)


async def test_a_job_sent_before_a_crash_becomes_uncertain_not_resent(
    settings: Settings, tmp_path: Path
) -> None:
    from app.jobs import Job, JobStore

    with JobStore(settings.db_path) as store:
        store.save(Job(id="lost1", kind="imagine", prompt="p", options={"sending": True}))
        store.save(Job(id="fresh1", kind="imagine", prompt="q"))
    backend = await open_backend(settings)
    try:
        m = backend.manager
        assert m.get("lost1").state is JobState.UNCERTAIN  # type: ignore[union-attr]
        await until(lambda: m.get("fresh1").state is JobState.DONE)  # type: ignore[union-attr]
        assert backend.simulator is not None
        assert [j.prompt for j in backend.simulator.jobs.values()] == ["q"]
    finally:
        await close_backend(backend)


async def test_startup_resumes_only_recent_missing_downloads(tmp_path: Path) -> None:
    import time

    from hostile import Hostile, png_bytes, serve

    from app.jobs import Job, JobStore

    hostile = Hostile()
    hostile.on("/img/*", lambda p, b: (200, {"Content-Type": "image/png"}, png_bytes()))
    stop = serve(hostile)
    settings = Settings.for_tests(tmp_path / "d", base_url=hostile.url, rate_interval=0.0)
    old = time.time() - 3 * 24 * 3600

    def done(i: int, finished: float) -> Job:
        urls = tuple(f"{hostile.url}/img/{i}_{n}.png" for n in range(4))
        return Job(
            id=f"j{i}",
            kind="imagine",
            prompt=f"p{i}",
            state=JobState.DONE,
            image_urls=urls,
            created_at=finished - 30,
            finished_at=finished,
        )

    with JobStore(settings.db_path) as store:
        store.save_many([done(i, old + i) for i in range(500)] + [done(999, time.time() - 60)])
    backend = await open_backend(settings)
    try:
        await until(lambda: hostile.hits.count("/img/999_3.png") == 1, 5)
        await asyncio.sleep(0.3)
        assert sorted(hostile.hits) == [f"/img/999_{n}.png" for n in range(4)]
    finally:
        await close_backend(backend)
        stop()


async def test_a_job_the_service_forgot_fails_with_its_reason(settings: Settings) -> None:
    from app.jobs import Job, JobStore

    with JobStore(settings.db_path) as store:  # left running by an earlier demo session
        store.save(
            Job(
                id="old1",
                kind="imagine",
                prompt="p",
                state=JobState.RUNNING,
                progress=46,
                message_id="gone0000000000000000",
            )
        )
    backend = await open_backend(settings)
    try:
        await until(lambda: backend.manager.get("old1").state is JobState.FAILED)  # type: ignore[union-attr]
        error = backend.manager.get("old1").error or ""  # type: ignore[union-attr]
        assert "no longer knows this job" in error and "has no record of this one" in error
    finally:
        await close_backend(backend)
