"""The ImaginePro dialect ("nova" API; base URL is the host, every path under ``/api/v1``).

Nearly TheNextLeg's shape (``/work/shared/backends.md`` §2): ``Authorization: Bearer``;
submits answer ``{success, messageId, createdAt}``; a message has ``status``
(QUEUED/PROCESSING/DONE/FAIL) and a numeric ``progress``, the 2×2 grid in ``uri`` and no
tiles or preview; buttons are labels pressed on the message's own ``messageId``.
Errors are NestJS-style ``{message, error, statusCode}``. Undocumented answers (a wrong
key, an unknown id, a banned prompt) follow the SDKs' reading of them [GUESS]. Describe
is not served: where its four prompts would be is undocumented.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

from app.simulator.buttons import VARY_REGION
from app.simulator.dialect import Answer, Service, bearer_token, json_object, screen, with_body
from app.simulator.jobs import Delivery, SimJob, iso

_FETCH = re.compile(r"^/api/v1/message/fetch/([^/]{1,80})$")
_ROUTES = {
    ("POST", "/api/v1/nova/imagine"): "imagine",
    ("POST", "/api/v1/nova/button"): "button",
    ("POST", "/api/v1/nova/blend"): "blend",
    ("POST", "/api/v1/midjourney/blend"): "blend",
    ("POST", "/api/v1/nova/prompt-check"): "prompt-check",
    ("GET", "/api/v1/subscription/account-info"): "account",
}
# The simulator's labels that ImaginePro does not list (links, bookmarks, seeds, Custom Zoom).
HIDDEN = frozenset({"Web", "\u2764\ufe0f", "\u2709\ufe0f", "Custom Zoom"})
REGION = "Vary (Region)"  # ImaginePro's label for the simulator's "🖌️ Vary (Region)"
REASONS = {
    "HTTP 400": "Bad Request",
    "HTTP 401": "Unauthorized",
    "HTTP 404": "Not Found",
    "HTTP 405": "Method Not Allowed",
    "HTTP 413": "Payload Too Large",
    "HTTP 429": "Too Many Requests",
}
# A failed message's ``error``, by the simulator's failure code (Midjourney's own texts).
ERRORS = {
    "BANNED_PROMPT": "Banned prompt detected",
    "ALREADY_REQUESTED_UPSCALE": "You have already requested an upscale for this image.",
    "INVALID_PARAMETER": "Invalid parameter",
    "BUTTON_NOT_FOUND": "Button not found",
}
TIMED_OUT = "Timeout: the job did not finish in time"


def _nest(status: int, message: str | list[str]) -> Answer:
    """NestJS's error body; its validators give ``message`` as a list."""
    reason = REASONS.get(f"HTTP {status}", "Internal Server Error")
    return Answer(status, {"message": message, "error": reason, "statusCode": status})


def _submitted(message_id: str) -> Answer:
    body = {"success": True, "messageId": message_id, "createdAt": iso(datetime.now(UTC))}
    return Answer(200, body)


def shown_label(label: str) -> str:
    return REGION if label == VARY_REGION else label


class ImaginePro:
    name = "imaginepro"
    base_path = ""

    def new_id(self) -> str:
        return str(uuid.uuid4())

    def route(self, method: str, path: str) -> str | None:
        path = path.rstrip("/")
        if method == "GET" and _FETCH.match(path):
            return "fetch"
        return _ROUTES.get((method, path))

    def known_path(self, path: str) -> bool:
        path = path.rstrip("/")
        return _FETCH.match(path) is not None or any(p == path for _, p in _ROUTES)

    def credential(self, headers: Mapping[str, str]) -> str:
        return bearer_token(headers)

    def unauthorized(self) -> Answer:
        return _nest(401, "Unauthorized")

    def error(self, status: int, msg: str) -> Answer:
        if status == 429:
            return _nest(429, "ThrottlerException: Too Many Requests")
        return _nest(status, msg)

    def delivery(self, sim: Service, delivery: Delivery, base_url: str) -> Delivery:
        return with_body(sim, delivery, self.message, base_url)

    def dispatch(
        self, sim: Service, name: str, raw_path: str, body: bytes, base_url: str
    ) -> Answer:
        if name == "fetch":
            match = _FETCH.match(unquote(urlsplit(raw_path).path).rstrip("/"))
            assert match is not None
            return self._fetch(sim, match.group(1), base_url)
        if name == "account":
            return self._account(sim)
        data = json_object(body)
        if data is None:
            return _nest(400, "The body must be a JSON object")
        handlers = {
            "imagine": self._imagine,
            "button": self._button,
            "blend": self._blend,
            "prompt-check": self._prompt_check,
        }
        return handlers[name](sim, data)

    # -- endpoints --------------------------------------------------------------------

    def _common(self, data: dict[str, Any]) -> tuple[str | None, str | None, Answer | None]:
        ref, hook = data.get("ref"), data.get("webhookOverride")
        if not all(v is None or isinstance(v, str) for v in (ref, hook)):
            return None, None, _nest(400, "ref and webhookOverride must be strings")
        return ref, hook or None, None

    def _refusal(self, sim: Service, prompt: str) -> tuple[Answer | None, str | None]:
        """(a refusal now, or a failure code for later) for a prompt [GUESS: undocumented]."""
        found = screen(sim, prompt, ban_at_submit=False)
        if found.word is not None:
            return self._refuse(sim, 400, f"Banned prompt detected: {found.word}"), None
        if found.queue_full:
            return self._refuse(sim, 400, "Queue full: wait for a running job to finish"), None
        return None, found.failure

    def _refuse(self, sim: Service, status: int, message: str) -> Answer:
        """A submit refused, in the shape the config picks: the docs show none."""
        if sim.config.imaginepro_errors == "body":
            return Answer(200, {"success": False, "error": message})
        return _nest(status, message)

    def _imagine(self, sim: Service, data: dict[str, Any]) -> Answer:
        prompt = data.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            return _nest(400, ["prompt should not be empty", "prompt must be a string"])
        timeout = data.get("timeout")
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, int) or not 10 <= timeout <= 900
        ):
            return _nest(400, "timeout must be an integer between 10 and 900")
        ref, hook, bad = self._common(data)
        if bad:
            return bad
        refused, failure = self._refusal(sim, prompt)
        if refused:
            return refused
        job = sim.store.create_imagine(prompt.strip(), ref, hook, failure_code=failure)
        return _submitted(job.message_id)

    def _button(self, sim: Service, data: dict[str, Any]) -> Answer:
        message_id, label = data.get("messageId"), data.get("button")
        if not isinstance(message_id, str) or not isinstance(label, str) or not label:
            return _nest(400, "messageId and button are required")
        ref, hook, bad = self._common(data)
        if bad:
            return bad
        parent = sim.store.get(message_id)
        if parent is None:
            return self._refuse(sim, 404, "Message not found")
        if parent.status != "done":
            return self._refuse(sim, 400, "The message has not finished yet")
        offered = {shown_label(b): b for b in parent.buttons if b not in HIDDEN}
        if label not in offered:
            return _nest(400, f"Button {label[:40]!r} is not available on this message")
        if label == REGION and not isinstance(data.get("mask"), str):
            return _nest(400, "mask is required for Vary (Region)")
        prompt = data.get("prompt")
        prompt = prompt if isinstance(prompt, str) and prompt.strip() else ""
        refused, failure = self._refusal(sim, prompt)
        if refused:
            return refused
        if failure:  # a banned remix prompt fails like a banned imagine
            job = sim.store.create_imagine(prompt, ref, hook, failure_code=failure)
            return _submitted(job.message_id)
        body = {"prompt": prompt} if prompt else {}
        job = sim.store.create_button(parent, offered[label], body, ref, hook)
        return _submitted(job.message_id)

    def _blend(self, sim: Service, data: dict[str, Any]) -> Answer:
        urls = data.get("urls")
        if (
            not isinstance(urls, list)
            or not 2 <= len(urls) <= 5
            or not all(isinstance(u, str) and u.startswith(("http://", "https://")) for u in urls)
        ):
            return _nest(400, "urls must be a list of 2 to 5 image URLs")
        ref, hook, bad = self._common(data)
        if bad:
            return bad
        return _submitted(
            sim.store.create_imagine(" ".join(urls), ref, hook, kind="blend").message_id
        )

    def _prompt_check(self, sim: Service, data: dict[str, Any]) -> Answer:
        prompt = data.get("prompt")
        if not isinstance(prompt, str):
            return _nest(400, "prompt must be a string")
        low = prompt.lower()
        word = next((w for w in sim.config.banned if w.lower() in low), None)
        if word is None:
            return Answer(200, {"status": "SUCCESS"})
        return Answer(200, {"status": "FAIL", "message": f"Banned prompt detected: {word}"})

    def _account(self, sim: Service) -> Answer:
        used = sim.store.counts()["total"] * 2
        expires = iso(datetime.now(UTC) + timedelta(days=30))
        return Answer(
            200,
            {
                "type": "STARTER",
                "creditsQuota": 1600,
                "credits": max(0, 1600 - used),
                "creditsExtra": 0,
                "expiredAt": expires,
                "email": "demo@example.org",
            },
        )

    def _fetch(self, sim: Service, message_id: str, base_url: str) -> Answer:
        job = sim.store.get(message_id)
        if job is None:
            return _nest(404, "Message not found")
        for owed in sim.store.settle(job):
            sim.webhooks.send(self.delivery(sim, owed, base_url))
        return Answer(200, self.message(sim, job, base_url))

    # -- the message object -----------------------------------------------------------

    def message(self, sim: Service, job: SimJob, base_url: str) -> dict[str, Any]:
        now = time.monotonic()
        updated = job.finished if job.finished is not None else now
        body: dict[str, Any] = {
            "messageId": job.message_id,
            "prompt": job.prompt,
            "createdAt": iso(job.created_wall),
            "updatedAt": iso(job.created_wall + timedelta(seconds=updated - job.created)),
            "ref": job.ref or "",
        }
        if job.parent_message_id:
            body["originatingMessageId"] = job.parent_message_id
        if job.status == "running":
            progress = sim.store.progress(job, now)
            body.update(status="PROCESSING" if progress else "QUEUED", progress=progress)
        elif job.status == "done":
            root = f"{base_url}/images/{job.image_owner}"
            uri = f"{root}/image.png" if job.single else f"{root}/grid.png"
            body.update(status="DONE", progress=100, uri=uri, originalUrl=uri)
            body["buttons"] = [shown_label(b) for b in job.buttons if b not in HIDDEN]
        else:
            code = job.failure_code if job.status == "failed" else None
            error = ERRORS.get(code or "", code or "") if code else TIMED_OUT
            body.update(status="FAIL", progress=0, error=error)
        return body
