"""TheNextLeg v2 (the seed's API): ``/imagine``, ``/message/{id}``, ``/button`` by label
on ``buttonMessageId``, Bearer auth. The four tiles come with the result."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from app.api.client import ImagineClient
from app.api.models import MessageStatus, parse_message, parse_submitted
from app.backends.base import (
    Button,
    Failure,
    Feature,
    Image,
    Press,
    Submission,
    Unsupported,
    Update,
    UpdateState,
    service_time,
    split_prompts,
)
from app.backends.http import HttpAdapter
from app.backends.reasons import explain, refusals
from app.images.split import grid_tiles


class TheNextLeg(HttpAdapter):
    name = "thenextleg"
    # A seed is the ✉️ button's job here, and a remix prompt rides on the button press.
    features: frozenset[Feature] = frozenset({"describe", "blend"})

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        timeout: float = 30.0,
        expire_mins: int | None = None,
        client: ImagineClient | None = None,
    ) -> None:
        super().__init__(base_url, token, timeout=timeout, client=client)
        self.expire_mins = expire_mins

    async def imagine(self, prompt: str, ref: str | None, webhook: str | None) -> Submission:
        with refusals():
            submitted = await self.client.imagine(prompt, ref=ref, webhook_override=webhook)
        return Submission(submitted.message_id, accepted_at=service_time(submitted.created_at))

    async def press(
        self, target: str, button: str, ref: str | None, webhook: str | None, press: Press
    ) -> Submission:
        with refusals(names_job=True):
            submitted = await self.client.button(
                button,
                target,
                ref=ref,
                webhook_override=webhook,
                zoom=press.zoom,
                ar=press.ar,
                prompt=press.prompt,
            )
        return Submission(submitted.message_id, accepted_at=service_time(submitted.created_at))

    async def confirm(self, job_id: str, prompt: str) -> Submission:
        raise Unsupported("A separate prompt step", self.name)

    async def fetch(self, job_id: str) -> Update:
        return to_update(await self.client.message(job_id, self.expire_mins))

    async def describe(self, image: Image, ref: str | None) -> Submission:
        if not isinstance(image, str):
            raise Unsupported("Describing a local file (give an image URL)", self.name)
        return await self.submit("/describe", {"url": image})

    async def blend(self, images: Sequence[Image], ref: str | None) -> Submission:
        if not all(isinstance(i, str) for i in images):
            raise Unsupported("Blending local files (give image URLs)", self.name)
        return await self.submit("/blend", {"urls": list(images)})

    async def seed(self, job_id: str) -> str:
        raise Unsupported("Asking for a seed (press ✉️ instead)", self.name)

    async def get_image(self, url: str) -> bytes:
        return await self.client.get_image(url)

    def submission(self, answer: Any) -> Submission:
        return Submission(parse_submitted(answer).message_id)

    def read(self, body: Any) -> Update:
        update = to_update(parse_message(body))
        message_id = body.get("messageId") if isinstance(body, dict) else None
        if update.job_id is None and isinstance(message_id, str):  # a webhook names it here
            update = replace(update, job_id=message_id)
        return update


def to_update(status: MessageStatus) -> Update:
    result = status.response
    known = Update(
        "waiting",
        job_id=result.originating_message_id if result else None,
        ref=result.ref if result else None,
    )
    if status.failed:
        code = result.failure_code if result else None
        failure = explain(code) if code else Failure(_EXPIRED, "incomplete")
        return replace(known, state="failed", failure=failure)
    if status.done and result is not None:
        buttons = tuple(Button(label, send=label) for label in result.api_buttons)
        tiles = result.image_urls
        grid = any(b.name == "U1" for b in buttons)
        if not tiles and grid and result.image_url:  # a relative that sends only the grid
            tiles = grid_tiles(result.image_url)
        prompts: tuple[str, ...] = ()
        if result.type == "describe":
            prompts = split_prompts(result.content)
        return replace(
            known,
            state="done",
            progress=100,
            image_url=result.image_url,
            image_urls=tiles,
            buttons=buttons,
            button_target=result.button_message_id,
            seed=result.seed,
            prompts=prompts,
            prompt=result.content if result.type != "describe" else None,
            # the result message's time: when the job finished, by the service's clock
            finished_at=service_time(result.created_at),
        )
    progress = status.progress or 0
    state: UpdateState = "running" if progress > 0 else "waiting"
    return replace(known, state=state, progress=progress, preview_url=status.progress_image_url)


_EXPIRED = "The job failed or expired before it finished."
