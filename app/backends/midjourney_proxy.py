"""midjourney-proxy (trueai-org's C# fork; base URL ending in ``/mj``).

Refusals come as HTTP 200 with a ``code`` (1/22 accepted, 21 waits for a prompt, 24
banned, 3 unknown task, 4 invalid, 9 failure or queue full); tasks carry ``"57%"``
progress and one grid; buttons are pressed by ``customId``; running jobs are fetched all
at once through ``list-by-condition``. The secret goes raw in ``Authorization``.
"""

from __future__ import annotations

import asyncio
import base64
import io
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from PIL import Image as PILImage

from app.api.client import ImagineClient, path_segment
from app.api.errors import FAILURE_CODES, BadResponse, PromptBlocked
from app.backends.base import (
    BadInput,
    Button,
    Failure,
    Feature,
    Image,
    Press,
    Refused,
    Submission,
    Unsupported,
    Update,
    UpdateState,
    percent,
    split_prompts,
    text,
)
from app.backends.http import HttpAdapter, RawTokenAuth
from app.backends.reasons import explain, refusals, refused
from app.images.decode import decode_bytes
from app.images.fetch import download
from app.images.model import ImageFetchError
from app.images.split import grid_tiles

ACCEPTED = (1, 22)  # 22: queued behind the account's other jobs, still accepted
MODAL = 21
BANNED = 24
NOT_FOUND = 3
_STATES: dict[str, UpdateState] = {
    "NOT_START": "waiting",
    "SUBMITTED": "waiting",
    "IN_PROGRESS": "running",
    "SUCCESS": "done",
    "FAILURE": "failed",
    "CANCEL": "failed",
    "MODAL": "modal",
}
SINGLE_ACTIONS = frozenset({"UPSCALE", "UPSCALE_HD"})
# Buttons that make no job of their own here: ❤️ bookmarks, describe's own prompt buttons
# (the app runs a picked prompt as a new imagine instead).
_SKIPPED = ("MJ::BOOKMARK::", "MJ::Job::PicReader::", "MJ::Picread::")
BLEND_SIDE = 768  # pictures are sent inline: small enough for any body limit, plenty to blend
MAX_IMAGE_BYTES = 40 * 1024 * 1024
_UNKNOWN_TASK = Failure(FAILURE_CODES["NOT_FOUND"], "NOT_FOUND")


class MidjourneyProxy(HttpAdapter):
    name = "midjourney-proxy"
    batch = True
    features: frozenset[Feature] = frozenset({"describe", "blend", "seed", "remix"})

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        timeout: float = 30.0,
        client: ImagineClient | None = None,
    ) -> None:
        # No bearer token on the client: the proxy wants the raw secret (see RawTokenAuth).
        super().__init__(base_url, None, timeout=timeout, client=client)
        if token:
            self.http.auth = RawTokenAuth(token, self.base_url)

    # -- submitting -------------------------------------------------------------------

    def submission(self, answer: Any) -> Submission:
        return accepted(answer)

    def read(self, body: Any) -> Update:
        return to_update(body)

    async def imagine(self, prompt: str, ref: str | None, webhook: str | None) -> Submission:
        return await self.submit("/submit/imagine", _hooks({"prompt": prompt}, ref, webhook))

    async def press(
        self, target: str, button: str, ref: str | None, webhook: str | None, press: Press
    ) -> Submission:
        if button.startswith("MJ::Inpaint::"):
            raise Unsupported("Vary (Region), which needs a mask drawn by hand,", self.name)
        if not button.startswith("MJ::"):  # a label (a job from outside this history)
            button = await self._custom_id(target, button)
        body = _hooks({"taskId": target, "customId": button}, ref, webhook)
        if press.remix:
            body["enableRemix"] = True
        sent = await self.submit("/submit/action", body, names_job=True)
        if sent.modal_prompt is None:
            return sent
        # The service waits for a prompt: pre-fill it with what this press already says.
        prompt = press.prompt or sent.modal_prompt
        if press.zoom is not None:  # Custom Zoom takes its factor inside the prompt
            prompt = f"{_without_zoom(prompt)} --zoom {press.zoom:g}".strip()
        return Submission(sent.job_id, prompt)

    async def _custom_id(self, target: str, name: str) -> str:
        """The customId of the button called ``name`` on task ``target``, read from it."""
        parent = await self.fetch(target)
        if not parent.finished:
            raise Refused(Failure(FAILURE_CODES["NOT_FINISHED"], "NOT_FINISHED"))
        found = next((b.send for b in parent.buttons if b.name == name), None)
        if found is None:
            raise Refused(explain("BUTTON_NOT_FOUND"))
        return found

    async def confirm(self, job_id: str, prompt: str) -> Submission:
        body = {"taskId": job_id, "prompt": prompt}
        sent = await self.submit("/submit/modal", body, names_job=True)
        return Submission(sent.job_id)

    async def describe(self, image: Image, ref: str | None) -> Submission:
        body: dict[str, Any] = {"link": image} if isinstance(image, str) else {}
        if isinstance(image, bytes):  # decoding checks it is a picture: off the event loop
            body["base64"] = await _inline(image, shrink=False)
        return await self.submit("/submit/describe", _hooks(body, ref, None))

    async def blend(self, images: Sequence[Image], ref: str | None) -> Submission:
        pictures = [i if isinstance(i, bytes) else await self._download(i) for i in images]
        inline = [await _inline(p, shrink=True) for p in pictures]
        body = _hooks({"base64Array": inline, "dimensions": "SQUARE"}, ref, None)
        return await self.submit("/submit/blend", body)

    async def _download(self, url: str) -> bytes:
        try:
            return await download(self.http, url, MAX_IMAGE_BYTES)
        except ImageFetchError as exc:
            raise BadInput(f"The image {url[:100]!r} could not be fetched: {exc.human}") from None

    async def seed(self, job_id: str) -> str:
        with refusals(names_job=True):  # 404 code 3, or 400 code 4 while it runs
            answer = await self.client.call("GET", f"/task/{path_segment(job_id)}/image-seed")
        return accepted(answer).job_id  # the seed rides in "result"

    # -- polling ----------------------------------------------------------------------

    async def fetch(self, job_id: str) -> Update:
        found = await self.fetch_many([job_id])
        if job_id not in found:
            raise Refused(_UNKNOWN_TASK, 404)
        return found[job_id]

    async def fetch_many(self, job_ids: Sequence[str]) -> dict[str, Update]:
        if not job_ids:
            return {}
        answer = await self.client.call("POST", "/task/list-by-condition", {"ids": list(job_ids)})
        if not isinstance(answer, list):
            raise BadResponse("the task list is not a JSON array")
        wanted = set(job_ids)
        updates = {}
        for task in answer:
            update = to_update(task)
            if update.job_id in wanted:
                updates[update.job_id] = update
        return updates


# -- answers ------------------------------------------------------------------------------


def accepted(answer: Any) -> Submission:
    """A ``SubmitResultVO`` as a submission, or the refusal it carries as an exception."""
    if not isinstance(answer, dict):
        raise BadResponse("the answer is not a JSON object")
    if answer.get("success") is False:  # trueai's other error shape: {success, code, message}
        raise refused(text(answer.get("message")))
    code = answer.get("code")
    description = text(answer.get("description"))
    result = answer.get("result")
    properties = answer.get("properties") if isinstance(answer.get("properties"), dict) else {}
    assert isinstance(properties, dict)
    if code in ACCEPTED or code == MODAL:
        if not isinstance(result, (str, int)) or isinstance(result, bool) or not str(result):
            raise BadResponse(f"code {code} came without a task id")
        if code == MODAL:
            return Submission(str(result), text(properties.get("finalPrompt")))
        return Submission(str(result))
    if code == BANNED:
        word = properties.get("bannedWord")
        raise PromptBlocked(word if isinstance(word, str) else None, description)
    if not isinstance(code, int) or isinstance(code, bool):
        raise BadResponse("the answer has no code")
    raise refused(description, f"The service refused the request (code {code}).")


def to_update(task: Any) -> Update:
    """A proxy task object as an update."""
    if not isinstance(task, dict) or not isinstance(task.get("id"), (str, int)):
        raise BadResponse("a task without an id")
    status = task.get("status")
    state = _STATES.get(status if isinstance(status, str) else "")
    if state is None:
        raise BadResponse(f"unknown task status {text(status)[:30]!r}")
    properties = task.get("properties") if isinstance(task.get("properties"), dict) else {}
    assert isinstance(properties, dict)
    known = Update(
        state,
        job_id=str(task["id"]),
        ref=text(task.get("state")) or None,
        parent_id=text(task.get("parentId")) or None,
    )
    image_url = text(task.get("imageUrl")) or None
    if state == "failed":
        return replace(known, failure=explain(text(task.get("failReason"))))
    if state == "modal":
        return replace(known, prompt=text(properties.get("finalPrompt")))
    if state != "done":
        return replace(known, progress=percent(task.get("progress")), preview_url=image_url)
    action = text(task.get("action"))
    prompts: tuple[str, ...] = ()
    tiles: tuple[str, ...] = ()
    if action == "DESCRIBE":
        prompts = split_prompts(text(properties.get("finalPrompt")) or text(task.get("promptEn")))
    elif action in SINGLE_ACTIONS:
        tiles = (image_url,) if image_url else ()
    elif image_url:
        tiles = _official_tiles(task.get("imageUrls")) or grid_tiles(image_url)
    return replace(
        known,
        progress=100,
        image_url=image_url,
        image_urls=tiles,
        buttons=_buttons(task.get("buttons")),
        button_target=str(task["id"]),
        seed=text(task.get("seed")) or None,
        prompts=prompts,
        prompt=text(task.get("promptEn")) or text(task.get("prompt")) or None,
    )


def _buttons(raw: Any) -> tuple[Button, ...]:
    buttons = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict):
            continue
        custom = text(item.get("customId"))
        if not custom or custom.startswith(_SKIPPED):  # URL buttons have no customId
            continue
        button = Button(text(item.get("label")), text(item.get("emoji")), custom)
        if button.name:
            buttons.append(button)
    return tuple(buttons)


def _official_tiles(raw: Any) -> tuple[str, ...]:
    """trueai's ``imageUrls``: four ``{url, thumbnail}`` objects, when it fills them."""
    if not isinstance(raw, list) or len(raw) != 4:
        return ()
    urls = [text(i.get("url")) if isinstance(i, dict) else "" for i in raw]
    return tuple(urls) if all(urls) else ()


def _hooks(body: dict[str, Any], ref: str | None, webhook: str | None) -> dict[str, Any]:
    if ref is not None:
        body["state"] = ref
    if webhook is not None:
        body["notifyHook"] = webhook
    return body


def _without_zoom(prompt: str) -> str:
    words = prompt.split()
    kept = []
    skip = False
    for word in words:
        if skip:
            skip = False
            continue
        if word == "--zoom":
            skip = True
            continue
        kept.append(word)
    return " ".join(kept)


async def _inline(data: bytes, *, shrink: bool) -> str:
    try:
        return await asyncio.to_thread(data_url, data, shrink=shrink)
    except ImageFetchError as exc:
        raise BadInput(f"An image to send is not usable: {exc.human}") from None


def data_url(data: bytes, *, shrink: bool) -> str:
    """``data:image/...;base64,...`` for an image (made smaller first when ``shrink``)."""
    fmt, picture = decode_bytes(data, 64_000_000)
    if shrink and max(picture.size) > BLEND_SIDE:
        picture.thumbnail((BLEND_SIDE, BLEND_SIDE))
        out = io.BytesIO()
        picture.convert("RGB").save(out, format="JPEG", quality=90)
        data, fmt = out.getvalue(), "JPEG"
    mime = PILImage.MIME.get(fmt, "image/png")
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
