"""Failures show on the job's row, in the detail pane and as a notification."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.geometry import Region
from textual.widgets import Footer, Static
from textual.widgets._footer import FooterKey
from ui_helpers import NARROW, SIZE, find, ui_settings, wait_ready
from waiting import until

from app.jobs.model import JobState
from app.ui.app import ImagineApp


@pytest.fixture(autouse=True)
def _no_animations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")


async def test_banned_word_fails_on_the_row_and_notifies(tmp_path: Path) -> None:
    app = ImagineApp(ui_settings(tmp_path, sim_banned=("grass",)))
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        app.main.prompt_input.value = "a field of grass"
        await pilot.press("enter")
        job = await until(
            lambda: (j := find(app, kind="imagine")) and j.state is JobState.FAILED and j,
            what="the job to fail",
        )
        assert job.error and "grass" in job.error
        cell = app.main.table.cells(job.id)["state"]
        assert cell.plain == "failed: prompt blocked"
        messages = [n.message for n in app._notifications]
        assert any("refused the prompt" in m for m in messages), messages
        # R retries into a fresh job (which fails the same way, but is a new row).
        await pilot.press("escape", "R")
        await until(lambda: app.main.table.row_count == 2, what="a retried job row")


async def test_unknown_button_is_a_notification_not_a_crash(tmp_path: Path) -> None:
    # "kite" jobs never finish here, so "u" surely lands on a running job.
    app = ImagineApp(ui_settings(tmp_path, sim_stall_words=("kite",)))
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        app.main.prompt_input.value = "a red kite"
        await pilot.press("enter", "escape")
        await pilot.press("u")  # still running: no buttons yet
        await until(lambda: app._notifications, what="a notification")
        assert any("once the job is done" in n.message for n in app._notifications)
        assert app.main.press("no-such-job", "U1") is None
        await pilot.pause()
        assert any("no longer in the history" in n.message for n in app._notifications)


def _shown(app: ImagineApp, widget: Static) -> str:
    """The text a widget shows on screen now (cut where its height ends)."""
    strips = widget.render_lines(Region(0, 0, *widget.size))
    return "\n".join(strip.text.strip() for strip in strips)


def _footer_keys(app: ImagineApp) -> list[str]:
    """The footer's entries that fit on the screen, left of the palette's when shown
    (docked on the right, over what does not fit), as "key Description"."""
    footer = app.screen.query_one(Footer)
    palette = footer.query(".-command-palette")  # left out where the footer is narrow
    right = palette.first().region.x if palette else footer.region.right
    return [
        f"{key.key_display} {key.description}"
        for key in footer.query(FooterKey).exclude(".-command-palette")
        if key.region.width > 0 and key.region.right <= right
    ]


@pytest.mark.parametrize("size", [NARROW, (120, 40)])
async def test_a_blocked_prompt_shows_what_to_do(tmp_path: Path, size: tuple[int, int]) -> None:
    # The refusal sentence is long; the way on ("Press e…") must not be cut off, and
    # at 80 columns the job view's footer still offers R (not dropped for lack of room).
    app = ImagineApp(ui_settings(tmp_path, sim_banned=("grass",)))
    async with app.run_test(size=size) as pilot:
        await wait_ready(pilot)
        app.main.prompt_input.value = "a field of grass at noon"
        await pilot.press("enter")
        await until(
            lambda: (j := find(app, kind="imagine")) is not None and j.state is JobState.FAILED,
            what="the job to fail",
        )
        if size == NARROW:
            await pilot.press("enter")  # the list, then the job, take turns
            await until(lambda: app.main.has_class("-job"), what="the job view")
        detail = app.query_one("#detail", Static)

        def seen() -> str:
            return " ".join(_shown(app, detail).split())

        await until(lambda: "Press e to edit the prompt." in seen(), what="the hint shown")
        assert "is banned" in seen()  # the reason too
        await until(lambda: "R Retry" in _footer_keys(app), what="R in the footer")
