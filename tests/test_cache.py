"""The bounded image cache: real files, a real store, real HTTP on loopback, the real CLI."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from demo_settings import demo_settings, opened
from picture_server import PictureServer, serving
from PIL import Image

from app.images import ImagePipeline
from app.images.cache import url_key
from app.images.evict import prune, usage
from app.jobs.model import Job, JobState
from app.jobs.store import JobStore
from app.runtime import KEEP_NEWEST, prune_images

MB = 1024**2


def _put(cache: Path, url: str, size: int, age: float, thumbs: int = 0) -> list[Path]:
    """A cached image of ``size`` bytes (and thumbnails) last used ``age`` seconds ago."""
    cache.mkdir(parents=True, exist_ok=True)
    key = url_key(url)
    paths = [cache / f"{key}.png"] + [cache / f"{key}.t{n}x{n}.png" for n in range(1, thumbs + 1)]
    for path in paths:
        path.write_bytes(b"x" * size)
        stamp = time.time() - age
        os.utime(path, (stamp, stamp))
    return paths


def test_least_recently_used_go_first_with_their_thumbnails(tmp_path: Path) -> None:
    cache = tmp_path / "images"
    oldest = _put(cache, "http://h/old.png", MB, age=300, thumbs=2)
    middle = _put(cache, "http://h/mid.png", MB, age=200)
    kept = _put(cache, "http://h/kept.png", MB, age=900)  # the oldest, but kept
    newest = _put(cache, "http://h/new.png", MB, age=100)
    foreign = cache / "notes.txt"
    foreign.write_bytes(b"y" * MB)  # not the cache's own: never removed, still counted
    assert usage(cache).images == 4 and usage(cache).files == 7

    pruned = prune(cache, 3 * MB, keep_urls=["http://h/kept.png"])
    assert not any(p.exists() for p in oldest) and not middle[0].exists()
    assert kept[0].exists() and newest[0].exists() and foreign.exists()
    assert (pruned.removed, pruned.freed) == (2, 4 * MB)
    assert usage(cache) == pruned.left and pruned.left.bytes == 3 * MB
    assert prune(cache, 3 * MB).removed == 0  # under the cap: nothing more goes


def test_tiles_cut_from_a_kept_grid_are_kept(tmp_path: Path) -> None:
    from app.images.split import grid_tiles

    cache = tmp_path / "images"
    grid = "http://h/grid.png"
    tiles = [_put(cache, t, MB, age=500)[0] for t in grid_tiles(grid)]
    prune(cache, 0, keep_urls=[grid])
    assert all(t.exists() for t in tiles)


def _job(n: int, *, urls: tuple[str, ...] = (), favourite: bool = False) -> Job:
    job = Job(id=f"job{n:04d}", kind="imagine", prompt=f"p{n}")
    return dataclasses.replace(
        job,
        state=JobState.DONE,
        image_urls=urls,
        favourite=favourite,
        created_at=1_000_000.0 + n,
    )


def test_favourites_and_the_newest_jobs_keep_their_images(tmp_path: Path) -> None:
    settings = demo_settings(tmp_path / "d").with_(cache_max=1 / 1024)  # 1 MB
    fav, old, recent = "http://h/fav.png", "http://h/old.png", "http://h/recent.png"
    with JobStore(settings.db_path) as store:
        store.save(_job(1, urls=(fav,), favourite=True))
        store.save(_job(2, urls=(old,)))
        store.save_many(_job(n) for n in range(3, KEEP_NEWEST + 3))
        store.save(_job(KEEP_NEWEST + 3, urls=(recent,)))
    paths = {u: _put(settings.image_dir, u, MB, age=1000)[0] for u in (fav, old, recent)}
    pruned = prune_images(settings)
    assert pruned.removed == 1 and not paths[old].exists()
    assert paths[fav].exists() and paths[recent].exists()


def _noise_png() -> bytes:
    buf = io.BytesIO()
    # noise: a picture's bytes (12 KB), not a flat colour's (its thumbnail is smaller)
    Image.effect_noise((64, 64), 64).convert("RGB").save(buf, "PNG")
    return buf.getvalue()


PNG = _noise_png()


@pytest.fixture
def images_server() -> Iterator[PictureServer]:
    """Serves :data:`PNG` at any path; counts the downloads."""
    with serving(lambda path: PNG) as server:
        yield server


def _age(path: Path, seconds: float) -> None:
    stamp = time.time() - seconds
    os.utime(path, (stamp, stamp))


def test_a_viewed_image_goes_last_and_an_evicted_one_is_fetched_again(
    tmp_path: Path, images_server: PictureServer
) -> None:
    base = images_server.url("")
    a, b = f"{base}/a.png", f"{base}/b.png"
    cache = tmp_path / "images"

    async def run() -> None:
        async with httpx.AsyncClient() as http:
            pipeline = ImagePipeline(http, cache)
            path_a, path_b = await pipeline.fetch(a), await pipeline.fetch(b)
            _age(path_a, 600)
            _age(path_b, 300)
            assert await pipeline.fetch(a) == path_a  # from the cache: now the most recent
            assert images_server.hits == 2
            assert path_a.stat().st_mtime > time.time() - 60 > path_b.stat().st_mtime
            one = path_a.stat().st_size
            prune(cache, one)
            assert path_a.exists() and not path_b.exists()
            assert pipeline.cached_path(b) is None
            tile = await pipeline.thumbnail(b, (16, 16))  # viewed again: downloaded again
            assert images_server.hits == 3 and path_b.exists() and tile is not None

    asyncio.run(run())


def test_cache_command_shows_the_size_and_prunes_to_the_cap(tmp_path: Path) -> None:
    data = tmp_path / "d"
    for n in range(3):
        _put(data / "images", f"http://h/{n}.png", MB, age=100 * (3 - n), thumbs=1)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app", "cache", *args, "--data-dir", str(data)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    shown = cli()
    assert shown.returncode == 0, shown.stderr
    assert "6.0 MB, 3 images (6 files); cap 2 GB" in shown.stdout
    pruned = cli("--prune", "--cache-max", str(2.5 / 1024))  # 2.5 MB
    assert pruned.returncode == 0, pruned.stderr
    assert "removed 2 images (4.0 MB)" in pruned.stdout
    assert "2.0 MB, 1 images (2 files)" in pruned.stdout
    assert (data / "images" / f"{url_key('http://h/2.png')}.png").exists()  # the newest
    bad = cli("--cache-max", "-1")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_downloads_past_the_cap_prune_while_running_but_never_kept_or_shown_images(
    tmp_path: Path, images_server: PictureServer
) -> None:
    """The app's pipeline keeps the cache under its cap as images arrive, not only at start:
    least recently used first, never a kept (favourite) image nor one on screen."""
    base = images_server.url("")
    cache = tmp_path / "images"
    size = len(PNG)
    fav, shown = f"{base}/fav.png", f"{base}/shown.png"
    others = [f"{base}/{n}.png" for n in range(8)]

    async def run() -> None:
        async with httpx.AsyncClient() as http:
            pipeline = ImagePipeline(http, cache, cache_cap=4 * size, keep=lambda: {fav})
            tile = await pipeline.thumbnail(shown, (16, 16))  # on screen from now on
            paths = {shown: tile.path}
            for n, url in enumerate([fav, *others]):
                paths[url] = await pipeline.fetch(url)
                _age(paths[url], 1000 - 10 * n)  # older than anything fetched after it
                for path in cache.glob(url_key(shown) + "*"):
                    _age(path, 5000)  # the oldest, with its thumbnail
                _age(paths[fav], 5000)
                await pipeline.flush()  # the prune a download started has ended
                assert usage(cache).bytes <= 4.2 * size  # + one small thumbnail
            assert paths[fav].exists() and paths[shown].exists()  # the oldest of all
            assert paths[others[-1]].exists()  # the newest
            assert not paths[others[0]].exists() and not paths[others[1]].exists()
            hits = images_server.hits
            await pipeline.fetch(others[0])  # evicted: downloaded again when wanted
            assert images_server.hits == hits + 1

    asyncio.run(run())


def test_no_cap_no_pruning(tmp_path: Path, images_server: PictureServer) -> None:
    """Scripts and tests that give no cap keep everything they fetch."""
    base = images_server.url("")
    cache = tmp_path / "images"

    async def run() -> None:
        async with httpx.AsyncClient() as http:
            pipeline = ImagePipeline(http, cache)
            for n in range(5):
                _age(await pipeline.fetch(f"{base}/{n}.png"), 1000)
            await pipeline.flush()
        assert usage(cache).images == 5

    asyncio.run(run())


def test_a_cached_file_checked_once_is_checked_again_when_it_changes(
    tmp_path: Path, images_server: PictureServer
) -> None:
    """Cache hits skip the checksum pass for a file already checked in this process, but a
    file replaced or cut short since (by a crash, another program) is checked again and,
    being damaged, downloaded again rather than used."""
    base = images_server.url("")
    cache = tmp_path / "images"
    url = f"{base}/a.png"

    async def run() -> None:
        async with httpx.AsyncClient() as http:
            pipeline = ImagePipeline(http, cache)
            path = await pipeline.fetch(url)
            for _ in range(3):
                assert await pipeline.fetch(url) == path
            assert images_server.hits == 1
            other = tmp_path / "other.png"  # replaced by another program: a new file
            other.write_bytes(PNG[:-20])
            os.replace(other, path)
            await pipeline.fetch(url)
            assert images_server.hits == 2
            with path.open("r+b") as fp:  # cut short in place
                fp.truncate(len(PNG) // 2)
            await pipeline.fetch(url)
            assert images_server.hits == 3
            assert path.read_bytes() == PNG

    asyncio.run(run())


def test_the_app_prunes_old_images_while_running_once_its_downloads_pass_the_cap(
    tmp_path: Path,
) -> None:
    """Through the runtime the app and the CLI share: a cache at its cap when the backend
    opens (so the start-up prune removes nothing) goes back under it as a new job's
    images arrive; the new job's images stay."""

    settings = demo_settings(tmp_path / "d").with_(cache_max=2 / 1024)  # 2 MB
    old = [
        _put(settings.image_dir, f"http://h/old{n}.png", MB // 2, age=3600 * (n + 1))[0]
        for n in range(4)
    ]  # 2 MB: exactly the cap

    async def run() -> list[str]:
        async with opened(settings) as backend:
            if backend.pruning is not None:
                await backend.pruning  # the start-up prune: nothing over the cap yet
            assert all(p.exists() for p in old)
            manager = backend.manager
            job = manager.submit_imagine("a lake at dawn")
            job = await asyncio.wait_for(manager.until_settled(job.id), 60)
            assert job.state is JobState.DONE
            assert await manager.images_ready(job.id) == ()
            await backend.images.flush()  # the prune the downloads started has ended
            return [u for u in job.display_urls if backend.images.cached_path(u) is None]

    assert asyncio.run(run()) == []  # the new job's images are all there
    assert not old[-1].exists()  # the least recently used went
    assert usage(settings.image_dir).bytes <= 2 * MB
