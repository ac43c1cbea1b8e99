"""One image as large as the terminal allows."""

from __future__ import annotations

from typing import ClassVar

from PIL import Image as PILImage
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container
from textual.screen import Screen
from textual.widgets import Footer, Label, Static

from app.ui.graphics import make_image


class ImageScreen(Screen[None]):
    """One image as large as the terminal allows; any key of Esc, q, Enter or a click closes it."""

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
    ]

    def __init__(self, image: PILImage.Image, title: str, graphics: str) -> None:
        super().__init__()
        self._image = image
        self._title = title
        self._graphics = graphics

    def compose(self) -> ComposeResult:
        yield Label(Text(self._title), id="full-title")
        with Container(id="full-frame"):
            widget = make_image(self._graphics, image=self._image, id="full-image")
            if widget is not None:
                yield widget
            else:
                yield Static("This terminal cannot draw images.")
        yield Footer()

    def on_click(self) -> None:
        self.dismiss()

    def on_unmount(self) -> None:
        # textual-image keeps terminal-side resources per image: release them.
        for widget in self.query("#full-image"):
            widget.image = None  # type: ignore[attr-defined]
