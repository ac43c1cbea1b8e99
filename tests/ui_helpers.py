"""Shared helpers for the UI tests: settings on the fast simulator and bounded waits."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from app.jobs.model import Job, JobState
from app.settings import Settings
from app.ui import app as app_module
from app.ui.app import ImagineApp

SIZE = (140, 45)


def ui_settings(tmp_path: Path, **overrides: Any) -> Settings:
    return Settings.for_tests(tmp_path, **{"graphics": "halfcell", **overrides})


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


async def wait_for(
    pilot: Pilot[Any], condition: Callable[[], object], what: str, tries: int = 200
) -> Any:
    """Poll ``condition`` every 50 ms, at most ``tries`` times; fail saying what was awaited."""
    for _ in range(tries):
        value = condition()
        if value:
            return value
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for: {what}")


async def wait_ready(pilot: Pilot[Any]) -> ImagineApp:
    app = pilot.app
    assert isinstance(app, ImagineApp)
    await wait_for(pilot, lambda: app.backend is not None, "the backend to open")
    return app


def jobs(app: ImagineApp) -> list[Job]:
    assert app.backend is not None
    return sorted(app.backend.manager.jobs(), key=lambda j: j.created_at)


def find(app: ImagineApp, **attrs: Any) -> Job | None:
    for job in jobs(app):
        if all(getattr(job, k) == v for k, v in attrs.items()):
            return job
    return None


async def wait_done(pilot: Pilot[Any], app: ImagineApp, **attrs: Any) -> Job:
    def done() -> Job | None:
        job = find(app, **attrs)
        return job if job is not None and job.state is JobState.DONE else None

    job: Job = await wait_for(pilot, done, f"a done job with {attrs}")
    return job


async def wait_tiles(pilot: Pilot[Any], app: ImagineApp, count: int) -> None:
    """Until the grid draws ``count`` images for the selected job."""

    def drawn() -> bool:
        selected = app.selected_job
        if selected is None or app.grid_job != selected.id:
            return False  # still the previous row's images (the grid follows after a delay)
        views = [app.grid.tile(i).view for i in range(1, 5)]
        return sum(v.image is not None for v in views) == count

    await wait_for(pilot, drawn, f"{count} tile image(s) drawn")


async def wait_grid(pilot: Pilot[Any], app: ImagineApp, job_id: str) -> None:
    """Until the grid shows ``job_id`` (it follows the cursor after GRID_DELAY)."""
    await wait_for(pilot, lambda: app.grid_job == job_id, f"the grid to show {job_id}")
