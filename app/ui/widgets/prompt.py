"""The prompt pane: an Input with shell-like history, and an inline error line."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.widgets import Static

from app.jobs.model import MAX_PROMPT
from app.ui.actions import bindings
from app.ui.prompt_check import ParamInput


class PromptInput(ParamInput):
    """Up/down walk the prompt history; typing letters never triggers app keys; parameters
    are highlighted and Tab completes them."""

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
            max_length=MAX_PROMPT,
            select_on_focus=False,  # `e` and `/` continue a prompt; selected, a key replaced it
            **kwargs,  # type: ignore[arg-type]
        )
        self._told_full = False
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

    def replace(self, text: str, start: int, end: int) -> None:
        # Past the limit, keep what fits and say so once: a megabyte typed or pasted would
        # otherwise be refused whole, silently, or make every later key slower to draw.
        room = MAX_PROMPT - (len(self.value) - abs(end - start))
        if len(text) > room:
            text = text[: max(room, 0)]
            if not self._told_full:
                self._told_full = True
                self.notify(
                    f"A prompt holds at most {MAX_PROMPT:,} characters; the rest was not typed.",
                    severity="warning",
                    markup=False,
                )
        elif len(self.value) < MAX_PROMPT:
            self._told_full = False
        super().replace(text, start, end)

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

    @property
    def error_shown(self) -> bool:
        return self.query_one("#prompt-error", Static).display

    def show_error(self, text: str | Text) -> None:
        error = self.query_one("#prompt-error", Static)
        error.update(Text(text) if isinstance(text, str) else text)
        error.display = bool(text)
