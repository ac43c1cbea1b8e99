"""The TheNextLeg v2 dialect (the seed's API): request JSON in, :class:`Answer` out.

``/imagine``, ``/message/{id}``, ``/button`` with ``buttonMessageId``, ``/describe``,
``/blend``, ``/getImage``, ``/info``; ``Authorization: Bearer``; errors as HTTP status
plus ``{"success": false, "msg"}``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from app.simulator.config import ACCOUNT_ID, GENERATION_SECONDS
from app.simulator.dialect import Answer, Service, bearer_token, json_object, screen
from app.simulator.images import image_path_of
from app.simulator.jobs import Delivery, alnum_id, iso

Simulator = Service  # what the handlers below are given

_ROUTES = {
    ("POST", "/imagine"): "imagine",
    ("POST", "/button"): "button",
    ("POST", "/getImage"): "getImage",
    ("GET", "/info"): "info",
    ("POST", "/describe"): "describe",
    ("POST", "/blend"): "blend",
}

# Said with every "not found": a restarted app meets its old jobs this way when the
# simulator has no state file (tests, `imagine-tui simulate`).
FORGETS = " (the built-in simulator keeps its jobs in memory and forgets them when it stops)"
NOT_SAVED = " (the built-in simulator saves its jobs, but has no record of this one)"


class TheNextLeg:
    name = "thenextleg"
    base_path = ""

    def route(self, method: str, path: str) -> str | None:
        return route(method, path)

    def known_path(self, path: str) -> bool:
        return known_path(path)

    def credential(self, headers: Mapping[str, str]) -> str:
        return bearer_token(headers)

    def unauthorized(self) -> Answer:
        return _error(401, "Unauthorized: missing or wrong bearer token")

    def error(self, status: int, msg: str) -> Answer:
        return _error(status, msg)

    def dispatch(
        self, sim: Service, name: str, raw_path: str, body: bytes, base_url: str
    ) -> Answer:
        return dispatch(sim, name, raw_path, body, base_url)

    def delivery(self, sim: Service, delivery: Delivery, base_url: str) -> Delivery:
        return delivery  # the job store's bodies are this API's

    def new_id(self) -> str:
        return alnum_id()


def _error(status: int, msg: str) -> Answer:
    return Answer(status, {"success": False, "msg": msg})


def _normal(path: str) -> str:
    return path.rstrip("/") or "/"


def route(method: str, path: str) -> str | None:
    path = _normal(path)
    if method == "GET" and path.startswith("/message/") and len(path) > len("/message/"):
        return "message"
    return _ROUTES.get((method, path))


def known_path(path: str) -> bool:
    path = _normal(path)
    return path.startswith("/message/") or any(p == path for _, p in _ROUTES)


def dispatch(sim: Simulator, name: str, raw_path: str, body: bytes, base_url: str) -> Answer:
    if name == "message":
        return _message(sim, raw_path, base_url)
    if name == "info":
        return _info(sim)
    data = json_object(body)
    if data is None:
        return _error(400, "The body must be a JSON object")
    handlers = {
        "imagine": _imagine,
        "button": _button,
        "getImage": _get_image,
        "describe": _describe,
        "blend": _blend,
    }
    return handlers[name](sim, data)


def _why_unknown(sim: Simulator) -> str:
    return FORGETS if sim.config.state_path is None else NOT_SAVED


def _submitted(message_id: str) -> Answer:
    body = {"success": True, "messageId": message_id, "createdAt": iso(datetime.now(UTC))}
    return Answer(200, body)


def _opt_str(data: dict[str, Any], key: str) -> tuple[str | None, Answer | None]:
    value = data.get(key)
    if value is None:
        return None, None
    if not isinstance(value, str):
        return None, _error(400, f"{key} must be a string")
    return value, None


def _screen(sim: Simulator, text: str, data: dict[str, Any]) -> tuple[Answer | None, str | None]:
    """(a refusal now, or a code the job fails with later). The prefilter is a plain
    substring match, so "grass" is caught by "ass"; a full queue fails the job (QUEUE_FULL)."""
    if str(data.get("ignorePrefilter", "")).lower() == "true":
        text = ""
    found = screen(sim, text, ban_at_submit=True)
    if found.word is not None:
        return _error(400, f"Invalid phrase: '{found.word}'"), None
    return None, found.failure or ("QUEUE_FULL" if found.queue_full else None)


def _common(data: dict[str, Any]) -> tuple[str | None, str | None, Answer | None]:
    ref, bad = _opt_str(data, "ref")
    if bad:
        return None, None, bad
    hook, bad = _opt_str(data, "webhookOverride")
    return ref, hook, bad


def _imagine(sim: Simulator, data: dict[str, Any]) -> Answer:
    msg = data.get("msg")
    if not isinstance(msg, str) or not msg.strip():
        return _error(400, "msg is required: the prompt to imagine")
    ref, hook, bad = _common(data)
    if bad:
        return bad
    refused, failure = _screen(sim, msg, data)
    if refused:
        return refused
    return _submitted(sim.store.create_imagine(msg, ref, hook, failure_code=failure).message_id)


def _button(sim: Simulator, data: dict[str, Any]) -> Answer:
    label, parent_id = data.get("button"), data.get("buttonMessageId")
    if not isinstance(label, str) or not label:
        return _error(400, "button is required: the label to press")
    if not isinstance(parent_id, str) or not parent_id:
        return _error(400, "buttonMessageId is required")
    ref, hook, bad = _common(data)
    if bad:
        return bad
    prompt = data.get("prompt")
    refused, _ = _screen(sim, prompt, data) if isinstance(prompt, str) else (None, None)
    if refused:
        return refused
    parent = sim.store.find_by_button_id(parent_id)
    if parent is None:
        return _error(404, f"buttonMessageId {parent_id[:64]!r} not found{_why_unknown(sim)}")
    if parent.status == "running":
        return _error(400, f"buttonMessageId {parent_id[:64]!r} has not finished yet")
    return _submitted(sim.store.create_button(parent, label, data, ref, hook).message_id)


def _message(sim: Simulator, raw_path: str, base_url: str) -> Answer:
    parts = urlsplit(raw_path)
    message_id = unquote(parts.path.rstrip("/")[len("/message/") :])
    job = sim.store.get(message_id)
    if job is None:
        return _error(404, f"message {message_id[:64]!r} not found{_why_unknown(sim)}")
    expire: float | None = None
    raw = parse_qs(parts.query).get("expireMins")
    if raw:
        try:
            expire = float(raw[0])
        except ValueError:
            return _error(400, "expireMins must be a number")
        if not math.isfinite(expire) or expire < 0:
            return _error(400, "expireMins must be a positive number")
    body, owed = sim.store.message(job, base_url, expire)
    for delivery in owed:
        sim.webhooks.send(delivery)
    return Answer(200, body)


def _get_image(sim: Simulator, data: dict[str, Any]) -> Answer:
    url = data.get("imgUrl")
    where = image_path_of(url) if isinstance(url, str) else None
    image = sim.image_bytes(*where) if where else None
    if image is None:
        return _error(404, "imgUrl is not an image of this service")
    return Answer(200, image, "image/png")


def _info(sim: Simulator) -> Answer:
    counts = sim.store.counts()
    used_hours = counts["total"] * GENERATION_SECONDS / 3600
    remaining = max(0.0, 15.0 - used_hours)
    info = {
        "subscription": "Standard (Active monthly)",
        "jobMode": "Fast",
        "visibilityMode": "Public",
        "fastTimeRemaining": f"{remaining:.2f}/15.0 hours ({remaining / 15 * 100:.2f}%)",
        "lifetimeUsage": f"{counts['total']} images",
        "queuedJobsFast": 0,
        "queuedJobsRelax": 0,
        "runningJobs": counts["running"],
    }
    content = "\n".join(f"{k}: {v}" for k, v in info.items())
    now = iso(datetime.now(UTC))
    response = {
        "accountId": ACCOUNT_ID,
        "createdAt": now,
        "originatingMessageId": "",
        "buttons": [],
        "imageUrl": "",
        "imageUrls": [],
        "description": "",
        "type": "info",
        "content": content,
        "responseAt": now,
        "buttonMessageId": "",
        "info": info,
    }
    return Answer(200, {"progress": 100, "response": response})


def _describe(sim: Simulator, data: dict[str, Any]) -> Answer:
    url = data.get("url")
    if not isinstance(url, str) or not url.strip():
        return _error(400, "url is required: the image to describe")
    ref, hook, bad = _common(data)
    if bad:
        return bad
    return _submitted(sim.store.create_describe(url, ref, hook).message_id)


def _blend(sim: Simulator, data: dict[str, Any]) -> Answer:
    urls = data.get("urls")
    if (
        not isinstance(urls, list)
        or not 2 <= len(urls) <= 5
        or not all(isinstance(u, str) and u for u in urls)
    ):
        return _error(400, "urls must be a list of 2 to 5 image URLs")
    ref, hook, bad = _common(data)
    if bad:
        return bad
    return _submitted(sim.store.create_imagine(" ".join(urls), ref, hook, kind="blend").message_id)
