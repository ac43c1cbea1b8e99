"""Pick the textual-image widget class for the configured graphics protocol.

textual-image probes the terminal when it is imported, and that probe must run before
Textual takes over stdin, so this module imports it at import time. The probe can fail
(0-column ptys raise ZeroDivisionError in textual-image 0.12): then we fall back to the
colour half-block renderer, built from the renderable modules that do not probe.
"""

from __future__ import annotations

import logging
from typing import Any

from textual.widget import Widget

log = logging.getLogger(__name__)

_WIDGETS: dict[str, type[Widget]] = {}

try:
    from textual_image import widget as _tiw

    _WIDGETS = {
        "auto": _tiw.Image,
        "kitty": _tiw.TGPImage,
        "sixel": _tiw.SixelImage,
        "halfcell": _tiw.HalfcellImage,
        "unicode": _tiw.UnicodeImage,
    }
except Exception:  # the probe failed: keep the app alive with plain-text renderers
    log.warning("textual-image could not probe the terminal; using half-blocks", exc_info=True)
    try:
        from textual_image import _terminal
        from textual_image.renderable.halfcell import Image as _HalfcellRenderable
        from textual_image.renderable.unicode import Image as _UnicodeRenderable
        from textual_image.widget._base import Image as _BaseImage

        # Later size queries would probe again and fail the same way: cache a default.
        setattr(_terminal.get_cell_size, "_result", _terminal.CellSize(10, 20))  # noqa: B010

        class _Halfcell(_BaseImage, Renderable=_HalfcellRenderable):
            pass

        class _Unicode(_BaseImage, Renderable=_UnicodeRenderable):
            pass

        _WIDGETS = {
            "auto": _Halfcell,
            "kitty": _Halfcell,
            "sixel": _Halfcell,
            "halfcell": _Halfcell,
            "unicode": _Unicode,
        }
    except Exception:
        log.warning("textual-image is unusable; images are not drawn", exc_info=True)
        _WIDGETS = {}


def image_widget_class(graphics: str) -> type[Widget] | None:
    """The widget class for ``graphics`` ("auto", "kitty", ...), or None if none works."""
    return _WIDGETS.get(graphics) or _WIDGETS.get("auto")


def make_image(graphics: str, **kwargs: Any) -> Widget | None:
    cls = image_widget_class(graphics)
    return cls(**kwargs) if cls is not None else None
