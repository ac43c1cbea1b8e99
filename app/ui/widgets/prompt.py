"""The prompt pane: an Input with shell-like history, and an inline error line."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.widgets import Input, Static

from app.ui.actions import bindings


class PromptInput(Input):
    """Up/down walk the prompt history; typing letters never triggers app keys."""

    DEFAULT_CSS = """
    PromptInput {
        border: tall $accent;
        &:focus { border: tall $primary; }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = bindings("prompt")

    def __init__(self, **kwargs: object) -> None:
        super().__init__(
            placeholder="Describe an image and press Enter…  (/ to focus, Esc to leave)",
            id="prompt",
            **kwargs,  # type: ignore[arg-type]
        )
        self.history: list[str] = []  # oldest first
        self._pos: int | None = None  # index into history while browsing
        self._draft = ""

    async def _on_key(self, event: events.Key) -> None:
        # "/" is the key that focuses the prompt; pressed again on an empty prompt it
        # means the same thing, not a leading slash.
        if event.character == "/" and not self.value:
            event.prevent_default()
            event.stop()
            return
        await super()._on_key(event)

    def set_history(self, prompts: list[str]) -> None:
        self.history = prompts
        self._pos = None

    def remember(self, prompt: str) -> None:
        if prompt in self.history:
            self.history.remove(prompt)
        self.history.append(prompt)
        self._pos = None

    def action_history(self, step: int) -> None:
        if not self.history:
            return
        if self._pos is None:
            if step > 0:
                return
            self._draft = self.value
            pos = len(self.history) - 1
        else:
            pos = self._pos + step
        if pos >= len(self.history):
            self._pos = None
            self.value = self._draft
        else:
            self._pos = max(0, pos)
            self.value = self.history[self._pos]
        self.cursor_position = len(self.value)


class PromptPane(Vertical):
    """The prompt and, under it, why the last one was not sent."""

    DEFAULT_CSS = """
    PromptPane {
        height: auto;
        padding: 0 1;
        & > #prompt-error { color: $error; padding: 0 1; height: auto; }
    }
    """

    def compose(self) -> ComposeResult:
        yield PromptInput()
        yield Static("", id="prompt-error")

    def show_error(self, text: str) -> None:
        error = self.query_one("#prompt-error", Static)
        error.update(Text(text))
        error.display = bool(text)
