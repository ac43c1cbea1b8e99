"""ImaginePro ("nova" API; the base URL is the host, paths under ``/api/v1``).

Bearer auth; submits answer ``{success, messageId}``; a message has ``status``
(QUEUED/PROCESSING/DONE/FAIL), a numeric progress and the grid in ``uri`` (no tiles, no
preview); buttons are labels pressed on the message's own id. No batch fetch, no prompt
step (a remix prompt rides on the press), and describe's result field is undocumented,
so describe is not offered. Blend takes image URLs the service can fetch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from app.api.client import path_segment
from app.api.errors import BadResponse
from app.backends.base import (
    Button,
    Feature,
    Image,
    Press,
    Submission,
    Unsupported,
    Update,
    UpdateState,
    percent,
    text,
)
from app.backends.http import HttpAdapter
from app.backends.reasons import explain, refused
from app.images.split import grid_tiles, parse_tile

_STATES: dict[str, UpdateState] = {
    "QUEUED": "waiting",
    "PROCESSING": "running",
    "DONE": "done",
    "FAIL": "failed",
}


class ImaginePro(HttpAdapter):
    name = "imaginepro"
    features: frozenset[Feature] = frozenset({"blend", "remix"})

    def submission(self, answer: Any) -> Submission:
        # A refusal may come as an HTTP error ({message, error, statusCode}, NestJS) or as
        # HTTP 200 with {success: false, error}: the docs show neither; both are read.
        if not isinstance(answer, dict):
            raise BadResponse("the answer is not a JSON object")
        message_id = answer.get("messageId")
        if answer.get("success") is not True or not isinstance(message_id, str) or not message_id:
            raise refused(text(answer.get("error")) or text(answer.get("message")))
        return Submission(message_id)

    def read(self, body: Any) -> Update:
        return to_update(body)

    async def imagine(self, prompt: str, ref: str | None, webhook: str | None) -> Submission:
        return await self.submit("/api/v1/nova/imagine", _hooks({"prompt": prompt}, ref, webhook))

    async def press(
        self, target: str, button: str, ref: str | None, webhook: str | None, press: Press
    ) -> Submission:
        if button.endswith("Vary (Region)"):
            raise Unsupported("Vary (Region), which needs a mask drawn by hand,", self.name)
        body = _hooks({"messageId": target, "button": button}, ref, webhook)
        if press.prompt:
            body["prompt"] = press.prompt
        return await self.submit("/api/v1/nova/button", body, names_job=True)

    async def confirm(self, job_id: str, prompt: str) -> Submission:
        raise Unsupported("A separate prompt step", self.name)

    async def fetch(self, job_id: str) -> Update:
        path = f"/api/v1/message/fetch/{path_segment(job_id)}"
        return to_update(await self.client.call("GET", path))

    async def describe(self, image: Image, ref: str | None) -> Submission:
        raise Unsupported("Describe (its result is not documented)", self.name)

    async def blend(self, images: Sequence[Image], ref: str | None) -> Submission:
        urls = [i for i in images if isinstance(i, str) and parse_tile(i) is None]
        if len(urls) != len(images):
            raise Unsupported(
                "Blending local files or single tiles of a grid (it needs image URLs)", self.name
            )
        return await self.submit("/api/v1/midjourney/blend", _hooks({"urls": urls}, ref, None))

    async def seed(self, job_id: str) -> str:
        raise Unsupported("Asking for a seed", self.name)


def to_update(message: Any) -> Update:
    if not isinstance(message, dict) or not isinstance(message.get("messageId"), str):
        raise BadResponse("a message without a messageId")
    status = message.get("status")
    state = _STATES.get(status if isinstance(status, str) else "")
    if state is None:
        raise BadResponse(f"unknown message status {str(status)[:30]!r}")
    parent = message.get("originatingMessageId") or message.get("originalMessageId")
    known = Update(
        state,
        job_id=message["messageId"],
        ref=text(message.get("ref")) or None,
        parent_id=parent if isinstance(parent, str) and parent else None,
    )
    if state == "failed":
        return replace(known, failure=explain(text(message.get("error"))))
    if state != "done":
        return replace(known, progress=percent(message.get("progress")))
    url = text(message.get("uri")) or text(message.get("originalUrl")) or None
    raw = message.get("buttons")
    labels = [b for b in raw if isinstance(b, str) and b] if isinstance(raw, list) else []
    buttons = tuple(Button(label, send=label) for label in labels)
    # No kind of job in the message: a grid is what offers U1–U4.
    grid = any(b.name == "U1" for b in buttons)
    tiles = (grid_tiles(url) if grid else (url,)) if url else ()
    return replace(
        known,
        progress=100,
        image_url=url,
        image_urls=tiles,
        buttons=buttons,
        button_target=known.job_id,
        prompt=text(message.get("prompt")) or None,
    )


def _hooks(body: dict[str, Any], ref: str | None, webhook: str | None) -> dict[str, Any]:
    if ref is not None:
        body["ref"] = ref
    if webhook is not None:
        body["webhookOverride"] = webhook
    return body
