"""The four images, drawn by the app in real terminal emulators under a virtual X display.

Each emulator runs one recorded walk (see journey.py); these tests judge its screenshots,
kept in artefacts/terminals/<emulator>/. An emulator that cannot start fails its tests
with the reason.
"""

from __future__ import annotations

import numpy as np
import pytest
from journey import Journey
from screen_match import as_array, difference, leftovers

EMULATORS = ["xterm", "kitty", "mlterm", "foot"]
by_emulator = pytest.mark.parametrize("journey", EMULATORS, indirect=True)
# foot runs in Weston's kiosk shell, which sizes its window: no resizing there.
by_x_emulator = pytest.mark.parametrize("journey", ["xterm", "kitty", "mlterm"], indirect=True)
pytestmark = pytest.mark.timeout(300)

# What each emulator draws with: kitty 0.26 has no Unicode placeholders and no sixel, so
# it gets classic kitty placements; all draw real pixels, judged alike.
RENDERER = {"xterm": "sixel", "mlterm": "sixel", "foot": "sixel", "kitty": "kitty"}
MIN_SCORE = 0.95  # colour agreement of the reduced images (1 = identical)
MIN_NCC = {"sixel": 0.95, "kitty": 0.95}  # shape agreement at full resolution
MAX_STRIP = {"sixel": 15.0, "kitty": 15.0}  # mean error (0..255), worst 6-px strip
MAX_CHANGED = 0.002  # share of pixels that may differ where nothing should have changed
# What `imagine-tui graphics` must say there: who the terminal is, what the TUI draws with
# (the renderer the tiles above are judged as), and the colours it shows.
SAYS = {
    "xterm": ("xterm 3", "draws with sixel", "colours:    24-bit"),
    "kitty": ("kitty 0.26", "draws with kitty graphics", "colours:    24-bit"),
    "mlterm": ("mlterm (from TERM)", "draws with sixel", "colours:    256-colour palette"),
    "foot": ("foot 1.", "draws with sixel", "colours:    24-bit"),
}


def _faithful(journey: Journey, shot: str, what: str) -> list[str]:
    kind = RENDERER[journey.emulator]
    bad = []
    for i, f in enumerate(journey.found[shot], start=1):
        if f.score < MIN_SCORE or f.ncc < MIN_NCC[kind] or f.worst_band > MAX_STRIP[kind]:
            bad.append(f"{what} tile {i} {f.describe()}")
    return bad


def _report(journey: Journey, shot: str) -> str:
    lines = [f"{journey.emulator} {shot}:"] + [
        f"  tile {i} {f.describe()}" for i, f in enumerate(journey.found[shot], start=1)
    ]
    return "\n".join(lines)


def _unchanged(journey: Journey, before: str, after: str) -> None:
    box = journey.grid_box(before)
    diff = difference(journey.image(before), journey.image(after), box)
    print(f"{journey.emulator} grid at {before} and at {after}: {diff.describe()}")
    assert diff.changed < MAX_CHANGED, f"grid region differs at {after}: {diff.describe()}"


@by_emulator
def test_graphics_command_says_what_it_found_and_what_the_tui_draws(journey: Journey) -> None:
    report = journey.graphics
    print(report)
    who, draws, colours = SAYS[journey.emulator]
    assert f"identity:   {who}" in report, report
    assert f"the TUI:    {draws}" in report, report
    assert colours in report, report
    assert "why:" in report and "answers:" in report


@by_emulator
def test_status_bar_is_readable_from_the_start(journey: Journey) -> None:
    # foot and mlterm started with the counts invisible (foreground = background); mlterm
    # showed every bold badge on white (it drops SGR parameters past the 10th).
    g = journey.grid
    assert g is not None
    img = as_array(journey.image("start"))
    row = img[g.y + (g.rows - 2) * g.cell_h : g.y + (g.rows - 1) * g.cell_h]
    badge = row[:, g.x + g.cell_w * 2 : g.x + g.cell_w * 20].reshape(-1, 3)
    colours, counts = np.unique(badge.astype(int), axis=0, return_counts=True)
    r, gr, b = colours[counts.argmax()]
    assert r > 200 and 100 < gr < 200 and b < 100, f"the demo badge is not orange: {r, gr, b}"
    rest = row[:, g.x + g.cell_w * 27 : g.x + g.cell_w * 60]
    background = np.median(rest.reshape(-1, 3), axis=0)
    ink = int((np.abs(rest - background).max(axis=2) > 80).sum())
    assert ink > 8 * g.cell_h, f"the job counts are not visible ({ink} px of ink)"


@by_emulator
def test_four_tiles_are_drawn_faithfully(journey: Journey) -> None:
    bad = _faithful(journey, "grid-A", "job A")
    print(_report(journey, "grid-A"))
    assert not bad, "\n".join(bad)
    a = [f.box for f in journey.found["grid-A"]]
    assert a[0].x < a[1].x and a[2].x < a[3].x, "tiles 1|2 and 3|4 side by side"
    assert a[0].bottom <= a[2].y and a[1].bottom <= a[3].y, "tiles 3 and 4 below 1 and 2"
    assert journey.grid is not None
    assert min(b.w for b in a) >= 10 * journey.grid.cell_w, "tiles drawn large enough"


@by_emulator
def test_the_second_job_shows_its_own_images(journey: Journey) -> None:
    bad = _faithful(journey, "grid-B", "job B")
    print(_report(journey, "grid-B"))
    assert not bad, "\n".join(bad)
    # Nothing of job A left in B's tiles: where B's tiles are, A's images do not match.
    img = journey.image("grid-B")
    pairs = zip(journey.found["grid-B"], journey.images["A"], strict=True)
    for i, (f, a) in enumerate(pairs, start=1):
        was = as_array(a.resize((f.box.w, f.box.h)))
        now = as_array(f.box.crop(img))
        assert np.abs(was - now).mean() > 20, f"tile {i} of job B still shows job A's image"


@by_emulator
def test_switching_jobs_leaves_no_fragments(journey: Journey) -> None:
    bad = _faithful(journey, "grid-A-again", "job A again")
    assert not bad, "\n".join(bad)
    box = journey.grid_box("grid-A")
    diff = difference(journey.image("grid-A"), journey.image("grid-A-again"), box)
    print(f"{journey.emulator} A, then B, then A again: {diff.describe()}")
    assert diff.changed < MAX_CHANGED, f"grid region differs: {diff.describe()}"


@by_emulator
def test_full_screen_image_is_whole_and_below_its_title(journey: Journey) -> None:
    grid = journey.grid
    assert grid is not None
    (full,) = journey.found["full-screen"]
    print(f"{journey.emulator} full screen: {full.describe()}")
    assert full.score >= MIN_SCORE, full.describe()
    assert full.ncc >= MIN_NCC[RENDERER[journey.emulator]], full.describe()
    assert full.box.h >= 20 * grid.cell_h, f"full screen means large: {full.describe()}"
    assert full.box.y >= grid.y + grid.cell_h, f"image drawn over its title: {full.describe()}"


@by_emulator
def test_esc_from_full_screen_restores_the_grid(journey: Journey) -> None:
    box = journey.grid_box("grid-A-again")
    diff = difference(journey.image("grid-A-again"), journey.image("after-full-screen"), box)
    print(f"{journey.emulator} grid before and after full screen: {diff.describe()}")
    assert diff.changed < MAX_CHANGED, f"grid region differs after Esc: {diff.describe()}"


@by_emulator
def test_the_running_preview_shows_nothing_of_the_job_before(journey: Journey) -> None:
    # Sixel once left pieces of job B's tiles around job C's preview.
    assert journey.previews, "no screenshot caught job C's preview on screen"
    grid = journey.grid
    assert grid is not None
    before = journey.image("grid-B")
    boxes = [f.box for f in journey.found["grid-B"]]
    for name, found in journey.previews:
        print(f"{journey.emulator} {name}: preview {found.describe()}")
        keep_out = found.box.grow(grid.cell_h)
        left = leftovers(before, journey.image(name), boxes, keep_out)
        assert left < 0.002, f"{name}: {left * 100:.2f}% of job B's tiles still on screen"


@by_emulator
@pytest.mark.parametrize("modal", ["help", "palette"])
def test_a_modal_over_the_grid_then_closed_leaves_the_grid_as_before(
    journey: Journey, modal: str
) -> None:
    before = "after-full-screen" if modal == "help" else "after-help"
    bad = _faithful(journey, f"after-{modal}", f"after the {modal}")
    assert not bad, "\n".join(bad)
    _unchanged(journey, before, f"after-{modal}")


@by_x_emulator
def test_resizing_draws_the_tiles_anew_and_leaves_nothing_behind(journey: Journey) -> None:
    small = _faithful(journey, "smaller", "smaller window")
    print(_report(journey, "smaller"))
    assert not small, "\n".join(small)
    assert journey.found["smaller"][1].box.right < journey.found["grid-A"][1].box.right
    again = _faithful(journey, "larger-again", "window large again")
    assert not again, "\n".join(again)
    _unchanged(journey, "after-palette", "larger-again")
