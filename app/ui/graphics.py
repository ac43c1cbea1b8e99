"""Pick the textual-image widget class for the configured graphics protocol.

textual-image probes the terminal when it is imported (sixel and kitty support by escape
sequence queries, the cell size in pixels by ioctl or query), and that probe must run
before Textual takes over stdin, so this module probes at import time. Probing can fail:
textual-image 0.12 divides by the column count (a pty reporting 0 columns raises
ZeroDivisionError), and its queries raise when stdin is not a terminal. Each failure is
contained: the cell size falls back to 10x20 px, the protocol to colour half-blocks, and
:data:`DETECTED` records what happened and why (``imagine-tui graphics`` prints it).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from dataclasses import dataclass, field
from typing import Any

from textual.widget import Widget

log = logging.getLogger(__name__)

DEFAULT_CELL = (10, 20)  # VT340's, textual-image's own default

RENDERER_NAMES = {
    "kitty": "kitty graphics protocol (full resolution)",
    "sixel": "sixel (full resolution)",
    "halfcell": "colour half-blocks",
    "unicode": "grey-scale unicode blocks",
    "none": "none (images are not drawn)",
}


@dataclass
class Detected:
    renderer: str = "none"  # what "auto" draws with: kitty | sixel | halfcell | unicode | none
    cell_size: tuple[int, int] = DEFAULT_CELL
    cell_source: str = "assumed"
    notes: list[str] = field(default_factory=list)


DETECTED = Detected()
_WIDGETS: dict[str, type[Widget]] = {}
_RENDERABLES: dict[str, Any] = {}


def _why(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _probe_cell_size() -> None:
    from textual_image import _terminal

    try:
        size = _terminal.get_cell_size()
    except Exception as exc:  # 0 rows/columns: ZeroDivisionError inside textual-image
        DETECTED.notes.append(f"cell size query failed ({_why(exc)}); assuming 10x20 px")
        DETECTED.cell_source = "assumed: the terminal reported no usable size"
        # Later size queries would probe again and fail the same way: cache the default.
        setattr(_terminal.get_cell_size, "_result", _terminal.CellSize(*DEFAULT_CELL))  # noqa: B010
        return
    DETECTED.cell_size = (size.width, size.height)
    tty = sys.__stdout__ is not None and sys.__stdout__.isatty()
    explicit = os.environ.get("TEXTUAL_CELL_WIDTH") and os.environ.get("TEXTUAL_CELL_HEIGHT")
    if DETECTED.cell_size == DEFAULT_CELL and not explicit:
        DETECTED.cell_source = "assumed: the terminal did not say" if tty else "assumed: no tty"
    else:
        DETECTED.cell_source = "the terminal"


def _disable_queries() -> None:
    """Make textual-image's capability queries answer "no" (after they raised)."""
    for name in ("textual_image.renderable.sixel", "textual_image.renderable.tgp"):
        module = sys.modules.get(name)
        if module is None:
            module = __import__(name, fromlist=["query_terminal_support"])
        setattr(module, "query_terminal_support", lambda: False)  # noqa: B010


def _import_widgets() -> Any:
    try:
        from textual_image import widget
    except Exception as exc:
        DETECTED.notes.append(f"terminal capability query failed ({_why(exc)})")
        log.warning("textual-image could not probe the terminal", exc_info=True)
        with contextlib.suppress(Exception):
            _disable_queries()
        from textual_image import widget  # the queries now say "no": half-blocks
    return widget


def _renderer_of(cls: type[Any]) -> str:
    from textual_image.renderable import halfcell, sixel, tgp, unicode

    renderable: Any = getattr(cls, "_Renderable", None)
    names: dict[Any, str] = {
        tgp.Image: "kitty",
        sixel.Image: "sixel",
        halfcell.Image: "halfcell",
        unicode.Image: "unicode",
    }
    return names.get(renderable, "halfcell")


def _probe() -> None:
    global _WIDGETS, _RENDERABLES
    try:
        _probe_cell_size()
        tiw = _import_widgets()
        from textual_image import renderable as tir

        _WIDGETS = {
            "auto": tiw.Image,
            "kitty": tiw.TGPImage,
            "sixel": tiw.SixelImage,
            "halfcell": tiw.HalfcellImage,
            "unicode": tiw.UnicodeImage,
        }
        _RENDERABLES = {
            "auto": tir.Image,
            "kitty": tir.TGPImage,
            "sixel": tir.SixelImage,
            "halfcell": tir.HalfcellImage,
            "unicode": tir.UnicodeImage,
        }
        DETECTED.renderer = _renderer_of(tiw.Image)
        if DETECTED.notes and DETECTED.renderer not in ("halfcell", "unicode"):
            DETECTED.renderer = "halfcell"
            _WIDGETS["auto"] = tiw.HalfcellImage
            _RENDERABLES["auto"] = tir.HalfcellImage
    except Exception as exc:
        DETECTED.notes.append(f"textual-image is unusable ({_why(exc)}); images are not drawn")
        log.warning("textual-image is unusable; images are not drawn", exc_info=True)
        _WIDGETS, _RENDERABLES = {}, {}
        DETECTED.renderer = "none"
    if DETECTED.notes:
        DETECTED.notes.append("falling back to colour half-blocks")


_probe()


def image_widget_class(graphics: str) -> type[Widget] | None:
    """The widget class for ``graphics`` ("auto", "kitty", ...), or None if none works."""
    return _WIDGETS.get(graphics) or _WIDGETS.get("auto")


def make_image(graphics: str, **kwargs: Any) -> Widget | None:
    cls = image_widget_class(graphics)
    return cls(**kwargs) if cls is not None else None


def renderer_for(graphics: str) -> str:
    """What ``graphics`` ("auto", "kitty", ...) actually draws with here."""
    if not _WIDGETS:
        return "none"
    if graphics == "auto" or graphics not in _WIDGETS:
        return DETECTED.renderer
    return graphics


# -- `imagine-tui graphics` --------------------------------------------------------------


def _terminal_description() -> str:
    env = os.environ
    parts = [f"TERM={env.get('TERM', '(unset)')}"]
    for var in ("TERM_PROGRAM", "COLORTERM"):
        if env.get(var):
            parts.append(f"{var}={env[var]}")
    if env.get("TMUX"):
        parts.append("inside tmux")
    if env.get("STY"):
        parts.append("inside screen")
    return ", ".join(parts)


def graphics_report(graphics: str = "auto") -> str:
    """What was detected and why, as a few lines of plain text."""
    out = sys.__stdout__
    tty = out is not None and out.isatty()
    chosen = renderer_for(graphics)
    lines = [
        f"terminal:   {_terminal_description()}",
        f"stdout:     {'a terminal' if tty else 'not a terminal (pipe or file)'}",
        f"detected:   {RENDERER_NAMES.get(DETECTED.renderer, DETECTED.renderer)}",
        f"renderer:   {RENDERER_NAMES.get(chosen, chosen)}"
        + (f"  (--graphics {graphics})" if graphics != "auto" else "  (--graphics auto)"),
        f"cell size:  {DETECTED.cell_size[0]}x{DETECTED.cell_size[1]} px ({DETECTED.cell_source})",
    ]
    why = list(DETECTED.notes)
    if not why:
        if DETECTED.renderer == "halfcell":
            why.append(
                "the terminal answered neither the sixel nor the kitty graphics query"
                + (" (in tmux: see the README for passthrough)" if os.environ.get("TMUX") else "")
            )
        elif DETECTED.renderer == "unicode":
            why.append("stdout is not a terminal")
        else:
            why.append("the terminal said it supports it")
    lines.append("why:        " + "; ".join(why))
    return "\n".join(lines)


def sample_image(width: int = 192, height: int = 96) -> Any:
    """A small RGB gradient with four coloured squares (red, green, blue, white)."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (width, height))
    px = img.load()
    assert px is not None
    for x in range(width):
        for y in range(height):
            px[x, y] = (x * 255 // max(1, width - 1), y * 255 // max(1, height - 1), 128)
    draw = ImageDraw.Draw(img)
    side = height // 3
    for i, colour in enumerate(((230, 30, 30), (30, 200, 60), (40, 80, 240), (255, 255, 255))):
        left = (i + 1) * width // 5 - side // 2
        draw.rectangle((left, side, left + side, 2 * side), fill=colour)
    return img


def show_test_image(console: Any = None, graphics: str = "auto", width: int = 40) -> bool:
    """Print the test image with the renderer ``graphics`` picks; False if none works."""
    from rich.console import Console

    console = console if console is not None else Console()
    renderable = _RENDERABLES.get(graphics) or _RENDERABLES.get("auto")
    if renderable is None:
        console.print("This terminal cannot draw images.", markup=False, highlight=False)
        return False
    console.print(renderable(sample_image(), width=min(width, max(8, console.width - 2))))
    return True


def run_graphics_command(graphics: str = "auto") -> int:
    """``imagine-tui graphics``: print what was detected, then a test image. Exit code 0."""
    from rich.console import Console

    console = Console()
    console.print(graphics_report(graphics), markup=False, highlight=False)
    console.print()
    console.print(
        "A gradient with red, green, blue and white squares should appear below:",
        markup=False,
        highlight=False,
    )
    show_test_image(console, graphics)
    return 0
