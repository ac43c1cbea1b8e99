"""Image download, cache, decode and thumbnail. No textual here: usable from scripts."""

from app.images.cache import save_copy
from app.images.model import ImageFailure, ImageFetchError, TileResult
from app.images.pipeline import ImagePipeline

__all__ = ["ImageFailure", "ImageFetchError", "ImagePipeline", "TileResult", "save_copy"]
