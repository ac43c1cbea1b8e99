"""Webhook delivery: a background POST per finished job, errors recorded, never raised."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from app.simulator.jobs import Delivery

TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class WebhookRecord:
    t: float
    url: str
    message_id: str
    status: int | None  # HTTP status, None when the POST itself failed
    error: str | None


class WebhookSender:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[WebhookRecord] = []

    @property
    def records(self) -> list[WebhookRecord]:
        with self._lock:
            return list(self._records)

    def send(self, delivery: Delivery) -> None:
        threading.Thread(
            target=self._post, args=(delivery,), name="sim-webhook", daemon=True
        ).start()

    def _post(self, delivery: Delivery) -> None:
        status: int | None = None
        error: str | None = None
        request = urllib.request.Request(
            delivery.url,
            data=json.dumps(delivery.body).encode(),
            headers={"Content-Type": "application/json", "User-Agent": "imagine-sim"},
            method="POST",
        )
        try:
            if not delivery.url.startswith(("http://", "https://")):
                raise ValueError("not an http(s) URL")
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:
                status = answer.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except (OSError, ValueError) as exc:  # refused, timed out, bad URL: the job is unaffected
            error = f"{type(exc).__name__}: {exc}"
        record = WebhookRecord(time.monotonic(), delivery.url, delivery.message_id, status, error)
        with self._lock:
            self._records.append(record)
            del self._records[:-1000]  # keep the log bounded
