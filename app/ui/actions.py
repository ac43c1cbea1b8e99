"""Every key of the app, declared once: id, default keys, what it does, where it belongs.

The BINDINGS of the app, the main screen and the widgets, the footer (``footer=``), the
help screen and the command palette (``palette=``) are all generated from ``ACTIONS``.
Adding a key is one line here plus the ``action_...`` method it calls. The help screen
lists them in this order, by group. The id is what
the config file's ``[keys]`` table remaps (``upscale = "U"``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from textual.app import App
from textual.binding import Binding, BindingType

# Which node's BINDINGS an action goes in (the node that has its action_ method).
Target = Literal["app", "main", "jobs", "prompt", "search"]
HelpRow = tuple[str, str, str]  # (group, keys, what it does)

GROUPS = ("Job list", "Images", "Prompt", "History", "Save and share", "App")


@dataclass(frozen=True)
class Action:
    id: str  # the binding id: stable, the config file's [keys] names it
    keys: str  # default keys, comma-separated, in Textual's key names
    action: str  # the Textual action string it runs on ``target``
    description: str  # for the help screen and the palette
    group: str  # the help screen's section
    target: Target = "main"
    label: str = ""  # a word or two for the footer ('' = the description)
    footer: int = 0  # its place in the footer, among its target's keys (0 = not shown)
    spare: int = 0  # left out of a footer too narrow for every key, the most spare first
    palette: str = ""  # a command palette entry with this title ('' = none)
    priority: bool = False
    key_action: str = ""  # what the key runs, where not ``action`` (the palette's)


_LIST, _IMAGES, _PROMPT, _HISTORY, _SHARE, _APP = GROUPS

ACTIONS: tuple[Action, ...] = (
    # -- the job list (JobList)
    Action("cursor_down", "down,j", "cursor_down", "move down", _LIST, "jobs"),
    Action("cursor_up", "up,k", "cursor_up", "move up", _LIST, "jobs"),
    Action("page_down", "pagedown", "page_down", "a page down", _LIST, "jobs"),
    Action("page_up", "pageup", "page_up", "a page up", _LIST, "jobs"),
    Action("first", "home", "first", "first job", _LIST, "jobs"),
    Action("last", "end", "last", "last job", _LIST, "jobs"),
    Action("parent", "p", "parent", "go to the parent job", _LIST, label="Parent", footer=6,
           spare=2, palette="Parent job"),
    Action("child", "c,right_square_bracket", "child", "go to the first child job", _LIST,
           label="Child", footer=7, palette="First child job"),
    Action("open_tile", "enter", "select_cursor", "open the selected tile full screen", _LIST,
           "jobs", palette="Open tile full screen"),
    # narrow terminals: the job shown instead of the list, nothing focused
    Action("open_job_tile", "enter", "open_tile", "open the selected tile full screen", _LIST),
    Action("back_to_list", "escape", "back_to_list",
           "back to the job list (narrow terminals)",
           _LIST, label="List", footer=1),
    # -- images and buttons
    Action("tile_1", "1", "tile(1)", "select a tile", _IMAGES),
    Action("tile_2", "2", "tile(2)", "select a tile", _IMAGES),
    Action("tile_3", "3", "tile(3)", "select a tile", _IMAGES),
    Action("tile_4", "4", "tile(4)", "select a tile", _IMAGES),
    Action("upscale", "u", "upscale", "upscale the selected tile (U1–U4)", _IMAGES,
           label="Upscale", footer=2, palette="Upscale selected tile"),
    Action("vary", "v", "vary", "variations of the selected tile (V1–V4)", _IMAGES,
           label="Vary", footer=3, palette="Variations of selected tile"),
    Action("reroll", "r", "reroll", "reroll the grid (🔄)", _IMAGES, label="Reroll", footer=4,
           spare=1, palette="Reroll"),
    Action("retry", "R", "retry", "retry a failed, stalled or uncertain job", _IMAGES,
           label="Retry", footer=5, spare=1, palette="Retry job"),
    Action("reload_images", "i", "reload_images", "reload images that failed to download",
           _IMAGES, palette="Reload images"),
    Action("remix", "m", "remix", "variations of the selected tile with a new prompt (remix)",
           _IMAGES, palette="Remix selected tile"),
    Action("describe", "d", "describe",
           "describe the selected tile; on a describe job, pick its prompt", _IMAGES,
           palette="Describe selected tile / pick a prompt"),
    Action("blend_mark", "b", "blend_mark", "mark / unmark the selected tile for a blend",
           _IMAGES, palette="Mark tile for blend"),
    Action("blend", "B", "blend", "blend the marked tiles (2 to 5)", _IMAGES,
           palette="Blend marked tiles"),
    Action("seed", "E", "seed", "show the job's seed", _IMAGES, palette="Show seed"),
    # -- the prompt (PromptInput)
    # priority (run as the key arrives, before the keys behind it are handed on): keys
    # typed right after / or Esc go where the focus has moved, not where it was
    Action("focus_prompt", "slash", "focus_prompt", "focus the prompt", _PROMPT,
           label="Prompt", footer=1, palette="Focus the prompt", priority=True),
    Action("submit", "enter", "submit", "submit the prompt", _PROMPT, "prompt"),
    Action("prompt_complete", "tab", "complete", "complete a parameter: --sty → --stylize",
           _PROMPT, "prompt"),
    Action("prompt_older", "up", "history(-1)", "earlier / later prompts", _PROMPT, "prompt"),
    Action("prompt_newer", "down", "history(1)", "earlier / later prompts", _PROMPT, "prompt"),
    Action("leave_prompt", "escape", "screen.leave_prompt", "back to the job list", _PROMPT,
           "prompt", label="Job list", footer=1, priority=True),
    # e and ctrl+f: priority too, as keys only (typed in a text box they are its own);
    # the palette runs the action whatever has the focus
    Action("edit_prompt", "e", "edit_prompt", "edit the selected job's prompt (Enter re-runs it)",
           _PROMPT, palette="Edit and re-run prompt", priority=True,
           key_action="key('edit_prompt')"),
    # -- history: filter, search (HistoryBar), favourites
    Action("filter", "F", "cycle_filter", "filter: all → running → done → failed → ★", _HISTORY,
           palette="Filter jobs by state"),
    Action("search", "ctrl+f", "search", "search prompts", _HISTORY, palette="Search prompts",
           priority=True, key_action="key('search')"),
    Action("show_all", "escape", "clear_view", "clear filter and search (list or search box)",
           _HISTORY, palette="Show all jobs"),
    Action("search_clear", "escape", "screen.clear_search",
           "clear filter and search (list or search box)", _HISTORY, "search",
           label="Show all", footer=1),
    Action("favourite", "f", "favourite", "mark / unmark as favourite ★", _HISTORY,
           palette="Toggle favourite"),
    # -- saving and sharing
    Action("save", "s", "save_tile", "save the selected tile (+ JSON sidecar)", _SHARE,
           palette="Save selected tile"),
    Action("save_all", "S", "save_job", "save all images of the job", _SHARE,
           palette="Save all images of job"),
    Action("open", "o", "open_external", "open the tile in the system viewer", _SHARE,
           palette="Open in image viewer"),
    Action("copy_url", "y", "copy_url", "copy the image link (OSC 52)", _SHARE,
           palette="Copy image link"),
    Action("copy_prompt", "Y", "copy_prompt", "copy the prompt (OSC 52)", _SHARE,
           palette="Copy prompt"),
    Action("export", "x", "export_tree", "export the job tree + index.html", _SHARE,
           palette="Export job tree"),
    # -- the app
    Action("command_palette", App.COMMAND_PALETTE_BINDING, "command_palette",
           "commands, past prompts, themes", _APP, "app", label="palette", priority=True),
    Action("help", "question_mark", "help", "this help", _APP, "app", label="Help", footer=2,
           palette="Keys"),
    Action("quit", "ctrl+q", "quit", "quit", _APP, "app", label="Quit", footer=1,
           priority=True),
)  # fmt: skip

BY_ID: dict[str, Action] = {a.id: a for a in ACTIONS}
assert len(BY_ID) == len(ACTIONS), "two actions share an id"
# The footer's keys by what they run (a footer entry knows its action string only).
FOOTER_ACTIONS: dict[str, Action] = {a.key_action or a.action: a for a in ACTIONS if a.footer}


def bindings(target: Target) -> list[BindingType]:
    """The BINDINGS of ``target``, generated from the registry."""
    mine = [a for a in ACTIONS if a.target == target]
    return [
        Binding(
            a.keys,
            a.key_action or a.action,
            a.label or a.description,
            show=bool(a.footer),
            priority=a.priority,
            id=a.id,
            key_display=App.COMMAND_PALETTE_DISPLAY if a.id == "command_palette" else None,
        )
        # the footer shows a node's keys in BINDINGS order
        for a in sorted(mine, key=lambda a: a.footer or len(mine) + 1)
    ]


def unknown_ids(keymap: Mapping[str, str]) -> list[str]:
    """Ids in the user's keymap that no action has (likely a typo in the config file)."""
    return sorted(k for k in keymap if k not in BY_ID)


def current_keys(app: App[Any], action: Action) -> list[str]:
    """The keys bound to ``action`` now, with the user's keymap applied, as displayed."""
    keys = app._keymap.get(action.id, action.keys)
    shown: list[str] = []
    for key in keys.split(","):
        key = key.strip()
        display = app.get_key_display(Binding(key, action.action))
        if key and display not in shown:
            shown.append(display)
    return shown


def tiles_key_display(app: App[Any]) -> str:
    """The keys of tiles 1-4 as one footer entry: "1–4", or the user's, e.g. "a/s/d/f"."""
    keys = [(current_keys(app, BY_ID[f"tile_{n}"]) or ["?"])[0] for n in range(1, 5)]
    return "1–4" if keys == ["1", "2", "3", "4"] else "/".join(keys)


def help_rows(app: App[Any], actions: Iterable[Action] = ACTIONS) -> list[HelpRow]:
    """(group, keys, description) per group and description, keys as bound now."""
    merged: dict[tuple[str, str], list[str]] = {}
    for action in actions:
        keys = merged.setdefault((action.group, action.description), [])
        keys.extend(k for k in current_keys(app, action) if k not in keys)
    return [
        (group, "  ".join(keys), what)
        for section in GROUPS
        for (group, what), keys in merged.items()
        if group == section and keys
    ]
