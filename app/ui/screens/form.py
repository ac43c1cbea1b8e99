"""The base of every dialog: a titled box of fields, an error line, OK and Cancel.

A dialog names its fields in :meth:`fields` and turns them into an answer in
:meth:`answer`, raising ``ValueError`` with a sentence for the user when they do not fit.
Enter in a field or the OK button submits; Esc or Cancel dismisses with None.
"""

from __future__ import annotations

from typing import ClassVar, Generic, TypeVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

T = TypeVar("T")


class FormScreen(ModalScreen[T | None], Generic[T]):
    DEFAULT_CSS = """
    FormScreen {
        align: center middle;
        & > .form-box {
            width: 72;
            height: auto;
            border: thick $primary;
            background: $surface;
            padding: 1 2;
        }
        & .form-title { text-style: bold; color: $accent; margin-bottom: 1; }
        & .form-error { color: $error; height: auto; }
        & .form-buttons { height: auto; margin-top: 1; }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    #: the id prefix of the box, title, error line and buttons (tests and CSS find them)
    NAME = "form"

    def __init__(self, title: str, ok: str) -> None:
        super().__init__()
        self._title = title
        self._ok = ok

    def fields(self) -> ComposeResult:
        """The labels and inputs between the title and the error line."""
        yield from ()

    def answer(self) -> T:
        """The dialog's answer from its fields; ValueError says what to fix."""
        raise NotImplementedError

    def compose(self) -> ComposeResult:
        name = self.NAME
        with Vertical(id=f"{name}-box", classes="form-box"):
            yield Label(Text(self._title), id=f"{name}-title", classes="form-title")
            yield from self.fields()
            yield Static("", id=f"{name}-error", classes="form-error")
            with Horizontal(id=f"{name}-buttons", classes="form-buttons"):
                yield Button(self._ok, variant="primary", id=f"{name}-ok")
                yield Button("Cancel", id=f"{name}-cancel")

    def value_of(self, field_id: str) -> str:
        return self.query_one(f"#{field_id}", Input).value

    def _submit(self) -> None:
        try:
            self.dismiss(self.answer())
        except ValueError as exc:
            self.query_one(".form-error", Static).update(Text(str(exc)))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == f"{self.NAME}-ok":
            self._submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
