"""Failures show on the job's row, in the detail pane and as a notification."""

from __future__ import annotations

from pathlib import Path

import pytest
from ui_helpers import SIZE, find, ui_settings, wait_ready
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
