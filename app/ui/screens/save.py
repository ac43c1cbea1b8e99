"""The save / export dialog: which folder (prefilled, editable)."""

from __future__ import annotations

import os
from pathlib import Path

from textual.app import ComposeResult
from textual.widgets import Input, Label

from app.ui.screens.form import FormScreen
from app.ui.widgets.in_order import InOrderInput


class SaveScreen(FormScreen[Path]):
    """Asks for a folder; answers the folder (created later if missing) or None."""

    NAME = "save"

    def __init__(self, title: str, folder: Path, what: str = "Save") -> None:
        super().__init__(title, what)
        self._folder = folder

    def fields(self) -> ComposeResult:
        yield Label("Folder (created if missing):")
        yield InOrderInput(value=str(self._folder), id="save-folder")

    def on_mount(self) -> None:
        folder = self.query_one("#save-folder", Input)
        folder.focus()
        folder.cursor_position = len(folder.value)

    def answer(self) -> Path:
        raw = self.value_of("save-folder").strip()
        if not raw:
            raise ValueError("Type a folder.")
        folder = Path(os.path.expanduser(raw))
        if folder.exists() and not folder.is_dir():
            raise ValueError("That is a file, not a folder.")
        return folder
