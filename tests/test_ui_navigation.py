"""Parent/child navigation, the help screen, and the full-screen image."""

from __future__ import annotations

from pathlib import Path

import pytest
from ui_helpers import NARROW, SIZE, find, ui_settings, wait_done, wait_ready, wait_tiles
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


def _footer(app: ImagineApp) -> list[tuple[str, str]]:
    """(key, what) as the footer of the screen shown draws them."""
    return [(k.key_display, k.description) for k in app.screen.query("Footer FooterKey")]


async def test_narrow_job_view_footer_offers_esc_back_to_the_list(tmp_path: Path) -> None:
    app = ImagineApp(ui_settings(tmp_path))
    async with app.run_test(size=NARROW) as pilot:
        await wait_ready(pilot)
        app.main.prompt_input.value = "a quiet harbour"
        await pilot.press("enter")
        await wait_done(pilot, app, kind="imagine")
        app.main.table.focus()
        await until(lambda: app.focused is app.main.table, what="the list focused")
        assert ("esc", "List") not in _footer(app)  # the list: Esc is not "back"

        await pilot.press("enter")  # below 100 columns: the job instead of the list
        await until(lambda: ("esc", "List") in _footer(app), what="esc List in the footer")
        assert _footer(app)[0] == ("esc", "List")  # first: it must not be the one cut off
        assert app.main.table.region.width == 0  # the list is hidden behind the job

        await pilot.press("escape")
        await until(lambda: app.focused is app.main.table, what="the list again")
        await until(lambda: ("esc", "List") not in _footer(app), what="esc List gone")


async def test_full_screen_footer_shows_remapped_tile_keys(tmp_path: Path) -> None:
    keymap = {"tile_1": "a", "tile_2": "s", "tile_3": "d", "tile_4": "f"}
    app = ImagineApp(ui_settings(tmp_path, keymap=keymap))
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        app.main.prompt_input.value = "a quiet harbour"
        await pilot.press("enter")
        await wait_done(pilot, app, kind="imagine")
        await wait_tiles(pilot, app, 4)
        app.main.table.focus()
        await pilot.press("enter")
        await until(lambda: isinstance(app.screen, ImageScreen), what="the full-screen view")
        await until(lambda: ("a/s/d/f", "Tile") in _footer(app), what="a/s/d/f in the footer")
        assert not any(key == "1–4" for key, _ in _footer(app))
        await pilot.press("s")  # the remapped key for tile 2 works here too
        screen = app.screen
        assert isinstance(screen, ImageScreen)
        await until(lambda: screen.index == 2, what="tile 2 shown")
