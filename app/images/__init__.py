"""Image download, cache, decode and thumbnail. No textual here: usable from scripts.

The names below load with their module when first used: importing one part (a model,
the tile names) does not load the pipeline with httpx and Pillow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.lazy import lazy_exports

if TYPE_CHECKING:
    from app.images.cache import save_copy as save_copy
    from app.images.model import ImageFailure as ImageFailure
    from app.images.model import ImageFetchError as ImageFetchError
    from app.images.model import TileResult as TileResult
    from app.images.pipeline import ImagePipeline as ImagePipeline

__getattr__ = lazy_exports(
    __name__,
    {
        "app.images.cache": ("save_copy",),
        "app.images.model": ("ImageFailure", "ImageFetchError", "TileResult"),
        "app.images.pipeline": ("ImagePipeline",),
    },
)
