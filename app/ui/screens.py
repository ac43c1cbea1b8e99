"""Screens over the main one: help, a full-screen image, the Custom Zoom question."""

from __future__ import annotations

from typing import ClassVar

from PIL import Image as PILImage
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Footer, Input, Label, Static

from app.ui.graphics import make_image

KEYS: tuple[tuple[str, str], ...] = (
    ("/", "focus the prompt"),
    ("Enter (in the prompt)", "submit the prompt"),
    ("↑ ↓ (in the prompt)", "earlier / later prompts"),
    ("Esc (in the prompt)", "back to the job list"),
    ("↑ ↓  j k", "move in the job list"),
    ("p", "go to the parent job"),
    ("c  ]", "go to the first child job"),
    ("1 2 3 4", "select a tile"),
    ("Enter / click", "open the selected tile full screen"),
    ("u", "upscale the selected tile (U1–U4)"),
    ("v", "variations of the selected tile (V1–V4)"),
    ("r", "reroll the grid (🔄)"),
    ("R", "retry a failed, stalled or uncertain job"),
    ("i", "reload images that failed to download"),
    ("f", "mark / unmark as favourite"),
    ("ctrl+p", "command palette (themes, all commands)"),
    ("?", "this help"),
    ("ctrl+q", "quit"),
)


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("question_mark", "dismiss", "Close", show=False),
        Binding("q", "dismiss", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 3))
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for key, what in KEYS:
            table.add_row(Text(key), Text(what))
        with Vertical(id="help-box"):
            yield Label("Keys", id="help-title")
            yield Static(table, id="help-keys")
            yield Label(Text("Esc closes · every key also works from the footer and ctrl+p"))


class ImageScreen(Screen[None]):
    """One image as large as the terminal allows."""

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


def parse_zoom(zoom: str, ar: str) -> tuple[float, str | None]:
    """Custom Zoom's two answers, checked: zoom 1..2, aspect ratio like 16:9 or empty."""
    try:
        value = float(zoom.strip() or "2")
    except ValueError:
        raise ValueError("Zoom must be a number between 1 and 2.") from None
    if not 1.0 <= value <= 2.0:
        raise ValueError("Zoom must be between 1 and 2.")
    ratio = ar.strip()
    if ratio:
        parts = ratio.split(":")
        if len(parts) != 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
            raise ValueError("Aspect ratio looks like 16:9 (or leave it empty).")
    return value, ratio or None


class CustomZoomScreen(ModalScreen[tuple[float, str | None] | None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(id="zoom-box"):
            yield Label("Custom Zoom", id="zoom-title")
            yield Label("Zoom out by (1–2):")
            yield Input(value="2", id="zoom-value")
            yield Label("Aspect ratio (e.g. 16:9, empty keeps it):")
            yield Input(value="", id="zoom-ar")
            yield Static("", id="zoom-error")
            with Horizontal(id="zoom-buttons"):
                yield Button("Zoom", variant="primary", id="zoom-ok")
                yield Button("Cancel", id="zoom-cancel")

    def _submit(self) -> None:
        zoom = self.query_one("#zoom-value", Input).value
        ar = self.query_one("#zoom-ar", Input).value
        try:
            self.dismiss(parse_zoom(zoom, ar))
        except ValueError as exc:
            self.query_one("#zoom-error", Static).update(Text(str(exc)))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "zoom-ok":
            self._submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
