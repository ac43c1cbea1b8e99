"""The help screen: every key as bound now, in two columns of sections."""

from __future__ import annotations

from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from app.ui.actions import HelpRow

COLUMN_GAP = 4  # #help-keys' right margin
BOX_EDGES = 2 * 2 + 2 * 2  # thick border and padding, either side


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
    """Every key, from the action registry with the config file's remaps applied."""

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
        & > #help-box {
            width: auto;
            max-width: 100%;
            height: auto;
            max-height: 100%;
            border: thick $primary;
            background: $surface;
            padding: 1 2;
        }
        & #help-title { text-style: bold; color: $accent; margin-bottom: 1; }
        & #help-columns { width: auto; height: auto; }
        & #help-keys { width: auto; margin-right: 4; }
        & #help-keys-2 { width: auto; }
        & #help-foot { margin-top: 1; color: $text-muted; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("question_mark", "dismiss", "Close", show=False),
        Binding("q", "dismiss", "Close", show=False),
    ]

    def __init__(self, rows: list[HelpRow]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        # Two columns of sections, split between sections near the middle; one column
        # when two would not fit the terminal's width. The box scrolls when too tall.
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
        if _width(left) + COLUMN_GAP + _width(right) + BOX_EDGES > self.app.size.width:
            left, right = left + right, []
        with VerticalScroll(id="help-box"):
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


def _width(rows: list[HelpRow]) -> int:
    """Cells one column of ``rows`` needs."""
    keys = max((cell_len(k) for _, k, _ in rows), default=0) + 2
    return max((keys + cell_len(what) for _, _, what in rows), default=0)
