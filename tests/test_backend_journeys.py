"""The same journeys through the job manager on every backend (``Settings.api``), each
against its dialect of the built-in simulator: what a user sees must not depend on it."""

from __future__ import annotations

import io
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
from demo_settings import opened as opened_backend
from PIL import Image
from waiting import until

from app.backends import API_NAMES
from app.jobs import JobState
from app.jobs.model import Job
from app.runtime import Backend
from app.settings import Settings
from app.simulator import Simulator, SimulatorConfig


@pytest.fixture(params=API_NAMES)
def api(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


def opened(settings: Settings, api: str, **changes: Any) -> AbstractAsyncContextManager[Backend]:
    """The backend of ``api`` on ``settings`` with ``changes``, closed when the block ends."""
    return opened_backend(settings.with_(api=api, **changes))


def job_of(backend: Backend, job_id: str) -> Job:
    job = backend.manager.get(job_id)
    assert job is not None
    return job


async def done(backend: Backend, job_id: str) -> Job:
    await until(lambda: job_of(backend, job_id).state.finished)
    job = job_of(backend, job_id)
    assert job.state is JobState.DONE, job.error
    return job


async def test_imagine_variation_upscale_and_a_post_upscale_button(
    settings: Settings, api: str
) -> None:
    async with opened(settings, api) as backend:
        m = backend.manager
        grid = await done(backend, m.submit_imagine("a red fox in snow").id)
        assert len(grid.display_urls) == 4 and grid.buttons[:4] == ("U1", "U2", "U3", "U4")
        # Tiles are on disk at once, split from the grid where the service sent only that.
        await until(lambda: all(backend.images.cached_path(u) for u in grid.display_urls))
        v2 = await done(backend, m.press(grid.id, "V2").id)
        up = await done(backend, m.press(v2.id, "U1").id)
        assert up.is_upscale and len(up.display_urls) == 1
        pan = await done(backend, m.press(up.id, "⬅️").id)
        assert len(pan.display_urls) == 4 and pan.parent_id == up.id


async def test_remix_runs_the_new_prompt(settings: Settings, api: str) -> None:
    async with opened(settings, api) as backend:
        m = backend.manager
        grid = await done(backend, m.submit_imagine("a red fox").id)
        remix = await done(backend, m.press(grid.id, "V1", prompt="a blue fox", remix=True).id)
        assert len(remix.display_urls) == 4
        assert backend.simulator is not None
        served = next(
            j for j in backend.simulator.jobs.values() if j.message_id == remix.message_id
        )
        assert served.prompt == "a blue fox"


@pytest.mark.parametrize("api_name", ["thenextleg", "midjourney-proxy"])
async def test_describe_offers_four_prompts(settings: Settings, api_name: str) -> None:
    async with opened(settings, api_name) as backend:
        m = backend.manager
        grid = await done(backend, m.submit_imagine("a mountain lake").id)
        described = await done(backend, m.submit_describe(grid.display_urls[2]).id)
        prompts = described.options["prompts"]
        assert len(prompts) == 4 and all(isinstance(p, str) and p for p in prompts)
        picked = await done(backend, m.submit_imagine(prompts[0]).id)
        assert len(picked.display_urls) == 4


async def test_describe_a_local_file_on_the_proxy(settings: Settings, tmp_path: Path) -> None:
    picture = tmp_path / "cat.png"
    out = io.BytesIO()
    Image.new("RGB", (48, 32), (120, 80, 40)).save(out, format="PNG")
    picture.write_bytes(out.getvalue())
    async with opened(settings, "midjourney-proxy") as backend:
        described = await done(backend, backend.manager.submit_describe(str(picture)).id)
        assert len(described.options["prompts"]) == 4


async def test_blend_of_tiles_across_the_history(settings: Settings, api: str) -> None:
    async with opened(settings, api) as backend:
        m = backend.manager
        a = await done(backend, m.submit_imagine("a desert").id)
        b = await done(backend, m.submit_imagine("a forest").id)
        if api == "imaginepro":  # the service fetches URLs itself: whole images only
            up = await done(backend, m.press(a.id, "U1").id)
            images = [up.display_urls[0], b.image_url or ""]
        else:
            await until(lambda: all(backend.images.cached_path(u) for u in a.display_urls))
            await until(lambda: all(backend.images.cached_path(u) for u in b.display_urls))
            images = [a.display_urls[0], b.display_urls[3]]
        blended = await done(backend, m.submit_blend(images).id)
        assert len(blended.display_urls) == 4


async def test_banned_prompt_fails_with_a_sentence(settings: Settings, api: str) -> None:
    async with opened(settings, api, sim_banned=("gore",)) as backend:
        m = backend.manager
        job = m.submit_imagine("lots of gore")
        await until(lambda: job_of(backend, job.id).state is JobState.FAILED)
        failed = job_of(backend, job.id)
        assert failed.error and (
            "refused the prompt" in failed.error or "content rules" in failed.error
        )
        if api == "midjourney-proxy":  # refused later (v11.6.2+), the original words kept
            assert failed.error_code == "BANNED_PROMPT" and "可能包含敏感词" in failed.error


async def test_wrong_token_says_so(settings: Settings, api: str) -> None:
    config = SimulatorConfig(api=api, token="right", speed=120.0, tile_size=64)
    with Simulator(config) as sim:
        async with opened(
            settings, api, base_url=sim.api_url, token="wrong", rate_interval=0.0
        ) as backend:
            job = backend.manager.submit_imagine("a valley")
            await until(lambda: job_of(backend, job.id).state is JobState.FAILED)
            assert backend.manager.auth_failed
            assert "rejected the API token" in (job_of(backend, job.id).error or "")


async def test_chaos_never_loses_a_job(settings: Settings, api: str) -> None:
    async with opened(settings, api, sim_chaos=0.3, sim_seed=5) as backend:
        m = backend.manager
        jobs = [m.submit_imagine(f"storm {i}") for i in range(4)]
        settled = (JobState.DONE, JobState.FAILED, JobState.UNCERTAIN)
        await until(lambda: all(job_of(backend, j.id).state in settled for j in jobs), timeout=60)
        assert any(job_of(backend, j.id).state is JobState.DONE for j in jobs)


async def _poll_requests(settings: Settings, api: str, prefix: str) -> int:
    async with opened(settings, api, sim_speed=30.0) as backend:
        m = backend.manager
        jobs = [m.submit_imagine(f"scene {i}") for i in range(6)]
        for job in jobs:
            await done(backend, job.id)
        assert backend.simulator is not None
        return backend.simulator.count(path_prefix=prefix)


async def test_proxy_polls_running_jobs_together(settings: Settings, tmp_path: Path) -> None:
    batched = await _poll_requests(settings, "midjourney-proxy", "/mj/task/")
    one_by_one = await _poll_requests(
        settings.with_(data_dir=tmp_path / "other"), "imaginepro", "/api/v1/message/"
    )
    assert batched * 2 < one_by_one  # one request per round, not one per job


async def test_seed_where_the_backend_has_a_call_for_it(settings: Settings, api: str) -> None:
    from app.backends import Unsupported

    async with opened(settings, api) as backend:
        m = backend.manager
        grid = await done(backend, m.submit_imagine("a quarry").id)
        if api != "midjourney-proxy":  # TheNextLeg: the ✉️ button's job; ImaginePro: none
            with pytest.raises(Unsupported):
                await m.fetch_seed(grid.id)
            return
        seed = await m.fetch_seed(grid.id)
        assert seed.isdigit() and job_of(backend, grid.id).options["seed"] == seed


async def test_describe_and_blend_jobs_say_what_they_are(settings: Settings) -> None:
    async with opened(settings, "midjourney-proxy") as backend:
        m = backend.manager
        grid = await done(backend, m.submit_imagine("a moor").id)
        described = m.submit_describe(grid.display_urls[0])
        blended = m.submit_blend(list(grid.display_urls[:2]))
        assert (described.title, blended.title) == ("describe", "blend")
        await done(backend, described.id)
        await done(backend, blended.id)
