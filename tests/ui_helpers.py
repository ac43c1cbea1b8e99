"""Shared helpers for the UI tests: settings on the fast simulator, and waits for what a
user would see (built on the one wait helper, :func:`waiting.until`)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from demo_settings import demo_settings
from textual.pilot import Pilot
from waiting import until

from app.jobs.model import Job, JobState
from app.settings import Settings
from app.ui import app as app_module
from app.ui.app import ImagineApp

SIZE = (140, 45)  # the wide layout
# A TUI whose `?` handler raises: ``python -c CRASHING_TUI DATA_DIR`` (a crash's way out).
CRASHING_TUI = (
    "import sys\n"
    "from app.settings import resolve\n"
    "from app.ui import app as m\n"
    "def boom(self):\n"
    "    raise RuntimeError('a bug in a key handler')\n"
    "m.ImagineApp.action_help = boom\n"
    "sys.exit(m.run_app(resolve({'data_dir': sys.argv[1]})))\n"
)
NARROW = (80, 24)  # the smallest terminal the layout is made for


def ui_settings(tmp_path: Path, **overrides: Any) -> Settings:
    return demo_settings(tmp_path, **{"graphics": "halfcell", **overrides})


def hold_backend(monkeypatch: pytest.MonkeyPatch) -> asyncio.Event:
    """Make the app's backend wait, as a slow start would, until the event is set."""
    gate = asyncio.Event()
    real_open = app_module.open_backend

    async def held_open(*args: Any, **kwargs: Any) -> Any:
        await gate.wait()
        return await real_open(*args, **kwargs)

    monkeypatch.setattr(app_module, "open_backend", held_open)
    return gate


def no_clock(job: Job) -> float | None:
    """Snapshot mode: no wall-clock text on screen."""
    return None


async def send_prompt(pilot: Pilot[Any], app: ImagineApp, prompt: str) -> None:
    """Type ``prompt`` into the prompt box and press Enter, as a user submits it."""
    app.main.prompt_input.focus()
    app.main.prompt_input.value = prompt
    await pilot.press("enter")


def palette_text(app: ImagineApp) -> str:
    """The command palette's hits as shown, one per line ("" when it shows none)."""
    from textual.command import CommandList

    found = app.screen.query(CommandList)
    if not found:
        return ""
    options = found.first()
    return "\n".join(
        str(options.get_option_at_index(i).prompt) for i in range(options.option_count)
    )


def the_app(pilot: Pilot[Any]) -> ImagineApp:
    assert isinstance(pilot.app, ImagineApp)
    return pilot.app


async def wait_ready(pilot: Pilot[Any]) -> ImagineApp:
    """Until the main screen has the backend and the list has read the store."""
    app = the_app(pilot)
    await until(lambda: app.main.backend is not None, what="the backend to open")
    await until(lambda: app.main.table.settled, what="the job list's reads")
    return app


async def view_shown(pilot: Pilot[Any]) -> None:
    """Until the list shows the view last asked for (the store answers it in a thread)."""
    app = the_app(pilot)
    await until(lambda: app.main.table.settled, what="the list's view")


def jobs(app: ImagineApp) -> list[Job]:
    """Every job, oldest first (none while the backend is not open yet)."""
    if app.backend is None:
        return []
    return sorted(app.backend.manager.jobs(), key=lambda j: j.created_at)


def find(app: ImagineApp, **attrs: Any) -> Job | None:
    """The oldest job with these attribute values."""
    for job in jobs(app):
        if all(getattr(job, k) == v for k, v in attrs.items()):
            return job
    return None


def latest(app: ImagineApp, **attrs: Any) -> Job | None:
    """The newest job with these attribute values."""
    found = [j for j in jobs(app) if all(getattr(j, k) == v for k, v in attrs.items())]
    return found[-1] if found else None


async def wait_done(pilot: Pilot[Any], app: ImagineApp, **attrs: Any) -> Job:
    def done() -> Job | None:
        job = find(app, **attrs)
        return job if job is not None and job.state is JobState.DONE else None

    job: Job = await until(done, what=f"a done job with {attrs}")
    return job


async def wait_tiles(pilot: Pilot[Any], app: ImagineApp, count: int) -> None:
    """Until the grid draws ``count`` images for the selected job."""

    def drawn() -> bool:
        main = app.main
        selected = main.selected_job
        if selected is None or main.grid_job != selected.id:
            return False  # still the previous row's images (the grid follows after a delay)
        views = [main.grid.tile(i).view for i in range(1, 5)]
        return sum(v.image is not None for v in views) == count

    await until(drawn, what=f"{count} tile image(s) drawn")


async def wait_grid(pilot: Pilot[Any], app: ImagineApp, job_id: str) -> None:
    """Until the grid shows ``job_id`` (it follows the cursor after GRID_DELAY)."""
    await until(lambda: app.main.grid_job == job_id, what=f"the grid to show {job_id}")
