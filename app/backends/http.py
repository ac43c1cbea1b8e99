"""What the adapters share: the API client (one attempt per call, typed errors, the token
never on image downloads), how a constructor gets it, and the proxy's raw-secret auth.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx

from app.api.client import ImagineClient
from app.api.errors import BadResponse
from app.backends.base import Submission, Unsupported, Update
from app.backends.reasons import refusals


class HttpAdapter:
    """The parts of :class:`app.backends.base.BackendApi` that are the same for every API:
    the client and its pool, submitting, polling job by job (where there is no batch
    fetch), webhooks, closing. An adapter says how its API's answers read."""

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

    def submission(self, answer: Any) -> Submission:
        """A submit's answer as the job it made, or the refusal it carries as an exception."""
        raise NotImplementedError

    def read(self, body: Any) -> Update:
        """One job as the API shows it (polled or webhooked); ``BadResponse`` if it is not."""
        raise NotImplementedError

    async def submit(
        self, path: str, body: dict[str, Any], *, names_job: bool = False
    ) -> Submission:
        """POST a request. A refusal, in whatever shape, is its reason's exception (see
        :func:`refusals`); ``names_job``: the request names a job (a press), so a 404
        means the service does not know that job."""
        with refusals(names_job=names_job):
            answer = await self.client.call("POST", path, body)
        return self.submission(answer)

    async def fetch(self, job_id: str) -> Update:
        raise NotImplementedError

    async def fetch_many(self, job_ids: Sequence[str]) -> dict[str, Update]:
        return {job_id: await self.fetch(job_id) for job_id in job_ids}

    async def get_image(self, url: str) -> bytes:
        raise Unsupported("Fetching an expired image again", self.name)

    def webhook_update(self, body: Any) -> Update | None:
        try:
            return self.read(body)
        except BadResponse:
            return None

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
