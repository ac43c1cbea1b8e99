"""The selected job's buttons, grouped, exactly as the service sent them."""

from __future__ import annotations

import re

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Label

from app.jobs.model import REROLL_LABEL, UPSCALE_LABELS, VARIATION_LABELS
from app.text import button_text

_GROUPS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("upscale", re.compile(r"^U[1-4]$")),
    ("vary", re.compile(r"^V[1-4]$|^🔄$|Vary|Variations")),
    ("zoom", re.compile(r"Zoom|Make Square")),
    ("pan", re.compile(r"^[⬅➡⬆⬇]")),
    ("upscale", re.compile(r"Upscale")),
)
GROUP_ORDER = ("upscale", "vary", "zoom", "pan", "other")
CUSTOM_ZOOM = "Custom Zoom"


def group_of(label: str) -> str:
    for name, pattern in _GROUPS:
        if pattern.search(label):
            return name
    return "other"


def group_buttons(labels: tuple[str, ...]) -> list[tuple[str, list[str]]]:
    """(group, labels) in a stable order; U/V/🔄 keep the service's numbering order."""
    known = {label: i for i, label in enumerate((*UPSCALE_LABELS, *VARIATION_LABELS, REROLL_LABEL))}
    groups: dict[str, list[str]] = {}
    for label in labels:
        groups.setdefault(group_of(label), []).append(label)
    for members in groups.values():
        members.sort(key=lambda lab: known.get(lab, len(known)))
    return [(name, groups[name]) for name in GROUP_ORDER if name in groups]


class JobButton(Button):
    """A button whose label is the server's text, rendered literally (no markup)."""

    def __init__(self, label: str) -> None:
        super().__init__(Text(button_text(label)), compact=True, classes="job-button")
        self.job_label = label


class ButtonBar(Vertical):
    """The buttons in rows by group; a press posts :class:`ButtonBar.Pressed`."""

    DEFAULT_CSS = """
    ButtonBar {
        height: auto;
        max-height: 8;
        padding: 0 1;
        & .button-row { height: 1; margin: 0 0; }
        & .group-name { width: 9; color: $text-muted; }
        & .job-button { margin-right: 1; min-width: 4; }
        & .buttons-empty { color: $text-muted; }
    }
    """

    class Pressed(Message):
        def __init__(self, job_id: str, label: str) -> None:
            super().__init__()
            self.job_id = job_id
            self.label = label

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self._job_id: str | None = None
        self._labels: tuple[str, ...] = ()

    def compose(self) -> ComposeResult:
        yield Label("", classes="buttons-empty")

    @property
    def job_id(self) -> str | None:
        """The job the buttons act on."""
        return self._job_id

    def show(self, job_id: str | None, labels: tuple[str, ...], hint: str = "") -> None:
        """Rebuild only when the buttons changed: moving between two done jobs with the
        same buttons (or two running ones) only retargets them, and mounting widgets is
        the costly part of a cursor move."""
        if labels == self._labels and self.children:
            self._job_id = job_id
            self._hint(hint if not labels else "")
            return
        self._job_id, self._labels = job_id, labels
        self.remove_children()
        rows: list[Horizontal] = []
        for name, members in group_buttons(labels):
            buttons = [JobButton(label) for label in members]
            rows.append(
                Horizontal(Label(name, classes="group-name"), *buttons, classes="button-row")
            )
        empty = Label(Text(hint), classes="buttons-empty")
        self.mount(*rows, empty)
        empty.display = not labels and bool(hint)  # as _hint has it

    def _hint(self, hint: str) -> None:
        found = self.query(".buttons-empty")
        if found:
            label = found.first(Label)
            if str(label.content) != hint:
                label.update(Text(hint))
            label.display = bool(hint)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if isinstance(event.button, JobButton) and self._job_id is not None:
            self.post_message(self.Pressed(self._job_id, event.button.job_label))
