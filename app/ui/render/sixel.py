"""textual-image's sixel widget, with its placement and colour faults fixed here.

Upstream behaviours (textual-image 0.12.0) and what this module does instead:

- After the image it moves the cursor to ``(region.right, region.bottom)``: one row
  *below* the image's last row. The rest of that screen line (the tile border, the gap,
  the next tile) is then written one row too low and the row itself is never repainted,
  so pieces of an earlier image stay there (after full screen, after switching jobs).
  Here the cursor goes back to the image's last row.
- The sixel height is the image's pixel height, which a terminal rounds up to whole
  6-pixel bands. An image filling the rows above the footer then reaches one row
  further; the terminal scrolls the screen by a line after drawing it, and the image ends
  up one row too high, over its title. Here the image is cut to whole bands that fit.
- It defines each colour register where the colour is first used, most of them inside
  the first 6-pixel band, and numbers the most frequent colour 0 (the VT340's
  background register). xterm then shows that whole band in one colour, and foot
  speckles it: a foreign stripe on top of every tile. Here every register is defined
  before the first pixel, numbered from 1, with P2=1 (no background fill).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from PIL import Image as PILImage
from rich.control import Control
from rich.segment import ControlType, Segment
from rich.style import Style
from textual.app import ComposeResult
from textual.geometry import Region
from textual.strip import Strip
from textual_image._pixeldata import PixelData
from textual_image._sixel import SixelOptions, image_to_sixels
from textual_image._terminal import CellSize
from textual_image.widget.sixel import Image as UpstreamSixelImage
from textual_image.widget.sixel import _ImageSixelImpl, _NoopRenderable

BAND = 6  # pixel rows per sixel band
OPTIONS = SixelOptions(colors=255)  # registers 1..255, after the shift below
_REGISTER = re.compile(r"#(\d+)")
_DEFINITION = re.compile(r"(#\d+);2;\d+;\d+;\d+")
_NULL = Style()


def fix_palette(sixels: str) -> str:
    """All colour registers defined up front, numbered from 1; 0 bits left transparent."""
    head, sep, body = sixels.partition("q")
    head = head.replace("\x1bP0;0;0", "\x1bP0;1;0", 1)  # P2=1: no background fill
    body = _REGISTER.sub(lambda m: f"#{int(m.group(1)) + 1}", body)
    start = body.find("#")
    if start < 0:
        return head + sep + body
    definitions = "".join(m.group(0) for m in _DEFINITION.finditer(body))
    pixels = _DEFINITION.sub(lambda m: m.group(1), body[start:])
    return head + sep + body[:start] + definitions + pixels


class _FixedSixelImpl(_ImageSixelImpl):
    def _image_to_sixels(
        self, image: PILImage.Image, sixel_options: Any = None, background: Any = None
    ) -> str:
        return fix_palette(image_to_sixels(image, OPTIONS, background))

    def _crop_image(self, image: PixelData, crop: Any, terminal_sizes: CellSize) -> PixelData:
        cropped = super()._crop_image(image, crop, terminal_sizes)
        # Only where the rounded-up last band would reach the screen's last row: elsewhere
        # the next row's text covers those few pixels and the image keeps its bottom edge.
        near_bottom = self.region.bottom >= self.screen.size.height - 1
        height = (cropped.height // BAND) * BAND
        if near_bottom and height and height != cropped.height:
            cropped = cropped.cropped(0, 0, cropped.width, height)
        return cropped

    def render_lines(self, crop: Region) -> list[Strip]:
        self._crop = crop
        lines = super().render_lines(crop)
        # Upstream leaves the lines above the sixel line empty, so text from an earlier
        # screen stays in cells the image does not quite cover (its last few pixel rows
        # after the cut to whole bands). Blank cells first, then the image over them.
        blank = Strip.blank(crop.width, self.rich_style)
        return [blank] * (len(lines) - 1) + lines[-1:] if lines else lines

    def _get_sixel_segments(self, sixel_data: str) -> Iterable[Segment]:
        region = self.screen.find_widget(self).visible_region
        crop = getattr(self, "_crop", Region(0, 0, region.width, region.height))
        x, y = region.x + crop.x, region.y + crop.y  # upstream: region.x, region.y
        return [
            # Blank this line's cells first (upstream draws none on it): the image's last
            # pixel rows may not cover them, and text from an earlier screen showed there.
            Segment(" " * crop.width, self.rich_style),
            Segment(Control.move_to(x, y).segment.text, style=_NULL),
            # A no-op control code keeps Rich from measuring or splitting the sixel data.
            Segment(sixel_data, style=_NULL, control=((ControlType.CURSOR_FORWARD, 0),)),
            # Back to the end of the line this strip is drawn on (upstream: one row below).
            Segment(Control.move_to(x + crop.width, y + crop.height - 1).segment.text, style=_NULL),
        ]


class SixelImage(UpstreamSixelImage, Renderable=_NoopRenderable):
    """The sixel widget with the fixes above."""

    def compose(self) -> ComposeResult:
        yield _FixedSixelImpl(self.image, self._sixel_options)


class SixelRenderable:
    """textual-image's sixel renderable (for plain Rich output) with the colour fix above."""

    def __init__(self, image: PILImage.Image, width: int | str | None = None) -> None:
        from textual_image.renderable.sixel import Image as Upstream

        self._inner = Upstream(image, width=width, sixel_options=OPTIONS)

    def __rich_console__(self, console: Any, options: Any) -> Iterable[Any]:
        for seg in self._inner.__rich_console__(console, options):
            if isinstance(seg, Segment) and seg.text.startswith("\x1bP"):
                seg = Segment(fix_palette(seg.text), seg.style, seg.control)
            yield seg

    def __rich_measure__(self, console: Any, options: Any) -> Any:
        return self._inner.__rich_measure__(console, options)
