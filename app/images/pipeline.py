"""Download, cache, verify and thumbnail job images, off the event loop where it blocks."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO, ParamSpec, TypeVar

import httpx
from PIL import Image

from app.files import write_atomic
from app.images import cache, decode, evict, split
from app.images.fetch import Forbidden, check_url, download, too_large
from app.images.model import ImageFailure, ImageFetchError, TileResult

log = logging.getLogger(__name__)

P = ParamSpec("P")
# One thread for thumbnail cache files: ordered, bounded, joined at interpreter exit.
_CACHE_WRITER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="thumb-cache")
T = TypeVar("T")

MEMORY_TILES = 64  # a few screens of 2x2 grids; each thumbnail is small
FRESH_DECODES = 8  # full decoded images kept for their first thumbnail (2 grids' worth)
MAX_THUMB_SIDE = 4096
# Pruned while running: once the cache passes its cap, down to this share of it, so that
# the next few downloads do not each scan the cache again.
LOW_WATER = 0.9
KNOWN_INTACT = 4096  # files remembered as checked (a few hundred KB of memory at most)
ON_SCREEN = 16  # the tiles asked for last (a grid, a full view, previews) are on screen


class ImagePipeline:
    """Fetches image URLs into ``cache_dir`` and turns them into display-ready tiles.

    Use it from one event loop. Nothing here imports textual, so scripts can use it too.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        cache_dir: Path,
        *,
        get_image: Callable[[str], Awaitable[bytes]] | None = None,
        max_bytes: int = 40 * 1024 * 1024,
        max_pixels: int = 64_000_000,
        decode_workers: int = 4,
        download_timeout: float = 120.0,
        cache_cap: int | None = None,
        keep: Callable[[], Iterable[str]] | None = None,
    ) -> None:
        """``cache_cap``: bytes; when downloads take the cache past it, least recently used
        images are removed (in a thread), never those of ``keep()`` (blocking, called in
        that thread) nor those shown or being fetched here."""
        self._http = http
        self._cache_dir = cache_dir
        self._get_image = get_image
        self._max_bytes = max_bytes
        self._max_pixels = max_pixels
        self._download_timeout = download_timeout
        # Bounds concurrent decodes; asyncio.to_thread needs no shutdown, unlike an executor.
        self._decode_slots = asyncio.Semaphore(max(1, decode_workers))
        self._fresh: dict[str, Image.Image] = {}  # just downloaded and decoded, oldest first
        # Tiles made right after a download's decode, in its thread, at the size tiles were
        # last asked for: the grid waiting for them needs no second trip through a thread.
        self._fresh_tiles: dict[tuple[str, int, int], TileResult] = {}
        self._tile_size: tuple[int, int] | None = None  # the size last asked for
        self._fresh_lock = threading.Lock()
        self._inflight: dict[str, asyncio.Task[Path]] = {}
        self._cuts: dict[str, asyncio.Task[None]] = {}  # grid URL -> cutting its tiles
        self._intact: dict[Path, tuple[int, int, int]] = {}  # checked files, oldest first
        self._tiles: OrderedDict[tuple[str, int, int], TileResult] = OrderedDict()
        self._making: dict[tuple[str, int, int], asyncio.Task[TileResult]] = {}
        self._cap = cache_cap
        self._keep = keep
        self._cache_bytes: int | None = None  # as last counted plus what was written since
        self._pruning: asyncio.Task[None] | None = None
        self._thumb_bytes = 0  # thumbnails written since the last download (writer thread)

    # -- full images -------------------------------------------------------------------

    async def flush(self) -> None:
        """Wait until thumbnail files queued so far are on disk and a running prune has
        ended (before exit or cleanup)."""
        await asyncio.wrap_future(_CACHE_WRITER.submit(lambda: None))
        if self._pruning is not None:
            await self._pruning  # a thread cannot be cancelled: it ends by itself

    def cached_path(self, url: str) -> Path | None:
        """The full image if it is already on disk (a stat per known extension, no more)."""
        return cache.find_full(self._cache_dir, url)

    async def fetch(self, url: str) -> Path:
        """The cached full image for ``url``, downloading and verifying it if needed."""
        url = check_url(url)  # before any I/O, cache lookups included
        hit = self.cached_path(url)
        if hit is not None:
            if self._seen_intact(hit) or await self._in_thread(self._check, hit):
                evict.touch(hit)  # recently used: the last to go when the cache is pruned
                return hit
            cache.remove_quietly(hit)  # damaged on disk since it was written: fetch again
        task = self._inflight.get(url)
        if task is None:
            task = asyncio.create_task(self._download_and_store(url))
            self._inflight[url] = task
            task.add_done_callback(functools.partial(self._forget, url))
        # shield: one caller giving up must not cancel the download the others wait for.
        return await asyncio.shield(task)

    async def _cut(self, grid_url: str) -> None:
        """The grid's four tiles into the cache: one cut however many tiles wait for it."""
        task = self._cuts.get(grid_url)
        if task is None:
            task = asyncio.create_task(self._cut_now(grid_url))
            self._cuts[grid_url] = task
            task.add_done_callback(lambda _: self._cuts.pop(grid_url, None))
        await asyncio.shield(task)

    async def _cut_now(self, grid_url: str) -> None:
        grid = await self.fetch(grid_url)
        written = await self._in_thread(
            split.cut_and_cache, self._cache_dir, grid_url, grid, self._max_pixels
        )
        self._grew(written)

    # A cached file is checked (PNG checksums: 0.5 ms a tile, 2 ms a grid) once per
    # process, or not at all when this process wrote it from bytes it had decoded: the
    # check is for files broken since, by a crash, a full disk or another program.
    # Known by device, inode and size: a file replaced or cut short is checked again.

    def _seen_intact(self, path: Path) -> bool:
        try:
            return self._intact.get(path) == _identity(path)
        except OSError:
            return False

    def _check(self, path: Path) -> bool:
        """Blocking: check the file; remember it when intact."""
        if not decode.looks_intact(path, self._max_pixels):
            return False
        self._remember_intact(path)
        return True

    def _remember_intact(self, path: Path) -> None:
        with contextlib.suppress(OSError):
            identity = _identity(path)
            with self._fresh_lock:
                self._intact[path] = identity
                while len(self._intact) > KNOWN_INTACT:
                    self._intact.pop(next(iter(self._intact)))

    def _forget(self, url: str, task: asyncio.Task[Path]) -> None:
        if self._inflight.get(url) is task:
            del self._inflight[url]
        if not task.cancelled():
            task.exception()  # mark retrieved: no "never retrieved" noise if all waiters left

    async def _download_and_store(self, url: str) -> Path:
        tile = split.parse_tile(url)
        if tile is not None:  # one quarter of a grid: fetch the grid, cut all four once
            await self._cut(tile[0])
            found = self.cached_path(url)
            if found is None:
                raise ImageFetchError("The grid could not be cut into tiles")
            return found
        try:
            async with asyncio.timeout(self._download_timeout):
                data = await self._download(url)
        except TimeoutError:
            raise ImageFetchError("The image download took too long", transient=True) from None
        try:
            path = await self._in_thread(self._store, url, data)
        except OSError as exc:  # disk full, read-only data folder...
            why = exc.strerror or type(exc).__name__
            raise ImageFetchError(f"The image could not be written to the cache: {why}") from None
        self._grew(len(data))
        return path

    async def _download(self, url: str) -> bytes:
        try:
            return await download(self._http, url, self._max_bytes)
        except Forbidden:
            if self._get_image is None:
                raise
        log.info("image URL answered 403, using the getImage fallback")
        try:
            data = await self._get_image(url)
        except ImageFetchError:
            raise
        except Exception as exc:  # a foreign callback: any failure becomes a tile failure
            why = getattr(exc, "human", None) or type(exc).__name__
            raise ImageFetchError(
                f"The image link answered HTTP 403 and the fallback failed: {why}"
            ) from None
        if len(data) > self._max_bytes:
            raise too_large(self._max_bytes)
        return data

    def _store(self, url: str, data: bytes) -> Path:
        fmt, image = decode.decode_bytes(data, self._max_pixels)
        dest = cache.full_path(self._cache_dir, url, fmt)

        def write(fp: IO[bytes]) -> None:
            fp.write(data)

        path = write_atomic(dest, write)
        self._remember_intact(path)  # decoded in full just now
        size = self._tile_size
        tile = None
        if size is not None and (url, *size) in self._making:  # a grid waits for it
            tile = TileResult(url, path, decode.shrink(image, size), *image.size)
            self._save_thumbnail(path, size, tile.thumbnail)
        # Keep the decoded picture for a thumbnail of another size (the full view),
        # instead of decoding the same bytes a second time.
        with self._fresh_lock:
            self._fresh[url] = image
            while len(self._fresh) > FRESH_DECODES:
                self._fresh.pop(next(iter(self._fresh)))
            if size is not None and tile is not None:
                self._fresh_tiles[(url, *size)] = tile
                while len(self._fresh_tiles) > FRESH_DECODES:
                    self._fresh_tiles.pop(next(iter(self._fresh_tiles)))
        return path

    # -- tiles -------------------------------------------------------------------------

    async def thumbnail(self, url: str, size: tuple[int, int]) -> TileResult:
        """A tile for ``url`` shrunk to fit ``size``, from memory, disk or the network."""
        key = _tile_key(url, size)
        self._tile_size = key[1:]
        remembered = self._recall(key)
        if remembered is not None:
            return remembered
        task = self._making.get(key)
        if task is None:
            task = asyncio.create_task(self._make_tile(url, key))
            self._making[key] = task
            task.add_done_callback(functools.partial(self._made, key))
        # One load per tile, finished even if the grid that asked moved on: a second load
        # would read back the lossy JPEG file, not quite the tile shown the first time.
        return await asyncio.shield(task)

    async def _make_tile(self, url: str, key: tuple[str, int, int]) -> TileResult:
        path = await self.fetch(url)
        with self._fresh_lock:
            tile = self._fresh_tiles.pop(key, None)
        if tile is None or tile.path != path:
            tile = await self._in_thread(self._load_tile, url, path, (key[1], key[2]))
        self._remember(key, tile)
        return tile

    def _made(self, key: tuple[str, int, int], task: asyncio.Task[TileResult]) -> None:
        if self._making.get(key) is task:
            del self._making[key]
        if not task.cancelled():
            task.exception()  # mark retrieved: no "never retrieved" noise if all waiters left

    async def thumbnails(
        self, urls: Sequence[str], size: tuple[int, int]
    ) -> list[TileResult | ImageFailure]:
        """All tiles at once, in order; a tile that fails becomes an :class:`ImageFailure`."""
        return list(await asyncio.gather(*(self._tile_or_failure(u, size) for u in urls)))

    async def load_cached(self, url: str, size: tuple[int, int]) -> TileResult | None:
        """A tile from memory or disk only (offline); None if the image was never fetched."""
        key = _tile_key(url, size)
        remembered = self._recall(key)
        if remembered is not None:
            return remembered
        path = self.cached_path(url)
        if path is None:
            return None
        try:
            tile = await self._in_thread(self._load_tile, url, path, (key[1], key[2]))
        except ImageFetchError:
            return None
        self._remember(key, tile)
        return tile

    async def _tile_or_failure(self, url: str, size: tuple[int, int]) -> TileResult | ImageFailure:
        try:
            return await self.thumbnail(url, size)
        except ImageFetchError as exc:
            return ImageFailure(url, exc.human)
        except Exception:  # a bug must cost one tile, not the whole grid
            log.exception("unexpected error loading image tile")
            return ImageFailure(url, "The image could not be shown (unexpected error)")

    def _load_tile(self, url: str, path: Path, size: tuple[int, int]) -> TileResult:
        """Blocking: the thumbnail from its own small file, else from the full image."""
        small = cache.find_thumb(path, size)
        with self._fresh_lock:
            fresh = self._fresh.pop(url, None)
        try:
            width, height = decode.read_size(path, self._max_pixels)
            if small is not None:
                try:
                    return TileResult(
                        url, path, decode.load_small(small, self._max_pixels), width, height
                    )
                except (ImageFetchError, OSError, SyntaxError, ValueError):
                    cache.remove_quietly(small)  # a damaged thumbnail is rebuilt below
            if fresh is not None:
                thumb = decode.shrink(fresh, size)
            else:
                thumb = decode.make_thumbnail(path, size, self._max_pixels)
        except (ImageFetchError, OSError, SyntaxError, ValueError):
            # The cached file went bad on disk: drop it so the next fetch downloads again.
            cache.remove_quietly(path)
            raise ImageFetchError(
                "The cached image was damaged; it will be downloaded again"
            ) from None
        self._save_thumbnail(path, size, thumb)
        return TileResult(url, path, thumb, width, height)

    def _save_thumbnail(self, path: Path, size: tuple[int, int], thumb: Image.Image) -> None:
        """The disk copy only speeds up a later start: written off the critical path."""
        written = _CACHE_WRITER.submit(_write_thumbnail, path, size, thumb.copy())
        written.add_done_callback(self._thumbnail_written)

    # -- the cache's bound --------------------------------------------------------------

    def _thumbnail_written(self, done: Future[int]) -> None:
        """In the writer thread: counted with the next download (see ``_grew``)."""
        if not done.cancelled() and done.exception() is None:
            with self._fresh_lock:
                self._thumb_bytes += done.result()

    def _grew(self, added: int) -> None:
        """``added`` bytes were written to the cache: prune it if that took it past its cap
        (the first time, count what is there)."""
        if self._cap is None:
            return
        with self._fresh_lock:
            added, self._thumb_bytes = added + self._thumb_bytes, 0
        if self._cache_bytes is not None:
            self._cache_bytes += added
            if self._cache_bytes <= self._cap:
                return
        if self._pruning is None or self._pruning.done():
            self._pruning = asyncio.create_task(self._prune())

    async def _prune(self) -> None:
        # What this process shows or fetches right now stays, whatever its age.
        shown = list(self._tiles)[-ON_SCREEN:]  # the most recently asked for, last
        busy = {key[0] for key in shown} | set(self._inflight)
        try:
            left = await asyncio.to_thread(self._prune_blocking, busy)
        except Exception as exc:  # an unreadable history or cache costs the bound, not the app
            log.warning("could not prune the image cache: %s", getattr(exc, "human", exc))
            return
        self._cache_bytes = left

    def _prune_blocking(self, busy: set[str]) -> int:
        """Blocking: the cache's size after bringing it under the cap, if it was over."""
        assert self._cap is not None
        now = evict.usage(self._cache_dir).bytes
        if now <= self._cap:
            return now
        keep = busy | set(self._keep() if self._keep is not None else ())
        pruned = evict.prune(self._cache_dir, int(self._cap * LOW_WATER), keep)
        if pruned.removed:
            log.info("image cache pruned: %d images, %d bytes", pruned.removed, pruned.freed)
        return pruned.left.bytes

    # -- plumbing ----------------------------------------------------------------------

    async def _in_thread(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        async with self._decode_slots:
            return await asyncio.to_thread(fn, *args, **kwargs)

    def _recall(self, key: tuple[str, int, int]) -> TileResult | None:
        tile = self._tiles.get(key)
        if tile is not None:
            self._tiles.move_to_end(key)
        return tile

    def _remember(self, key: tuple[str, int, int], tile: TileResult) -> None:
        self._tiles[key] = tile
        self._tiles.move_to_end(key)
        while len(self._tiles) > MEMORY_TILES:
            self._tiles.popitem(last=False)


def _identity(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return st.st_dev, st.st_ino, st.st_size


def _tile_key(url: str, size: tuple[int, int]) -> tuple[str, int, int]:
    width, height = size
    if not (0 < width <= MAX_THUMB_SIDE and 0 < height <= MAX_THUMB_SIDE):
        raise ValueError(f"thumbnail size must be 1..{MAX_THUMB_SIDE} per side, got {size}")
    return url, int(width), int(height)


def _write_thumbnail(full: Path, size: tuple[int, int], thumb: Image.Image) -> int:
    """The bytes written."""
    try:
        return cache.save_thumb(full, size, thumb).stat().st_size
    except OSError:
        log.warning("could not write a thumbnail to the cache", exc_info=True)
        return 0
