"""Parent/child navigation, the help screen, and the full-screen image."""

from __future__ import annotations

from pathlib import Path

import pytest
from ui_helpers import SIZE, find, ui_settings, wait_done, wait_ready, wait_tiles
from waiting import until

from app.ui.app import ImagineApp
from app.ui.screens.help import HelpScreen
from app.ui.screens.image import ImageScreen


@pytest.fixture(autouse=True)
def _no_animations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")


async def test_parent_help_and_full_screen(tmp_path: Path) -> None:
    app = ImagineApp(ui_settings(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        app.main.prompt_input.value = "a quiet harbour"
        await pilot.press("enter", "escape")
        root = await wait_done(pilot, app, kind="imagine")
        await wait_tiles(pilot, app, 4)

        # Enter on a tile opens it full screen; Escape closes.
        await pilot.press("3")
        assert app.main.grid.selected == 3
        await pilot.press("enter")
        await until(lambda: isinstance(app.screen, ImageScreen), what="the full-screen view")
        await pilot.press("escape")
        await until(lambda: not isinstance(app.screen, ImageScreen), what="it to close")

        # A click on a tile opens it too.
        await pilot.click("#tile-2")
        await until(lambda: isinstance(app.screen, ImageScreen), what="click to open")
        assert app.main.grid.selected == 2
        await pilot.press("escape")

        await pilot.press("r")
        reroll = await wait_done(pilot, app, label="🔄")
        await pilot.press("c")
        assert app.main.table.selected_id == reroll.id
        await pilot.press("p")
        assert app.main.table.selected_id == root.id
        await pilot.press("p")  # an imagine has no parent: stays, says so
        assert app.main.table.selected_id == root.id
        await pilot.press("j")
        assert app.main.table.selected_id == reroll.id
        await pilot.press("k")
        assert app.main.table.selected_id == root.id

        await pilot.press("question_mark")
        await until(lambda: isinstance(app.screen, HelpScreen), what="the help screen")
        await pilot.press("escape")
        await until(lambda: not isinstance(app.screen, HelpScreen), what="help to close")
        assert find(app, label="🔄") is not None
