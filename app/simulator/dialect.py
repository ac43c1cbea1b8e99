"""What every API dialect of the simulator provides, and what it may use of the server.

The server (``server.py``) owns sockets, chaos, the rate limiter and the request log;
a dialect owns paths, auth headers, answer shapes and codes. Dialects see the server
only through :class:`Service`, so neither module imports the other.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from app.simulator.config import SimulatorConfig
from app.simulator.jobs import Delivery, JobStore, SimJob
from app.simulator.webhook import WebhookSender


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any  # JSON-able, or bytes sent as they are
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


class Service(Protocol):
    """The parts of the running simulator a dialect works with."""

    config: SimulatorConfig
    store: JobStore
    webhooks: WebhookSender

    def image_bytes(self, owner_id: str, name: str) -> bytes | None: ...


class Dialect(Protocol):
    name: str
    base_path: str  # what the API's documented base URL adds to the host ("/mj")

    def route(self, method: str, path: str) -> str | None:
        """The endpoint ``method path`` names, or None."""

    def known_path(self, path: str) -> bool:
        """True when ``path`` is an endpoint under another method (405, not 404)."""

    def credential(self, headers: Mapping[str, str]) -> str:
        """The token the request carries, as this API reads it ("" when none);
        ``headers`` has lower-case names."""

    def unauthorized(self) -> Answer: ...

    def error(self, status: int, msg: str) -> Answer:
        """A transport-level failure (404, 405, 413, 429, 5xx) in this API's shape."""

    def dispatch(
        self, sim: Service, name: str, raw_path: str, body: bytes, base_url: str
    ) -> Answer: ...

    def delivery(self, sim: Service, delivery: Delivery, base_url: str) -> Delivery:
        """A finished job's webhook, with this API's body."""

    def new_id(self) -> str:
        """A fresh job id in this API's format."""


def bearer_token(headers: Mapping[str, str]) -> str:
    """The token of an ``Authorization: Bearer <token>`` header ("" when none)."""
    auth = headers.get("authorization") or ""
    return auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else ""


def with_body(
    sim: Service,
    delivery: Delivery,
    body: Callable[[Service, SimJob, str], dict[str, Any]],
    base_url: str,
) -> Delivery:
    """``delivery`` with its job in a dialect's shape, ``body(sim, job, base_url)``;
    as it is when the job is gone."""
    job = sim.store.get(delivery.message_id)
    if job is None:
        return delivery
    return replace(delivery, body=body(sim, job, base_url))


def json_object(body: bytes) -> dict[str, Any] | None:
    """A request's body as a JSON object; None when it is empty, not JSON, or not an object."""
    try:
        data = json.loads(body) if body.strip() else None
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


@dataclass(frozen=True)
class Screening:
    """What a service's checks say of a submit, before any job is made."""

    word: str | None = None  # a banned word: refuse the request at once
    failure: str | None = None  # a code the job fails with once it starts (BANNED_PROMPT)
    queue_full: bool = False


def screen(sim: Service, prompt: str, *, ban_at_submit: bool) -> Screening:
    """A banned word in ``prompt`` (``ban_at_submit``: this API's default for when it
    refuses it, unless the config says), else whether the account's queue is full."""
    low = prompt.lower()
    word = next((w for w in sim.config.banned if w.lower() in low), None)
    if word is not None:
        now = ban_at_submit if sim.config.ban_on_submit is None else sim.config.ban_on_submit
        return Screening(word=word) if now else Screening(failure="BANNED_PROMPT")
    limit = sim.config.max_queue
    return Screening(queue_full=bool(limit) and sim.store.counts()["running"] >= limit)
