"""The image pipeline against a real local HTTP server (127.0.0.1 only)."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import io
import socket
import struct
import threading
import time
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from PIL import Image

from app.files import TEMP_PREFIX
from app.images import ImageFailure, ImageFetchError, ImagePipeline, TileResult, save_copy

SMALL_CAP = 1024 * 1024


def png_bytes(size: tuple[int, int] = (256, 128), color: str = "red", mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, color).save(buf, format="PNG")
    return buf.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height``: a decompression bomb."""
    data = bytearray(png_bytes((1, 1), mode="L"))
    # IHDR data starts at byte 16 (8 signature + 4 length + 4 type); CRC covers type+data.
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "image/png"
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    send_length: bool = True
    declared_length: int | None = None  # lie about the length, then close
    stream_chunks: int = 0  # body sent this many times, no Content-Length


class Server:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                with outer._lock:
                    outer.hits[path] += 1
                route = outer.routes.get(path, Route(status=404, body=b"nope"))
                if route.delay:
                    time.sleep(route.delay)
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                for key, value in route.headers.items():
                    self.send_header(key, value)
                if route.stream_chunks:
                    self.end_headers()  # HTTP/1.0 and no length: the body ends at close
                    try:
                        for _ in range(route.stream_chunks):
                            self.wfile.write(route.body)
                    except OSError:
                        pass  # the client hung up at its cap, as it should
                    return
                if route.send_length:
                    length = route.declared_length or len(route.body)
                    self.send_header("Content-Length", str(length))
                self.end_headers()
                # The client may give up early (cap, deadline): expected here.
                with contextlib.suppress(OSError):
                    self.wfile.write(route.body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def add(self, path: str, route: Route | None = None, **kwargs: object) -> str:
        self.routes[path] = route or Route(**kwargs)  # type: ignore[arg-type]
        return self.base + path


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()
    thread = threading.Thread(target=srv.httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.httpd.shutdown()
        srv.httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    # trust_env=False: a proxy from the environment must not see 127.0.0.1 traffic.
    async with httpx.AsyncClient(
        follow_redirects=True, max_redirects=5, timeout=5.0, trust_env=False
    ) as client:
        yield client


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def cache_files(cache_dir: Path) -> list[str]:
    return sorted(p.name for p in cache_dir.iterdir()) if cache_dir.exists() else []


async def expect_error(pipeline: ImagePipeline, url: str) -> str:
    with pytest.raises(ImageFetchError) as info:
        await pipeline.fetch(url)
    return info.value.human


# -- success and caching ----------------------------------------------------------------


async def test_fetch_stores_verified_image(
    server: Server, http: httpx.AsyncClient, cache_dir: Path
) -> None:
    url = server.add("/a.png", body=png_bytes())
    pipeline = ImagePipeline(http, cache_dir)
    assert pipeline.cached_path(url) is None
    path = await pipeline.fetch(url)
    assert path.parent == cache_dir and path.suffix == ".png"
    assert path.read_bytes() == png_bytes()
    assert pipeline.cached_path(url) == path
    assert not [n for n in cache_files(cache_dir) if n.startswith(TEMP_PREFIX)]


async def test_cache_hit_makes_no_request(
    server: Server, http: httpx.AsyncClient, cache_dir: Path
) -> None:
    url = server.add("/a.png", body=png_bytes())
    first = await ImagePipeline(http, cache_dir).fetch(url)
    again = ImagePipeline(http, cache_dir)  # a restart: same cache dir, fresh memory
    assert await again.fetch(url) == first
    tile = await again.thumbnail(url, (32, 32))
    assert tile.path == first
    assert server.hits["/a.png"] == 1


async def test_concurrent_identical_fetches_share_one_download(
    server: Server, http: httpx.AsyncClient, cache_dir: Path
) -> None:
    url = server.add("/slow.png", body=png_bytes(), delay=0.2)
    pipeline = ImagePipeline(http, cache_dir)
    paths = await asyncio.gather(*(pipeline.fetch(url) for _ in range(5)))
    assert len(set(paths)) == 1
    assert server.hits["/slow.png"] == 1


async def test_cancelled_waiter_does_not_cancel_shared_download(
    server: Server, http: httpx.AsyncClient, cache_dir: Path
) -> None:
    url = server.add("/slow.png", body=png_bytes(), delay=0.2)
    pipeline = ImagePipeline(http, cache_dir)
    quitter = asyncio.create_task(pipeline.fetch(url))
    stayer = asyncio.create_task(pipeline.fetch(url))
    await asyncio.sleep(0.05)
    quitter.cancel()
    path = await asyncio.wait_for(stayer, 5)
    assert path.exists() and server.hits["/slow.png"] == 1


async def test_four_tiles_download_concurrently(
    server: Server, http: httpx.AsyncClient, cache_dir: Path
) -> None:
    colors = ["red", "green", "blue", "white"]
    urls = [
        server.add(f"/t{i}.png", body=png_bytes(color=c), delay=0.3) for i, c in enumerate(colors)
    ]
    pipeline = ImagePipeline(http, cache_dir)
    start = time.monotonic()
    tiles = await pipeline.thumbnails(urls, (64, 64))
    elapsed = time.monotonic() - start
    assert elapsed < 0.9, f"took {elapsed:.2f}s: the downloads ran one after another"
    assert [t.url for t in tiles] == urls
    for tile, color in zip(tiles, colors, strict=True):
        assert isinstance(tile, TileResult)
        assert tile.thumbnail.getpixel((0, 0)) == Image.new("RGB", (1, 1), color).getpixel((0, 0))


async def test_thumbnail_is_small_loaded_and_cached_on_disk(
    server: Server, http: httpx.AsyncClient, cache_dir: Path
) -> None:
    url = server.add("/a.png", body=png_bytes((256, 128)))
    pipeline = ImagePipeline(http, cache_dir)
    tile = await pipeline.thumbnail(url, (64, 64))
    assert (tile.width, tile.height) == (256, 128)
    assert tile.thumbnail.size == (64, 32) and tile.thumbnail.mode == "RGB"
    assert tile.thumbnail.getpixel((10, 10)) == (255, 0, 0)  # loaded: pixels readable
    for _ in range(100):  # the disk copy is written in the background, off the critical path
        if any(".t64x64." in n for n in cache_files(cache_dir)):
            break
        await asyncio.sleep(0.01)
    assert any(".t64x64." in n for n in cache_files(cache_dir))
    assert await pipeline.thumbnail(url, (64, 64)) is tile  # memory LRU

    offline = ImagePipeline(http, cache_dir)
    again = await offline.load_cached(url, (64, 64))
    assert again is not None and again.thumbnail.size == (64, 32)
    assert (again.width, again.height) == (256, 128)
    other_size = await offline.load_cached(url, (16, 16))  # built from the full file
    assert other_size is not None and other_size.thumbnail.size == (16, 8)
    assert server.hits["/a.png"] == 1


async def test_a_tile_waited_for_is_made_with_its_download_not_read_back_from_disk(
    server: Server, http: httpx.AsyncClient, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As when a job finishes on screen: the manager downloads its images while the grid
    waits for their tiles. The tile comes from the download's own decode; an image no
    grid waits for gets no thumbnail file."""
    from app.images import decode

    reads: list[str] = []
    for name in ("read_size", "make_thumbnail", "load_small"):
        real = getattr(decode, name)
        monkeypatch.setattr(
            decode,
            name,
            lambda *a, _real=real, _name=name, **k: reads.append(_name) or _real(*a, **k),
        )
    url = server.add("/a.png", body=png_bytes((256, 128)), delay=0.2)
    other = server.add("/b.png", body=png_bytes((256, 128)))
    pipeline = ImagePipeline(http, cache_dir)
    download = asyncio.create_task(pipeline.fetch(url))  # the manager's download
    await asyncio.sleep(0.05)
    tile = await pipeline.thumbnail(url, (64, 64))  # the grid, while it downloads
    await download
    assert tile.thumbnail.size == (64, 32) and (tile.width, tile.height) == (256, 128)
    assert tile.thumbnail.getpixel((10, 10)) == (255, 0, 0)
    assert reads == []  # decoded once, at download
    await pipeline.fetch(other)  # nobody waits for its tile
    await pipeline.flush()
    names = cache_files(cache_dir)
    assert any(".t64x64." in n for n in names)
    assert sum(".t64x64." in n for n in names) == 1  # not one for b.png


async def test_transparency_kept_as_rgba(
    server: Server, http: httpx.AsyncClient, cache_dir: Path
) -> None:
    url = server.add("/alpha.png", body=png_bytes((40, 40), color=(0, 0, 255, 0), mode="RGBA"))  # type: ignore[arg-type]
    tile = await ImagePipeline(http, cache_dir).thumbnail(url, (20, 20))
    assert tile.thumbnail.mode == "RGBA"


async def test_load_cached_is_none_when_missing_and_does_no_io(cache_dir: Path) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"unexpected request {request.url}")

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as client:
        pipeline = ImagePipeline(client, cache_dir)
        assert await pipeline.load_cached("https://example.invalid/x.png", (8, 8)) is None


async def test_thumbnails_turn_failures_into_image_failures(
    server: Server, http: httpx.AsyncClient, cache_dir: Path
) -> None:
    good = server.add("/good.png", body=png_bytes())
    html = server.add("/page", body=b"<!DOCTYPE html><html>login</html>", content_type="text/html")
    urls = [good, server.base + "/missing.png", html, "javascript:alert(1)"]
    results = await ImagePipeline(http, cache_dir).thumbnails(urls, (32, 32))
    assert isinstance(results[0], TileResult)
    assert results[1] == ImageFailure(urls[1], "The image link answered HTTP 404")
    assert results[2] == ImageFailure(urls[2], "The image is not a picture (HTML page)")
    assert results[3] == ImageFailure(urls[3], "Only http and https image links are fetched")


# -- failures ---------------------------------------------------------------------------


async def test_html_body_is_not_a_picture(
    server: Server, http: httpx.AsyncClient, cache_dir: Path
) -> None:
    url = server.add("/page", body=b"<html><body>Sign in</body></html>", content_type="text/html")
    human = await expect_error(ImagePipeline(http, cache_dir), url)
    assert human == "The image is not a picture (HTML page)"
    assert cache_files(cache_dir) == []


async def test_empty_body(server: Server, http: httpx.AsyncClient, cache_dir: Path) -> None:
    url = server.add("/empty.png", body=b"")
    human = await expect_error(ImagePipeline(http, cache_dir), url)
    assert human == "The image link returned an empty body"


async def test_truncated_png_leaves_nothing_in_cache(
    server: Server, http: httpx.AsyncClient, cache_dir: Path
) -> None:
    noisy = Image.effect_noise((300, 300), 64).convert("RGB")  # incompressible: a real half
    buf = io.BytesIO()
    noisy.save(buf, format="PNG")
    whole = buf.getvalue()
    url = server.add("/half.png", body=whole[: len(whole) // 2])
    pipeline = ImagePipeline(http, cache_dir)
    assert await expect_error(pipeline, url) == "The image is damaged or incomplete"
    assert cache_files(cache_dir) == []
    assert pipeline.cached_path(url) is None


async def test_connection_closed_mid_body(
    server: Server, http: httpx.AsyncClient, cache_dir: Path
) -> None:
    whole = png_bytes()
    url = server.add("/cut.png", body=whole[:50], declared_length=len(whole))
    assert await expect_error(ImagePipeline(http, cache_dir), url) == "The download broke off"
    assert cache_files(cache_dir) == []


async def test_declared_length_over_cap(
    server: Server, http: httpx.AsyncClient, cache_dir: Path
) -> None:
    url = server.add("/big.png", body=b"\0" * (SMALL_CAP + 1))
    pipeline = ImagePipeline(http, cache_dir, max_bytes=SMALL_CAP)
    assert await expect_error(pipeline, url) == "The image is larger than 1 MB"
    assert cache_files(cache_dir) == []


async def test_streamed_body_past_cap_without_length(
    server: Server, http: httpx.AsyncClient, cache_dir: Path
) -> None:
    url = server.add("/endless", body=b"\x89" * 65536, send_length=False, stream_chunks=64)
    pipeline = ImagePipeline(http, cache_dir, max_bytes=SMALL_CAP)
    assert await expect_error(pipeline, url) == "The image is larger than 1 MB"


async def test_gzip_bomb_capped_on_decoded_size(
    server: Server, http: httpx.AsyncClient, cache_dir: Path
) -> None:
    packed = gzip.compress(b"\0" * (4 * SMALL_CAP))
    assert len(packed) < SMALL_CAP // 10
    url = server.add("/gz.png", body=packed, headers={"Content-Encoding": "gzip"})
    pipeline = ImagePipeline(http, cache_dir, max_bytes=SMALL_CAP)
    assert await expect_error(pipeline, url) == "The image is larger than 1 MB"


async def test_decompression_bomb_header(
    server: Server, http: httpx.AsyncClient, cache_dir: Path
) -> None:
    bomb = png_declaring(20000, 20000)
    assert len(bomb) < 200
    url = server.add("/bomb.png", body=bomb)
    human = await expect_error(ImagePipeline(http, cache_dir), url)
    assert human == "The image is too large to decode safely"
    assert cache_files(cache_dir) == []


async def test_real_image_over_max_pixels(
    server: Server, http: httpx.AsyncClient, cache_dir: Path
) -> None:
    body = png_bytes((2000, 1000), mode="L", color="black")  # 2 Mpx, compresses to ~kB
    assert len(body) < 20_000
    url = server.add("/wide.png", body=body)
    pipeline = ImagePipeline(http, cache_dir, max_pixels=1_000_000)
    assert await expect_error(pipeline, url) == "The image is too large to decode safely"


async def test_http_404(server: Server, http: httpx.AsyncClient, cache_dir: Path) -> None:
    human = await expect_error(ImagePipeline(http, cache_dir), server.base + "/gone.png")
    assert human == "The image link answered HTTP 404"


async def test_403_without_fallback(
    server: Server, http: httpx.AsyncClient, cache_dir: Path
) -> None:
    url = server.add("/expired.png", status=403, body=b"denied", content_type="text/plain")
    human = await expect_error(ImagePipeline(http, cache_dir), url)
    assert "HTTP 403" in human


async def test_403_falls_back_to_get_image(
    server: Server, http: httpx.AsyncClient, cache_dir: Path
) -> None:
    url = server.add("/expired.png", status=403, body=b"denied", content_type="text/plain")
    calls: list[str] = []

    async def get_image(image_url: str) -> bytes:
        calls.append(image_url)
        return png_bytes((64, 64), color="green")

    pipeline = ImagePipeline(http, cache_dir, get_image=get_image)
    tile = await pipeline.thumbnail(url, (32, 32))
    assert calls == [url]
    assert tile.thumbnail.getpixel((1, 1)) == (0, 128, 0)
    assert server.hits["/expired.png"] == 1


async def test_403_fallback_failure_and_garbage(
    server: Server, http: httpx.AsyncClient, cache_dir: Path
) -> None:
    url = server.add("/expired.png", status=403, body=b"denied", content_type="text/plain")

    class FakeApiError(Exception):
        human = "The service rejected the API token (HTTP 401)."

    async def broken(image_url: str) -> bytes:
        raise FakeApiError

    async def html(image_url: str) -> bytes:
        return b"<html>error</html>"

    human = await expect_error(ImagePipeline(http, cache_dir, get_image=broken), url)
    assert "fallback failed" in human and "API token" in human
    human = await expect_error(ImagePipeline(http, cache_dir, get_image=html), url)
    assert human == "The image is not a picture (HTML page)"
    assert cache_files(cache_dir) == []


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "javascript:alert(1)",
        "data:image/png;base64,iVBORw0KGgo=",
        "ftp://example.com/a.png",
        "/relative/a.png",
        "",
    ],
)
async def test_non_http_links_rejected_without_io(url: str, cache_dir: Path) -> None:
    requests: list[httpx.Request] = []
    fallback_calls: list[str] = []

    def record(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, content=png_bytes())

    async def get_image(image_url: str) -> bytes:
        fallback_calls.append(image_url)
        return png_bytes()

    async with httpx.AsyncClient(transport=httpx.MockTransport(record)) as client:
        pipeline = ImagePipeline(client, cache_dir, get_image=get_image)
        with pytest.raises(ImageFetchError) as info:
            await pipeline.fetch(url)
    assert info.value.human in (
        "Only http and https image links are fetched",
        "The image link has no host name",
    )
    assert requests == [] and fallback_calls == []
    assert not cache_dir.exists()


async def test_redirect_loop(server: Server, http: httpx.AsyncClient, cache_dir: Path) -> None:
    url = server.add("/loop", status=302, headers={"Location": "/loop"})
    human = await expect_error(ImagePipeline(http, cache_dir), url)
    assert human == "The image link redirected too many times"
    assert server.hits["/loop"] == 6  # the first request plus max_redirects=5


async def test_redirect_to_file_scheme(
    server: Server, http: httpx.AsyncClient, cache_dir: Path
) -> None:
    url = server.add("/sneaky", status=302, headers={"Location": "file:///etc/passwd"})
    human = await expect_error(ImagePipeline(http, cache_dir), url)
    assert human == "Only http and https image links are fetched"


async def test_connection_refused(http: httpx.AsyncClient, cache_dir: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed on exit: nothing listens there now
    human = await expect_error(ImagePipeline(http, cache_dir), f"http://127.0.0.1:{port}/a.png")
    assert human == "Cannot reach the image server 127.0.0.1"


async def test_slow_download_hits_overall_deadline(
    server: Server, http: httpx.AsyncClient, cache_dir: Path
) -> None:
    url = server.add("/slow.png", body=png_bytes(), delay=1.0)
    pipeline = ImagePipeline(http, cache_dir, download_timeout=0.2)
    assert await expect_error(pipeline, url) == "The image download took too long"


async def test_damaged_cached_file_is_dropped_and_refetched(
    server: Server, http: httpx.AsyncClient, cache_dir: Path
) -> None:
    url = server.add("/a.png", body=png_bytes())
    pipeline = ImagePipeline(http, cache_dir)
    path = await pipeline.fetch(url)
    path.write_bytes(b"garbage")  # disk corruption after the fact
    assert await pipeline.load_cached(url, (16, 16)) is None
    assert pipeline.cached_path(url) is None
    tile = await pipeline.thumbnail(url, (16, 16))
    assert tile.thumbnail.size == (16, 8)
    assert server.hits["/a.png"] == 2


async def test_bad_thumbnail_size_is_refused(
    server: Server, http: httpx.AsyncClient, cache_dir: Path
) -> None:
    with pytest.raises(ValueError):
        await ImagePipeline(http, cache_dir).thumbnail(server.base + "/a.png", (0, 10))


# -- save_copy --------------------------------------------------------------------------


def test_save_copy_sanitises_stem_and_is_atomic(tmp_path: Path) -> None:
    src = tmp_path / "abc.png"
    src.write_bytes(png_bytes())
    out_dir = tmp_path / "out"
    dest = save_copy(src, out_dir, "../../etc/job 42:u1")
    assert dest.parent == out_dir
    assert dest.name == "______etc_job_42_u1.png"
    assert dest.read_bytes() == src.read_bytes()
    assert sorted(p.name for p in out_dir.iterdir()) == [dest.name]
    assert save_copy(src, out_dir, "").name == "image.png"
    assert save_copy(src, out_dir, "--rm").name == "rm.png"
