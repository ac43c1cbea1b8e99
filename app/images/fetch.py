"""Streamed, capped downloads of image URLs, every failure mapped to a sentence."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from app.images.model import ImageFetchError
from app.text import clean_text

MAX_URL_LENGTH = 8192
ALLOWED_SCHEMES = ("http", "https")


class Forbidden(ImageFetchError):
    """The link answered 403: result URLs expire, and the service has a fallback for that."""

    def __init__(self) -> None:
        super().__init__("The image link answered HTTP 403 (it may have expired)")


def check_url(url: str) -> str:
    """Return the URL if it is an http(s) link with a host, else raise. Does no I/O."""
    if len(url) > MAX_URL_LENGTH:
        raise ImageFetchError("The image link is too long")
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        raise ImageFetchError("The image link is not a valid address") from None
    # file:, data:, javascript:, ftp: ... would read local files or run nothing useful.
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise ImageFetchError("Only http and https image links are fetched")
    if not parts.hostname:
        raise ImageFetchError("The image link has no host name")
    return url


def too_large(max_bytes: int) -> ImageFetchError:
    return ImageFetchError(f"The image is larger than {_size(max_bytes)}")


def _size(n: int) -> str:
    mb = n / (1024 * 1024)
    return f"{mb:g} MB" if mb >= 1 else f"{n} bytes"


async def download(http: httpx.AsyncClient, url: str, max_bytes: int) -> bytes:
    """GET ``url`` into memory, aborting as soon as the body passes ``max_bytes``.

    Raises :class:`Forbidden` on 403 (so the caller can try its fallback) and
    :class:`ImageFetchError` for everything else that goes wrong.
    """
    try:
        async with http.stream("GET", url, headers={"Accept": "image/*"}) as response:
            return await _read_capped(response, max_bytes)
    except httpx.TooManyRedirects:
        raise ImageFetchError("The image link redirected too many times") from None
    except httpx.TimeoutException:
        raise ImageFetchError("The image server did not answer in time", transient=True) from None
    except httpx.ConnectError:
        host = clean_text(urlsplit(url).hostname or "?", single_line=True)[:100]
        raise ImageFetchError(f"Cannot reach the image server {host}", transient=True) from None
    except httpx.UnsupportedProtocol:
        # A redirect can point at file: or ftp: even when the first link was https.
        raise ImageFetchError("Only http and https image links are fetched") from None
    except httpx.InvalidURL:
        raise ImageFetchError("The image link is not a valid address") from None
    except httpx.DecodingError:
        raise ImageFetchError("The image download was garbled (bad compression)") from None
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
        raise ImageFetchError("The download broke off", transient=True) from None
    except httpx.HTTPError as exc:
        raise ImageFetchError(
            f"The image download failed ({type(exc).__name__})", transient=True
        ) from None


async def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    status = response.status_code
    if status == 403:
        raise Forbidden()
    if status >= 400:
        retry = status >= 500 or status == 429
        raise ImageFetchError(f"The image link answered HTTP {status}", transient=retry)
    if status != 200:
        raise ImageFetchError(f"The image link answered HTTP {status}, not an image")
    # Trust Content-Length to fail early, but verify while reading: it can lie or be absent.
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large(max_bytes)
    body = bytearray()
    # aiter_bytes yields decoded bytes, so a gzip bomb is capped on its real size.
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > max_bytes:
            raise too_large(max_bytes)
    return bytes(body)
