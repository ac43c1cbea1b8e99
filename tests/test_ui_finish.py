"""A job finishing on screen: the pane changes once, its images and buttons together."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ui_helpers import SIZE, find, send_prompt, ui_settings, wait_done, wait_ready
from waiting import until

from app.ui.app import ImagineApp
from app.ui.widgets.button_bar import ButtonBar


async def test_a_job_that_finishes_on_screen_shows_its_buttons_with_its_images(
    tmp_path: Path,
) -> None:
    app = ImagineApp(ui_settings(tmp_path, sim_speed=30.0))
    frames: list[tuple[bool, bool]] = []  # each frame: (its buttons, its four images)
    watched: list[str] = []  # the job's id
    original = app._display

    def display(screen: Any, renderable: Any) -> None:
        original(screen, renderable)
        backend = app.backend
        job = backend.manager.get(watched[0]) if watched and backend is not None else None
        if renderable is None or job is None:
            return
        bar = app.query_one("#buttons", ButtonBar)
        buttons = bar.job_id == job.id and bool(bar.buttons)
        grid = app.main.panel.grid
        views = [grid.tile(i).view for i in range(1, 5)]
        urls = job.display_urls  # none until it is done
        images = app.main.panel.grid_job == job.id and [v.url for v in views] == list(urls)
        images = images and all(v.image is not None for v in views)
        frames.append((buttons, images))

    app._display = display  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await send_prompt(pilot, app, "a harbour at noon")
        job = find(app, prompt="a harbour at noon", kind="imagine")
        assert job is not None
        watched.append(job.id)
        await wait_done(pilot, app, id=job.id)
        await until(lambda: (True, True) in frames, what="a frame with its buttons and images")
    # Never its buttons without its images (the buttons' layout once held the event loop
    # while the images downloaded, and then the images' layout came on top).
    assert (True, False) not in frames
