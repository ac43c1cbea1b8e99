"""The TUI on the other backends: the same keys work on the proxy's dialect, remix,
describe, blend and seed have their keys (m, d, b / B, E), and a refusal reads the same
whatever the API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from dialects import DIALECTS, TOKEN
from textual.widgets import Input
from ui_helpers import (
    SIZE,
    find,
    jobs,
    send_prompt,
    ui_settings,
    wait_done,
    wait_ready,
    wait_tiles,
)
from waiting import until

from app.api.errors import FAILURE_CODES
from app.jobs.model import Job, JobState
from app.simulator import Simulator, SimulatorConfig
from app.ui.app import ImagineApp
from app.ui.screens.prompts import PickPromptScreen, RemixScreen


@pytest.mark.parametrize("api", ["midjourney-proxy", "imaginepro"])
async def test_keys_work_on_every_backend(tmp_path: Path, api: str) -> None:
    app = ImagineApp(ui_settings(tmp_path, api=api))
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await send_prompt(pilot, app, "a castle on a hill")
        grid = await wait_done(pilot, app, kind="imagine")
        await wait_tiles(pilot, app, 4)  # split from the one grid the service sent
        app.main.table.focus()
        app.main.table.select(grid.id)
        if api == "imaginepro":  # no describe there: said, and nothing is sent
            await pilot.press("1", "d")
            said = "Describe is not supported by the imaginepro backend."
            await until(lambda: any(said in n.message for n in app._notifications), what=said)
            assert find(app, kind="describe") is None
        await pilot.press("2", "v")
        v2 = await wait_done(pilot, app, label="V2")
        app.main.table.select(v2.id)
        await pilot.press("3", "u")
        up = await wait_done(pilot, app, label="U3")
        assert len(up.display_urls) == 1 and "⬅️" in up.buttons


async def test_remix_describe_blend_and_seed_on_the_proxy(tmp_path: Path) -> None:
    app = ImagineApp(ui_settings(tmp_path, api="midjourney-proxy"))
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await send_prompt(pilot, app, "a red fox")
        grid = await wait_done(pilot, app, kind="imagine")
        await wait_tiles(pilot, app, 4)
        main = app.main
        main.table.focus()
        main.table.select(grid.id)

        await pilot.press("1", "m")  # remix: the MODAL step answered with this prompt
        await until(lambda: isinstance(app.screen, RemixScreen), what="the remix dialog")
        app.screen.query_one("#remix-prompt", Input).value = "a blue fox"
        await pilot.press("enter")
        remix = await wait_done(pilot, app, label="V1")
        assert remix.prompt == "a blue fox" and len(remix.display_urls) == 4

        main.table.select(grid.id)
        await pilot.press("2", "d")  # describe the selected tile
        described = await wait_done(pilot, app, kind="describe")
        assert len(described.options["prompts"]) == 4
        main.table.select(described.id)
        await pilot.press("d")  # on a describe job: pick one of its prompts
        await until(lambda: isinstance(app.screen, PickPromptScreen), what="the pick dialog")
        app.screen.query_one("#pick-number", Input).value = "3"
        await pilot.press("enter")
        await until(lambda: main.prompt_input.value == described.options["prompts"][2])

        main.table.focus()
        main.table.select(grid.id)
        await pilot.press("1", "b", "4", "b", "B")  # mark two tiles, blend them
        blended = await wait_done(pilot, app, kind="blend")
        assert len(blended.display_urls) == 4

        main.table.select(grid.id)
        await pilot.press("E")
        await until(lambda: (find(app, id=grid.id) or grid).options.get("seed"), what="seed")


async def test_blend_needs_two_marked_tiles(tmp_path: Path) -> None:
    app = ImagineApp(ui_settings(tmp_path, api="midjourney-proxy"))
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await pilot.press("B")
        await pilot.pause()
        backend = app.main.backend
        assert backend is not None and backend.manager.jobs() == []  # nothing was sent


async def _refused(pilot: object, app: ImagineApp, prompt: str) -> tuple[str, str]:
    """Submit ``prompt``; once its job failed, (the row's state, the job's sentence)."""
    before = {j.id for j in app.main.backend.manager.jobs()} if app.main.backend else set()
    await send_prompt(pilot, app, prompt)

    def failed() -> Job | None:
        new = [j for j in jobs(app) if j.id not in before and j.prompt == prompt]
        return new[0] if new and new[0].state is JobState.FAILED else None

    job = await until(failed, what=f"{prompt!r} to fail")
    assert job.error is not None and TOKEN not in job.error
    return app.main.table.cells(job.id)["state"].plain, job.error


@pytest.mark.parametrize(("api", "shape"), DIALECTS)
async def test_each_refusal_reads_the_same_on_every_backend(
    tmp_path: Path, api: str, shape: dict[str, Any]
) -> None:
    """A banned prompt refused at submit and one failed later, a full queue and a wrong
    secret: the same row state and the same sentence in the TUI, whatever the API."""
    seen: dict[str, tuple[str, str]] = {}

    def service(**config: Any) -> Simulator:
        return Simulator(
            SimulatorConfig(
                api=api, token=TOKEN, banned=("gore",), tile_size=64, **{**shape, **config}
            )
        )

    async def session(sim: Simulator, token: str, prompts: dict[str, str]) -> None:
        settings = ui_settings(
            tmp_path / f"d{len(seen)}", api=api, base_url=sim.api_url, token=token
        )
        app = ImagineApp(settings.with_(rate_interval=0.0))
        async with app.run_test(size=SIZE) as pilot:
            await wait_ready(pilot)
            for name, prompt in prompts.items():
                if name == "hold":  # a long job that fills a queue of one
                    await send_prompt(pilot, app, prompt)
                    await until(lambda: any(j.message_id for j in jobs(app)), what="a job")
                    continue
                seen[name] = await _refused(pilot, app, prompt)

    with service(speed=0.5, ban_on_submit=True, max_queue=1) as sim:
        await session(sim, TOKEN, {"hold": "a slow valley", "now": "much gore", "full": "a dale"})
    with service(speed=150.0, ban_on_submit=False) as sim:
        await session(sim, TOKEN, {"later": "much gore"})
        await session(sim, "tok-WRONG-77", {"secret": "a hill"})

    banned = FAILURE_CODES["BANNED_PROMPT"]
    assert seen["now"][0] == seen["later"][0] == "failed: prompt blocked"
    assert banned in seen["now"][1] and banned in seen["later"][1]
    assert seen["full"][0] == "failed: queue full"
    assert FAILURE_CODES["QUEUE_FULL"] in seen["full"][1]
    assert seen["secret"][0] == "failed: token rejected"
    assert "The service rejected the API token" in seen["secret"][1]


@pytest.mark.parametrize(("api", "shape"), DIALECTS)
async def test_a_job_the_service_forgot_reads_the_same_on_every_backend(
    tmp_path: Path, api: str, shape: dict[str, Any]
) -> None:
    """U1 on a finished job after the service restarted without it: the unknown-task
    sentence, whatever the API says (a 404, the proxy's code 3, a 200 {success: false})."""
    config = SimulatorConfig(api=api, token=TOKEN, tile_size=64, speed=150.0, **shape)
    first = Simulator(config)
    first.start()
    settings = ui_settings(tmp_path, api=api, base_url=first.api_url, token=TOKEN)
    app = ImagineApp(settings.with_(rate_interval=0.0))
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_ready(pilot)
            await send_prompt(pilot, app, "a hill")
            grid = await wait_done(pilot, app, kind="imagine")
            first.stop()
            with Simulator(config, port=first.port):  # the same service, its jobs forgotten
                app.main.table.focus()
                app.main.table.select(grid.id)
                await pilot.press("1", "u")

                def failed() -> Job | None:
                    job = find(app, label="U1")
                    return job if job is not None and job.state is JobState.FAILED else None

                job = await until(failed, what="U1 to fail")
                assert job.error is not None and FAILURE_CODES["NOT_FOUND"] in job.error
                assert app.main.table.cells(job.id)["state"].plain == "failed: not found"
    finally:
        first.stop()
