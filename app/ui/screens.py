"""Screens over the main one: help, a full-screen image, Custom Zoom, the save folder."""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

from PIL import Image as PILImage
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Footer, Input, Label, Static

from app.ui.graphics import make_image

HelpRow = tuple[str, str, str]  # (section, keys, what it does)


def _keys_text(rows: list[HelpRow]) -> Text:
    """Sections of 'keys  what' lines, as literal text (keys may come from a config file)."""
    width = max((len(keys) for _, keys, _ in rows), default=0) + 2
    text = Text()
    section = None
    for where, keys, what in rows:
        if where != section:
            if section is not None:
                text.append("\n")
            text.append(where, style="bold underline")
            text.append("\n")
            section = where
        text.append(keys.ljust(width), style="bold cyan")
        text.append(what)
        text.append("\n")
    text.rstrip()
    return text


class HelpScreen(ModalScreen[None]):
    """Every key, read from the live bindings (so remaps from the config file show)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("question_mark", "dismiss", "Close", show=False),
        Binding("q", "dismiss", "Close", show=False),
    ]

    def __init__(self, rows: list[HelpRow]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        # Two columns of sections, split between sections near the middle.
        sections: list[list[HelpRow]] = []
        for row in self.rows:
            if not sections or sections[-1][0][0] != row[0]:
                sections.append([])
            sections[-1].append(row)
        left: list[HelpRow] = []
        right: list[HelpRow] = []
        half = (len(self.rows) + len(sections)) / 2
        for section in sections:
            (left if len(left) + len(section) <= half or not left else right).extend(section)
        with Vertical(id="help-box"):
            yield Label("Keys", id="help-title")
            with Horizontal(id="help-columns"):
                yield Static(_keys_text(left), id="help-keys")
                if right:
                    yield Static(_keys_text(right), id="help-keys-2")
            yield Label(
                Text(
                    "Esc closes · remap keys in the config file's [keys] table "
                    "(binding id = key) · ctrl+p finds every command and past prompts"
                ),
                id="help-foot",
            )


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


class SaveScreen(ModalScreen[Path | None]):
    """Asks for a folder (prefilled, editable); answers the folder or None."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, folder: Path, what: str = "Save") -> None:
        super().__init__()
        self._title = title
        self._folder = folder
        self._what = what

    def compose(self) -> ComposeResult:
        with Vertical(id="save-box"):
            yield Label(Text(self._title), id="save-title")
            yield Label("Folder (created if missing):")
            yield Input(value=str(self._folder), id="save-folder")
            yield Static("", id="save-error")
            with Horizontal(id="save-buttons"):
                yield Button(self._what, variant="primary", id="save-ok")
                yield Button("Cancel", id="save-cancel")

    def on_mount(self) -> None:
        folder = self.query_one("#save-folder", Input)
        folder.focus()
        folder.cursor_position = len(folder.value)

    def _submit(self) -> None:
        raw = self.query_one("#save-folder", Input).value.strip()
        error = self.query_one("#save-error", Static)
        if not raw:
            error.update(Text("Type a folder."))
            return
        folder = Path(os.path.expanduser(raw))
        if folder.exists() and not folder.is_dir():
            error.update(Text("That is a file, not a folder."))
            return
        self.dismiss(folder)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "save-ok":
            self._submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
