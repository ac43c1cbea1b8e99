"""The seed's JavaScript flow, ported as written (async Python + httpx).

Faithful on purpose, including its weaknesses: no status-code checks (a 429's JSON body
has no ``progress``, so it just counts as a retry), a POST answered with 429 gives no
``messageId`` and the flow then polls ``/message/undefined``, a fixed 5 s sleep between
polls (time-scaled here), and ``maxRetry = 20``. Thrown errors end the flow as failed.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

SEED_SLEEP = 5.0  # seconds between polls in the seed
MAX_RETRY = 20


class SeedError(Exception):
    """What the JS would ``throw``."""


def _js_str(value: Any) -> str:
    """How a template literal renders a value: a missing one becomes "undefined"."""
    if value is None:
        return "undefined"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _get(obj: Any, key: str) -> Any:
    """``obj.key`` in JS: undefined (None) unless obj is an object holding key."""
    return obj.get(key) if isinstance(obj, dict) else None


async def _json(response: httpx.Response) -> Any:
    # `await res.json()` rejects on a body that is not JSON: that throws too.
    try:
        return response.json()
    except ValueError as exc:
        raise SeedError(f"res.json() failed: {exc}") from None


@dataclass
class SeedFlow:
    """One run of the seed's ``main()`` (or its imagine half)."""

    client: httpx.AsyncClient
    base_url: str
    scale: float  # the 5 s sleep becomes 5 / scale
    token: str = "bench-token"  # the JS sends `Bearer ${AUTH_TOKEN}`; httpx refuses "Bearer "
    polls: int = 0
    posts: int = 0
    error: str | None = None
    done_at: list[float] = field(default_factory=list)  # when each completion was seen

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}

    async def fetch_to_completion(
        self, message_id: Any, retry_count: int, max_retry: int = MAX_RETRY
    ) -> Any:
        # The JS recurses; a loop with the same checks in the same order is equivalent.
        while True:
            self.polls += 1
            res = await self.client.get(
                f"{self.base_url}/message/{_js_str(message_id)}", headers=self.headers
            )
            data = await _json(res)
            progress = _get(data, "progress")
            if progress == 100 and not isinstance(progress, bool):
                return data
            if progress == "incomplete":
                raise SeedError("Image generation failed")
            if retry_count > max_retry:
                raise SeedError("Max retries exceeded")
            await asyncio.sleep(SEED_SLEEP / self.scale)
            retry_count += 1

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        self.posts += 1
        res = await self.client.post(f"{self.base_url}{path}", json=body, headers=self.headers)
        return await _json(res)

    async def imagine(self, prompt: str) -> Any:
        submitted = await self.post("/imagine", {"msg": prompt})
        completed = await self.fetch_to_completion(_get(submitted, "messageId"), 0)
        self.done_at.append(time.monotonic())
        return completed

    async def main(self, prompt: str, *, variation: bool = True) -> bool:
        """True when the flow completed; thrown errors are caught and recorded."""
        try:
            completed = await self.imagine(prompt)
            if variation:
                # `completedImageData.response.buttonMessageId`: a TypeError in JS if
                # response is missing; here the same thing ends the flow.
                response = _get(completed, "response")
                if not isinstance(response, dict):
                    raise SeedError("TypeError: response is undefined")
                variation_data = await self.post(
                    "/button",
                    {"button": "V1", "buttonMessageId": response.get("buttonMessageId")},
                )
                await self.fetch_to_completion(_get(variation_data, "messageId"), 0)
                self.done_at.append(time.monotonic())
        except (SeedError, httpx.HTTPError) as exc:
            self.error = str(exc) or type(exc).__name__
            return False
        return True
