"""The footer: Textual's, fitted to the terminal's width.

Textual's footer lists the focused widget's keys, then its ancestors', the app's last,
and cuts off what does not fit: at 80 columns Help and Quit were gone. Where not every
key fits, this one is compact (Textual's own style, a cell less per key), leaves out the
palette's key (Ctrl+P still opens it; Help lists it), then the keys ``ACTIONS`` marks
``spare``: a newcomer still sees the job's buttons, Child, Help and Quit.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey  # the footer's entries: not re-exported

from app.ui.actions import FOOTER_ACTIONS

PALETTE_CLASS = "-command-palette"


def key_width(key: FooterKey, *, compact: bool) -> int:
    """Cells ``key`` takes in the footer, as Textual's footer CSS lays it out: the key
    padded a cell either side, the description a cell on its right; compact, a cell
    between them and a cell's margin after. A key with no description is not padded."""
    if not key.description:
        return cell_len(key.key_display) + (1 if compact else 0)
    cells = cell_len(key.key_display) + cell_len(key.description)
    if key.has_class(PALETTE_CLASS):  # docked right, a bar on its left, padded right
        return cells + 5
    return cells + (2 if compact else 3)


def fitted(keys: list[FooterKey], width: int) -> tuple[list[FooterKey], bool]:
    """The keys to show in ``width`` cells, in their order, and whether compact."""
    if sum(key_width(k, compact=False) for k in keys) <= width:
        return keys, False
    kept = [k for k in keys if not k.has_class(PALETTE_CLASS)]
    for key in _spare_first(kept):
        if sum(key_width(k, compact=True) for k in kept) <= width:
            break
        kept.remove(key)
    return kept, True


def _spare_first(keys: list[FooterKey]) -> Iterable[FooterKey]:
    """The order keys are left out in: spare ones (most spare first), then from the
    right, the app's (Help, Quit) last."""

    def rank(index: int) -> tuple[int, bool, int]:
        action = FOOTER_ACTIONS.get(keys[index].action)
        spare = action.spare if action else 0
        app = action is not None and action.target == "app"
        return -spare, app, -index

    return [keys[i] for i in sorted(range(len(keys)), key=rank)]


class KeyFooter(Footer):
    _width = 0  # the width the keys were fitted to

    def compose(self) -> ComposeResult:
        made: list[Widget] = list(super().compose())
        keys = [w for w in made if isinstance(w, FooterKey)]
        if len(keys) != len(made):  # binding groups (none of ours): as Textual lays them
            yield from made
            return
        self._width = self.size.width or self.app.size.width
        shown, self.compact = fitted(keys, self._width)
        yield from shown

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._width:
            self.refresh(recompose=True)
