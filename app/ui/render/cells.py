"""Images drawn with character cells: each cell shows 2x2 (quadrant) or 2x3 (sextant) pixels
in two colours, picked per cell (the approach of chafa and timg). Twice or three times the
detail of half-blocks, in any terminal whose font has the glyphs. Half-blocks (1x2 pixels,
upper one the foreground) are drawn here too, as textual-image draws them.

:class:`CellImageWidget` shows any of them in Textual without textual-image's widget,
whose import loads its sixel encoder and with it numpy (~65 ms of start-up), and which
renders the image again, pixel by pixel, on every repaint. Here an image is rendered once
per size and kept.

On a 256-colour terminal each colour is mapped to the nearest of the palette's 6x6x6 cube
and grey ramp by distance; Rich's own downgrade favours the grey ramp for muted colours,
which turns a dusk sky grey.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from functools import lru_cache
from typing import Any, Literal

from PIL import Image as PILImage
from rich.color import Color, ColorType
from rich.color_triplet import ColorTriplet
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget

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
    return Color.from_ansi(to_256(rgb)) if eight_bit else _truecolour(*rgb)


_TRUECOLOR = ColorType.TRUECOLOR
_new = tuple.__new__  # NamedTuple's own __new__ costs twice as much: a pixel each


def _truecolour(r: int, g: int, b: int) -> Color:
    """``Color.from_triplet(ColorTriplet(r, g, b))``, built directly."""
    triplet = _new(ColorTriplet, (r, g, b))
    return _new(Color, (f"#{r:02x}{g:02x}{b:02x}", _TRUECOLOR, None, triplet))


Lines = list[list[Segment]]
RENDERED_MAX = 64  # images' cells kept: the tiles of the last 16 jobs shown
# (id(image), renderer, cols, rows, 8-bit) -> (the image, its cells). Moving back to a job
# shows the same thumbnail objects (the pipeline keeps them in memory): drawn at once.
_RENDERED: OrderedDict[tuple[int, str, int, int, bool], tuple[weakref.ref[Any], Lines]] = (
    OrderedDict()
)


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

    def cleanup(self) -> None:
        pass  # nothing held outside Python

    def _cells(self, max_width: int, max_height: int) -> tuple[int, int]:
        from textual_image._terminal import get_cell_size

        return self._size.get_cell_size(max_width, max_height, get_cell_size())

    def _render(self, cols: int, rows: int, eight_bit: bool) -> Lines:
        return [
            [
                Segment(glyph, Style.from_color(_colour(fg, eight_bit), _colour(bg, eight_bit)))
                for glyph, fg, bg in line
            ]
            for line in cell_lines(self._image, cols, rows, self.layout)
        ]

    def lines(self, max_width: int, max_height: int, eight_bit: bool) -> Lines:
        """The image's cells, line by line, fitted to the space given; kept per image and
        size (the newest RENDERED_MAX)."""
        cols, rows = self._cells(max_width, max_height)
        if cols <= 0 or rows <= 0:
            return []
        key = (id(self._image), type(self).__name__, cols, rows, eight_bit)
        kept = _RENDERED.get(key)
        if kept is not None and kept[0]() is self._image:
            _RENDERED.move_to_end(key)
            return kept[1]
        lines = self._render(cols, rows, eight_bit)
        _RENDERED[key] = (weakref.ref(self._image), lines)
        while len(_RENDERED) > RENDERED_MAX:
            _RENDERED.popitem(last=False)
        return lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        eight_bit = console.color_system in ("256", "standard", "windows")
        for line in self.lines(options.max_width, options.max_height or console.height, eight_bit):
            yield from line
            yield Segment.line()

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        cols, _ = self._cells(options.max_width, options.max_height or console.height)
        return Measurement(cols, cols)


class QuadrantImage(CellImage):
    layout = QUADRANT


class SextantImage(CellImage):
    layout = SEXTANT


class HalfcellImage(CellImage):
    """Half-blocks: the upper pixel as foreground, the lower as background, in 24-bit
    colour (Rich maps it down where it must): textual-image's output, cell for cell."""

    def _render(self, cols: int, rows: int, eight_bit: bool) -> Lines:
        # resize()'s default filter on an RGB image, as textual-image scales it
        raw = self._image.convert("RGB").resize((cols, rows * 2)).tobytes()
        colours = [_truecolour(raw[i], raw[i + 1], raw[i + 2]) for i in range(0, len(raw), 3)]
        return [
            [
                Segment("▀", Style.from_color(colours[top], colours[top + cols]))
                for top in range(row * 2 * cols, row * 2 * cols + cols)
            ]
            for row in range(rows)
        ]


Spec = Literal["auto"] | int | None


class CellImageWidget(Widget):
    """A Textual widget showing one image with a :class:`CellImage` renderable.

    Sized like textual-image's widget (``width``/``height`` auto keep the aspect ratio in
    the terminal's cells); ``image`` may be set again, or to None.
    """

    Renderable: type[CellImage] = HalfcellImage

    def __init__(
        self,
        image: PILImage.Image | None = None,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._image: PILImage.Image | None = None
        self._renderable: tuple[tuple[Spec, Spec], CellImage] | None = None
        self._strips: tuple[tuple[int, int], Lines, list[Strip]] | None = None
        self.image = image

    @property
    def image(self) -> PILImage.Image | None:
        return self._image

    @image.setter
    def image(self, value: PILImage.Image | None) -> None:
        old, self._image = self._image, value
        self._renderable = None
        # A new layout re-renders the whole screen: only when the cell size may change.
        same = old is not None and value is not None and old.size == value.size
        self.refresh(layout=not same)

    def render_line(self, y: int) -> Strip:
        """Line ``y`` of the image, from the cells rendered once per image and size."""
        width, height = self.content_size
        lines = self._lines(width, height)
        if (
            self._strips is None
            or self._strips[0] != (width, height)
            or self._strips[1] is not lines
        ):
            style = self.rich_style
            # one cell per segment: every glyph here is one cell wide
            strips = [Strip(line, len(line)).adjust_cell_length(width, style) for line in lines]
            self._strips = ((width, height), lines, strips)
        strips = self._strips[2]
        return strips[y] if y < len(strips) else Strip.blank(width, self.rich_style)

    def _lines(self, width: int, height: int) -> Lines:
        if self._image is None:
            return []
        spec = self._styled_size()
        if self._renderable is None or self._renderable[0] != spec:
            self._renderable = (spec, self.Renderable(self._image, *spec))
        eight_bit = self.app.console.color_system in ("256", "standard", "windows")
        return self._renderable[1].lines(width, height, eight_bit)

    def _fit(self, width: int, height: int) -> tuple[int, int]:
        from textual_image._geometry import ImageSize
        from textual_image._terminal import get_cell_size

        if self._image is None:
            return 0, 0
        w, h = self._styled_size()
        size = ImageSize(self._image.width, self._image.height, width=w, height=h)
        return size.get_cell_size(width, height, get_cell_size())

    def get_content_width(self, container: Size, viewport: Size) -> int:
        # Textual reports an unknown container height as 0: fit the width alone then.
        return self._fit(container.width, container.height or 2**32)[0]

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return self._fit(width, container.height or 2**32)[1]

    def _styled_size(self) -> tuple[Spec, Spec]:
        return self._dimension("width"), self._dimension("height")

    def _dimension(self, which: Literal["width", "height"]) -> Spec:
        style = getattr(self.styles, which)
        if style is None:
            return None
        if style.is_auto:
            return "auto"
        return int(getattr(self.content_size, which))


class HalfcellWidget(CellImageWidget):
    Renderable = HalfcellImage


class QuadrantWidget(CellImageWidget):
    Renderable = QuadrantImage


class SextantWidget(CellImageWidget):
    Renderable = SextantImage
