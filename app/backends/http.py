"""The HTTP the adapters share: the API client's pool and error mapping, and auth headers.

Every adapter goes through :class:`app.api.client.ImagineClient` (one attempt per call,
typed errors, the token never on image downloads); this module is the one place that
reaches into it for paths other than TheNextLeg's.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any
from urllib.parse import urlsplit

import httpx

from app.api.client import ImagineClient


async def request_json(
    client: ImagineClient, method: str, path: str, body: dict[str, Any] | None = None
) -> Any:
    """One API call: the answer's JSON, or an ``app.api.errors`` exception."""
    return await client._request(method, path, json_body=body)


class RawTokenAuth(httpx.Auth):
    """``Authorization: <token>`` with no "Bearer" (midjourney-proxy compares it verbatim),
    on requests to the API's own origin only. httpx drops the header on a redirect to
    another origin, so the secret never leaves the service it was given for."""

    def __init__(self, token: str, base_url: str) -> None:
        self._token = token
        parts = urlsplit(base_url)
        self._origin = (parts.scheme, parts.netloc.lower())

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if (request.url.scheme, request.url.netloc.decode().lower()) == self._origin:
            request.headers["Authorization"] = self._token
        yield request

    def __repr__(self) -> str:  # never shows the token
        return "RawTokenAuth(***)"
