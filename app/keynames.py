"""Key names as Textual spells them, checked without importing Textual (core stays UI-free).

A keymap entry that names no real key binds nothing, silently; this lets the config file say so.
"""

from __future__ import annotations

import unicodedata

MODIFIERS = frozenset({"ctrl", "shift", "alt", "meta", "super", "hyper"})
NAMED = frozenset(
    {
        *("escape", "enter", "return", "tab", "space", "backspace", "insert", "delete"),
        *("up", "down", "left", "right", "home", "end", "pageup", "pagedown"),
        *(f"f{n}" for n in range(1, 25)),
        # Textual's short names for some punctuation (its KEY_NAME_REPLACEMENTS)
        *("slash", "backslash", "at", "minus", "plus", "underscore"),
    }
)
_SHORT = {
    "solidus": "slash",
    "reverse_solidus": "backslash",
    "commercial_at": "at",
    "hyphen_minus": "minus",
    "plus_sign": "plus",
    "low_line": "underscore",
}


def _char_name(char: str) -> str | None:
    """Textual's name for a typed character: itself if alphanumeric, else its Unicode name."""
    if char.isalnum():
        return char
    try:
        name = unicodedata.name(char).lower().replace("-", "_").replace(" ", "_")
    except ValueError:  # a control character: no key types it
        return None
    return _SHORT.get(name, name)


def _base_name(base: str) -> str | None:
    if len(base) == 1:
        return _char_name(base)
    if base in NAMED:
        return base
    try:
        char = unicodedata.lookup(base.replace("_", " ").upper())
    except KeyError:
        return None
    return base if not char.isalnum() else None  # "latin_small_letter_a" is typed as "a"


def normalize_key(key: str) -> str | None:
    """``key`` as Textual matches it ("/" -> "slash", "ctrl+/" -> "ctrl+slash"), or None."""
    key = key.strip()
    if key == "+" or key.endswith("++"):  # the plus key, maybe with modifiers ("ctrl++")
        mods, base = key[:-2], "+"
    else:
        mods, _, base = key.rpartition("+")
    if mods and any(m not in MODIFIERS for m in mods.split("+")):
        return None
    name = _base_name(base)
    if name is None:
        return None
    return f"{mods}+{name}" if mods else name


def normalize_keys(keys: str) -> tuple[str, list[str]]:
    """A comma-separated key list as Textual wants it, and the parts that name no key."""
    good: list[str] = []
    bad: list[str] = []
    for part in keys.split(","):
        name = normalize_key(part)
        if name is None:
            bad.append(part.strip())
        else:
            good.append(name)
    return ",".join(good), bad
