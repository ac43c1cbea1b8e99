"""Image download, cache, decode and thumbnail. No textual here: usable from scripts.

The names below load with their module when first used: importing one part (a model,
the tile names) does not load the pipeline with httpx and Pillow.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.images.cache import save_copy
    from app.images.model import ImageFailure, ImageFetchError, TileResult
    from app.images.pipeline import ImagePipeline

_WHERE = {
    "save_copy": "app.images.cache",
    "ImageFailure": "app.images.model",
    "ImageFetchError": "app.images.model",
    "TileResult": "app.images.model",
    "ImagePipeline": "app.images.pipeline",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)


__all__ = [
    "ImageFailure",
    "ImageFetchError",
    "ImagePipeline",
    "TileResult",
    "save_copy",
]
