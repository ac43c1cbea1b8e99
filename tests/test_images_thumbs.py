"""Thumbnails on disk: JPEG (WebP where there is transparency) at the size asked for,
a fraction of the PNG they used to be; old PNG thumbnails are still read."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from picture_server import PictureServer, serving
from PIL import Image

from app.images import ImagePipeline, TileResult
from app.images.cache import find_full, thumb_path

SIZE = (256, 256)


def _picture(mode: str) -> bytes:
    """A 1024 px picture with detail (noise over a gradient), as PNG."""
    noise = Image.effect_noise((1024, 1024), 40).convert("RGB")
    gradient = Image.linear_gradient("L").resize((1024, 1024)).convert("RGB")
    im = Image.blend(noise, gradient, 0.6)
    if mode == "RGBA":
        im.putalpha(Image.linear_gradient("L").resize((1024, 1024)))
    buf = io.BytesIO()
    im.save(buf, "PNG", compress_level=1)
    return buf.getvalue()


@pytest.fixture
def server() -> Iterator[PictureServer]:
    bodies = {"/rgb.png": _picture("RGB"), "/rgba.png": _picture("RGBA")}
    with serving(bodies.__getitem__) as srv:
        yield srv


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10.0, trust_env=False) as client:
        yield client


def _png_size(im: Image.Image) -> int:
    buf = io.BytesIO()
    im.save(buf, "PNG", compress_level=1)  # what thumbnails were written as before
    return len(buf.getvalue())


@pytest.mark.parametrize(
    ("path", "fmt", "ext"), [("/rgb.png", "JPEG", ".jpg"), ("/rgba.png", "WEBP", ".webp")]
)
async def test_thumbnails_are_stored_small_and_load_back_alike(
    server: PictureServer, http: httpx.AsyncClient, tmp_path: Path, path: str, fmt: str, ext: str
) -> None:
    url = server.url(path)
    first = ImagePipeline(http, tmp_path)
    shown = await first.thumbnail(url, SIZE)
    await first.flush()  # the thumbnail file is written in the background
    full = find_full(tmp_path, url)
    assert full is not None
    small = thumb_path(full, SIZE, ext)
    with Image.open(small) as im:
        assert im.format == fmt and im.size == SIZE
    assert small.stat().st_size * 4 < _png_size(shown.thumbnail)  # a fraction of the PNG

    again = await ImagePipeline(http, tmp_path).thumbnail(url, SIZE)  # a new start: from disk
    assert isinstance(again, TileResult)
    assert again.thumbnail.mode == shown.thumbnail.mode and again.thumbnail.size == SIZE
    if fmt == "WEBP":  # transparency survives: clear at the top, opaque at the bottom
        top, bottom = (again.thumbnail.getpixel((128, y)) for y in (5, 250))
        assert isinstance(top, tuple) and isinstance(bottom, tuple)
        assert top[3] < 40 and bottom[3] > 215
    a = shown.thumbnail.convert("L").resize((8, 8))
    b = again.thumbnail.convert("L").resize((8, 8))
    assert max(abs(x - y) for x, y in zip(a.tobytes(), b.tobytes(), strict=True)) < 16


async def test_a_thumbnail_from_an_earlier_version_is_still_read(
    server: PictureServer, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    url = server.url("/rgb.png")
    pipeline = ImagePipeline(http, tmp_path)
    full = await pipeline.fetch(url)
    Image.new("RGB", (256, 256), (0, 0, 255)).save(thumb_path(full, SIZE, ".png"), "PNG")
    tile = await pipeline.thumbnail(url, SIZE)
    assert tile.thumbnail.getpixel((128, 128)) == (0, 0, 255)  # the old file, not a new one
