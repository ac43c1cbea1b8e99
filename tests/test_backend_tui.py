"""The TUI on the other backends: the same keys work on the proxy's dialect, and remix,
describe, blend and seed have their keys (m, d, b / B, E)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input
from ui_helpers import SIZE, find, ui_settings, wait_done, wait_ready, wait_tiles
from waiting import until

from app.ui.app import ImagineApp
from app.ui.screens.prompts import PickPromptScreen, RemixScreen


async def _imagine(pilot: object, app: ImagineApp, prompt: str) -> None:
    app.main.prompt_input.value = prompt
    app.main.prompt_input.focus()
    await pilot.press("enter")  # type: ignore[attr-defined]


@pytest.mark.parametrize("api", ["midjourney-proxy", "imaginepro"])
async def test_keys_work_on_every_backend(tmp_path: Path, api: str) -> None:
    app = ImagineApp(ui_settings(tmp_path, api=api))
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await _imagine(pilot, app, "a castle on a hill")
        grid = await wait_done(pilot, app, kind="imagine")
        await wait_tiles(pilot, app, 4)  # split from the one grid the service sent
        app.main.table.focus()
        app.main.table.select(grid.id)
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
        await _imagine(pilot, app, "a red fox")
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
