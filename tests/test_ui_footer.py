"""The footer in the smallest terminal the app is made for: a newcomer's keys in view."""

from __future__ import annotations

from pathlib import Path

import pytest
from scenarios import quiet, snapshot_app, tour_done
from textual.widgets import Footer
from textual.widgets._footer import FooterKey
from waiting import until

from app.ui.app import ImagineApp

NEWCOMERS = {"Upscale", "Vary", "Reroll", "Child", "Help", "Quit"}


@pytest.fixture(autouse=True)
def _no_animations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")


def palette_shown(app: ImagineApp) -> bool:
    return any(k.description == "palette" for k in app.screen.query(FooterKey))


def footer_words(app: ImagineApp) -> set[str]:
    """The keys' words the footer shows whole, within the screen; none cut or hidden."""
    footer = app.screen.query_one(Footer)
    words = set()
    for key in footer.query(FooterKey):
        text = key.render().plain.strip()
        assert key.region.right <= footer.region.right, f"{text!r} is off the screen"
        assert key.region.width >= len(text), f"{text!r} is cut"
        words.add(key.description)
    return words


async def test_an_80_column_footer_shows_the_buttons_child_help_and_quit(tmp_path: Path) -> None:
    app = snapshot_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await tour_done(pilot)  # a job done, the list focused
        in_list = footer_words(app)
        await pilot.press("enter")  # at 80 columns: the job, full width
        await until(lambda: app.main.has_class("-job"), what="the job view")
        await quiet(pilot)
        in_job = footer_words(app)
        await pilot.press("escape")
        await pilot.resize_terminal(120, 24)  # wide: every key, the palette's too
        await until(lambda: palette_shown(app), what="the wide footer")
        await quiet(pilot)
        wide = footer_words(app)
        await pilot.resize_terminal(80, 24)  # and narrow again
        await until(lambda: not palette_shown(app), what="the narrow footer")
        await quiet(pilot)
        narrowed = footer_words(app)
    assert NEWCOMERS | {"Prompt", "Parent", "Retry"} <= in_list == narrowed
    assert NEWCOMERS | {"List", "Prompt"} <= in_job  # Esc back to the list too
    assert in_list | {"palette"} == wide
