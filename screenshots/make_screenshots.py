"""Drive the app headless through its main states; write SVG and PNG screenshots here.

    python screenshots/make_screenshots.py [names...]

PNGs need rsvg-convert (Debian: apt-get install librsvg2-bin); without it only SVGs are
written.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from scenarios import SIZE, TOURS, snapshot_app

OUT = Path(__file__).resolve().parent


async def shoot(name: str) -> Path:
    with tempfile.TemporaryDirectory(prefix="imagine-shot-") as tmp:
        app = snapshot_app(Path(tmp))
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await TOURS[name](pilot)
            await pilot.pause(0.2)
            path = app.save_screenshot(filename=f"{name}.svg", path=str(OUT))
    return Path(path)


def to_png(svg: Path) -> Path | None:
    tool = shutil.which("rsvg-convert")
    if tool is None:
        return None
    png = svg.with_suffix(".png")
    subprocess.run([tool, "--zoom", "1.5", "-o", str(png), str(svg)], check=True)
    return png


def main(names: list[str]) -> int:
    for name in names or list(TOURS):
        svg = asyncio.run(shoot(name))
        png = to_png(svg)
        print(f"{name}: {svg.name}" + (f", {png.name}" if png else " (no rsvg-convert: SVG only)"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
