"""The job layer: against the real simulator (lineage, persistence, failures, no double
sends), and on a fake client in memory (the submit and poll rules, one by one)."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from demo_settings import demo_settings
from waiting import until

from app.api.errors import NetworkError, RateLimited
from app.api.models import Submitted, parse_message
from app.backends import Press, Submission, Update
from app.backends.thenextleg import to_update
from app.jobs import (
    ConnectionChanged,
    ImagesReady,
    Job,
    JobChanged,
    JobEvent,
    JobManager,
    JobState,
    JobStore,
    ManagerSettings,
    PromptError,
    RequestBudget,
)
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
    settings = demo_settings(tmp_path / "d", base_url=hostile.url, rate_interval=0.0)
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


# -- the same manager on a fake client: in memory, no HTTP ---------------------------------


class FakeClient:
    """A backend with scripted answers: one per POST (an exception is raised), a list of
    TheNextLeg bodies per message id for the polls (the last one repeats). Records every
    call."""

    name = "fake"
    base_url = "http://fake.invalid"
    batch = False
    features: frozenset[Any] = frozenset()

    def __init__(self, posts: list[Submitted | Exception], polls: dict[str, list[Any]]) -> None:
        self.posts = posts
        self.polls = polls
        self.sent: list[tuple[str, ...]] = []
        self.polled: list[str] = []

    async def imagine(self, prompt: str, ref: str | None, webhook: str | None) -> Submission:
        self.sent.append(("imagine", prompt))
        return self._answer()

    async def press(
        self, target: str, button: str, ref: str | None, webhook: str | None, press: Press
    ) -> Submission:
        self.sent.append(("button", button, target))
        return self._answer()

    async def fetch(self, job_id: str) -> Update:
        self.polled.append(job_id)
        bodies = self.polls[job_id]
        return to_update(parse_message(bodies.pop(0) if len(bodies) > 1 else bodies[0]))

    async def fetch_many(self, job_ids: Sequence[str]) -> dict[str, Update]:
        return {job_id: await self.fetch(job_id) for job_id in job_ids}

    def webhook_update(self, body: Any) -> Update | None:
        return None

    def _answer(self) -> Submission:
        answer = self.posts.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return Submission(answer.message_id)


class FakeImages:
    """An image cache in a dict; URLs containing "broken" never download."""

    def __init__(self) -> None:
        self.cache: dict[str, Path] = {}

    async def fetch(self, url: str) -> object:
        if "broken" in url:
            raise ValueError(f"{url} is not an image")
        self.cache[url] = Path("/cache") / url.rsplit("/", 1)[-1]
        return self.cache[url]

    def cached_path(self, url: str) -> object | None:
        return self.cache.get(url)


def _done_body(message_id: str, urls: list[str]) -> dict[str, Any]:
    return {
        "progress": 100,
        "response": {
            "content": "a kite",
            "buttons": ["U1", "U2", "U3", "U4", "🔄", "V1", "V2", "V3", "V4"],
            "imageUrls": urls,
            "buttonMessageId": f"b-{message_id}",
        },
    }


@contextlib.asynccontextmanager
async def fake_manager(
    client: FakeClient, **settings: Any
) -> AsyncIterator[tuple[JobManager, list[JobEvent]]]:
    events: list[JobEvent] = []
    store = JobStore(":memory:")
    manager = JobManager(
        client,
        store,
        budget=RequestBudget(0.0),
        images=FakeImages(),
        settings=ManagerSettings(min_poll_gap=0.01, submit_backoff=0.01, **settings),
        listener=events.append,
    )
    await manager.start()
    try:
        yield manager, events
    finally:
        await manager.close()
        store.close()


async def test_fake_a_lost_answer_is_uncertain_and_only_r_sends_it_again() -> None:
    lost = NetworkError("The connection dropped after sending.", maybe_sent=True)
    client = FakeClient([lost, Submitted("m2", "")], {"m2": [{"progress": 10}]})
    async with fake_manager(client) as (m, _):
        job = m.submit_imagine("a kite")
        settled = await asyncio.wait_for(m.until_settled(job.id), 5)
        assert settled.state is JobState.UNCERTAIN and "may or may not" in (settled.error or "")
        await asyncio.sleep(0.1)
        assert client.sent == [("imagine", "a kite")]  # never resent on its own
        again = m.retry(job.id)  # R: a new job; the uncertain one stays in the history
        await asyncio.wait_for(m.wait_for(again.id, lambda j: j.message_id == "m2"), 5)
        assert len(client.sent) == 2 and m.get(job.id).state is JobState.UNCERTAIN  # type: ignore[union-attr]
        with pytest.raises(ValueError, match="Only a failed, stalled or uncertain job"):
            m.retry(again.id)


async def test_fake_refused_connections_are_resent_then_given_up_as_network() -> None:
    refused = [NetworkError("Cannot reach the service.", maybe_sent=False) for _ in range(3)]
    client = FakeClient(list(refused), {})
    async with fake_manager(client, submit_attempts=3) as (m, events):
        job = m.submit_imagine("a kite")
        failed = await asyncio.wait_for(m.until_settled(job.id), 5)
        assert failed.state is JobState.FAILED and failed.error_code == "network"
        assert (failed.error or "").endswith("Gave up.") and len(client.sent) == 3
        assert not m.online
        assert [e.online for e in events if isinstance(e, ConnectionChanged)] == [False]


async def test_fake_a_429_is_resent_once_and_the_job_runs_to_done() -> None:
    urls = [f"https://cdn.example/m1/{n}.png" for n in range(4)]
    polls = {"m1": [{"progress": 30}, {"progress": 20}, _done_body("m1", urls)]}
    client = FakeClient([RateLimited(0.01), Submitted("m1", "")], polls)
    async with fake_manager(client) as (m, events):
        job = m.submit_imagine("a kite")
        done = await asyncio.wait_for(m.until_settled(job.id), 5)
        assert done.state is JobState.DONE and done.button_message_id == "b-m1"
        assert len(client.sent) == 2  # the 429 was not taken: sent again, once
        shown = [e.job.progress for e in events if isinstance(e, JobChanged)]
        assert 30 in shown and 20 not in shown  # progress never goes back
        assert await asyncio.wait_for(m.images_ready(job.id), 5) == ()
        assert any(isinstance(e, ImagesReady) and e.job_id == job.id for e in events)


async def test_fake_images_ready_says_which_images_failed() -> None:
    urls = ["https://cdn.example/ok.png", "https://cdn.example/broken.png"]
    client = FakeClient([Submitted("m1", "")], {"m1": [_done_body("m1", urls)]})
    async with fake_manager(client) as (m, _):
        job = m.submit_imagine("a kite")
        await asyncio.wait_for(m.until_settled(job.id), 5)
        [why] = await asyncio.wait_for(m.images_ready(job.id), 5)
        assert "broken.png is not an image" in why


async def test_fake_buttons_by_job_or_by_message_id() -> None:
    urls = [f"https://cdn.example/{n}.png" for n in range(4)]
    client = FakeClient(
        [Submitted("m1", ""), Submitted("m2", ""), Submitted("m3", "")],
        {"m1": [_done_body("m1", urls)], "m2": [{"progress": 5}], "m3": [{"progress": 5}]},
    )
    async with fake_manager(client) as (m, _):
        root = m.submit_imagine("a kite")
        await asyncio.wait_for(m.until_settled(root.id), 5)
        assert m.find_message("m1") == m.find_message("b-m1") == m.get(root.id)
        with pytest.raises(ValueError, match="no 'V9' button"):
            m.press(root.id, "V9")
        v2 = m.press(root.id, "V2")
        other = m.press_message("b-elsewhere", "U3")  # a job this history never held
        for job in (v2, other):
            await asyncio.wait_for(m.wait_for(job.id, lambda j: j.message_id is not None), 5)
        assert client.sent[1:] == [("button", "V2", "b-m1"), ("button", "U3", "b-elsewhere")]
        assert [c.id for c in m.children(root.id)] == [v2.id]
        assert m.get(other.id).parent_id is None  # type: ignore[union-attr]


async def test_fake_a_job_cancelled_before_its_turn_is_never_sent() -> None:
    client = FakeClient([Submitted("m1", "")], {"m1": [{"progress": 5}]})
    async with fake_manager(client) as (m, _):
        m.budget.hold(0.3)  # the request budget is spent: the job waits its turn
        job = m.submit_imagine("a kite")
        await asyncio.sleep(0.05)
        assert m.cancel(job.id)
        assert m.get(job.id).error_code == "cancelled"  # type: ignore[union-attr]
        await asyncio.sleep(0.4)
        assert client.sent == [] and not m.cancel(job.id)


async def test_fake_a_script_manager_leaves_the_history_alone() -> None:
    store = JobStore(":memory:")
    store.save(Job(id="old", kind="imagine", prompt="p"))  # queued by an earlier run
    client = FakeClient([], {})
    m = JobManager(
        client,
        store,
        budget=RequestBudget(0.0),
        images=FakeImages(),
        settings=ManagerSettings(adopt=False),
    )
    await m.start()
    await asyncio.sleep(0.05)
    await m.close()
    assert client.sent == [] and m.get("old") is not None
    store.close()


async def test_fake_a_job_waits_for_a_locked_history_then_goes_out_once(tmp_path: Path) -> None:
    """Another program holds the history's write lock at Enter: the job goes out only
    once it is on disk, owned and marked "sending", and then exactly once (its request
    slot, taken at Enter, is handed back while the write waits and taken again)."""
    path = tmp_path / "history.sqlite3"
    store = JobStore(path)
    client = FakeClient([Submitted("m1", "")], {"m1": [{"progress": 5}]})
    m = JobManager(
        client,
        store,
        budget=RequestBudget(0.0),
        settings=ManagerSettings(min_poll_gap=0.01, submit_backoff=0.01),
    )
    await m.start()
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        job = m.submit_imagine("a kite")
        await asyncio.sleep(1.0)  # past the slot's hand-back, within the busy timeout
        assert client.sent == [] and m.get(job.id).state is JobState.QUEUED  # type: ignore[union-attr]
        other.execute("COMMIT")
        await asyncio.wait_for(m.wait_for(job.id, lambda j: j.message_id == "m1"), 10)
        await asyncio.sleep(0.1)
        assert client.sent == [("imagine", "a kite")]
        with JobStore(path, read_only=True) as look:
            stored = look.get(job.id)
        assert stored is not None and stored.message_id == "m1"
    finally:
        other.close()
        await m.close()
        store.close()
