"""Make text from the user or the server safe to show on a terminal."""

from __future__ import annotations

import re

# CSI / OSC / other ESC sequences, then any remaining C0/C1 control character but
# newline and tab. Stripping the whole sequence keeps "ESC[31m" from leaving "[31m".
_ANSI = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?|[@-Z\\-_])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def button_text(label: str) -> str:
    """A button label as shown: cleaned, one line, without emoji variation selectors.

    "❤️" is U+2764 U+FE0F: two cells for Textual, one for tmux and many terminals, so a
    row holding it was drawn shifted. Without U+FE0F it is one cell everywhere. The label
    sent back to the service keeps it: only the shown text drops it.
    """
    return clean_text(label, single_line=True).replace("\ufe0f", "")


def clean_text(text: str, *, single_line: bool = False) -> str:
    """Strip escape sequences and control characters; optionally fold newlines."""
    text = _CONTROL.sub("", _ANSI.sub("", text))
    if single_line:
        text = " ".join(text.split())
    return text


def shorten(text: str, width: int) -> str:
    """One line of at most ``width`` characters, with an ellipsis when cut."""
    line = clean_text(text, single_line=True)
    return line if len(line) <= width else line[: max(width - 1, 0)] + "…"


def undecodable(text: str) -> bool:
    """True when ``text`` holds bytes that were not UTF-8 (argv keeps them as lone
    surrogates): they cannot be sent, stored or printed."""
    return any("\ud800" <= c <= "\udfff" for c in text)
