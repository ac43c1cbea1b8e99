"""The prompt: blank prompts refused inline, markup shown literally, history, focus."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Static
from ui_helpers import SIZE, find, hold_backend, jobs, ui_settings, wait_done, wait_ready

from app.ui.app import ImagineApp


@pytest.fixture(autouse=True)
def _no_animations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")


async def test_blank_prompt_is_refused_inline(tmp_path: Path) -> None:
    app = ImagineApp(ui_settings(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await pilot.press("enter")
        await pilot.press("space", "space", "enter")
        error = app.query_one("#prompt-error", Static)
        assert error.display
        assert "empty prompt" in str(error.render())
        assert jobs(app) == []
        assert app.main.table.row_count == 0
        # Typing clears the message.
        await pilot.press("x")
        assert not error.display


async def test_markup_in_a_prompt_is_shown_literally(tmp_path: Path) -> None:
    app = ImagineApp(ui_settings(tmp_path))
    prompt = "[bold]x[/] [link=http://x]y[/link]"
    async with app.run_test(size=(200, 45)) as pilot:
        await wait_ready(pilot)
        app.main.prompt_input.value = prompt
        await pilot.press("enter")
        job = find(app, prompt=prompt)
        assert job is not None
        cell = app.main.table.cells(job.id)["prompt"]
        assert cell.plain.startswith("[bold]x[/]")
        assert not cell.spans  # no style was parsed out of the prompt
        await wait_done(pilot, app, id=job.id)
        detail = str(app.query_one("#detail", Static).render())
        assert prompt in detail


async def test_letter_keys_type_into_the_prompt(tmp_path: Path) -> None:
    app = ImagineApp(ui_settings(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await pilot.press("slash")  # "/" on an empty prompt focuses it, it types nothing
        assert app.main.prompt_input.value == ""
        await pilot.press("u", "v", "r", "p", "question_mark", "slash", "R", "1")
        assert app.main.prompt_input.value == "uvrp?/R1"
        assert len(app.screen_stack) == 1  # "?" typed, help not opened
        await pilot.press("escape")
        assert app.focused is app.main.table
        await pilot.press("slash")
        assert app.focused is app.main.prompt_input


async def test_a_prompt_sent_while_starting_goes_out_once_ready(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = hold_backend(monkeypatch)
    app = ImagineApp(ui_settings(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.backend is None
        app.main.prompt_input.value = "an early bird"
        await pilot.press("enter")
        error = app.query_one("#prompt-error", Static)
        assert error.display and "in a moment" in str(error.render())
        gate.set()
        await wait_ready(pilot)
        job = await wait_done(pilot, app, prompt="an early bird")
        assert [j.prompt for j in jobs(app)] == ["an early bird"]  # sent once
        assert app.main.prompt_input.value == "" and not error.display
        assert app.main.table.selected_id == job.id


async def test_enter_sends_the_job_before_the_window_lays_it_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Laying out the new job (selecting it, its pane, the frame after) held the event
    loop the POST needed: the service had the job 60-90 ms after Enter. Now it is
    listed and selected once the service has it (here however long that takes: the
    order is what is tested, not the 50 ms the window waits at most)."""
    monkeypatch.setattr("app.ui.screens.main.POST_FIRST", 30.0)
    app = ImagineApp(ui_settings(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        assert app.backend is not None and app.backend.simulator is not None
        sim = app.backend.simulator
        known: list[int] = []  # jobs the service had when the window selected the new one
        select = app.main.table.select

        def selecting(job_id: str, *args: object) -> bool:
            known.append(len(sim.jobs))
            return select(job_id, *args)  # type: ignore[arg-type]

        monkeypatch.setattr(app.main.table, "select", selecting)
        app.main.prompt_input.value = "a lighthouse at dusk"
        await pilot.press("enter")
        job = await wait_done(pilot, app, prompt="a lighthouse at dusk")
        assert known and known[0] == 1
        assert app.main.table.selected_id == job.id and app.main.prompt_input.value == ""
