"""Pick how images are drawn, from what the terminal says it is and can do.

The probe (:mod:`app.ui.render.detect`) runs at import, before Textual owns stdin: one
round of XTVERSION, kitty-graphics, cell-size and DA1 queries. textual-image would send
its own queries when imported (a sixel one, then a kitty one, each with its own timeout,
and the kitty one also inside tmux); those are switched off here, and its cell-size cache
is filled with what the probe found. Nothing in the probe can stop the app: an odd
terminal gets character cells, and :data:`DETECTED` says what happened and why
(``imagine-tui graphics`` prints it).

Choice for ``--graphics auto``:

- kitty graphics with textual-image's Unicode placeholders only where they work: kitty
  >= 0.28 and Ghostty. WezTerm and Konsole answer the kitty query but do not draw
  placeholders: they get sixel (DA1 lists it). kitty before 0.28 shows placeholder boxes
  and has no sixel: it gets kitty graphics placed the classic way (render/kitty.py),
  which draws real pixels where character cells would only approximate them.
- sixel where DA1 lists it (4);
- otherwise two-colour character cells: sextants (2x3 pixels) in terminals known to draw
  them themselves (kitty, foot, WezTerm, Ghostty), else quadrants (2x2), whose glyphs
  every monospace font with block elements has. Half-blocks stay selectable.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass, field
from typing import Any

from textual.widget import Widget

from app.ui.render.detect import ColourDepth, Probe, probe

log = logging.getLogger(__name__)

DEFAULT_CELL = (10, 20)  # VT340's, textual-image's own default

RENDERER_NAMES = {
    "kitty": "kitty graphics protocol (full resolution)",
    "sixel": "sixel (full resolution)",
    "sextant": "colour sextant cells (2x3 pixels per cell, two colours each)",
    "quadrant": "colour quadrant cells (2x2 pixels per cell, two colours each)",
    "halfcell": "colour half-blocks (1x2 pixels per cell)",
    "unicode": "grey-scale unicode blocks",
    "none": "none (images are not drawn)",
}
SEXTANT_TERMINALS = ("kitty", "foot", "wezterm", "ghostty")  # they draw sextants themselves


@dataclass
class Detected:
    renderer: str = "none"  # what "auto" draws with
    why: str = ""
    cell_size: tuple[int, int] = DEFAULT_CELL
    cell_source: str = "assumed"
    notes: list[str] = field(default_factory=list)
    probe: Probe = field(default_factory=Probe)
    tty: bool = False
    terminal: str = ""  # TERM, COLORTERM, ... as they were before the probe


DETECTED = Detected()
RENDERERS = ("kitty", "sixel", "sextant", "quadrant", "halfcell", "unicode")
_USABLE = False  # textual-image answered the probe's set-up
_LOADED: dict[str, tuple[type[Widget], Any]] = {}  # renderer -> (widget, renderable)


def _why(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _cell_size(found: Probe) -> tuple[tuple[int, int], str]:
    """Cell size in pixels: the window-size ioctl, the CSI 16 t answer, env, or 10x20."""
    from textual_image import _terminal

    try:
        rows, cols, width, height = _terminal.get_tiocgwinsz()  # type: ignore[attr-defined]
        if rows and cols and width and height:
            return (width // cols, height // rows), "the terminal (window size)"
        if not (rows and cols):
            DETECTED.notes.append(f"the terminal reported {cols} columns x {rows} rows")
    except Exception as exc:  # not a tty, or no ioctl on this platform
        log.debug("no window size: %s", _why(exc))
    if found.answers.cell:
        return found.answers.cell, "the terminal (CSI 16 t)"
    w, h = os.environ.get("TEXTUAL_CELL_WIDTH", ""), os.environ.get("TEXTUAL_CELL_HEIGHT", "")
    if w.isdigit() and h.isdigit() and int(w) and int(h):
        return (int(w), int(h)), "TEXTUAL_CELL_WIDTH/HEIGHT"
    return DEFAULT_CELL, "assumed: the terminal did not say" if DETECTED.tty else "assumed: no tty"


def _quiet_textual_image(cell: tuple[int, int]) -> None:
    """Stop textual-image's own import-time queries; give it our cell size."""
    from textual_image import _terminal

    def no_queries(*args: Any, **kwargs: Any) -> Any:
        raise _terminal.TerminalError("the terminal was probed by app.ui.render.detect")

    # sixel.py and tgp.py import this name when first imported: they get the stub.
    _terminal.capture_terminal_response = no_queries
    setattr(_terminal.get_cell_size, "_result", _terminal.CellSize(*cell))  # noqa: B010


def choose(found: Probe, tty: bool) -> tuple[str, str]:
    """The renderer for ``auto`` and the reason, from the probe's findings."""
    if not tty:
        return "unicode", "stdout is not a terminal"
    a, ident = found.answers, found.identity
    who = ident.describe() if ident else "the terminal"
    placeholders = ident is not None and placeholders_work(found)
    if a.kitty and placeholders:
        return "kitty", f"{who} answered the kitty graphics query and draws Unicode placeholders"
    if a.kitty and ident is not None and ident.name == "kitty":
        return "kitty", (
            f"{who} answered the kitty graphics query; it predates Unicode placeholders "
            "(kitty 0.28) and has no sixel, so images are placed the classic way"
        )
    cells = "sextant" if ident is not None and ident.name in SEXTANT_TERMINALS else "quadrant"
    no_placeholders = (
        f"{who} answered the kitty graphics query but does not draw the Unicode placeholders "
        "the kitty renderer uses (kitty >= 0.28 and Ghostty do)"
    )
    if a.sixel:
        lead = f"{no_placeholders}; " if a.kitty else ""
        return "sixel", f"{lead}{who} lists sixel (4) in its DA1 answer"
    if a.kitty:
        return "kitty", f"{no_placeholders}, and no sixel: images are placed the classic way"
    if a.problem:
        return cells, f"{a.problem}: no graphics protocol"
    if not a.kitty_asked:  # inside tmux: saying it "answered neither" was not true
        return cells, (
            f"{who} does not list sixel (4) in its DA1 answer; the kitty graphics query is "
            "not sent inside tmux (tmux: see the README for passthrough)"
        )
    return cells, f"{who} answered neither the sixel nor the kitty graphics query"


def placeholders_work(found: Probe) -> bool:
    """Whether textual-image's Unicode-placeholder kitty renderer works here."""
    ident = found.identity
    if ident is None:
        return True  # asked for kitty by name, nothing says otherwise
    return (ident.name == "kitty" and ident.at_least(0, 28)) or ident.name == "ghostty"


CELL_RENDERERS = ("sextant", "quadrant", "halfcell")  # drawn by app.ui.render.cells


def _load(renderer: str) -> tuple[type[Widget], Any]:
    """The widget class and the plain-Rich renderable for ``renderer``, imported now.

    Only when the first image is drawn: textual-image's widgets and renderables import its
    sixel encoder, and with it numpy, whichever renderer is used (~65 ms of start-up).
    """
    if renderer in CELL_RENDERERS:
        from app.ui.render import cells

        return {
            "sextant": (cells.SextantWidget, cells.SextantImage),
            "quadrant": (cells.QuadrantWidget, cells.QuadrantImage),
            "halfcell": (cells.HalfcellWidget, cells.HalfcellImage),
        }[renderer]
    if renderer == "sixel":
        from app.ui.render.sixel import SixelImage, SixelRenderable

        return SixelImage, SixelRenderable
    if renderer == "kitty" and not placeholders_work(DETECTED.probe):
        from app.ui.render.kitty import KittyClassicImage, KittyClassicRenderable

        return KittyClassicImage, KittyClassicRenderable
    from textual_image import renderable as tir
    from textual_image import widget as tiw

    if renderer == "kitty":
        return tiw.TGPImage, tir.TGPImage
    return tiw.UnicodeImage, tir.UnicodeImage


def _loaded(renderer: str) -> tuple[type[Widget], Any] | None:
    """:func:`_load`, once per renderer; None if textual-image turns out unusable."""
    global _USABLE
    if renderer not in _LOADED and _USABLE:
        try:
            _LOADED[renderer] = _load(renderer)
        except Exception as exc:
            DETECTED.notes.append(f"textual-image is unusable ({_why(exc)}); images are not drawn")
            log.warning("textual-image is unusable; images are not drawn", exc_info=True)
            _USABLE = False
    return _LOADED.get(renderer)


def _probe() -> None:
    global _USABLE
    out = sys.__stdout__
    DETECTED.tty = out is not None and out.isatty()
    DETECTED.terminal = _terminal_description()
    try:
        DETECTED.probe = probe()
    except Exception as exc:  # a terminal we cannot talk to still gets images
        DETECTED.notes.append(f"terminal query failed ({_why(exc)})")
        log.warning("terminal query failed", exc_info=True)
    _colour_system(DETECTED.probe.depth)
    try:
        DETECTED.cell_size, DETECTED.cell_source = _cell_size(DETECTED.probe)
        _quiet_textual_image(DETECTED.cell_size)
        _USABLE = True
        DETECTED.renderer, DETECTED.why = choose(DETECTED.probe, DETECTED.tty)
    except Exception as exc:
        DETECTED.notes.append(f"textual-image is unusable ({_why(exc)}); images are not drawn")
        log.warning("textual-image is unusable; images are not drawn", exc_info=True)
        _USABLE = False
        DETECTED.renderer, DETECTED.why = "none", "textual-image is unusable"


def _colour_system(depth: ColourDepth) -> None:
    """Tell Rich (so Textual) the colours the terminal shows, where TERM does not say.

    Rich reads COLORTERM when the app starts. Without it, TERM=xterm or TERM=mlterm means
    16 colours, though the terminal takes more: the theme's badges and status counts came
    out red on red or grey on grey.
    """
    if os.environ.get("COLORTERM") or os.environ.get("TEXTUAL_COLOR_SYSTEM"):
        return  # the user's word
    if depth.truecolor:
        os.environ["COLORTERM"] = "truecolor"
    elif depth.takes_rgb:
        # It maps 24-bit codes to its 256-colour palette (mlterm: its DECRQSS echo names a
        # palette colour), so palette codes show the same. And mlterm drops SGR parameters
        # past the 10th: bold + a 24-bit foreground + a 24-bit background is 11, and every
        # bold badge, header and selected row came out on a white or cyan background.
        # textual.constants was read at import; the App reads this attribute when made.
        from textual import constants

        setattr(constants, "COLOR_SYSTEM", "256")  # noqa: B010


def image_widget_class(graphics: str) -> type[Widget] | None:
    """The widget class for ``graphics`` ("auto", "kitty", ...), or None if none works.
    Imports it (and for some, textual-image and numpy): call it for the first image."""
    loaded = _loaded(renderer_for(graphics))
    return loaded[0] if loaded is not None else None


def make_image(graphics: str, **kwargs: Any) -> Widget | None:
    cls = image_widget_class(graphics)
    return cls(**kwargs) if cls is not None else None


def renderer_for(graphics: str) -> str:
    """What ``graphics`` ("auto", "kitty", ...) actually draws with here."""
    if not _USABLE:
        return "none"
    if graphics == "auto" or graphics not in RENDERERS:
        return DETECTED.renderer
    return graphics


def startup_hint() -> str | None:
    """One sentence worth showing once at start (colour depth), or None."""
    depth = DETECTED.probe.depth
    if DETECTED.tty and not depth.truecolor and renderer_for("auto") not in ("kitty", "sixel"):
        return depth.hint
    return None


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


def _answers_description() -> str:
    a = DETECTED.probe.answers
    if not a.asked:
        return "not asked (" + (a.problem or "stdout is not a terminal") + ")"
    parts = [
        f"XTVERSION {a.version!r}" if a.version else "XTVERSION: no answer",
        f"DA1 {';'.join(map(str, a.da1))} (sixel {'yes' if a.sixel else 'no'})"
        if a.da1_seen
        else "DA1: no answer",
    ]
    if not a.kitty_asked:
        parts.append("kitty graphics: not asked (inside tmux)")
    else:
        parts.append(f"kitty graphics: {'OK' if a.kitty else 'no'}")
    return "; ".join(parts)


def _colours(depth: Any) -> str:
    if depth.truecolor:
        return "24-bit"
    if depth.takes_rgb:
        return (
            "256-colour palette (the terminal maps 24-bit codes to it; the TUI sends palette codes)"
        )
    return "256-colour palette"


def graphics_report(graphics: str = "auto") -> str:
    """What was detected and why, and what the TUI will draw with, as plain text."""
    chosen = renderer_for(graphics)
    ident = DETECTED.probe.identity
    depth = DETECTED.probe.depth
    lines = [
        f"terminal:   {DETECTED.terminal or _terminal_description()}",
        f"identity:   {ident.describe() if ident else 'unknown'}",
        f"stdout:     {'a terminal' if DETECTED.tty else 'not a terminal (pipe or file)'}",
        f"answers:    {_answers_description()}",
        f"detected:   {RENDERER_NAMES.get(DETECTED.renderer, DETECTED.renderer)}",
        f"why:        {'; '.join([DETECTED.why, *DETECTED.notes]) if DETECTED.why else '; '.join(DETECTED.notes)}",  # noqa: E501
        f"the TUI:    draws with {RENDERER_NAMES.get(chosen, chosen)}"
        + (f" (--graphics {graphics})" if graphics != "auto" else " (--graphics auto)"),
        f"cell size:  {DETECTED.cell_size[0]}x{DETECTED.cell_size[1]} px ({DETECTED.cell_source})",
        f"colours:    {_colours(depth)} ({depth.why})",
    ]
    if not depth.truecolor and DETECTED.tty:
        lines.append(f"hint:       {depth.hint}")
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
    loaded = _loaded(renderer_for(graphics))
    renderable = loaded[1] if loaded is not None else None
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


_probe()  # at import: before Textual takes over stdin
