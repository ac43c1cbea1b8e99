"""Scripted tours of the main screen states, for snapshot tests and the screenshot script.

Each tour drives a running :class:`ImagineApp` (on the built-in simulator) with a Pilot
and leaves it in a steady, deterministic state: no blinking cursor, no passing toasts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from ui_helpers import SIZE, latest, no_clock, the_app, ui_settings, wait_ready, wait_tiles
from waiting import until

from app.jobs.model import JobState
from app.ui.app import ImagineApp

__all__ = ["SIZE", "TOURS", "snapshot_app"]

BANNED_WORD = "grass"
STALL_WORD = "frozen"  # the simulator holds prompts with this word at 46 %

Tour = Callable[[Pilot[Any]], Awaitable[None]]


def pin_cell_size() -> None:
    """Image layout depends on the terminal's cell size in pixels: fix it for snapshots."""
    try:
        from textual_image import _terminal

        setattr(_terminal.get_cell_size, "_result", _terminal.CellSize(10, 20))  # noqa: B010
    except Exception:  # a newer textual-image without this cache: nothing to pin
        pass


def snapshot_app(data_dir: Path, **overrides: Any) -> ImagineApp:
    """The app on the simulator with half-block images and no clock on screen."""
    pin_cell_size()
    settings = ui_settings(data_dir, **{"sim_banned": (BANNED_WORD,), **overrides})
    return ImagineApp(settings, elapsed=no_clock)


_app = the_app
_latest = latest
ready = wait_ready


async def tiles_drawn(pilot: Pilot[Any], count: int) -> None:
    await wait_tiles(pilot, the_app(pilot), count)


async def submit(pilot: Pilot[Any], prompt: str) -> ImagineApp:
    app = await ready(pilot)
    app.main.prompt_input.focus()
    app.main.prompt_input.value = prompt
    await pilot.press("enter")
    return app


async def settle(pilot: Pilot[Any], *, keep_toasts: bool = False) -> None:
    """Focus the list (no blinking cursor), drop toasts, refresh the status line."""
    app = _app(pilot)
    app.main.table.focus()
    if not keep_toasts:
        app.clear_notifications()
    app.main.refresh_status()
    await pilot.pause(0.1)


async def tour_empty(pilot: Pilot[Any]) -> None:
    app = await ready(pilot)
    app.main.prompt_input.cursor_blink = False
    app.main.refresh_status()
    await pilot.pause(0.1)


async def tour_running(pilot: Pilot[Any]) -> None:
    app = await ready(pilot)
    assert app.backend is not None and app.backend.simulator is not None
    app.backend.simulator.config.stall_words = (STALL_WORD,)
    await submit(pilot, f"a {STALL_WORD} lake at dawn, mist")
    await until(
        lambda: (j := _latest(app, kind="imagine")) and j.progress == 46 and j.progress_image_url,
        what="the preview at 46 %",
    )
    await tiles_drawn(pilot, 1)
    await settle(pilot)


async def tour_done(pilot: Pilot[Any]) -> None:
    app = await submit(pilot, "a lighthouse at dusk, oil painting")
    await until(lambda: (j := _latest(app)) and j.state is JobState.DONE, what="done")
    await tiles_drawn(pilot, 4)
    await settle(pilot)
    await pilot.press("2")


async def tour_upscale(pilot: Pilot[Any]) -> None:
    await tour_done(pilot)
    app = _app(pilot)
    await pilot.press("v")
    await until(lambda: (j := _latest(app, label="V2")) and j.state is JobState.DONE, what="V2")
    await pilot.press("c")
    await tiles_drawn(pilot, 4)
    await pilot.press("1", "u")
    await until(lambda: (j := _latest(app, label="U1")) and j.state is JobState.DONE, what="U1")
    await pilot.press("c")
    await tiles_drawn(pilot, 1)
    await settle(pilot)


async def tour_error(pilot: Pilot[Any]) -> None:
    app = await submit(pilot, f"a field of {BANNED_WORD} at noon")
    await until(lambda: (j := _latest(app)) and j.state is JobState.FAILED, what="the refusal")
    await settle(pilot, keep_toasts=True)


async def tour_help(pilot: Pilot[Any]) -> None:
    await tour_done(pilot)
    await pilot.press("question_mark")
    await pilot.pause(0.1)


async def tour_save_dialog(pilot: Pilot[Any]) -> None:
    await tour_done(pilot)
    app = _app(pilot)
    await pilot.press("s")
    await until(lambda: app.screen.query("#save-folder"), what="the save dialog")
    from textual.widgets import Input

    folder = app.screen.query_one("#save-folder", Input)
    folder.cursor_blink = False
    folder.value = "~/Pictures/imagine-tui"  # the real default depends on the machine
    folder.cursor_position = len(folder.value)
    await pilot.pause(0.1)


async def tour_filter_search(pilot: Pilot[Any]) -> None:
    app = await ready(pilot)
    for prompt in ("a lighthouse at dusk, oil painting", "a harbour at night"):
        await submit(pilot, prompt)

        def finished(p: str = prompt) -> bool:
            job = _latest(app, prompt=p)
            return job is not None and job.state.finished

        await until(finished, what=prompt)
    await submit(pilot, f"a field of {BANNED_WORD} at noon")
    await until(lambda: (j := _latest(app)) and j.state is JobState.FAILED, what="refusal")
    await settle(pilot)
    await pilot.press("F", "F")  # done
    await pilot.press("ctrl+f")
    app.main.search_input.cursor_blink = False
    for char in "lighthouse":
        await pilot.press(char)
    await pilot.press("enter")
    await tiles_drawn(pilot, 4)
    await settle(pilot)


async def tour_help_remapped(pilot: Pilot[Any]) -> None:
    await ready(pilot)
    await settle(pilot)
    await pilot.press("question_mark")
    await pilot.pause(0.1)


TOURS: dict[str, Tour] = {
    "empty": tour_empty,
    "running": tour_running,
    "done": tour_done,
    "upscale": tour_upscale,
    "error": tour_error,
    "help": tour_help,
    "save_dialog": tour_save_dialog,
    "filter_search": tour_filter_search,
    "help_remapped": tour_help_remapped,
}
