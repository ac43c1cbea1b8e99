"""A bounded image cache: once it outgrows its cap, least recently used images go first.

An image and its thumbnails are one entry (file names share the URL's hash), used when
any of them was last written or its full image last read (``touch``). Images a caller
keeps (favourites, the newest jobs) are never removed; files that are not the cache's
own (no hash name) are never touched. An evicted image is downloaded again when viewed.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from app.images.cache import remove_quietly, url_key

_KEY = re.compile(r"^[0-9a-f]{64}")
GB = 1024**3


@dataclass(frozen=True)
class CacheUsage:
    bytes: int
    files: int
    images: int  # entries: a full image with its thumbnails


@dataclass(frozen=True)
class Pruned:
    removed: int  # images (entries) removed
    freed: int  # bytes
    left: CacheUsage


@dataclass
class _Entry:
    size: int = 0
    used: float = 0.0
    paths: list[Path] = field(default_factory=list)


def touch(path: Path) -> None:
    """``path`` was just used: it goes last when the cache is pruned."""
    with contextlib.suppress(OSError):  # a read-only cache works; it forgets what was used
        os.utime(path)


def _entries(cache_dir: Path) -> tuple[dict[str, _Entry], int, int]:
    entries: dict[str, _Entry] = {}
    total = files = 0
    try:
        listing = list(os.scandir(cache_dir))
    except OSError:
        return entries, 0, 0
    for item in listing:
        try:
            if not item.is_file(follow_symlinks=False):
                continue
            st = item.stat(follow_symlinks=False)
        except OSError:
            continue  # removed meanwhile
        total += st.st_size
        files += 1
        match = _KEY.match(item.name)
        if match is None:
            continue
        entry = entries.setdefault(match.group(0), _Entry())
        entry.size += st.st_size
        entry.used = max(entry.used, st.st_mtime)
        entry.paths.append(Path(item.path))
    return entries, total, files


def usage(cache_dir: Path) -> CacheUsage:
    entries, total, files = _entries(cache_dir)
    return CacheUsage(total, files, len(entries))


def prune(cache_dir: Path, cap: int, keep_urls: Iterable[str] = ()) -> Pruned:
    """Remove least recently used images until the cache holds at most ``cap`` bytes,
    never those of ``keep_urls``. Runs in a thread: it lists and stats the whole cache."""
    from app.images.split import grid_tiles

    keep: set[str] = set()
    for url in keep_urls:
        keep.add(url_key(url))
        keep.update(url_key(tile) for tile in grid_tiles(url))  # tiles cut from a grid
    entries, total, files = _entries(cache_dir)
    removed = freed = 0
    now = time.time()
    for key, entry in sorted(entries.items(), key=lambda kv: kv[1].used):
        if total - freed <= cap:
            break
        if key in keep or now - entry.used < 1.0:  # just written: being used right now
            continue
        for path in entry.paths:
            remove_quietly(path)
        removed += 1
        freed += entry.size
        files -= len(entry.paths)
    return Pruned(removed, freed, CacheUsage(total - freed, files, len(entries) - removed))
