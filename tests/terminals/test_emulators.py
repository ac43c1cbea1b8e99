"""The four images, drawn by the app in real terminal emulators under a virtual X display.

Each emulator runs one recorded walk (see journey.py); these tests judge its screenshots,
kept in artefacts/terminals/<emulator>/. An emulator that cannot start fails its tests
with the reason.
"""

from __future__ import annotations

import pytest
from journey import Journey
from screen_match import difference

EMULATORS = ["xterm", "kitty", "mlterm", "foot"]
by_emulator = pytest.mark.parametrize("journey", EMULATORS, indirect=True)
pytestmark = pytest.mark.timeout(300)

# What each emulator draws with: kitty 0.26 has no Unicode placeholders and no sixel, so
# it gets classic kitty placements; all draw real pixels, judged alike.
RENDERER = {"xterm": "sixel", "mlterm": "sixel", "foot": "sixel", "kitty": "kitty"}
MIN_SCORE = 0.95  # colour agreement of the reduced images (1 = identical)
MIN_NCC = {"sixel": 0.95, "kitty": 0.95}  # shape agreement at full resolution
MAX_STRIP = {"sixel": 15.0, "kitty": 15.0}  # mean error (0..255), worst 6-px strip
MAX_CHANGED = 0.002  # share of pixels that may differ where nothing should have changed


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


@by_emulator
def test_four_tiles_are_drawn_faithfully(journey: Journey) -> None:
    bad = _faithful(journey, "grid-A", "job A") + _faithful(journey, "grid-B", "job B")
    print(_report(journey, "grid-A"))
    print(_report(journey, "grid-B"))
    assert not bad, "\n".join(bad)
    a = [f.box for f in journey.found["grid-A"]]
    assert a[0].x < a[1].x and a[2].x < a[3].x, "tiles 1|2 and 3|4 side by side"
    assert a[0].bottom <= a[2].y and a[1].bottom <= a[3].y, "tiles 3 and 4 below 1 and 2"
    assert journey.grid is not None
    assert min(b.w for b in a) >= 10 * journey.grid.cell_w, "tiles drawn large enough"


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
