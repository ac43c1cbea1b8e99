"""One image as large as the terminal allows; 1–4 switch tiles, u/v act on the one shown."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import ClassVar

from PIL import Image as PILImage
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container
from textual.screen import Screen
from textual.widgets import Label, Static

from app.ui.actions import BY_ID
from app.ui.graphics import make_image
from app.ui.widgets.footer import KeyFooter

Loader = Callable[[str, PILImage.Image], Awaitable[PILImage.Image]]


def _same(action_id: str, label: str, show: bool = True) -> Binding:
    """The main screen's key (and the user's remapping of it, by id) for this screen."""
    action = BY_ID[action_id]
    return Binding(action.keys, action.action, label, show=show, id=action_id)


class ImageScreen(Screen[None]):
    """Esc, q, Enter or a click closes it. Of a grid: 1–4 show another tile, u and v press
    U/V of the tile shown (never of one hidden behind this screen)."""

    DEFAULT_CSS = """
    ImageScreen {
        & > #full-title { height: 1; padding: 0 1; text-style: bold; }
        & > #full-frame { height: 1fr; align: center middle; }
        & #full-image { width: auto; height: auto; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("q", "dismiss", "Close", show=False),
        Binding("enter", "dismiss", "Close", show=False),
        _same("upscale", "Upscale"),
        _same("vary", "Vary"),
        # one footer entry for the four: the app shows their keys (tiles_key_display)
        *(_same(f"tile_{n}", "Tile", n == 1) for n in range(1, 5)),
    ]

    def __init__(
        self,
        title: str,
        tiles: Sequence[tuple[str, PILImage.Image]],
        index: int,
        graphics: str,
        *,
        load: Loader,
        on_tile: Callable[[int], None],
        press: Callable[[str], object] | None,
    ) -> None:
        """``tiles``: (url, small image) per tile; ``press``: None when the job has no
        U/V buttons (an upscale)."""
        super().__init__()
        self._job_title = title
        self._tiles = list(tiles)
        self._index = index
        self._graphics = graphics
        self._load = load
        self._on_tile = on_tile
        self._press = press

    @property
    def index(self) -> int:
        return self._index

    @property
    def title_text(self) -> str:
        return f"{self._job_title} · tile {self._index}   (Esc closes)"

    def compose(self) -> ComposeResult:
        yield Label(Text(self.title_text), id="full-title")
        yield Container(id="full-frame")
        yield KeyFooter()

    def on_mount(self) -> None:
        self._show(self._index)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("upscale", "vary"):
            return self._press is not None
        if action == "tile":
            return len(self._tiles) > 1
        return True

    def action_tile(self, index: int) -> None:
        if 1 <= index <= len(self._tiles) and index != self._index:
            self._index = index
            self._on_tile(index)
            self.query_one("#full-title", Label).update(Text(self.title_text))
            self._show(index)

    def action_upscale(self) -> None:
        if self._press is not None:
            self._press(f"U{self._index}")

    def action_vary(self) -> None:
        if self._press is not None:
            self._press(f"V{self._index}")

    @work(exclusive=True, group="full-image", exit_on_error=False)
    async def _show(self, index: int) -> None:
        url, small = self._tiles[index - 1]
        await self._put(small)  # at once; the large one follows
        try:
            image = await self._load(url, small)
        except Exception:  # the small tile is still worth showing
            return
        if index == self._index:
            await self._put(image)

    async def _put(self, image: PILImage.Image) -> None:
        frame = self.query_one("#full-frame", Container)
        self._release()
        await frame.remove_children()
        widget = make_image(self._graphics, image=image, id="full-image")
        await frame.mount(
            widget if widget is not None else Static("This terminal cannot draw images.")
        )

    def on_click(self) -> None:
        self.dismiss()

    def _release(self) -> None:
        # textual-image keeps terminal-side resources per image: release them.
        for widget in self.query("#full-image"):
            widget.image = None  # type: ignore[attr-defined]

    def on_unmount(self) -> None:
        self._release()
