"""Drive the app headless through its main states; write SVG and PNG screenshots here.

    python screenshots/make_screenshots.py [names...]

PNGs need rsvg-convert (Debian: apt-get install librsvg2-bin); without it only SVGs are
written. Without an emoji font (fonts-symbola or fonts-noto-color-emoji) the 🔄 and 🖌
buttons come out as missing-glyph boxes.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from scenarios import TRIPS, quiet, snapshot_app  # the journeys live in tests/

OUT = Path(__file__).resolve().parent
# picture name -> (journey, shot) in tests/scenarios.py
PICTURES = {
    "empty": ("first_run", "empty"),
    "running": ("first_run", "running"),
    "done": ("variations", "done_tile_2"),
    "upscale": ("variations", "upscale"),
    "help": ("variations", "help"),
    "error": ("failures", "refused"),
}


async def shoot(journey: str, wanted: dict[str, str]) -> list[Path]:
    """Run one journey; save the shots in ``wanted`` (shot -> picture name) as SVG."""
    trip = TRIPS[journey]
    saved: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="imagine-shot-") as tmp:
        patch = pytest.MonkeyPatch()
        try:
            arranged = trip.prepare(patch) if trip.prepare is not None else None
            app = snapshot_app(Path(tmp), **trip.settings)
            async with app.run_test(size=trip.size, notifications=True) as pilot:

                async def shot(name: str, *, toasts: bool = False) -> None:
                    await quiet(pilot, toasts=toasts)
                    if name in wanted:
                        path = app.save_screenshot(filename=f"{wanted[name]}.svg", path=str(OUT))
                        saved.append(Path(path))

                await trip.journey(pilot, shot, arranged)
        finally:
            patch.undo()
    return saved


def to_png(svg: Path) -> Path | None:
    tool = shutil.which("rsvg-convert")
    if tool is None:
        return None
    png = svg.with_suffix(".png")
    subprocess.run([tool, "--zoom", "1.5", "-o", str(png), str(svg)], check=True)
    return png


def main(names: list[str]) -> int:
    journeys: dict[str, dict[str, str]] = {}
    for name in names or list(PICTURES):
        journey, shot = PICTURES[name]
        journeys.setdefault(journey, {})[shot] = name
    for journey, wanted in journeys.items():
        for svg in asyncio.run(shoot(journey, wanted)):
            png = to_png(svg)
            print(f"{svg.stem}: {svg.name}" + (f", {png.name}" if png else " (no rsvg-convert)"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
