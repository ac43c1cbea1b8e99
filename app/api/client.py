"""Async client for the imagine / message / button API.

One long-lived ``httpx.AsyncClient`` serves the API calls and, through :attr:`http`,
the image downloads, so every request shares one connection pool. The bearer token is
added per API request and never set on the pool, so image URLs (which come from the
server and may point anywhere) never receive it.

The client makes exactly one attempt per call. Pacing and retrying are the scheduler's
job (``app.jobs.scheduler``), because every request must go through one rate budget.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from typing import Any
from urllib.parse import quote, urlsplit

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
from app.urls import proxy_for, redact_url

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
MAX_REDIRECTS = 5
# A job's JSON is a few KB; anything near this is not an answer but a fault or an attack.
MAX_ANSWER_BYTES = 4 * 1024 * 1024
MAX_IMAGE_BYTES = 40 * 1024 * 1024  # /getImage answers an image: the pipeline's own cap
IMAGE_DEADLINE = 120.0  # a whole /getImage download, as for a direct image link
MAX_RETRY_AFTER = 300.0  # a longer Retry-After is a fault, not a plan: wait this instead
_PHRASE = re.compile(r"Invalid phrase:\s*'([^']*)'")


def validate_base_url(base_url: str) -> str:
    """Return the base URL without a trailing slash, or raise ``ValueError`` saying why."""
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"{clean_text(redact_url(base_url))[:200]!r} is not a usable base URL: "
            "it must look like https://host/path"
        )
    return base_url.strip().rstrip("/")


def retry_after_seconds(value: str | None) -> float | None:
    """The pause a Retry-After header asks for, in seconds (uncapped), or None."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # an HTTP date: rare here, and the scheduler's backoff covers it
    return max(0.0, seconds) if math.isfinite(seconds) else None


def error_for_status(response: httpx.Response) -> ApiError:
    status = response.status_code
    if status in (401, 403):
        return AuthError(status)
    if status == 429:
        asked = retry_after_seconds(response.headers.get("Retry-After"))
        return RateLimited(asked, limit=MAX_RETRY_AFTER)
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
        # TheNextLeg's msg; NestJS's message (a list of them from its validators) before
        # its error, which is only the status's name; the proxy's description.
        for key in ("msg", "message", "error", "description"):
            value = body.get(key)
            if isinstance(value, list):
                value = "; ".join(v for v in value if isinstance(v, str))
            if isinstance(value, str) and value.strip():
                return clean_text(value[:300], single_line=True)
    return "no details"


def path_segment(job_id: str) -> str:
    """A job id as one path segment: percent-encoded, so "/", "?" or "#" stay inside it."""
    return quote(job_id, safe="")


def total_seconds(timeout: httpx.Timeout | float) -> float:
    """The whole-request deadline for a timeout setting, or ``ValueError`` saying why not.

    httpx's timeouts are per read: an answer trickled a byte at a time never trips them.
    """
    if isinstance(timeout, httpx.Timeout):
        parts = (timeout.connect, timeout.read, timeout.write, timeout.pool)
        seconds = max((p for p in parts if p is not None), default=DEFAULT_TIMEOUT.read or 30.0)
    else:
        seconds = timeout
    if not (isinstance(seconds, (int, float)) and math.isfinite(seconds) and seconds > 0):
        raise ValueError(
            f"The timeout must be a positive number of seconds, not {seconds!r}: "
            "with it every request would fail before the service could answer."
        )
    return float(seconds)


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
        use_env_proxy: bool = True,
    ) -> None:
        """``use_env_proxy``: honour HTTP(S)_PROXY / NO_PROXY (off for the built-in
        simulator, which is on this machine)."""
        self.base_url = validate_base_url(base_url)
        self.deadline = total_seconds(timeout)
        self.proxy = proxy_for(self.base_url) if use_env_proxy and transport is None else None
        self._token = token
        # No explicit transport unless a test gives one: httpx builds its own, and only
        # then does it apply the environment's proxy settings.
        self.http = httpx.AsyncClient(
            timeout=timeout,
            transport=transport,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=8),
            trust_env=use_env_proxy,
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
            headers={"User-Agent": "imagine-tui"},
        )

    def __repr__(self) -> str:  # never shows the token
        token = "set" if self._token else "unset"
        return f"ImagineClient({redact_url(self.base_url)!r}, token={token})"

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
        return parse_submitted(await self.call("POST", "/imagine", body))

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
        return parse_submitted(await self.call("POST", "/button", body))

    async def message(self, message_id: str, expire_mins: int | None = None) -> MessageStatus:
        params = {"expireMins": str(expire_mins)} if expire_mins is not None else None
        return parse_message(
            await self.call("GET", f"/message/{path_segment(message_id)}", params=params)
        )

    async def get_image(self, image_url: str) -> bytes:
        """``POST /getImage``: the documented way round result URLs that answer 403."""
        _, body = await self._send(
            "POST",
            "/getImage",
            json_body={"imgUrl": image_url},
            max_bytes=MAX_IMAGE_BYTES,
            deadline=IMAGE_DEADLINE,
        )
        return body

    async def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        params: dict[str, str] | None = None,
    ) -> Any:
        """One request to ``path`` under the base URL, with its JSON ``body``: the answer's
        JSON, or an :class:`ApiError`. Every backend's adapter calls its API through this."""
        status, answer = await self._send(method, path, json_body=body, params=params)
        try:
            return json.loads(answer, parse_constant=_no_constant)
        except (ValueError, UnicodeDecodeError):
            kind = "an HTML page" if b"<html" in answer[:500].lower() else "not JSON"
            raise BadResponse(f"HTTP {status} answer was {kind}") from None
        except RecursionError:  # thousands of nested brackets: not an answer
            raise BadResponse(f"HTTP {status} answer was nested too deeply") from None

    # -- plumbing --------------------------------------------------------------------

    async def _send(
        self,
        method: str,
        path: str,
        *,
        json_body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        max_bytes: int = MAX_ANSWER_BYTES,
        deadline: float | None = None,
    ) -> tuple[int, bytes]:
        headers = {"Content-Type": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        # A GET is safe to repeat; a POST that may have arrived must not be resent blindly.
        is_post = method == "POST"
        seconds = deadline or self.deadline
        try:
            async with (
                asyncio.timeout(seconds),
                self.http.stream(
                    method,
                    self.base_url + path,
                    json=json_body,
                    params=params,
                    headers=headers,
                    # A redirected POST may already have been acted on; following it (as a
                    # GET, or to another host) would hide that.
                    follow_redirects=not is_post,
                ) as response,
            ):
                status = response.status_code
                if is_post and response.is_redirect:
                    raise BadResponse(
                        f"HTTP {status}: the service redirected the request instead of "
                        "answering it, so it may or may not have been received"
                    )
                body = await _read_capped(response, max_bytes)
        except TimeoutError:  # the whole-request deadline
            raise ApiTimeout(
                f"The service did not finish answering within {seconds:g} s (the timeout setting).",
                maybe_sent=is_post,
            ) from None
        except httpx.TimeoutException as exc:
            sent = is_post and not isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout))
            raise ApiTimeout(
                f"The service did not answer within {seconds:g} s "
                f"(the timeout setting; {type(exc).__name__}).",
                maybe_sent=sent,
            ) from None
        except httpx.TooManyRedirects:
            raise BadResponse("too many redirects") from None
        except (httpx.ConnectError, httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            host = urlsplit(redact_url(self.base_url)).netloc
            via = f" through the proxy {redact_url(self.proxy)}" if self.proxy else ""
            raise NetworkError(
                f"Cannot reach the service at {host}{via}: "
                f"{clean_text(str(exc)) or 'connection failed'}",
                maybe_sent=False,
            ) from None
        except httpx.TransportError as exc:  # dropped mid-request or mid-answer
            raise NetworkError(
                f"The connection to the service broke ({type(exc).__name__}).",
                maybe_sent=is_post,
            ) from None
        if status >= 400:
            raise error_for_status(httpx.Response(status, headers=response.headers, content=body))
        return status, body


async def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    too_big = BadResponse(f"the answer is larger than {max_bytes // (1024 * 1024)} MB")
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_big  # the 1 MB error page and the 2 GB body alike: not read
    body = bytearray()
    async for chunk in response.aiter_bytes():  # decoded: a gzip bomb is capped on its size
        body += chunk
        if len(body) > max_bytes:
            raise too_big
    return bytes(body)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # Infinity / NaN: Python accepts them, JSON does not
