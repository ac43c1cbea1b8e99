"""Thumbnails at the size the renderer draws them: a few pixels a cell for character
cells, the terminal's real pixels for kitty and sixel."""

from __future__ import annotations

from pathlib import Path

import pytest
from ui_helpers import SIZE, find, send_prompt, ui_settings, wait_done, wait_ready
from waiting import until

from app.images import cache
from app.ui import graphics
from app.ui.app import ImagineApp
from app.ui.grid import THUMB_STEPS, thumb_size


@pytest.mark.parametrize(
    ("renderer", "per_cell"),
    [("halfcell", (1, 2)), ("quadrant", (2, 2)), ("sextant", (2, 3)), ("unicode", (1, 1))],
)
def test_character_cells_get_no_more_pixels_than_they_show(
    renderer: str, per_cell: tuple[int, int]
) -> None:
    cols, rows = 160, 50
    for across in (1, 2):
        width, height = thumb_size(renderer, (cols, rows), across)
        need = (cols // across * per_cell[0], rows // across * per_cell[1])
        assert width >= need[0] and height >= need[1]  # every pixel a cell shows is there
        least = THUMB_STEPS[0]  # and not many more: under twice that, or the smallest size
        assert width < max(2 * need[0], least + 1) and height < max(2 * need[1], least + 1)
    assert thumb_size(renderer, (cols, rows), 2) < (384, 384)  # the old size for every tile


def test_kitty_and_sixel_get_the_terminals_pixels(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(graphics.DETECTED, "cell_size", (10, 20))
    for renderer in ("kitty", "sixel"):
        # a 2x2 grid at 160x50 cells is up to 800x500 pixels a tile: a 512 px tile is
        # shown at its full resolution (with the old fixed 384 px it was not)
        assert thumb_size(renderer, (160, 50), 2) >= (800, 500)
        assert thumb_size(renderer, (400, 120), 1) == (THUMB_STEPS[-1], THUMB_STEPS[-1])


async def test_a_finished_jobs_tiles_are_thumbnailed_at_their_display_size(
    tmp_path: Path,
) -> None:
    settings = ui_settings(tmp_path, sim_speed=30.0)
    app = ImagineApp(settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await send_prompt(pilot, app, "a harbour at noon")
        job = find(app, prompt="a harbour at noon", kind="imagine")
        assert job is not None
        await wait_done(pilot, app, id=job.id)
        grid = app.main.panel.grid

        def drawn() -> bool:
            return all(grid.tile(i).view.image is not None for i in range(1, 5))

        await until(drawn, what="the four tiles drawn")
        await pilot.pause()
        box = thumb_size("halfcell", SIZE, 2)
        for i in range(1, 5):
            image = grid.tile(i).query_one(".tile-image")
            thumb = grid.tile(i).view.image
            assert thumb is not None
            # enough pixels for every half-block shown, and no more than the box
            assert thumb.width >= image.size.width and thumb.height >= 2 * image.size.height
            assert thumb.width <= box[0] and thumb.height <= box[1]
        assert app.backend is not None
        await app.backend.images.flush()
        for url in app.main.panel.job.display_urls if app.main.panel.job else ():
            full = cache.find_full(settings.image_dir, url)
            assert full is not None
            small = cache.find_thumb(full, box)
            assert small is not None  # kept for the next start, a small fraction of the image
            assert small.stat().st_size < full.stat().st_size / 20
