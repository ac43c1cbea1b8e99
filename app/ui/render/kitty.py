"""Kitty graphics without Unicode placeholders, for kitty before 0.28.

textual-image's kitty renderer places images with Unicode placeholder cells (U+10EEEE),
which kitty draws only from 0.28: kitty 0.26 (Debian 12's) rejects the ``U=1`` key
("Malformed GraphicsCommand … invalid key character: 0x55") and shows every placeholder
as an empty box. kitty has no sixel, so this widget uses the protocol's classic
placement instead: the image is sent once, then placed at the widget's cells with the
cursor there (``a=p``, same placement id each time, so a new placement replaces the old
one when the layout moves it). It is drawn at the default z-index, over the text: under
it (z=-1) kitty 0.26 showed the image about 7% darker; a notification over a tile is
hidden until the image is placed again.

A placement is not erased by text written over it, so it is deleted whenever the widget
stops being on screen: hidden, unmounted, or its screen no longer the one shown (full
screen, dialogs). The screen being shown again repaints it, which places it again.

The image data goes with the placement, and is sent again when placed again: kitty (0.26,
``filter_refs`` in graphics.c) frees on any ``d=I`` delete every image that has no
placement left, not just the one named. Data kept for a hidden placement vanished when
another image was freed meanwhile (switching tiles in full screen), and the grid placed
again after Esc drew nothing.
"""

from __future__ import annotations

import itertools
import random
from typing import Any

from PIL import Image as PILImage
from rich.control import Control
from rich.segment import ControlType, Segment
from rich.style import Style
from textual import events
from textual.app import ComposeResult
from textual.css.query import NoMatches
from textual.dom import NoScreen
from textual.geometry import Region
from textual.screen import Screen
from textual.strip import Strip
from textual.widget import Widget
from textual_image._geometry import ImageSize
from textual_image._pixeldata import PixelData
from textual_image._terminal import get_cell_size
from textual_image.widget._base import Image as BaseImage
from textual_image.widget.sixel import _NoopRenderable

_NULL = Style()
_CHUNK = 4096
_ids = itertools.count(random.randint(1 << 20, 1 << 30))


def _apc(keys: str, payload: str = "") -> str:
    return f"\x1b_G{keys}{';' + payload if payload else ''}\x1b\\"


def transmit(image_id: int, png_base64: str) -> str:
    """The image data in chunks (``m=1`` while more follow); quiet (``q=2``): no replies."""
    parts = []
    for start in range(0, len(png_base64), _CHUNK):
        chunk = png_base64[start : start + _CHUNK]
        more = 1 if start + _CHUNK < len(png_base64) else 0
        head = f"a=t,f=100,i={image_id},q=2,m={more}" if start == 0 else f"m={more},q=2"
        parts.append(_apc(head, chunk))
    return "".join(parts)


class _KittyPlacement(Widget, can_focus=False, inherit_css=False):
    DEFAULT_CSS = "_KittyPlacement { width: 100%; height: 100%; }"

    def __init__(self, image: Any) -> None:
        super().__init__()
        self.image = image
        self._image_id = next(_ids)
        self._sent: tuple[int, int] | None = None  # pixel size of the data the terminal has
        self._placed = False

    def on_mount(self) -> None:
        self.app.screen_change_signal.subscribe(self, self._screen_changed)

    def _screen_changed(self, screen: Screen[Any]) -> None:
        try:
            mine = self.screen
        except NoScreen:
            return
        if screen is not mine:
            self._delete()

    def on_hide(self, event: events.Hide) -> None:
        self._delete()

    def on_unmount(self) -> None:
        self._delete()

    def _write(self, data: str) -> None:
        # Outside a render there is no strip to carry the command: write it through
        # Textual's own driver, so it stays in order with the screen updates.
        driver = getattr(self.app, "_driver", None)
        if driver is not None:
            driver.write(data)
            driver.flush()

    def _delete(self) -> None:
        """Delete the placement and free the data (see the module docstring for why)."""
        if self._placed or self._sent:
            self._write(_apc(f"a=d,d=I,i={self._image_id},q=2"))
        self._placed = False
        self._sent = None

    def _pixel_size(self, cell_w: int, cell_h: int) -> tuple[int, int]:
        parent = self.parent
        assert isinstance(parent, BaseImage)
        width, height = parent._get_styled_size()
        data = PixelData(self.image)
        size = ImageSize(data.width, data.height, width=width, height=height)
        cols, rows = size.get_cell_size(
            self.content_size.width, self.content_size.height, get_cell_size()
        )
        return max(1, cols * cell_w), max(1, rows * cell_h)

    def render_lines(self, crop: Region) -> list[Strip]:
        try:
            if not self.image or not self.screen.is_active:
                return []
            region = self.screen.find_widget(self).visible_region
        except (NoScreen, NoMatches):
            return []
        cell = get_cell_size()
        px = self._pixel_size(cell.width, cell.height)
        data = ""
        if self._sent != px:
            if self._sent is not None:  # a new size: free the old data first
                data += _apc(f"a=d,d=I,i={self._image_id},q=2")
            data += transmit(self._image_id, PixelData(self.image).scaled(*px).to_base64())
            self._sent = px
        cols = -(-px[0] // cell.width)
        rows = -(-px[1] // cell.height)
        data += _apc(f"a=p,i={self._image_id},p=1,c={cols},r={rows},C=1,q=2")
        self._placed = True
        x, y = region.x + crop.x, region.y + crop.y
        segments = [
            Segment(Control.move_to(region.x, region.y).segment.text, style=_NULL),
            Segment(data, style=_NULL, control=((ControlType.CURSOR_FORWARD, 0),)),
            Segment(Control.move_to(x + crop.width, y + crop.height - 1).segment.text, style=_NULL),
        ]
        return [Strip([])] * (crop.height - 1) + [Strip(segments, cell_length=crop.width)]


class KittyClassicImage(BaseImage, Renderable=_NoopRenderable):
    """A textual-image style widget placing its image with classic kitty placements."""

    def __init__(self, image: PILImage.Image | None = None, **kwargs: Any) -> None:
        super().__init__(image=image, **kwargs)

    @BaseImage.image.setter  # type: ignore[attr-defined, untyped-decorator]
    def image(self, value: Any) -> None:
        BaseImage.image.fset(self, value)  # type: ignore[attr-defined]
        self.refresh(recompose=True)

    def compose(self) -> ComposeResult:
        yield _KittyPlacement(self.image)

    def on_hide(self, event: events.Hide) -> None:
        for child in self.query(_KittyPlacement):
            child._delete()


class KittyClassicRenderable:
    """For plain Rich output (``imagine-tui graphics``): transmit and display in one go."""

    def __init__(self, image: PILImage.Image, width: int | str | None = None) -> None:
        self._image = image
        self._size = ImageSize(image.width, image.height, width, None)

    def __rich_console__(self, console: Any, options: Any) -> Any:
        cell = get_cell_size()
        cols, rows = self._size.get_cell_size(options.max_width, options.max_height, cell)
        for _ in range(rows):
            yield Segment(" " * cols + "\n")
        png = PixelData(self._image).scaled(cols * cell.width, rows * cell.height).to_base64()
        image_id = next(_ids)
        data = transmit(image_id, png).replace("a=t,", "a=T,", 1)
        data = data.replace(f"i={image_id},", f"i={image_id},c={cols},r={rows},C=1,", 1)
        yield Segment("\x1b7", control=((ControlType.CURSOR_FORWARD, 0),))
        yield Control.move(0, -rows)
        yield Segment(data, control=((ControlType.CURSOR_FORWARD, 0),))
        yield Segment("\x1b8", control=((ControlType.CURSOR_FORWARD, 0),))

    def __rich_measure__(self, console: Any, options: Any) -> Any:
        from rich.measure import Measurement

        cols, _ = self._size.get_cell_size(options.max_width, options.max_height, get_cell_size())
        return Measurement(cols, cols)
