"""The values the image pipeline hands out: a shown tile, a failed tile, a fetch error."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the UI imports these values before it draws an image
    from PIL import Image


class ImageFetchError(Exception):
    """An image could not be downloaded, stored or decoded.

    ``human`` is one sentence a person understands; it never holds raw server bytes.
    """

    def __init__(self, human: str, *, transient: bool = False) -> None:
        super().__init__(human)
        self.human = human
        # True when asking again soon may well succeed (timeouts, broken transfers, 5xx).
        self.transient = transient


@dataclass(frozen=True)
class ImageFailure:
    """A tile that could not be shown, with the reason. Asking again may succeed."""

    url: str
    human: str


@dataclass(frozen=True)
class TileResult:
    """A tile ready to draw.

    ``thumbnail`` is already loaded and small; it may be shared through the in-memory
    cache, so callers must not modify it in place (``copy()`` it first).
    """

    url: str
    path: Path  # the cached full image on disk
    thumbnail: Image.Image
    width: int  # size of the full image
    height: int
