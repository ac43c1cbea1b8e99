"""What the adapters share: the API client (one attempt per call, typed errors, the token
never on image downloads), how a constructor gets it, and the proxy's raw-secret auth.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from urllib.parse import urlsplit

import httpx

from app.api.client import ImagineClient
from app.backends.base import Unsupported, Update


class HttpAdapter:
    """The parts of :class:`app.backends.base.BackendApi` that are the same for every API:
    the client and its pool, polling job by job (where there is no batch fetch), closing."""

    name: str
    batch = False

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        timeout: float = 30.0,
        client: ImagineClient | None = None,
    ) -> None:
        self.client = client or ImagineClient(base_url, token, timeout=timeout)
        self.base_url = self.client.base_url
        self.http: httpx.AsyncClient = self.client.http  # image downloads share the pool

    async def fetch(self, job_id: str) -> Update:
        raise NotImplementedError

    async def fetch_many(self, job_ids: Sequence[str]) -> dict[str, Update]:
        return {job_id: await self.fetch(job_id) for job_id in job_ids}

    async def get_image(self, url: str) -> bytes:
        raise Unsupported("Fetching an expired image again", self.name)

    async def aclose(self) -> None:
        await self.client.aclose()


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
