"""A scripted loopback server that answers whatever a test tells it to: the hostile service."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from PIL import Image

Reply = tuple[int, dict[str, str], bytes | Iterator[bytes]]
Route = Callable[[str, bytes], Reply]


def json_reply(body: Any, status: int = 200) -> Reply:
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


def png_bytes(size: int = 64, colour: tuple[int, int, int] = (200, 80, 40)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buf, "PNG")
    return buf.getvalue()


@dataclass
class Hostile:
    routes: dict[str, Route] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)
    url: str = ""

    def on(self, path: str, route: Route) -> None:
        self.routes[path] = route

    def sequence(self, path: str, replies: list[Reply]) -> None:
        """Answer ``path`` with each reply in turn, then keep repeating the last."""
        lock = threading.Lock()
        state = {"i": 0}

        def route(_path: str, _body: bytes) -> Reply:
            with lock:
                reply = replies[min(state["i"], len(replies) - 1)]
                state["i"] += 1
            return reply

        self.on(path, route)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        hostile = self.server.hostile
        path = self.path.split("?", 1)[0]
        hostile.hits.append(path)
        route = hostile.routes.get(path) or next(
            (r for p, r in hostile.routes.items() if p.endswith("*") and path.startswith(p[:-1])),
            None,
        )
        status, headers, payload = route(path, body) if route else json_reply({"msg": "no"}, 404)
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        if isinstance(payload, bytes):
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            for chunk in payload:  # streamed, no length: the client must cap it
                self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True

    do_GET = do_POST = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, hostile: Hostile) -> None:
        self.hostile = hostile
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hanging up on a 100 MB body is the point of some tests


def serve(hostile: Hostile) -> Callable[[], None]:
    server = _Server(hostile)
    hostile.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()

    return stop
