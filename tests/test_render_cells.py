"""Character-cell images and the sixel palette fix, checked on their output."""

from __future__ import annotations

import io
import re

from PIL import Image
from rich.console import Console

from app.ui.render.cells import QUADRANTS, SEXTANTS, QuadrantImage, SextantImage, to_256
from app.ui.render.sixel import fix_palette


def _render(renderable: object, color_system: str = "truecolor") -> str:
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, color_system=color_system, width=40)  # type: ignore[arg-type]
    console.print(renderable)
    return buf.getvalue()


def _halves(size: tuple[int, int]) -> Image.Image:
    """Left half red, right half blue."""
    img = Image.new("RGB", size, (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, size[0] // 2, size[1]))
    return img


def test_glyph_tables_cover_every_pattern() -> None:
    assert len(QUADRANTS) == 16 and len(set(QUADRANTS)) == 16
    assert len(SEXTANTS) == 64 and len(set(SEXTANTS)) == 64
    assert SEXTANTS[0b010101] == "▌" and SEXTANTS[0b101010] == "▐"
    assert SEXTANTS[1] == "\U0001fb00" and SEXTANTS[62] == "\U0001fb3b"


def test_a_cell_split_down_the_middle_gets_both_colours() -> None:
    # An image 1 cell wide: each cell holds half red, half blue.
    out = _render(QuadrantImage(_halves((20, 20)), width=1))
    assert "▌" in out or "▐" in out
    assert "255;0;0" in out and "0;0;255" in out


def test_sextants_keep_more_rows_than_quadrants() -> None:
    img = Image.new("RGB", (60, 60), (0, 0, 0))
    img.paste((255, 255, 255), (0, 20, 60, 40))  # a white band across the middle third
    out = _render(SextantImage(img, width=10, height=3))
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 3


def test_256_colour_terminals_get_the_nearest_palette_colour() -> None:
    assert to_256((255, 0, 0)) == 196
    assert to_256((0, 0, 0)) in (16, 232)
    assert to_256((128, 128, 128)) == 244  # grey ramp
    # A muted dusk purple stays a colour, not a grey.
    assert 16 <= to_256((95, 60, 135)) <= 231
    out = _render(QuadrantImage(_halves((20, 20)), width=1), color_system="256")
    assert "38;5;" in out and "38;2;" not in out


def test_sixel_palette_defined_before_the_first_pixel_from_register_one() -> None:
    raw = '\x1bP0;0;0q"1;1;2;6#0;2;100;0;0!2~$#1;2;0;0;100??-\x1b\\'
    fixed = fix_palette(raw)
    assert fixed.startswith('\x1bP0;1;0q"1;1;2;6#1;2;100;0;0#2;2;0;0;100')
    body = fixed.split("#2;2;0;0;100", 1)[1]
    assert ";2;" not in body  # no definition after pixels
    assert not re.search(r"#0(?!\d)", fixed)


def test_half_blocks_are_textual_images_cell_for_cell() -> None:
    # The app draws half-blocks itself (no numpy at start-up); what a user sees must not
    # change: the same glyphs in the same colours as textual-image's renderer.
    from textual_image.renderable.halfcell import Image as Upstream

    from app.ui.render.cells import HalfcellImage

    img = Image.radial_gradient("L").convert("RGB").resize((96, 64))
    img.paste((200, 40, 90), (10, 10, 40, 30))
    for width in (7, 24):
        ours = _render(HalfcellImage(img, width=width))
        theirs = _render(Upstream(img, width=width))
        assert ours == theirs and ours.count("▀") > width
