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

    def relabel(self, label: str) -> None:
        if label != self.job_label:
            self.job_label = label
            self.label = Text(button_text(label))
            # Button keeps the width it measured for its old label
            self.clear_cached_dimensions()
            self.refresh(layout=True)


class ButtonBar(Vertical):
    """The buttons in rows by group; a press posts :class:`ButtonBar.Pressed`.

    A row per group and its buttons are kept once made, and relabelled, shown or hidden
    for the next job: mounting and styling new widgets was most of a cursor move's work
    between jobs with different buttons (and all its garbage)."""

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
        self._labels: tuple[str, ...] | None = None  # None: nothing shown yet
        self._rows: dict[str, Horizontal] = {}  # made when a job first has the group
        self._empty = Label("", classes="buttons-empty")

    def compose(self) -> ComposeResult:
        self._empty.display = False
        yield self._empty

    @property
    def job_id(self) -> str | None:
        """The job the buttons act on."""
        return self._job_id

    @property
    def buttons(self) -> list[JobButton]:
        """The buttons shown, in order."""
        rows = (self._rows[name] for name in GROUP_ORDER if name in self._rows)
        return [b for row in rows if row.display for b in _shown(row)]

    def show(self, job_id: str | None, labels: tuple[str, ...], hint: str = "") -> None:
        """Show ``labels`` for ``job_id``: the same buttons are only retargeted."""
        self._job_id = job_id
        self._hint(hint if not labels else "")
        if labels == self._labels:
            return
        self._labels = labels
        groups = dict(group_buttons(labels))
        for name in GROUP_ORDER:
            members = groups.get(name, [])
            row = self._rows.get(name)
            if row is None:
                if members:
                    self._rows[name] = self._new_row(name, members)
                continue
            row.display = bool(members)
            held = list(row.query(JobButton))
            for button, label in zip(held, members, strict=False):
                button.relabel(label)
                button.display = True
            for button in held[len(members) :]:
                button.display = False
                button.job_label = ""  # names no button while hidden
            if len(members) > len(held):
                row.mount(*(JobButton(label) for label in members[len(held) :]))

    def _new_row(self, name: str, labels: list[str]) -> Horizontal:
        """The row of group ``name``, mounted in GROUP_ORDER."""
        buttons = (JobButton(label) for label in labels)
        row = Horizontal(Label(name, classes="group-name"), *buttons, classes="button-row")
        later = GROUP_ORDER[GROUP_ORDER.index(name) + 1 :]
        before = next((self._rows[n] for n in later if n in self._rows), self._empty)
        self.mount(row, before=before)
        return row

    def _hint(self, hint: str) -> None:
        if str(self._empty.content) != hint:
            self._empty.update(Text(hint))
        self._empty.display = bool(hint)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        button = event.button
        if isinstance(button, JobButton) and button.job_label and self._job_id is not None:
            self.post_message(self.Pressed(self._job_id, button.job_label))


def _shown(row: Horizontal) -> list[JobButton]:
    return [b for b in row.query(JobButton) if b.display]
