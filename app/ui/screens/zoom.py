"""The Custom Zoom dialog: how far to zoom out, and an optional new aspect ratio."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Label

from app.ui.screens.form import FormScreen
from app.ui.widgets.in_order import InOrderInput

ZoomAnswer = tuple[float, str | None]


def parse_zoom(zoom: str, ar: str) -> ZoomAnswer:
    """Custom Zoom's two answers, checked: zoom 1..2, aspect ratio like 16:9 or empty."""
    try:
        value = float(zoom.strip() or "2")
    except ValueError:
        raise ValueError("Zoom must be a number between 1 and 2.") from None
    if not 1.0 <= value <= 2.0:
        raise ValueError("Zoom must be between 1 and 2.")
    ratio = ar.strip()
    if ratio:
        parts = ratio.split(":")
        if len(parts) != 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
            raise ValueError("Aspect ratio looks like 16:9 (or leave it empty).")
    return value, ratio or None


class CustomZoomScreen(FormScreen[ZoomAnswer]):
    DEFAULT_CSS = """
    CustomZoomScreen > .form-box { width: 56; }
    """
    NAME = "zoom"

    def __init__(self) -> None:
        super().__init__("Custom Zoom", "Zoom")

    def fields(self) -> ComposeResult:
        yield Label("Zoom out by (1–2):")
        yield InOrderInput(value="2", id="zoom-value")
        yield Label("Aspect ratio (e.g. 16:9, empty keeps it):")
        yield InOrderInput(value="", id="zoom-ar")

    def answer(self) -> ZoomAnswer:
        return parse_zoom(self.value_of("zoom-value"), self.value_of("zoom-ar"))
