"""Async client for the imagine / message / button API.

One long-lived ``httpx.AsyncClient`` serves the API calls and, through :attr:`http`,
the image downloads, so every request shares one connection pool. The bearer token is
added per API request and never set on the pool, so image URLs (which come from the
server and may point anywhere) never receive it.

The client makes exactly one attempt per call. Pacing and retrying are the scheduler's
job (``app.jobs.scheduler``), because every request must go through one rate budget.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

import httpx

from app.api.errors import (
    ApiError,
    ApiTimeout,
    AuthError,
    BadRequest,
    BadResponse,
    NetworkError,
    PromptBlocked,
    RateLimited,
    ServerError,
)
from app.api.models import MessageStatus, Submitted, parse_message, parse_submitted
from app.text import clean_text

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
MAX_REDIRECTS = 5
_PHRASE = re.compile(r"Invalid phrase:\s*'([^']*)'")


def validate_base_url(base_url: str) -> str:
    """Return the base URL without a trailing slash, or raise ``ValueError`` saying why."""
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"{clean_text(base_url)[:200]!r} is not a usable base URL: "
            "it must look like https://host/path"
        )
    return base_url.strip().rstrip("/")


def retry_after_seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: rare here, and the scheduler's backoff covers it


def error_for_status(response: httpx.Response) -> ApiError:
    status = response.status_code
    if status in (401, 403):
        return AuthError(status)
    if status == 429:
        return RateLimited(retry_after_seconds(response.headers.get("Retry-After")))
    if status >= 500:
        return ServerError(status)
    msg = _server_message(response)
    phrase = _PHRASE.search(msg)
    if status == 400 and phrase:
        return PromptBlocked(phrase.group(1), msg)
    return BadRequest(status, msg)


def _server_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return clean_text(response.text[:200], single_line=True) or "no details"
    if isinstance(body, dict):
        for key in ("msg", "message", "error"):
            if isinstance(body.get(key), str):
                return clean_text(body[key][:300], single_line=True)
    return "no details"


class ImagineClient:
    """The API calls, each one attempt, each failure a typed :class:`ApiError`."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = 16,
    ) -> None:
        self.base_url = validate_base_url(base_url)
        self._token = token
        if transport is None:
            limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=8)
            transport = httpx.AsyncHTTPTransport(limits=limits)
        self.http = httpx.AsyncClient(
            timeout=timeout,
            transport=transport,
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
            headers={"User-Agent": "imagine-tui"},
        )

    def __repr__(self) -> str:  # never shows the token
        return f"ImagineClient({self.base_url!r}, token={'set' if self._token else 'unset'})"

    async def __aenter__(self) -> ImagineClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.http.aclose()

    # -- the API ---------------------------------------------------------------------

    async def imagine(
        self,
        prompt: str,
        ref: str | None = None,
        webhook_override: str | None = None,
    ) -> Submitted:
        body: dict[str, Any] = {"msg": prompt}
        if ref is not None:
            body["ref"] = ref
        if webhook_override is not None:
            body["webhookOverride"] = webhook_override
        return parse_submitted(await self._request("POST", "/imagine", json_body=body))

    async def button(
        self,
        label: str,
        button_message_id: str,
        ref: str | None = None,
        webhook_override: str | None = None,
        *,
        zoom: float | None = None,
        ar: str | None = None,
        prompt: str | None = None,
    ) -> Submitted:
        body: dict[str, Any] = {"button": label, "buttonMessageId": button_message_id}
        for key, value in (
            ("ref", ref),
            ("webhookOverride", webhook_override),
            ("zoom", zoom),
            ("ar", ar),
            ("prompt", prompt),
        ):
            if value is not None:
                body[key] = value
        return parse_submitted(await self._request("POST", "/button", json_body=body))

    async def message(self, message_id: str, expire_mins: int | None = None) -> MessageStatus:
        params = {"expireMins": str(expire_mins)} if expire_mins is not None else None
        path = "/message/" + httpx.URL(message_id).raw_path.decode("ascii", "replace").lstrip("/")
        return parse_message(await self._request("GET", path, params=params))

    async def get_image(self, image_url: str) -> bytes:
        """``POST /getImage``: the documented way round result URLs that answer 403."""
        response = await self._send("POST", "/getImage", json_body={"imgUrl": image_url})
        return response.content

    # -- plumbing --------------------------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json_body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> Any:
        response = await self._send(method, path, json_body=json_body, params=params)
        try:
            return json.loads(response.content)
        except (ValueError, UnicodeDecodeError):
            kind = "an HTML page" if b"<html" in response.content[:500].lower() else "not JSON"
            raise BadResponse(f"HTTP {response.status_code} answer was {kind}") from None

    async def _send(
        self,
        method: str,
        path: str,
        *,
        json_body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        # A GET is safe to repeat; a POST that may have arrived must not be resent blindly.
        is_post = method == "POST"
        try:
            response = await self.http.request(
                method, self.base_url + path, json=json_body, params=params, headers=headers
            )
        except httpx.TimeoutException as exc:
            sent = is_post and not isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout))
            raise ApiTimeout(
                f"The service did not answer in time ({type(exc).__name__}).", maybe_sent=sent
            ) from None
        except httpx.TooManyRedirects:
            raise BadResponse("too many redirects") from None
        except (httpx.ConnectError, httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            host = urlsplit(self.base_url).netloc
            raise NetworkError(
                f"Cannot reach the service at {host}: "
                f"{clean_text(str(exc)) or 'connection failed'}",
                maybe_sent=False,
            ) from None
        except httpx.TransportError as exc:  # dropped mid-request or mid-answer
            raise NetworkError(
                f"The connection to the service broke ({type(exc).__name__}).",
                maybe_sent=is_post,
            ) from None
        if response.status_code >= 400:
            raise error_for_status(response)
        return response
