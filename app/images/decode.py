"""Pillow decoding with the decompression-bomb guard on. Blocking: run it in a thread."""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from PIL import Image, UnidentifiedImageError

from app.images.cache import EXTENSIONS
from app.images.model import ImageFetchError

# Only the formats an image service sends: fewer parsers, less attack surface.
FORMATS = tuple(EXTENSIONS)

# Pillow only *warns* between MAX_IMAGE_PIXELS and twice that; make it refuse instead.
# Set once at import (a per-call catch_warnings is not thread-safe). Our own check in
# open_checked() is the main guard; this covers any other Pillow use in the process.
warnings.filterwarnings("error", category=Image.DecompressionBombWarning)

TOO_LARGE = "The image is too large to decode safely"


def describe_non_image(data: bytes) -> str:
    """Why a body that Pillow rejected is not a picture, in words."""
    head = data[:512].lstrip().lower()
    if not data:
        return "The image link returned an empty body"
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head:
        return "The image is not a picture (HTML page)"
    if head.startswith((b"{", b"[")):
        return "The image is not a picture (JSON text)"
    if head.startswith(b"<"):
        return "The image is not a picture (XML or HTML text)"
    return "The image is not a picture this app can read"


@contextmanager
def open_checked(fp: IO[bytes], max_pixels: int) -> Iterator[Image.Image]:
    """Open lazily (header only), refusing images over ``max_pixels`` before decoding."""
    limit = max_pixels
    if Image.MAX_IMAGE_PIXELS is not None:
        limit = min(limit, int(Image.MAX_IMAGE_PIXELS))
    try:
        im = Image.open(fp, formats=FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageFetchError(TOO_LARGE) from None
    with im:
        width, height = im.size
        if width <= 0 or height <= 0:
            raise ImageFetchError("The image is damaged or incomplete", transient=True)
        if width * height > limit:
            raise ImageFetchError(TOO_LARGE)
        yield im


def verify_bytes(data: bytes, max_pixels: int) -> str:
    """Decode ``data`` fully; return its Pillow format name or raise ImageFetchError."""
    return decode_bytes(data, max_pixels)[0]


def decode_bytes(data: bytes, max_pixels: int) -> tuple[str, Image.Image]:
    """Decode ``data`` fully: its format name and the loaded image, or ImageFetchError."""
    try:
        with open_checked(io.BytesIO(data), max_pixels) as im:
            im.load()  # a full decode: catches truncated and corrupt bodies
            # copy: the image is closed (and unusable) once the ``with`` ends
            return str(im.format), im.copy()
    except ImageFetchError:
        raise
    except UnidentifiedImageError:
        raise ImageFetchError(describe_non_image(data)) from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise ImageFetchError("The image is damaged or incomplete", transient=True) from None


def looks_intact(path: Path, max_pixels: int) -> bool:
    """A cheap check of a cached file (header, PNG checksums; no full decode): a name in
    the cache promises a complete file, but disks and other programs can break that."""
    try:
        with path.open("rb") as fp, open_checked(fp, max_pixels) as im:
            im.verify()
    except (ImageFetchError, OSError, SyntaxError, ValueError, EOFError):
        return False  # OSError covers UnidentifiedImageError
    return True


def read_size(path: Path, max_pixels: int) -> tuple[int, int]:
    """The image's size from its header only."""
    with path.open("rb") as fp, open_checked(fp, max_pixels) as im:
        return im.size


def make_thumbnail(path: Path, size: tuple[int, int], max_pixels: int) -> Image.Image:
    """Decode the image at ``path`` and shrink it to fit ``size``; loaded, RGB or RGBA."""
    with path.open("rb") as fp, open_checked(fp, max_pixels) as im:
        im.thumbnail(size)  # uses JPEG draft mode, so large JPEGs decode at a fraction
        return to_display_mode(im)


def shrink(im: Image.Image, size: tuple[int, int]) -> Image.Image:
    """A display-mode copy of a loaded ``im`` fitted to ``size``; ``im`` stays as it was."""
    out = im.copy()
    out.thumbnail(size)  # reduce() by whole factors first, then a short resample
    return to_display_mode(out)


def load_small(path: Path, max_pixels: int) -> Image.Image:
    """Load an already-thumbnailed file fully into memory."""
    with path.open("rb") as fp, open_checked(fp, max_pixels) as im:
        return to_display_mode(im)


def to_display_mode(im: Image.Image) -> Image.Image:
    """A loaded RGB or RGBA copy, detached from any open file."""
    has_alpha = im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info
    out = im.convert("RGBA" if has_alpha else "RGB")
    out.load()
    return out
