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
- It numbers the most frequent colour register 0. xterm and foot treat register 0 as
  the sixel background and draw the first band (top 6 px) with its old colour: a
  foreign stripe and specks on every tile. Here the palette starts at register 1.
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
from textual_image._pixeldata import PixelData
from textual_image._sixel import SixelOptions, image_to_sixels
from textual_image._terminal import CellSize
from textual_image.widget.sixel import Image as UpstreamSixelImage
from textual_image.widget.sixel import _ImageSixelImpl, _NoopRenderable

BAND = 6  # pixel rows per sixel band
OPTIONS = SixelOptions(colors=255)  # registers 1..255, after the shift below
_REGISTER = re.compile(r"#(\d+)")
_NULL = Style()


def from_register_one(sixels: str) -> str:
    """Renumber colour registers n -> n+1, leaving register 0 unused; 0 bits transparent."""
    head, sep, body = sixels.partition("q")
    head = head.replace("\x1bP0;0;0", "\x1bP0;1;0", 1)  # P2=1: no background fill
    return head + sep + _REGISTER.sub(lambda m: f"#{int(m.group(1)) + 1}", body)


class _FixedSixelImpl(_ImageSixelImpl):
    def _image_to_sixels(
        self, image: PILImage.Image, sixel_options: Any = None, background: Any = None
    ) -> str:
        return from_register_one(image_to_sixels(image, OPTIONS, background))

    def _crop_image(self, image: PixelData, crop: Any, terminal_sizes: CellSize) -> PixelData:
        cropped = super()._crop_image(image, crop, terminal_sizes)
        # Only where the rounded-up last band would reach the screen's last row: elsewhere
        # the next row's text covers those few pixels and the image keeps its bottom edge.
        near_bottom = self.region.bottom >= self.screen.size.height - 1
        height = (cropped.height // BAND) * BAND
        if near_bottom and height and height != cropped.height:
            cropped = cropped.cropped(0, 0, cropped.width, height)
        return cropped

    def _get_sixel_segments(self, sixel_data: str) -> Iterable[Segment]:
        region = self.screen.find_widget(self).visible_region
        return [
            Segment(Control.move_to(region.x, region.y).segment.text, style=_NULL),
            # A no-op control code keeps Rich from measuring or splitting the sixel data.
            Segment(sixel_data, style=_NULL, control=((ControlType.CURSOR_FORWARD, 0),)),
            Segment(Control.move_to(region.right, region.bottom - 1).segment.text, style=_NULL),
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
                seg = Segment(from_register_one(seg.text), seg.style, seg.control)
            yield seg

    def __rich_measure__(self, console: Any, options: Any) -> Any:
        return self._inner.__rich_measure__(console, options)
