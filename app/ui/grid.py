"""The 2x2 image grid (or one large image for an upscale / a running job's preview)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.containers import Container, Grid
from textual.message import Message
from textual.widget import AwaitMount, Widget
from textual.widgets import Label, Static

from app.ui.graphics import DETECTED, make_image, renderer_for

if TYPE_CHECKING:
    from PIL import Image as PILImage

FULL_THUMB = (1280, 1280)  # the full-screen view

# Pixels one character cell shows, by renderer; kitty and sixel draw the cell's real ones.
CELL_PIXELS = {"sextant": (2, 3), "quadrant": (2, 2), "halfcell": (1, 2), "unicode": (1, 1)}
# Thumbnail sides round up to one of these: a few sizes per image, not one per window size.
THUMB_STEPS = (64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048)


def thumb_size(graphics: str, screen: tuple[int, int], across: int) -> tuple[int, int]:
    """The box a grid image's thumbnail must fill to look its best, and no larger: a tile
    is at most 1/``across`` of the ``screen`` (columns, rows) each way, times the pixels
    the renderer draws per cell. Character cells need a few pixels a cell (a 2x2 grid of
    halfcell tiles at 160x50: 96x64); kitty and sixel get the terminal's pixels."""
    renderer = renderer_for(graphics)
    per_cell = CELL_PIXELS.get(renderer, DETECTED.cell_size)
    if renderer == "none":
        per_cell = (1, 1)

    def step(cells: int, pixels: int) -> int:
        need = max(1, cells // across) * pixels
        return next((side for side in THUMB_STEPS if side >= need), THUMB_STEPS[-1])

    return step(screen[0], per_cell[0]), step(screen[1], per_cell[1])


@dataclass
class TileView:
    """What one tile shows: an image, or a line of text (waiting, or why it failed)."""

    image: PILImage.Image | None = None
    note: str = ""
    failed: bool = False
    url: str | None = None


class Tile(Container):
    """One numbered tile. Clicking selects it; clicking a selected or failed tile acts on it."""

    class Clicked(Message):
        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def __init__(self, index: int, graphics: str) -> None:
        super().__init__(id=f"tile-{index}", classes="tile")
        self.index = index
        self._graphics = graphics
        self.view = TileView()
        self._caption = str(index)
        self._shown = False  # nothing set on the child widgets yet

    def compose(self) -> ComposeResult:
        yield Label(str(self.index), classes="tile-label")
        with Container(classes="tile-frame"):
            yield Static("", classes="tile-note")

    @property
    def _image(self) -> Widget | None:
        found = self.query(".tile-image")
        return found.first() if found else None

    def show(self, view: TileView, caption: str | None = None) -> None:
        """Change only what differs: re-encoding an unchanged image is the costly part."""
        old, self.view = self.view, view
        self.set_caption(caption if caption is not None else str(self.index))
        image = self._image
        if image is None and view.image is not None:
            # Made with the first image, not composed: the renderer's classes load then.
            image = make_image(self._graphics, image=view.image, classes="tile-image")
            if image is not None:
                self.query_one(".tile-frame", Container).mount(image, before=0)
        elif image is not None and (view.image is not old.image or not self._shown):
            image.image = view.image  # type: ignore[attr-defined]
        if image is not None:
            image.display = view.image is not None
        if view.note != old.note or not self._shown:
            self.query_one(".tile-note", Static).update(Text(view.note))  # never markup
        self.query_one(".tile-note", Static).display = view.image is None
        self.set_class(view.failed, "-failed")
        self._shown = True

    def set_caption(self, caption: str) -> None:
        if caption != self._caption:
            self._caption = caption
            # one line, full width (app.tcss): no layout pass needed
            self.query_one(".tile-label", Label).update(Text(caption), layout=False)

    def clear(self) -> None:
        if not self.is_mounted:  # not composed yet (see ImageGrid): nothing drawn
            self.view = TileView()
            return
        self.show(TileView())

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.post_message(self.Clicked(self.index))


class ImageGrid(Grid):
    """Four tiles; with ``single`` set, tile 1 fills the grid (upscale, live preview).

    Only tile 1 is composed: the first screen shows a line of text in it, and composing
    and styling the three hidden tiles took a third of that frame. They are mounted when
    a job's four images are to be shown (:meth:`four`).
    """

    def __init__(self, graphics: str, id: str | None = None) -> None:
        super().__init__(id=id, classes="-single")  # as composed: tile 1 alone
        self._graphics = graphics
        self.selected = 1
        self._tiles = [Tile(index, graphics) for index in range(1, 5)]
        self._shows = 0  # show_views calls: a deferred one draws only if still the last
        self._mounting: AwaitMount | None = None

    def compose(self) -> ComposeResult:
        yield self._tiles[0]

    def tile(self, index: int) -> Tile:
        return self._tiles[index - 1]

    async def four(self) -> None:
        """Tiles 2-4 mounted (and composed), ready to show images."""
        if all(tile.is_mounted for tile in self._tiles):
            return  # (awaiting a finished mount again would lay out the screen again)
        if self._mounting is None:
            self._mounting = self.mount_all(self._tiles[1:])
        await self._mounting  # a second caller waits for the first one's mount

    def set_single(self, single: bool) -> None:
        self.set_class(single, "-single")

    @property
    def single(self) -> bool:
        return self.has_class("-single")

    def select(self, index: int, *, mark: bool = True) -> None:
        self.selected = index
        for i in range(1, 5):
            self.tile(i).set_class(mark and i == index, "-selected")

    def show_views(
        self, views: list[TileView], captions: list[str] | None = None, *, mark: bool = True
    ) -> None:
        """``mark``: the selected tile is marked (not when the tile holds a message)."""
        self._shows += 1
        if any(not tile.is_mounted for tile in self._tiles[1 : len(views)]):
            self._show_later(self._shows, views, captions, mark)
            return
        self.set_single(len(views) == 1)
        for i in range(1, 5):
            tile = self.tile(i)
            if i <= len(views):
                tile.show(views[i - 1], captions[i - 1] if captions else None)
            else:
                tile.clear()
        self.select(self.selected if len(views) != 1 else 1, mark=mark)

    @work(group="tiles")
    async def _show_later(
        self, shows: int, views: list[TileView], captions: list[str] | None, mark: bool
    ) -> None:
        await self.four()
        if shows == self._shows:  # nothing newer was shown meanwhile
            self.show_views(views, captions, mark=mark)

    def show_message(self, text: str) -> None:
        """No images: one tile with a line of text (nothing selected, waiting, ...).
        (Marked then unmarked, tile 1 was styled twice more: ~5 ms of the first frame.)"""
        self.show_views([TileView(note=text)], [""], mark=False)  # nothing to act on
