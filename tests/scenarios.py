"""Journeys through the TUI on the built-in simulator, with named snapshots along the way.

Each journey drives a running :class:`ImagineApp` with a Pilot, the way a user would, and
calls ``shot(name)`` at the states worth seeing; ``tests/test_ui_snapshots.py`` compares
every shot with its SVG, and ``screenshots/make_screenshots.py`` saves them as pictures.

Deterministic by construction: a fixed terminal and cell size, half-block images from the
simulator (fixed per prompt and seed), animations off, no clock on screen, no blinking
cursor, no toast unless the shot is about it, and every shot waits until the screen has
stopped changing (see :func:`quiet`) rather than for a length of time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pytest
from textual.command import CommandPalette
from textual.pilot import Pilot
from textual.widgets import Input, Static
from ui_helpers import (
    NARROW,
    SIZE,
    hold_backend,
    latest,
    no_clock,
    palette_text,
    send_prompt,
    the_app,
    ui_settings,
)
from ui_helpers import wait_ready as ready
from waiting import until

from app.jobs.model import Job
from app.ui import app as app_module
from app.ui.app import ImagineApp
from app.ui.screens.form import FormScreen
from app.ui.screens.help import HelpScreen
from app.ui.screens.image import ImageScreen

BANNED_WORD = "grass"
STALL_WORD = "frozen"  # the simulator holds prompts with this word at 46 %
LIGHTHOUSE = "a lighthouse at dusk, oil painting"
HARBOUR = "a harbour at night"
SAVE_FOLDER = "~/Pictures/imagine-tui"  # the real default depends on the machine


class Shot(Protocol):
    """Takes the screen once :func:`quiet`: a journey need not wait before a shot."""

    async def __call__(self, name: str, *, toasts: bool = False) -> None: ...


# (pilot, shot, what the trip's ``prepare`` returned)
Journey = Callable[[Pilot[Any], Shot, Any], Awaitable[None]]


@dataclass(frozen=True)
class Trip:
    """A journey and how to start it: terminal size, settings, what to arrange first."""

    journey: Journey
    size: tuple[int, int] = SIZE
    settings: dict[str, Any] = field(default_factory=dict)
    prepare: Callable[[pytest.MonkeyPatch], Any] | None = None


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
    defaults = {"sim_banned": (BANNED_WORD,), "sim_stall_words": (STALL_WORD,)}
    return ImagineApp(ui_settings(data_dir, **{**defaults, **overrides}), elapsed=no_clock)


# -- steps ------------------------------------------------------------------------------


async def quiet(pilot: Pilot[Any], *, toasts: bool = False) -> None:
    """Until the screen stops changing: the grid shows the selected job, no image is
    loading, the palette is not searching, no cursor blinks, the status line is fresh;
    toasts dropped unless asked."""
    app = the_app(pilot)
    main = app.main
    # the palette's search and the list's reads: until they end, the list may hold an
    # earlier query's results
    busy = {"grid", "full", "share", "job-list", CommandPalette._GATHER_COMMANDS_GROUP}

    def still() -> bool:
        selected = main.selected_job
        return (selected is None or main.grid_job == selected.id) and not any(
            w.group in busy and not w.is_finished for w in app.workers
        )

    await until(still, what="the screen to settle")
    for screen in app.screen_stack:
        for box in screen.query(Input):
            box.cursor_blink = False
    if not toasts:
        app.clear_notifications()
    main.refresh_status()
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


async def submit(pilot: Pilot[Any], prompt: str) -> ImagineApp:
    app = await ready(pilot)
    await send_prompt(pilot, app, prompt)
    return app


async def finished(pilot: Pilot[Any], **attrs: Any) -> Job:
    """Until the newest job with ``attrs`` is done or failed."""
    app = the_app(pilot)

    def done() -> Job | None:
        job = latest(app, **attrs)
        return job if job is not None and job.state.finished else None

    job: Job = await until(done, what=f"a finished job with {attrs}")
    return job


async def tiles_drawn(pilot: Pilot[Any], count: int) -> None:
    main = the_app(pilot).main

    def drawn() -> bool:
        selected = main.selected_job
        views = [main.grid.tile(i).view for i in range(1, 5)]
        current = selected is not None and main.grid_job == selected.id
        return current and sum(v.image is not None for v in views) == count

    await until(drawn, what=f"{count} tile image(s) drawn")


async def settle(pilot: Pilot[Any], *, keep_toasts: bool = False) -> None:
    """The job list focused (its keys in the footer), then :func:`quiet`."""
    the_app(pilot).main.table.focus()
    await quiet(pilot, toasts=keep_toasts)


async def on_screen(pilot: Pilot[Any], kind: type[Any]) -> None:
    """Until a ``kind`` screen is shown and composed (pushed first, its widgets a moment
    later: a dialog's fields were once not there yet)."""
    app = the_app(pilot)
    await until(
        lambda: isinstance(app.screen, kind) and app.screen.is_mounted,
        what=f"the {kind.__name__}",
    )


async def back_to_main(pilot: Pilot[Any]) -> None:
    app = the_app(pilot)
    await until(lambda: app.screen is app.main, what="the main screen again")


async def visit(pilot: Pilot[Any], shot: Shot, key: str, kind: type[Any], name: str) -> None:
    """Open the ``kind`` screen with ``key``; shoot it as ``name``."""
    await pilot.press(key)
    await on_screen(pilot, kind)
    await shot(name)


async def leave(pilot: Pilot[Any]) -> None:
    """Escape back to the main screen."""
    await pilot.press("escape")
    await back_to_main(pilot)


async def press_then_wait(pilot: Pilot[Any], key: str, **attrs: Any) -> Job:
    """Press a button key on the selected job; wait for the child job to finish."""
    app = the_app(pilot)
    before = {j.id for j in app.backend.manager.jobs()} if app.backend else set()
    await pilot.press(key)

    def child() -> Job | None:
        job = latest(app, **attrs)
        new = job is not None and job.id not in before
        return job if new and job.state.finished else None  # type: ignore[union-attr]

    job: Job = await until(child, what=f"the {attrs} job")
    return job


async def view_is(pilot: Pilot[Any], words: str) -> None:
    main = the_app(pilot).main
    await until(lambda: main.view.describe() == words, what=f"the view {words!r}")


# -- tours: steady states, for the screenshot script ---------------------------------------


async def tour_done(pilot: Pilot[Any]) -> None:
    await submit(pilot, LIGHTHOUSE)
    await finished(pilot, prompt=LIGHTHOUSE)
    await tiles_drawn(pilot, 4)
    await settle(pilot)
    await pilot.press("2")
    await quiet(pilot)


# -- journeys ------------------------------------------------------------------------------


async def first_run(pilot: Pilot[Any], shot: Shot, arranged: Any) -> None:
    """Empty, a draft, a blank prompt refused, a job running with its preview."""
    app = await ready(pilot)
    await shot("empty")
    await pilot.press(*"a lake")
    await shot("typing")
    app.main.prompt_input.value = "   "
    await pilot.press("enter")
    await shot("blank_refused")
    await submit(pilot, f"a {STALL_WORD} lake at dawn, mist")
    await until(
        lambda: (j := latest(app, kind="imagine")) and j.progress == 46 and j.progress_image_url,
        what="the preview at 46 %",
    )
    await tiles_drawn(pilot, 1)
    await settle(pilot)
    await shot("running")
    await pilot.press("F")
    await view_is(pilot, "running")
    await shot("filter_running")


async def variations(pilot: Pilot[Any], shot: Shot, arranged: Any) -> None:
    """A grid, a tile picked, a variation, an upscale, full screen, help, the palette."""
    await tour_done(pilot)
    await shot("done_tile_2")
    await press_then_wait(pilot, "v", label="V2")
    await pilot.press("c")
    await tiles_drawn(pilot, 4)
    await shot("variation")
    await pilot.press("1")
    await press_then_wait(pilot, "u", label="U1")
    await pilot.press("c")
    await tiles_drawn(pilot, 1)
    await shot("upscale")
    await visit(pilot, shot, "enter", ImageScreen, "full_screen")
    await leave(pilot)
    await pilot.press("p")
    await tiles_drawn(pilot, 4)
    await shot("parent")
    await visit(pilot, shot, "question_mark", HelpScreen, "help")
    await leave(pilot)
    await pilot.press("ctrl+p")
    await on_screen(pilot, CommandPalette)
    await pilot.press(*"upscale")
    await until(lambda: "Upscale selected tile" in palette_text(the_app(pilot)), what="the command")
    await shot("palette_upscale")
    await leave(pilot)


async def history(pilot: Pilot[Any], shot: Shot, arranged: Any) -> None:
    """Three jobs, a favourite, each state filter, a search, both at once, all again."""
    app = await ready(pilot)
    for prompt in (LIGHTHOUSE, HARBOUR, f"a field of {BANNED_WORD} at noon"):
        await submit(pilot, prompt)
        await finished(pilot, prompt=prompt)
    harbour = latest(app, prompt=HARBOUR)
    assert harbour is not None
    app.main.show_job(harbour.id)
    await pilot.press("f")
    await until(lambda: (j := latest(app, prompt=HARBOUR)) and j.favourite, what="the ★")
    await settle(pilot)
    await shot("favourite")
    for words in ("running", "done", "failed", "favourites"):
        await pilot.press("F")
        await view_is(pilot, words)
        await shot(f"filter_{words}")
    await pilot.press("F")
    await view_is(pilot, "")
    await pilot.press("ctrl+f")
    await pilot.press(*"lighthouse")
    await view_is(pilot, "“lighthouse”")
    await shot("search_typing")
    await pilot.press("enter")
    await shot("search")
    await pilot.press("F", "F")
    await view_is(pilot, "done · “lighthouse”")
    await shot("done_and_search")
    await pilot.press("escape")
    await view_is(pilot, "")
    await shot("all_again")


async def dialogs(pilot: Pilot[Any], shot: Shot, arranged: Any) -> None:
    """The save dialog and its refusal, the export dialog, Custom Zoom and its refusal."""
    app = the_app(pilot)
    await tour_done(pilot)
    await pilot.press("s")
    await on_screen(pilot, FormScreen)
    folder = app.screen.query_one("#save-folder", Input)
    folder.value = SAVE_FOLDER
    folder.cursor_position = len(folder.value)
    await shot("save")
    assert app.backend is not None
    a_file = app.backend.settings.db_path  # a file, not a folder
    folder.value = str(a_file)
    await pilot.press("enter")
    await until(lambda: "not a folder" in _error_text(pilot), what="the refusal")
    folder.value = "~/not/a/folder.db"  # the shot must not show the test's tmp path
    await shot("save_refused")
    await leave(pilot)
    await pilot.press("x")
    await on_screen(pilot, FormScreen)
    folder = app.screen.query_one("#save-folder", Input)
    folder.value = f"{SAVE_FOLDER}/imagine-tree-lighthouse"  # the real one names the job id
    await shot("export")
    await leave(pilot)
    up = await press_then_wait(pilot, "u", label="U2")
    await pilot.press("c")
    await tiles_drawn(pilot, 1)
    await quiet(pilot)  # toasts go while the main screen is on top (a modal hides its rack)
    app.main.press(up.id, "Custom Zoom")
    await on_screen(pilot, FormScreen)
    await shot("custom_zoom")
    zoom = app.screen.query_one("#zoom-value", Input)
    zoom.value = "5"
    zoom.focus()
    await pilot.press("enter")
    await until(lambda: "between 1 and 2" in _error_text(pilot), what="the refusal")
    await shot("custom_zoom_refused")
    await leave(pilot)


async def failures(pilot: Pilot[Any], shot: Shot, arranged: Any) -> None:
    """A refused prompt: its row, detail and toast; R retries it as a new job."""
    app = await submit(pilot, f"a field of {BANNED_WORD} at noon")
    await finished(pilot, kind="imagine")
    await settle(pilot, keep_toasts=True)
    await shot("refused", toasts=True)
    await pilot.press("R")
    await until(lambda: len(app.backend.manager.jobs()) == 2, what="the retry")  # type: ignore[union-attr]
    await until(
        lambda: all(j.state.finished for j in app.backend.manager.jobs()),  # type: ignore[union-attr]
        what="the retry to finish",
    )
    await settle(pilot)
    await shot("retried")


async def narrow(pilot: Pilot[Any], shot: Shot, arranged: Any) -> None:
    """80×24: the smallest layout, empty to done, help, a dialog, a filter, full screen."""
    await ready(pilot)
    await shot("empty")
    await tour_done(pilot)
    await shot("done")
    await visit(pilot, shot, "question_mark", HelpScreen, "help")
    await leave(pilot)
    await pilot.press("s")
    await on_screen(pilot, FormScreen)
    the_app(pilot).screen.query_one("#save-folder", Input).value = SAVE_FOLDER
    await shot("save")
    await leave(pilot)
    await pilot.press("F", "F")
    await view_is(pilot, "done")
    await shot("filter_done")
    await pilot.press("enter")  # below 100 columns: first the job, full width
    await until(lambda: the_app(pilot).main.has_class("-job"), what="the job view")
    await shot("job")
    await visit(pilot, shot, "enter", ImageScreen, "full_screen")
    await leave(pilot)


async def remapped(pilot: Pilot[Any], shot: Shot, arranged: Any) -> None:
    """Keys remapped in the config file show as remapped in the help and the footer."""
    await ready(pilot)
    await settle(pilot)
    await visit(pilot, shot, "question_mark", HelpScreen, "help")


async def light(pilot: Pilot[Any], shot: Shot, arranged: Any) -> None:
    """The config file's theme: a light one."""
    await tour_done(pilot)
    await shot("done")
    await visit(pilot, shot, "question_mark", HelpScreen, "help")


async def slow_start(pilot: Pilot[Any], shot: Shot, gate: Any) -> None:
    """Before the backend is open: starting, a prompt sent early, then it runs."""
    app = the_app(pilot)
    await until(lambda: app.main.is_mounted, what="the main screen")
    await shot("starting")
    app.main.prompt_input.value = LIGHTHOUSE
    await pilot.press("enter")
    await shot("prompt_waits")
    gate.set()  # the backend may open now
    await finished(pilot, prompt=LIGHTHOUSE)
    await tiles_drawn(pilot, 4)
    await settle(pilot)
    await shot("prompt_sent")


async def start_failed(pilot: Pilot[Any], shot: Shot, arranged: Any) -> None:
    """The backend cannot open: the reason on screen and in a toast, nothing crashes."""
    app = the_app(pilot)
    await until(lambda: "Could not start" in _grid_text(pilot), what="the reason")
    app.main.table.focus()
    await shot("reason", toasts=True)


# -- arrangements ----------------------------------------------------------------------------


def _refuse(monkeypatch: pytest.MonkeyPatch) -> None:
    async def refuse(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the history is locked by another imagine")

    monkeypatch.setattr(app_module, "open_backend", refuse)


def _error_text(pilot: Pilot[Any]) -> str:
    found = the_app(pilot).screen.query(".form-error")
    return str(found.first(Static).content) if found else ""


def _grid_text(pilot: Pilot[Any]) -> str:
    return str(the_app(pilot).main.grid.tile(1).view.note)


TRIPS: dict[str, Trip] = {
    "first_run": Trip(first_run),
    "variations": Trip(variations),
    "history": Trip(history),
    "dialogs": Trip(dialogs),
    "failures": Trip(failures),
    "narrow": Trip(narrow, size=NARROW),
    "remapped": Trip(remapped, settings={"keymap": {"upscale": "U", "save": "ctrl+s"}}),
    "light": Trip(light, settings={"theme": "textual-light"}),
    "slow_start": Trip(slow_start, prepare=hold_backend),
    "start_failed": Trip(start_failed, prepare=_refuse),
}
