"""Grid-only results split locally: a 2×2 grid becomes four tiles, cut once and cached.

A tile is named by the grid's URL plus ``#tile=N`` (1 top-left, 2 top-right, 3 bottom-left,
4 bottom-right, as U1–U4 and V1–V4 count them). The fragment never goes over the wire;
the pipeline sees it, fetches the grid once and writes all four tiles to the cache, so
the grid view, saving, export and U/V by tile work on tile URLs as on any other image.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import IO, TYPE_CHECKING

from app.files import write_atomic
from app.images import cache

if TYPE_CHECKING:  # the job manager reads tile names here; Pillow loads when one is cut
    from PIL import Image

_TILE = re.compile(r"^(.*)#tile=([1-4])$", re.DOTALL)


def tile_url(grid_url: str, n: int) -> str:
    if not 1 <= n <= 4:
        raise ValueError("a 2x2 grid has tiles 1 to 4")
    return f"{grid_url.split('#', 1)[0]}#tile={n}"


def grid_tiles(grid_url: str) -> tuple[str, ...]:
    return tuple(tile_url(grid_url, n) for n in range(1, 5))


def parse_tile(url: str) -> tuple[str, int] | None:
    """``(grid URL, tile number)`` for a tile URL, else None."""
    match = _TILE.match(url)
    return (match.group(1), int(match.group(2))) if match else None


def quarters(grid: Image.Image) -> list[Image.Image]:
    """The four tiles of a grid, each half its width and height (odd pixels dropped)."""
    w, h = grid.width // 2, grid.height // 2
    boxes = [(0, 0), (w, 0), (0, h), (w, h)]
    return [grid.crop((x, y, x + w, y + h)) for x, y in boxes]


def cut_and_cache(cache_dir: Path, grid_url: str, grid_path: Path, max_pixels: int) -> int:
    """Blocking: write the four tiles of the cached grid at ``grid_path`` to the cache;
    the bytes written."""
    from app.images import decode

    with grid_path.open("rb") as fp, decode.open_checked(fp, max_pixels) as im:
        grid = decode.to_display_mode(im)
    written = 0
    for n, tile in enumerate(quarters(grid), start=1):
        dest = cache.full_path(cache_dir, tile_url(grid_url, n), "PNG")
        written += write_atomic(dest, functools.partial(_save_png, tile)).stat().st_size
    return written


def _save_png(image: Image.Image, fp: IO[bytes]) -> None:
    image.save(fp, format="PNG", compress_level=1)
