"""The built-in simulator over real loopback HTTP, for the tests that talk to it
directly: start one, catch its webhooks; in TheNextLeg's dialect, submit, press, wait,
fetch and compare pictures."""

from __future__ import annotations

import contextlib
import io
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import httpx
from PIL import Image, ImageChops, ImageStat
from waiting import until_sync

from app.simulator import Simulator, SimulatorConfig

SPEED = 300.0  # a job takes 35 s / 300 ≈ 0.12 s
TILE = 96


@contextlib.contextmanager
def running(
    headers: dict[str, str] | None = None, **overrides: Any
) -> Iterator[tuple[Simulator, httpx.Client]]:
    """A simulator at SPEED with TILE-sized tiles unless ``overrides`` say, and a client
    on its API's URL that sends ``headers``."""
    config = SimulatorConfig(**{"speed": SPEED, "tile_size": TILE, **overrides})
    with (
        Simulator(config) as sim,
        httpx.Client(base_url=sim.api_url, timeout=10.0, headers=headers) as client,
    ):
        yield sim, client


def imagine(client: httpx.Client, prompt: str, **extra: Any) -> str:
    answer = client.post("/imagine", json={"msg": prompt, **extra})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["messageId"])


def press(client: httpx.Client, label: str, button_message_id: str, **extra: Any) -> str:
    body = {"button": label, "buttonMessageId": button_message_id, **extra}
    answer = client.post("/button", json=body)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["messageId"])


def finish(
    client: httpx.Client,
    message_id: str,
    timeout: float = 10.0,
    *,
    query: str = "",
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Poll ``/message/{message_id}{query}`` until the job is done or incomplete."""

    def finished() -> dict[str, Any] | None:
        answer = client.get(f"/message/{message_id}{query}", headers=headers)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body if body["progress"] in (100, "incomplete") else None

    body: dict[str, Any] = until_sync(finished, timeout, what=f"job {message_id} to finish")
    return body


def image(client: httpx.Client, url: str) -> Image.Image:
    """The picture at ``url``, asked of this client's simulator (a URL of an earlier run
    names that run's port)."""
    answer = client.get(urlsplit(url)._replace(scheme="", netloc="").geturl())
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "image/png"
    assert int(answer.headers["content-length"]) == len(answer.content)
    img = Image.open(io.BytesIO(answer.content))
    img.load()
    return img.convert("RGB")


def diff(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute pixel difference, 0..255."""
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


class HookReceiver:
    """A loopback webhook endpoint: keeps the JSON body of each POST, answers 204."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.arrived = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                outer.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()
                outer.arrived.set()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,))
        self.thread.daemon = True
        self.thread.start()

    def wait_for(self, count: int, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.bodies) < count and time.monotonic() < deadline:
            self.arrived.wait(0.05)
            self.arrived.clear()
        assert len(self.bodies) >= count, self.bodies

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> HookReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
