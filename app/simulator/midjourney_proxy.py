"""The midjourney-proxy dialect (trueai-org's maintained C# fork, base URL ending in ``/mj``).

What a client meets there (``/work/shared/backends.md`` §1): the raw secret in
``mj-api-secret`` or ``Authorization`` (no "Bearer"; ``Authorization`` wins); almost
every refusal as HTTP 200 with a ``code`` and a Chinese ``description``; task ids as
numeric strings; ``progress`` as ``"57%"``; one 2×2 grid in ``imageUrl`` and no tiles;
buttons as ``{customId, emoji, label, style, type}`` pressed through ``/submit/action``;
Remix / Custom Zoom / Vary (Region) parked as ``MODAL`` until ``/submit/modal``; a
batch fetch; ``image-seed``; and 204 with no body for a task it does not know.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from app.simulator.buttons import PANS, REROLL, VARY_REGION
from app.simulator.dialect import Answer, Service, json_object, screen, with_body
from app.simulator.jobs import Delivery, SimJob

INSTANCE = "1118138338562560102"
CORE_SIZE = 3  # jobs an account runs at once; more wait in its queue (code 22)
_PREFIX = re.compile(r"^/mj-(?:fast|relax|turbo)(?=/mj/)")
_TASK = re.compile(r"^/mj/task/([^/]{1,80})/(fetch|image-seed)$")
_ZOOM = re.compile(r"\s--zoom\s+(\S+)")
_ROUTES = {
    ("POST", "/mj/submit/imagine"): "imagine",
    ("POST", "/mj/submit/action"): "action",
    ("POST", "/mj/submit/modal"): "modal",
    ("POST", "/mj/submit/describe"): "describe",
    ("POST", "/mj/submit/blend"): "blend",
    ("POST", "/mj/task/list-by-condition"): "list",
    ("POST", "/mj/task/list-by-ids"): "list",
    ("GET", "/mj/task/list"): "latest",
}
DIMENSIONS = ("PORTRAIT", "SQUARE", "LANDSCAPE")

# The proxy's own texts, as trueai writes them.
SUBMITTED = "提交成功"
NOT_FOUND = "关联任务不存在或已失效"
BAD_STATE = "关联任务状态错误"
BANNED = "可能包含敏感词"
QUEUE_FULL = "提交失败，队列已满，请稍后重试"
UNKNOWN_ACTION = "未知的 Action 类型"
TIMED_OUT = "任务超时"
# A failed job's reason, by the simulator's failure code (Discord's own texts in English).
FAIL_REASONS = {
    "BANNED_PROMPT": BANNED,
    "ALREADY_REQUESTED_UPSCALE": "You have already requested an upscale for this image.",
    "INVALID_PARAMETER": "Invalid parameter",
    "BUTTON_NOT_FOUND": UNKNOWN_ACTION,
}


@dataclass(frozen=True)
class ProxyButton:
    label: str  # what the simulator's button logic calls it
    custom: str  # customId format; {h} is the job's message hash
    shown: str  # the label the proxy shows ("" for emoji-only buttons)
    emoji: str
    action: str  # the task action a press creates
    modal: bool = False  # always asks for a prompt first
    remixable: bool = False  # asks for a prompt when enableRemix is sent


def _buttons() -> dict[str, ProxyButton]:
    table = [
        *(
            ProxyButton(f"U{n}", f"MJ::JOB::upsample::{n}::{{h}}", f"U{n}", "", "UPSCALE")
            for n in range(1, 5)
        ),
        ProxyButton(REROLL, "MJ::JOB::reroll::0::{h}::SOLO", "", REROLL, "REROLL", remixable=True),
        *(
            ProxyButton(
                f"V{n}", f"MJ::JOB::variation::{n}::{{h}}", f"V{n}", "", "VARIATION", remixable=True
            )
            for n in range(1, 5)
        ),
        ProxyButton(
            "Vary (Strong)",
            "MJ::JOB::high_variation::1::{h}::SOLO",
            "Vary (Strong)",
            "\U0001fa84",
            "VARIATION",
            remixable=True,
        ),
        ProxyButton(
            "Vary (Subtle)",
            "MJ::JOB::low_variation::1::{h}::SOLO",
            "Vary (Subtle)",
            "\U0001fa84",
            "VARIATION",
            remixable=True,
        ),
        ProxyButton(
            VARY_REGION,
            "MJ::Inpaint::1::{h}::SOLO",
            "Vary (Region)",
            "\U0001f58c\ufe0f",
            "VARIATION",
            modal=True,
        ),
        ProxyButton(
            "Zoom Out 2x", "MJ::Outpaint::50::1::{h}::SOLO", "Zoom Out 2x", "\U0001f50d", "ZOOM"
        ),
        ProxyButton(
            "Zoom Out 1.5x", "MJ::Outpaint::75::1::{h}::SOLO", "Zoom Out 1.5x", "\U0001f50d", "ZOOM"
        ),
        ProxyButton(
            "Custom Zoom", "MJ::CustomZoom::{h}", "Custom Zoom", "\U0001f50d", "ZOOM", modal=True
        ),
        *(
            ProxyButton(
                arrow, f"MJ::JOB::pan_{way}::1::{{h}}::SOLO", "", arrow, "PAN", remixable=True
            )
            for arrow, way in PANS.items()
        ),
        ProxyButton(
            "Upscale (2x)",
            "MJ::JOB::upsample_v5_2x::1::{h}::SOLO",
            "Upscale (2x)",
            "",
            "UPSCALE_HD",
        ),
        ProxyButton(
            "Upscale (4x)",
            "MJ::JOB::upsample_v5_4x::1::{h}::SOLO",
            "Upscale (4x)",
            "",
            "UPSCALE_HD",
        ),
    ]
    return {b.label: b for b in table}


BUTTONS = _buttons()


@dataclass
class _Modal:
    """A task parked in MODAL: an action waiting for its prompt."""

    parent_id: str
    label: str
    final_prompt: str
    state: str | None
    hook: str | None
    submit_ms: int


def task_id() -> str:
    """Milliseconds since the epoch and three random digits, as the proxy makes them."""
    return f"{int(time.time() * 1000)}{secrets.randbelow(1000):03d}"


def _vo(
    code: int,
    description: str,
    result: Any = None,
    properties: dict[str, Any] | None = None,
    status: int = 200,
) -> Answer:
    body = {"code": code, "description": description, "result": result}
    body["properties"] = properties if properties is not None else {}
    return Answer(status, body)


def _submitted(job_id: str, running: int) -> Answer:
    where = {"discordInstanceId": INSTANCE, "discordChannelId": INSTANCE}
    waiting = running - CORE_SIZE
    if waiting > 0:
        return _vo(
            22, f"排队中，前面还有{waiting}个任务", job_id, {**where, "numberOfQueues": waiting}
        )
    return _vo(1, SUBMITTED, job_id, where)


def _result_error(message: str) -> Answer:
    """trueai's second error shape: exceptions and unreadable bodies, still HTTP 200."""
    ticks = str(int(time.time() * 10_000_000) + 621_355_968_000_000_000)
    return Answer(200, {"success": False, "code": -1, "message": message, "timestamp": ticks})


def message_hash(job: SimJob) -> str:
    """The Discord message hash buttons name: a UUID, stable for the job."""
    digest = hashlib.sha256(job.button_message_id.encode()).digest()
    return str(uuid.UUID(bytes=digest[:16]))


def _ms(job: SimJob, moment: float) -> int:
    return int((job.created_wall.timestamp() + moment - job.created) * 1000)


class MidjourneyProxy:
    name = "midjourney-proxy"
    base_path = "/mj"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._modals: dict[str, _Modal] = {}

    # -- the Dialect protocol ---------------------------------------------------------

    def new_id(self) -> str:
        return task_id()

    def route(self, method: str, path: str) -> str | None:
        path = _PREFIX.sub("", path.rstrip("/"))
        task = _TASK.match(path)
        if task and method == "GET":
            return task.group(2)
        return _ROUTES.get((method, path))

    def known_path(self, path: str) -> bool:
        path = _PREFIX.sub("", path.rstrip("/"))
        return _TASK.match(path) is not None or any(p == path for _, p in _ROUTES)

    def credential(self, headers: Mapping[str, str]) -> str:
        # Authorization wins when both are sent, and is compared verbatim (no "Bearer").
        return headers.get("authorization") or headers.get("mj-api-secret") or ""

    def unauthorized(self) -> Answer:
        return Answer(401, b"Authorization header missing.", "text/plain; charset=utf-8")

    def error(self, status: int, msg: str) -> Answer:
        if status >= 500:
            ticks = str(int(time.time() * 10_000_000))
            body = {"success": False, "code": -1, "message": "操作失败", "timestamp": ticks}
            return Answer(status, body)
        # 404/405/413 from ASP.NET and 429 from its IP rate limiter carry no body.
        return Answer(status, b"", "text/plain")

    def delivery(self, sim: Service, delivery: Delivery, base_url: str) -> Delivery:
        return with_body(sim, delivery, self.task, base_url)

    def dispatch(
        self, sim: Service, name: str, raw_path: str, body: bytes, base_url: str
    ) -> Answer:
        path = _PREFIX.sub("", unquote(urlsplit(raw_path).path).rstrip("/"))
        if name in ("fetch", "image-seed"):
            match = _TASK.match(path)
            assert match is not None
            if name == "fetch":
                return self._fetch(sim, match.group(1), base_url)
            return self._seed(sim, match.group(1))
        if name == "latest":
            jobs = sorted(sim.store.snapshot().values(), key=lambda j: j.created, reverse=True)
            return Answer(200, [self.task(sim, j, base_url) for j in jobs[:100]])
        data = json_object(body)
        if data is None:
            return _result_error("请求参数格式错误")
        if name == "list":
            return self._list(sim, data, base_url)
        handlers = {
            "imagine": self._imagine,
            "action": self._action,
            "modal": self._modal,
            "describe": self._describe,
            "blend": self._blend,
        }
        return handlers[name](sim, data)

    # -- endpoints --------------------------------------------------------------------

    def _common(self, data: dict[str, Any]) -> tuple[str | None, str | None, Answer | None]:
        state, hook = data.get("state"), data.get("notifyHook")
        if not all(v is None or isinstance(v, str) for v in (state, hook)):
            return None, None, _vo(4, "参数错误")
        if isinstance(state, str) and len(state) > 255:
            return None, None, _vo(4, "State参数过长，最大255字符")
        if isinstance(hook, str) and len(hook) > 2000:
            return None, None, _vo(4, "NotifyHook参数过长，最大2000字符")
        return state or None, hook or None, None

    def _refusal(self, sim: Service, prompt: str) -> tuple[Answer | None, str | None]:
        """(an answer refusing at once, or a failure code for later) for a prompt."""
        found = screen(sim, prompt, ban_at_submit=False)  # v11.6.2 on: fails once dequeued
        if found.word is not None:  # before v11.6.2: refused synchronously
            return _vo(24, BANNED, None, {"promptEn": prompt, "bannedWord": found.word}), None
        if found.queue_full:
            return _vo(9, QUEUE_FULL), None
        return None, found.failure

    def _imagine(self, sim: Service, data: dict[str, Any]) -> Answer:
        prompt = data.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            return _vo(4, "prompt不能为空")
        if data.get("base64Array"):
            return _vo(4, "禁止上传")  # EnableUserCustomUploadBase64 is off by default
        state, hook, bad = self._common(data)
        if bad:
            return bad
        refused, failure = self._refusal(sim, prompt)
        if refused:
            return refused
        job = sim.store.create_imagine(prompt.strip(), state, hook, failure_code=failure)
        return _submitted(job.message_id, sim.store.counts()["running"])

    def _action(self, sim: Service, data: dict[str, Any]) -> Answer:
        parent_id, custom = data.get("taskId"), data.get("customId")
        if not isinstance(parent_id, str) or not isinstance(custom, str) or not custom:
            return _vo(4, "参数错误")
        state, hook, bad = self._common(data)
        if bad:
            return bad
        parent = sim.store.get(parent_id)
        if parent is None:
            return _vo(3, NOT_FOUND, status=404)
        if parent.status != "done":
            return _vo(4, BAD_STATE)
        button = next(
            (
                b
                for b in self.buttons_of(parent)
                if b.custom.format(h=message_hash(parent)) == custom
            ),
            None,
        )
        if button is None:
            return _vo(4, UNKNOWN_ACTION)
        if button.modal or (button.remixable and data.get("enableRemix") is True):
            final = "" if button.label == VARY_REGION else parent.prompt
            if button.label == "Custom Zoom":
                final = f"{parent.prompt} --zoom 2"
            modal_id = sim.store.reserve_id()
            with self._lock:
                self._modals[modal_id] = _Modal(
                    parent.message_id, button.label, final, state, hook, int(time.time() * 1000)
                )
            return _vo(
                21, "Waiting for window confirm", modal_id, {"finalPrompt": final, "remix": True}
            )
        refused, _ = self._refusal(sim, "")
        if refused:
            return refused
        job = sim.store.create_button(parent, button.label, {}, state, hook)
        return _submitted(job.message_id, sim.store.counts()["running"])

    def _modal(self, sim: Service, data: dict[str, Any]) -> Answer:
        modal_id = data.get("taskId")
        with self._lock:
            modal = self._modals.get(modal_id) if isinstance(modal_id, str) else None
        parent = sim.store.get(modal.parent_id) if modal else None
        if modal is None or parent is None or not isinstance(modal_id, str):
            return _vo(3, NOT_FOUND, status=404)
        prompt = data.get("prompt")
        prompt = (
            prompt.strip() if isinstance(prompt, str) and prompt.strip() else modal.final_prompt
        )
        if not prompt:
            return _vo(4, "prompt不能为空")
        refused, failure = self._refusal(sim, prompt)
        if refused:
            return refused
        body: dict[str, Any] = {"prompt": prompt}
        if modal.label == "Custom Zoom":  # the zoom rides in the prompt: "… --zoom 2"
            zoom = _ZOOM.search(f" {prompt}")
            body = {"zoom": zoom.group(1) if zoom else None, "prompt": _ZOOM.sub("", f" {prompt}")}
        if modal.label == VARY_REGION and isinstance(data.get("maskBase64"), str):
            body["mask"] = data["maskBase64"]
        with self._lock:
            self._modals.pop(modal_id, None)
        if failure:  # a banned remix prompt fails like a banned imagine
            job = sim.store.create_imagine(prompt, modal.state, modal.hook, failure_code=failure)
        else:
            job = sim.store.create_button(
                parent, modal.label, body, modal.state, modal.hook, message_id=modal_id
            )
        return _submitted(job.message_id, sim.store.counts()["running"])

    def _describe(self, sim: Service, data: dict[str, Any]) -> Answer:
        link, b64 = data.get("link"), data.get("base64")
        state, hook, bad = self._common(data)
        if bad:
            return bad
        if isinstance(link, str) and link:
            if not re.match(r"^https?://", link):
                return _vo(4, "链接格式错误")
            source = link
        elif isinstance(b64, str) and b64:
            if not b64.startswith("data:image/"):
                return _vo(4, "base64格式错误")
            source = "upload:" + hashlib.sha256(b64.encode()).hexdigest()[:16]
        else:
            return _vo(4, "base64或link不能为空")
        job = sim.store.create_describe(source, state, hook)
        return _submitted(job.message_id, sim.store.counts()["running"])

    def _blend(self, sim: Service, data: dict[str, Any]) -> Answer:
        images = data.get("base64Array")
        if (
            not isinstance(images, list)
            or not 2 <= len(images) <= 5
            or not all(isinstance(i, str) and i.startswith("data:image/") for i in images)
        ):
            return _vo(4, "图片参数错误，2~5张图片")
        dimensions = data.get("dimensions", "SQUARE")
        if dimensions not in DIMENSIONS:
            return _vo(4, "参数错误")
        state, hook, bad = self._common(data)
        if bad:
            return bad
        refused, _ = self._refusal(sim, "")
        if refused:
            return refused
        # The scenes come from the pictures' digests: the same pictures blend the same way.
        digests = " ".join(hashlib.sha256(i.encode()).hexdigest()[:10] for i in images)
        job = sim.store.create_imagine(f"blend {digests}", state, hook, kind="blend")
        return _submitted(job.message_id, sim.store.counts()["running"])

    def _fetch(self, sim: Service, job_id: str, base_url: str) -> Answer:
        with self._lock:
            modal = self._modals.get(job_id)
        if modal is not None:
            return Answer(200, self._modal_task(job_id, modal))
        job = sim.store.get(job_id)
        if job is None:
            return Answer(204, b"", "text/plain")  # a null task: no body at all
        for owed in sim.store.settle(job):
            sim.webhooks.send(self.delivery(sim, owed, base_url))
        return Answer(200, self.task(sim, job, base_url))

    def _list(self, sim: Service, data: dict[str, Any], base_url: str) -> Answer:
        ids = data.get("ids")
        found = []
        for job_id in ids if isinstance(ids, list) else []:
            if not isinstance(job_id, str):
                continue
            with self._lock:
                modal = self._modals.get(job_id)
            if modal is not None:
                found.append(self._modal_task(job_id, modal))
                continue
            job = sim.store.get(job_id)
            if job is not None:
                for owed in sim.store.settle(job):
                    sim.webhooks.send(self.delivery(sim, owed, base_url))
                found.append(self.task(sim, job, base_url))
        return Answer(200, found)

    def _seed(self, sim: Service, job_id: str) -> Answer:
        job = sim.store.get(job_id)
        if job is None:
            return _vo(3, NOT_FOUND, status=404)
        if job.status != "done":
            return _vo(4, BAD_STATE, status=400)
        return _vo(1, "成功", str(job.gen_seed))

    # -- the task object --------------------------------------------------------------

    def buttons_of(self, job: SimJob) -> list[ProxyButton]:
        return [BUTTONS[label] for label in job.buttons if label in BUTTONS]

    def action_of(self, job: SimJob) -> str:
        if job.kind != "button":
            return {"blend": "BLEND", "describe": "DESCRIBE"}.get(job.kind, "IMAGINE")
        button = BUTTONS.get(job.label or "")
        return button.action if button else "IMAGINE"

    def _modal_task(self, job_id: str, modal: _Modal) -> dict[str, Any]:
        button = BUTTONS[modal.label]
        return {
            **_blank_task(job_id, button.action, modal.final_prompt, modal.state),
            "status": "MODAL",
            "description": "Waiting for window confirm",
            "submitTime": modal.submit_ms,
            "parentId": modal.parent_id,
            "properties": {"finalPrompt": modal.final_prompt, "remix": True},
        }

    def task(self, sim: Service, job: SimJob, base_url: str) -> dict[str, Any]:
        now = time.monotonic()
        action = self.action_of(job)
        prompt = "" if job.kind in ("blend", "describe") else job.prompt
        task = _blank_task(job.message_id, action, prompt, job.ref)
        task["parentId"] = job.parent_message_id
        task["submitTime"] = _ms(job, job.created)
        task["description"] = _command(job, action)
        properties: dict[str, Any] = {
            "finalPrompt": prompt,
            "discordInstanceId": INSTANCE,
            "discordChannelId": INSTANCE,
        }
        if job.webhook:
            properties["notifyHook"] = job.webhook
        root = f"{base_url}/images/{job.image_owner}"
        if job.status == "running":
            progress = sim.store.progress(job, now)
            started = progress > 0
            task["status"] = "IN_PROGRESS" if started else "SUBMITTED"
            task["progress"] = f"{progress}%"
            task["startTime"] = _ms(job, job.created) + 200 if started else None
            if started and job.scenes and not job.single:  # the latest progress preview
                task["imageUrl"] = f"{base_url}/images/{job.message_id}/progress_{progress}.png"
        elif job.status == "done":
            finished = job.finished if job.finished is not None else now
            task.update(status="SUCCESS", progress="100%", failReason="")
            task.update(startTime=_ms(job, job.created) + 200, finishTime=_ms(job, finished))
            properties["messageHash"] = message_hash(job)
            if job.describe is not None:
                prompts = "\n\n".join(job.describe)
                task["promptEn"] = prompts
                properties["finalPrompt"] = prompts
                task["imageUrl"] = job.prompt if job.prompt.startswith("http") else None
            else:
                task["imageUrl"] = f"{root}/image.png" if job.single else f"{root}/grid.png"
                task["buttons"] = [
                    {
                        "customId": b.custom.format(h=message_hash(job)),
                        "emoji": b.emoji,
                        "label": b.shown,
                        "style": 2,
                        "type": 2,
                    }
                    for b in self.buttons_of(job)
                ]
            if job.kind == "button":
                task["description"] = "Submit success"
        else:  # failed or expired
            finished = job.finished if job.finished is not None else now
            code = job.failure_code if job.status == "failed" else None
            reason = FAIL_REASONS.get(code or "", code or "") if code else TIMED_OUT
            task.update(status="FAILURE", progress="", failReason=reason)
            task["finishTime"] = _ms(job, finished)
        task["properties"] = properties
        return task


def _command(job: SimJob, action: str) -> str:
    if job.kind == "describe":
        return "/describe"
    if job.kind == "blend":
        return f"/blend {job.message_id} 2"
    if job.kind == "button":
        return f"/{action.lower()} {job.parent_message_id}"
    return f"/imagine {job.prompt}"


def _blank_task(job_id: str, action: str, prompt: str, state: str | None) -> dict[str, Any]:
    """Every key a trueai task carries (nulls included), before this task fills them."""
    return {
        "id": job_id,
        "action": action,
        "status": "NOT_START",
        "prompt": prompt,
        "promptEn": prompt,
        "promptFull": None,
        "description": "",
        "state": state or "",
        "submitTime": None,
        "startTime": None,
        "finishTime": None,
        "progress": None,
        "imageUrl": None,
        "imageUrls": None,
        "failReason": None,
        "buttons": [],
        "parentId": None,
        "seed": None,
        "mode": "FAST",
        "botType": "MID_JOURNEY",
        "properties": {},
    }
