"""Keys as they are *now*: the live bindings with the user's keymap applied.

The help screen and the command palette read them from here, so a key remapped in the
config file's ``[keys]`` table shows up as remapped everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from textual.binding import Binding, BindingsMap
from textual.dom import DOMNode

if TYPE_CHECKING:
    from app.ui.app import ImagineApp

HelpRow = tuple[str, str, str]  # (section, keys, what it does)

# What each action does, in a few words, and the section it belongs to. The keys are
# never listed here: they come from the bindings.
ACTIONS: dict[str, tuple[str, str]] = {
    "cursor_down": ("Job list", "move down"),
    "cursor_up": ("Job list", "move up"),
    "page_down": ("Job list", "a page down"),
    "page_up": ("Job list", "a page up"),
    "first": ("Job list", "first job"),
    "last": ("Job list", "last job"),
    "parent": ("Job list", "go to the parent job"),
    "child": ("Job list", "go to the first child job"),
    "select_cursor": ("Job list", "open the selected tile full screen"),
    "tile": ("Images", "select a tile"),
    "upscale": ("Images", "upscale the selected tile (U1–U4)"),
    "vary": ("Images", "variations of the selected tile (V1–V4)"),
    "reroll": ("Images", "reroll the grid (🔄)"),
    "retry": ("Images", "retry a failed, stalled or uncertain job"),
    "reload_images": ("Images", "reload images that failed to download"),
    "focus_prompt": ("Prompt", "focus the prompt"),
    "submit": ("Prompt", "submit the prompt"),
    "history": ("Prompt", "earlier / later prompts"),
    "app.leave_prompt": ("Prompt", "back to the job list"),
    "edit_prompt": ("Prompt", "edit the selected job's prompt (Enter re-runs it)"),
    "cycle_filter": ("History", "filter: all → running → done → failed → ★"),
    "search": ("History", "search prompts"),
    "clear_view": ("History", "clear filter and search (list or search box)"),
    "favourite": ("History", "mark / unmark as favourite ★"),
    "save_tile": ("Save and share", "save the selected tile (+ JSON sidecar)"),
    "save_job": ("Save and share", "save all images of the job"),
    "open_external": ("Save and share", "open the tile in the system viewer"),
    "copy_url": ("Save and share", "copy the image link (OSC 52)"),
    "copy_prompt": ("Save and share", "copy the prompt (OSC 52)"),
    "export_tree": ("Save and share", "export the job tree + index.html"),
    "command_palette": ("App", "commands, past prompts, themes"),
    "help": ("App", "this help"),
    "quit": ("App", "quit"),
}
SECTIONS = ("Job list", "Images", "Prompt", "History", "Save and share", "App")


def _base(action: str) -> str:
    return action.split("(", 1)[0]


def _namespaces(app: ImagineApp) -> list[DOMNode]:
    from app.ui.joblist import JobList
    from app.ui.prompt import PromptInput, SearchInput

    nodes: list[DOMNode] = [app]
    for cls in (JobList, PromptInput, SearchInput):
        found = app.query(cls)
        if found:
            nodes.append(found.first())
    return nodes


def live_bindings(node: DOMNode, keymap: dict[str, str]) -> BindingsMap:
    """``node``'s bindings with ``keymap`` applied, as Textual applies it on key presses."""
    bindings = node._bindings.copy()
    if keymap:
        bindings.apply_keymap(keymap)
    return bindings


def _keymap(app: ImagineApp) -> dict[str, str]:
    return dict(app._keymap)


def _all_bindings(app: ImagineApp) -> Iterable[Binding]:
    keymap = _keymap(app)
    for node in _namespaces(app):
        for _key, binding in live_bindings(node, keymap):
            yield binding


def help_rows(app: ImagineApp) -> list[HelpRow]:
    """(section, keys, description) for every documented action, keys as bound now."""
    keys: dict[str, list[str]] = {}
    for binding in _all_bindings(app):
        action = _base(binding.action)
        if action not in ACTIONS:
            continue
        shown = app.get_key_display(binding)
        if shown not in keys.setdefault(action, []):
            keys[action].append(shown)
    rows: list[HelpRow] = []
    for section in SECTIONS:
        for action, (where, what) in ACTIONS.items():
            if where == section and keys.get(action):
                rows.append((section, "  ".join(keys[action]), what))
    return rows


def key_for(app: ImagineApp, action: str) -> str:
    """The key(s) bound to ``action`` right now ('' if none), for help texts."""
    found: list[str] = []
    for binding in _all_bindings(app):
        if binding.action == action:
            shown = app.get_key_display(binding)
            if shown not in found:
                found.append(shown)
    return " ".join(found)


def binding_ids(app: ImagineApp) -> set[str]:
    ids: set[str] = set()
    for node in _namespaces(app):
        for _key, binding in node._bindings:
            if binding.id:
                ids.add(binding.id)
    return ids


def unknown_keymap_ids(app: ImagineApp) -> list[str]:
    """Ids in the user's keymap that no binding has (likely a typo in the config file)."""
    known = binding_ids(app)
    return sorted(k for k in app.settings.keymap if k not in known)
