"""The image cache at scale: growth under the cap, thumbnail bytes per job, the cost of
checking cached files, and showing a job's four tiles from memory and from disk.

    python bench/scale.py [--out result.json]

Images are 1024 px simulator landscapes saved as PNG (about 1.1 MB each, as a service's
tiles), served from a loopback HTTP server; everything goes through the real
``ImagePipeline`` on a real cache directory.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the loopback picture server the tests use

from picture_server import PictureServer, serving  # noqa: E402

from app.images import ImagePipeline  # noqa: E402
from app.images.cache import url_key  # noqa: E402
from app.images.evict import usage  # noqa: E402
from app.simulator import imagegen, landscape  # noqa: E402

TILE = 1024
TILE_THUMB = (384, 384)  # app/ui/grid.py: a tile of the job's grid
LARGE_THUMB = (768, 768)  # app/ui/grid.py: a job with one image
MB = 1024**2


def _pictures(n: int = 4) -> list[bytes]:
    scenes = landscape.grid_scenes("misty alpine lake at dawn, pine forest", 11)
    return [imagegen.encode_png(imagegen.render(s, TILE)) for s in scenes[:n]]


def _age(cache: Path, url: str, seconds: float) -> None:
    stamp = time.time() - seconds
    for path in cache.glob(url_key(url) + "*"):
        os.utime(path, (stamp, stamp))


async def cache_growth(
    server: PictureServer, pictures: list[bytes], cap_mb: float = 24, images: int = 60
) -> dict[str, Any]:
    """Download ``images`` images into a cache capped at ``cap_mb``, one after another,
    each viewed as a tile; the cache's size after each (its peak against the cap).
    The files' times are set back as if one image arrived every 10 s (the pruning never
    takes what was used in the last second)."""
    cap = int(cap_mb * MB)
    sizes: list[int] = []
    with tempfile.TemporaryDirectory(prefix="bench-cache-") as tmp:
        cache = Path(tmp)
        async with httpx.AsyncClient(timeout=30, trust_env=False) as http:
            pipeline = ImagePipeline(http, cache, cache_cap=cap)
            t0 = time.perf_counter()
            for n in range(images):
                url = server.url(f"/{n}/growth-{n}.png")
                await pipeline.thumbnail(url, TILE_THUMB)
                await pipeline.flush()
                _age(cache, url, 10.0 * (images - n))
                sizes.append(usage(cache).bytes)
            elapsed = time.perf_counter() - t0
        left = usage(cache)
    downloaded = sum(len(pictures[n % len(pictures)]) for n in range(images))
    return {
        "cap": cap,
        "images": images,
        "downloaded": downloaded,
        "peak": max(sizes),
        "final": left.bytes,
        "final_images": left.images,
        "seconds": elapsed,
    }


async def thumbnail_bytes(server: PictureServer) -> dict[str, Any]:
    """Thumbnail bytes one viewed job leaves in the cache: its four tiles at the grid's
    size plus one at the single-image size. "Before": the same thumbnails as PNG
    (compress level 1, what the cache wrote until this change)."""
    with tempfile.TemporaryDirectory(prefix="bench-thumbs-") as tmp:
        cache = Path(tmp)
        async with httpx.AsyncClient(timeout=30, trust_env=False) as http:
            pipeline = ImagePipeline(http, cache)
            urls = [server.url(f"/{n}/thumb-{n}.png") for n in range(4)]
            tiles = await pipeline.thumbnails(urls, TILE_THUMB)
            large = await pipeline.thumbnail(urls[0], LARGE_THUMB)
            await pipeline.flush()
        full = {url_key(u) for u in urls}
        stored = [p for p in cache.iterdir() if ".t" in p.name and p.name[:64] in full]
        now = sum(p.stat().st_size for p in stored)
        before = 0
        for tile in [*tiles, large]:
            assert not isinstance(tile, Exception) and hasattr(tile, "thumbnail")
            buf = io.BytesIO()
            tile.thumbnail.save(buf, format="PNG", compress_level=1)  # type: ignore[union-attr]
            before += len(buf.getvalue())
        formats = sorted({p.suffix for p in stored})
    return {"files": len(stored), "bytes": now, "png_bytes": before, "formats": formats}


async def hits_and_tiles(
    server: PictureServer, pictures: list[bytes], reps: int = 15
) -> dict[str, Any]:
    """Per job of four cached tiles (thumbnails on disk): a new pipeline's first
    ``thumbnails()`` (from disk, as j/k to a job not seen in this run) and a second one
    (from memory); and what ``fetch()`` of a cached image costs, first time and again."""
    disk, memory, first_hit, again_hit = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="bench-hits-") as tmp:
        cache = Path(tmp)
        async with httpx.AsyncClient(timeout=30, trust_env=False) as http:
            urls = [server.url(f"/{n}/hit-{n}.png") for n in range(4)]
            warm = ImagePipeline(http, cache)
            await warm.thumbnails(urls, TILE_THUMB)
            await warm.flush()  # thumbnails on disk
            for _ in range(reps):
                pipeline = ImagePipeline(http, cache)  # as a new start of the app
                t0 = time.perf_counter()
                await pipeline.thumbnails(urls, TILE_THUMB)
                disk.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                await pipeline.thumbnails(urls, TILE_THUMB)
                memory.append(time.perf_counter() - t0)
                fresh = ImagePipeline(http, cache)
                t0 = time.perf_counter()
                for url in urls:
                    await fresh.fetch(url)
                first_hit.append((time.perf_counter() - t0) / len(urls))
                t0 = time.perf_counter()
                for url in urls:
                    await fresh.fetch(url)
                again_hit.append((time.perf_counter() - t0) / len(urls))
            downloads = server.hits
    med = statistics.median
    return {
        "disk_ms": 1000 * med(disk),
        "memory_ms": 1000 * med(memory),
        "hit_first_ms": 1000 * med(first_hit),
        "hit_again_ms": 1000 * med(again_hit),
        "downloads": downloads,
        "file_bytes": len(pictures[0]),
    }


async def measure() -> dict[str, Any]:
    pictures = await asyncio.to_thread(_pictures)
    # a path /<n>/<anything> answers picture n % 4
    with serving(lambda path: pictures[int(path.split("/")[1]) % len(pictures)]) as server:
        out: dict[str, Any] = {"picture_bytes": [len(p) for p in pictures]}
        out["thumbnails"] = await thumbnail_bytes(server)
        out["hits"] = await hits_and_tiles(server, pictures)
        out["growth"] = await cache_growth(server, pictures)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    result = asyncio.run(measure())
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
