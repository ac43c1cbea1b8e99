"""A loopback image server that answers every GET after a fixed delay (a CDN round trip).

It serves bytes it fetched once from an upstream (the simulator), so the timing shows
the delay plus transfer, not the simulator's rendering.
"""

from __future__ import annotations

import contextlib
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        server = self.server
        assert isinstance(server, DelayServer)
        time.sleep(server.delay)
        data = server.body(self.path)
        self.send_response(200 if data is not None else 404)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(data or b"")))
        self.end_headers()
        with contextlib.suppress(OSError):
            self.wfile.write(data or b"")


class DelayServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, upstream: str, delay: float) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.upstream = upstream.rstrip("/")
        self.delay = delay
        self._cache: dict[str, bytes | None] = {}
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def body(self, path: str) -> bytes | None:
        with self._lock:
            if path not in self._cache:
                try:
                    with urllib.request.urlopen(self.upstream + path, timeout=30) as r:
                        self._cache[path] = r.read()
                except OSError:
                    self._cache[path] = None
            return self._cache[path]

    def __enter__(self) -> DelayServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
