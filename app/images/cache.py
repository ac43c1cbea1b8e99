"""File layout of the on-disk image cache.

The full image lives at ``<sha256(url)><ext>``; thumbnails next to it at
``<sha256(url)>.t<w>x<h>.jpg`` (``.webp`` where the image has transparency): a tenth of
the PNG they used to be, and faster to encode and decode. Files only ever appear under
their final name by ``os.replace`` of a finished temp file, so a name that exists is a
complete file.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from app.files import write_atomic

if TYPE_CHECKING:  # file names are made before any image is opened (the TUI's first screen)
    from PIL import Image

# The formats an image service sends (decode.py opens only these), by file extension.
EXTENSIONS = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp", "GIF": ".gif", "AVIF": ".avif"}

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def url_key(url: str) -> str:
    # surrogatepass: a URL from JSON can hold lone surrogates; it must still hash.
    return hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()


def full_path(cache_dir: Path, url: str, fmt: str) -> Path:
    return cache_dir / (url_key(url) + EXTENSIONS[fmt])


def find_full(cache_dir: Path, url: str) -> Path | None:
    """The cached full image for ``url``, found by stat alone."""
    key = url_key(url)
    for ext in EXTENSIONS.values():
        path = cache_dir / (key + ext)
        try:
            if path.stat().st_size > 0:
                return path
        except OSError:
            continue
    return None


# Thumbnails by mode: JPEG where there is no alpha to keep, else WebP. ``.png`` is the
# old format: still read (caches written by earlier versions), never written.
THUMB_FORMATS = {"RGB": ("JPEG", ".jpg"), "RGBA": ("WEBP", ".webp")}
_THUMB_SAVE = {"JPEG": {"quality": 85}, "WEBP": {"quality": 85}}
THUMB_EXTENSIONS = (".jpg", ".webp", ".png")


def thumb_path(full: Path, size: tuple[int, int], ext: str = ".jpg") -> Path:
    return full.with_name(f"{full.stem}.t{size[0]}x{size[1]}{ext}")


def find_thumb(full: Path, size: tuple[int, int]) -> Path | None:
    """The stored thumbnail of ``full`` at ``size``, in any format, found by stat alone."""
    for ext in THUMB_EXTENSIONS:
        path = thumb_path(full, size, ext)
        if path.exists():
            return path
    return None


def save_thumb(full: Path, size: tuple[int, int], thumb: Image.Image) -> Path:
    """Write ``thumb`` (RGB or RGBA) as the thumbnail of ``full`` at ``size``."""
    fmt, ext = THUMB_FORMATS[thumb.mode]
    return write_atomic(
        thumb_path(full, size, ext), lambda fp: thumb.save(fp, format=fmt, **_THUMB_SAVE[fmt])
    )


def remove_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def safe_stem(stem: str) -> str:
    """``stem`` reduced to [A-Za-z0-9_-], never empty, never starting with '-'."""
    cleaned = _UNSAFE.sub("_", stem)[:120].lstrip("-")
    return cleaned or "image"


def save_copy(src: Path, dest_dir: Path, stem: str) -> Path:
    """Copy a cached image to ``dest_dir/<stem><ext>`` atomically; return the new path.

    ``stem`` should come from job ids, never from URL paths; it is sanitised anyway.
    """
    ext = src.suffix.lower() if src.suffix.lower() in EXTENSIONS.values() else ".png"
    dest = dest_dir / (safe_stem(stem) + ext)
    with src.open("rb") as source:
        return write_atomic(dest, lambda fp: shutil.copyfileobj(source, fp))
