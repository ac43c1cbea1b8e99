"""Images drawn with character cells: each cell shows 2x2 (quadrant) or 2x3 (sextant) pixels
in two colours, picked per cell (the approach of chafa and timg). Twice or three times the
detail of half-blocks, in any terminal whose font has the glyphs.

On a 256-colour terminal each colour is mapped to the nearest of the palette's 6x6x6 cube
and grey ramp by distance; Rich's own downgrade favours the grey ramp for muted colours,
which turns a dusk sky grey.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from PIL import Image as PILImage
from rich.color import Color
from rich.color_triplet import ColorTriplet
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style

RGB = tuple[int, int, int]

# Quadrant glyphs by bit pattern: 1 top-left, 2 top-right, 4 bottom-left, 8 bottom-right.
QUADRANTS = " ▘▝▀▖▌▞▛▗▚▐▜▄▙▟█"


def _sextant(bits: int) -> str:
    """Sextant glyph (U+1FB00 block) by pattern: 1,2 top row, 4,8 middle, 16,32 bottom."""
    special = {0: " ", 21: "▌", 42: "▐", 63: "█"}
    if bits in special:
        return special[bits]
    return chr(0x1FB00 + bits - 1 - (bits > 21) - (bits > 42))


SEXTANTS = "".join(_sextant(b) for b in range(64))


class Layout:
    """A cell grid: ``cols`` x ``rows`` pixels per cell and the glyph for each pattern."""

    def __init__(self, name: str, cols: int, rows: int, glyphs: str) -> None:
        self.name, self.cols, self.rows, self.glyphs = name, cols, rows, glyphs


QUADRANT = Layout("quadrant", 2, 2, QUADRANTS)
SEXTANT = Layout("sextant", 2, 3, SEXTANTS)


_CUBE = (0, 95, 135, 175, 215, 255)


def _nearest_cube(v: int) -> int:
    return min(range(6), key=lambda i: abs(_CUBE[i] - v))


@lru_cache(maxsize=4096)
def to_256(rgb: RGB) -> int:
    """The xterm-256 palette index nearest to ``rgb`` (cube or grey ramp, by distance)."""
    r, g, b = rgb
    ci = [_nearest_cube(c) for c in rgb]
    cube = tuple(_CUBE[i] for i in ci)
    grey_i = max(0, min(23, round((sum(rgb) / 3 - 8) / 10)))
    grey = 8 + 10 * grey_i

    def dist(c: tuple[int, ...]) -> int:
        return (c[0] - r) ** 2 + (c[1] - g) ** 2 + (c[2] - b) ** 2

    if dist((grey, grey, grey)) < dist(cube):
        return 232 + grey_i
    return 16 + 36 * ci[0] + 6 * ci[1] + ci[2]


def _split(pixels: list[RGB]) -> tuple[int, RGB, RGB]:
    """Two colours for one cell: split along its widest channel at the midpoint."""
    spans = [max(p[c] for p in pixels) - min(p[c] for p in pixels) for c in range(3)]
    c = spans.index(max(spans))
    if spans[c] < 8:  # flat: one colour
        avg = _mean(pixels)
        return 0, avg, avg
    mid = (max(p[c] for p in pixels) + min(p[c] for p in pixels)) / 2
    bits = 0
    fg: list[RGB] = []
    bg: list[RGB] = []
    for i, p in enumerate(pixels):
        if p[c] > mid:
            bits |= 1 << i
            fg.append(p)
        else:
            bg.append(p)
    return bits, _mean(fg), _mean(bg)


def _mean(pixels: list[RGB]) -> RGB:
    n = len(pixels)
    return (
        sum(p[0] for p in pixels) // n,
        sum(p[1] for p in pixels) // n,
        sum(p[2] for p in pixels) // n,
    )


def cell_lines(image: PILImage.Image, cols: int, rows: int, layout: Layout) -> list[list[Any]]:
    """Per cell: (glyph, foreground rgb, background rgb), row by row."""
    px_w, px_h = cols * layout.cols, rows * layout.rows
    small = image.convert("RGB").resize((px_w, px_h), PILImage.Resampling.BOX)
    raw = small.tobytes()
    data: list[RGB] = [(raw[i], raw[i + 1], raw[i + 2]) for i in range(0, len(raw), 3)]
    lines = []
    for row in range(rows):
        line = []
        for col in range(cols):
            x0, y0 = col * layout.cols, row * layout.rows
            pixels = [
                data[(y0 + dy) * px_w + x0 + dx]
                for dy in range(layout.rows)
                for dx in range(layout.cols)
            ]
            bits, fg, bg = _split(pixels)
            line.append((layout.glyphs[bits], fg, bg))
        lines.append(line)
    return lines


def _colour(rgb: RGB, eight_bit: bool) -> Color:
    return Color.from_ansi(to_256(rgb)) if eight_bit else Color.from_triplet(ColorTriplet(*rgb))


class CellImage:
    """A Rich renderable with textual-image's renderable interface (``cleanup``, sizes)."""

    layout = QUADRANT

    def __init__(
        self,
        image: PILImage.Image,
        width: int | str | None = None,
        height: int | str | None = None,
    ) -> None:
        from textual_image._geometry import ImageSize

        self._image = image if isinstance(image, PILImage.Image) else PILImage.open(image)
        self._size = ImageSize(self._image.width, self._image.height, width, height)
        self._cache: tuple[tuple[int, int, bool], list[list[Segment]]] | None = None

    def cleanup(self) -> None:
        self._cache = None

    def _cells(self, max_width: int, max_height: int) -> tuple[int, int]:
        from textual_image._terminal import get_cell_size

        return self._size.get_cell_size(max_width, max_height, get_cell_size())

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        cols, rows = self._cells(options.max_width, options.max_height or console.height)
        eight_bit = console.color_system in ("256", "standard", "windows")
        key = (cols, rows, eight_bit)
        if self._cache is None or self._cache[0] != key:
            rendered = []
            for line in cell_lines(self._image, cols, rows, self.layout):
                rendered.append(
                    [
                        Segment(
                            glyph,
                            Style(color=_colour(fg, eight_bit), bgcolor=_colour(bg, eight_bit)),
                        )
                        for glyph, fg, bg in line
                    ]
                )
            self._cache = (key, rendered)
        for line in self._cache[1]:
            yield from line
            yield Segment.line()

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        cols, _ = self._cells(options.max_width, options.max_height or console.height)
        return Measurement(cols, cols)


class QuadrantImage(CellImage):
    layout = QUADRANT


class SextantImage(CellImage):
    layout = SEXTANT
