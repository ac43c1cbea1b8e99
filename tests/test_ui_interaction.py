"""Issue 15's interaction items: what a user hit, each as the keys they pressed."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from scenarios import quiet, snapshot_app, tour_done
from textual.widgets import Static
from ui_helpers import (
    SIZE,
    find,
    jobs,
    palette_text,
    send_prompt,
    the_app,
    ui_settings,
    wait_done,
    wait_ready,
    wait_tiles,
)
from waiting import until

from app.jobs.model import JobState
from app.ui.app import ImagineApp
from app.ui.screens.image import ImageScreen
from app.ui.widgets.job_panel import waiting_hint

SnapCompare = Callable[..., bool]


@pytest.fixture(autouse=True)
def _no_animations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")


async def test_e_puts_the_cursor_after_the_prompt_without_selecting_it(tmp_path: Path) -> None:
    app = ImagineApp(ui_settings(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await send_prompt(pilot, app, "a quiet harbour")
        await wait_done(pilot, app, prompt="a quiet harbour")
        app.main.table.focus()
        await pilot.press("e")
        await pilot.press(*", 35mm", "enter")
        await until(lambda: find(app, prompt="a quiet harbour, 35mm"), what="the edited prompt")
        assert find(app, prompt=", 35mm") is None


async def test_after_enter_focus_returns_to_the_list(tmp_path: Path) -> None:
    app = ImagineApp(ui_settings(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await send_prompt(pilot, app, "a windmill")
        assert app.focused is app.main.table
        await pilot.press("question_mark")  # a key again, not text
        assert len(app.screen_stack) == 2
        await pilot.press("escape")
        assert app.main.prompt_input.value == ""
        # the prompt keeps its history
        await pilot.press("slash", "up")
        assert app.main.prompt_input.value == "a windmill"
        assert len(jobs(app)) == 1


async def test_full_screen_keys_act_on_the_tile_shown(tmp_path: Path) -> None:
    app = ImagineApp(ui_settings(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await send_prompt(pilot, app, "a lighthouse at dusk")
        job = await wait_done(pilot, app, prompt="a lighthouse at dusk")
        await wait_tiles(pilot, app, 4)
        await pilot.press("1")
        app.main.panel.open_tile()
        await until(lambda: isinstance(app.screen, ImageScreen), what="the full-screen view")
        await pilot.press("2")
        await until(lambda: "tile 2" in app.screen.title_text, what="tile 2 shown")
        footer = [
            b.binding.description for b in app.screen.active_bindings.values() if b.binding.show
        ]
        assert "Prompt" not in footer and "Upscale" in footer
        assert app.main.grid.selected == 2  # closing it leaves tile 2 selected
        await pilot.press("u")
        child = await until(lambda: find(app, parent_id=job.id), what="the upscale")
        assert child.label == "U2"


async def test_a_blocked_prompt_suggests_editing_it_and_the_header_reads_apart(
    tmp_path: Path,
) -> None:
    app = ImagineApp(ui_settings(tmp_path, sim_banned=("grass",)))
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await send_prompt(pilot, app, "a field of grass")
        await until(lambda: find(app, state=JobState.FAILED), what="the refused job")
        app.main.table.focus()
        await pilot.press("f")  # a favourite: its ★ is in the header, where nothing cuts it
        await until(lambda: find(app, favourite=True), what="the favourite")

        def detail() -> str:
            return str(app.query_one("#detail", Static).render())

        await until(lambda: "★" in detail(), what="the star in the header")
        assert "e to edit" in detail() and "R retries" not in detail()
        assert "imagine ★ · failed" in detail()
        job = find(app, state=JobState.FAILED)
        assert job is not None and "Press e to edit" in waiting_hint(job)  # the grid's words


async def test_i_with_nothing_to_reload_says_so(tmp_path: Path) -> None:
    app = ImagineApp(ui_settings(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await send_prompt(pilot, app, "a red kite")
        await wait_done(pilot, app, prompt="a red kite")
        await wait_tiles(pilot, app, 4)
        await pilot.press("i")
        await until(
            lambda: any("Nothing to reload" in str(n.message) for n in app._notifications),
            what="the note",
        )


def test_the_grid_leaves_the_percent_to_the_header_and_the_list() -> None:
    from app.jobs.model import Job

    running = Job(id="a", kind="imagine", prompt="p", state=JobState.RUNNING, progress=15)
    assert "%" not in waiting_hint(running)  # it said "Running 0 %" while the list said 15 %


async def test_the_palette_finds_buttons_by_name(tmp_path: Path) -> None:
    from textual.command import CommandPalette

    app = ImagineApp(ui_settings(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await send_prompt(pilot, app, "a harbour wall")
        job = await wait_done(pilot, app, prompt="a harbour wall")
        await pilot.press("u")  # U1: an upscale has the pan, like and envelope buttons
        upscale = await until(lambda: find(app, parent_id=job.id), what="the upscale")
        await wait_done(pilot, app, id=upscale.id)
        app.main.show_job(upscale.id)
        await pilot.press("ctrl+p")
        await until(lambda: isinstance(app.screen, CommandPalette), what="the palette")
        await pilot.press(*"pan")
        await until(lambda: "Pan left" in palette_text(app), what="the pan buttons by name")
        assert "extend the image leftwards" in palette_text(app)
        assert "Press it on the selected job" not in palette_text(app)


async def test_copying_in_tmux_without_set_clipboard_says_how_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "tmux"  # the tmux default: applications' OSC 52 is ignored
    fake.write_text("#!/bin/sh\necho external\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("TMUX", "/tmp/tmux-0/default,1,0")
    app = ImagineApp(ui_settings(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await send_prompt(pilot, app, "a copper kettle")
        await wait_done(pilot, app, prompt="a copper kettle")
        await wait_tiles(pilot, app, 4)

        def hints() -> int:
            return sum("set-clipboard on" in str(n.message) for n in app._notifications)

        await pilot.press("y")
        await until(hints, what="how to enable the clipboard in tmux")
        await pilot.press("Y")
        await until(
            lambda: any("Copied the prompt" in str(n.message) for n in app._notifications),
            what="the second copy",
        )
        await pilot.pause(0.3)
        assert hints() == 1


async def _narrow_list(pilot: Any) -> None:
    await tour_done(pilot)
    await pilot.press("1")


async def _narrow_job(pilot: Any) -> None:
    await _narrow_list(pilot)
    await pilot.press("enter")
    await until(lambda: the_app(pilot).main.has_class("-job"), what="the job view")
    await quiet(pilot)


@pytest.mark.parametrize("tour", [_narrow_list, _narrow_job], ids=["list", "job"])
def test_narrow_terminal_snapshot(tour: Any, snap_compare: SnapCompare, tmp_path: Path) -> None:
    """Below 100 columns the list and the job take turns, each the full width."""
    assert snap_compare(snapshot_app(tmp_path), terminal_size=(80, 24), run_before=tour)


async def test_narrow_terminals_show_the_list_or_the_job(tmp_path: Path) -> None:
    app = ImagineApp(ui_settings(tmp_path))
    async with app.run_test(size=(60, 20)) as pilot:
        await wait_ready(pilot)
        await send_prompt(pilot, app, "a small boat")
        job = await wait_done(pilot, app, prompt="a small boat")
        # The row follows the job's event a frame later.
        await until(lambda: "done" in app.main.table.cells(job.id)["state"].plain, what="row done")
        assert app.main.table.region.width == 60
        assert not app.main.panel.display or app.main.panel.region.width == 0
        await pilot.press("enter")  # the job, full width
        await until(lambda: app.main.panel.region.width == 60, what="the job shown")
        assert app.main.table.region.width == 0
        await pilot.press("escape")  # the list again
        await until(lambda: app.main.table.region.width == 60, what="the list again")
        assert app.focused is app.main.table
