"""The prompt box's parameter help: highlighting, Tab completion, the inline sentence.

All the knowledge is in :mod:`app.params`; this module only turns it into what an
``Input`` takes (a Rich highlighter, a Textual suggester) and what the line under the
prompt shows. ``enabled`` is asked each time, so a backend that takes plain prompts can
switch all of it off without rebuilding the widget.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rich.highlighter import Highlighter
from rich.style import Style
from rich.text import Text
from textual.suggester import Suggester

from app.ui.widgets.in_order import InOrderInput

# app.params (its tables: ~5 ms) loads with the first key typed, not before the first frame.
if TYPE_CHECKING:
    from app import params

Enabled = Callable[[], bool]

# Readable on dark and light themes alike: weight and underline carry the meaning,
# colour only helps.
STYLES: dict[params.Role, Style] = {
    "name": Style(bold=True, color="cyan"),
    "value": Style(color="green"),
    "bad": Style(bold=True, color="red", underline=True),
}


def _always() -> bool:
    return True


class ParamHighlighter(Highlighter):
    """Colours parameter names and values as they are typed; marks what the service
    would refuse."""

    def __init__(
        self, enabled: Enabled = _always, styles: dict[params.Role, Style] | None = None
    ) -> None:
        self.enabled = enabled
        self.styles = styles or STYLES

    def highlight(self, text: Text) -> None:
        if not text.plain or not self.enabled():
            return
        from app import params

        for span in params.parse(text.plain).spans:
            text.stylize(self.styles[span.role], span.start, span.end)


class ParamSuggester(Suggester):
    """Offers the rest of the parameter name or value being typed (Tab or → takes it)."""

    def __init__(self, enabled: Enabled = _always) -> None:
        # Case-sensitive: a taken suggestion replaces the whole value, so it must keep
        # the prompt exactly as typed. No cache: ``enabled`` may change.
        super().__init__(use_cache=False, case_sensitive=True)
        self.enabled = enabled

    async def get_suggestion(self, value: str) -> str | None:
        return completion(value) if self.enabled() else None


def completion(value: str) -> str | None:
    """The whole new value Tab would give, or None when nothing is being completed."""
    from app import params

    options = params.completions(value)
    return options[0] if options else None


def problem_line(message: str) -> Text:
    """The sentence under the prompt when a parameter would be refused."""
    line = Text("⚠ ", style="bold red")
    line.append(message)  # plain text: the message quotes what the user typed
    line.append("  (fix it, then Enter)", style="dim")
    return line


class ParamInput(InOrderInput):
    """An Input that highlights parameters and offers completions.

    Bind a key (Tab in the app) to ``complete``: it takes the suggestion shown after the
    cursor; with none, focus moves on as Tab does everywhere else. ``check_params`` may be
    replaced at any time (the backend decides whether prompts carry parameters).
    """

    def __init__(self, *, check: Enabled = _always, **kwargs: Any) -> None:
        super().__init__(
            highlighter=ParamHighlighter(self._checking),
            suggester=ParamSuggester(self._checking),
            **kwargs,
        )
        self.check_params = check

    def _checking(self) -> bool:
        return self.check_params()

    def problem(self) -> str | None:
        """The sentence for the first bad parameter of the value, as it would be sent."""
        from app import params

        return params.prepare(self.value, enabled=self._checking())[1]

    def action_complete(self) -> None:
        new = completion(self.value) if self.cursor_at_end and self._checking() else None
        if new is None:
            self.screen.focus_next()
            return
        self.value = new
        self.cursor_position = len(new)
