"""The whole journey on the real simulator, store and images, then a restart."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.text import Text
from ui_helpers import (
    SIZE,
    find,
    jobs,
    ui_settings,
    wait_done,
    wait_ready,
    wait_tiles,
)
from waiting import until

from app.jobs.model import JobState
from app.ui.app import ImagineApp
from app.ui.widgets.button_bar import JobButton


@pytest.fixture(autouse=True)
def _no_animations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")


def _button(app: ImagineApp, label: str) -> JobButton | None:
    for button in app.query(JobButton):
        if button.job_label == label:
            return button
    return None


async def test_whole_journey_and_restart(tmp_path: Path) -> None:
    settings = ui_settings(tmp_path)
    app = ImagineApp(settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        assert app.focused is app.main.prompt_input  # ready to type at once
        for char in "a lighthouse at dusk":
            await pilot.press(char)
        await pilot.press("enter")
        # A row at once, before any answer from the service.
        root = find(app, kind="imagine")
        assert root is not None
        assert root.prompt == "a lighthouse at dusk"
        assert app.main.table.row_count == 1
        assert app.main.table.selected_id == root.id
        assert app.main.prompt_input.value == ""

        await wait_done(pilot, app, id=root.id)
        await wait_tiles(pilot, app, 4)
        assert app.main.table.cells(root.id)["state"] == Text("✓ done")

        await pilot.press("escape")  # leave the prompt: keys act on the job list again
        assert app.focused is app.main.table
        await pilot.press("2", "v")
        v2 = await wait_done(pilot, app, label="V2")
        assert v2.parent_id == root.id
        want = [root.id, v2.id]  # the child under its parent
        await until(lambda: app.main.table.listed() == want, what="V2 under its parent")
        assert str(app.main.table.cells(v2.id)["job"]) == "└ V2"

        await pilot.press("c")
        assert app.main.table.selected_id == v2.id
        await wait_tiles(pilot, app, 4)
        await pilot.press("1", "u")
        u1 = await wait_done(pilot, app, label="U1")
        assert u1.parent_id == v2.id
        await pilot.press("c")
        assert app.main.table.selected_id == u1.id
        await wait_tiles(pilot, app, 1)
        assert app.main.grid.single

        await until(lambda: _button(app, "Zoom Out 2x"), what="a Zoom Out 2x button")
        assert _button(app, "Web") is None
        assert "Web" not in u1.buttons
        vary = _button(app, "Vary (Subtle)")
        assert vary is not None
        await pilot.click(vary)
        subtle = await wait_done(pilot, app, label="Vary (Subtle)")
        assert subtle.parent_id == u1.id
        want = [root.id, v2.id, u1.id, subtle.id]
        await until(lambda: app.main.table.listed() == want, what="the tree in order")
        assert str(app.main.table.cells(subtle.id)["job"]) == "    └ Vary (Subtle)"
        before = {j.id for j in jobs(app)}

    # A new app on the same data dir lists every job and draws from the disk cache.
    again = ImagineApp(ui_settings(tmp_path))
    async with again.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        assert {j.id for j in jobs(again)} == before
        assert again.main.table.row_count == 4
        assert all(j.state is JobState.DONE for j in jobs(again))
        assert again.main.table.select(root.id)
        await wait_tiles(pilot, again, 4)
        assert again.backend is not None
        for url in root.display_urls:
            assert again.backend.images.cached_path(url) is not None
        # History recalls the earlier prompt.
        await pilot.press("up")  # the prompt has the focus at start
        assert again.main.prompt_input.value == "a lighthouse at dusk"
