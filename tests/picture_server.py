"""A loopback HTTP server that answers GET with pictures: for the image pipeline's tests
and for bench/scale.py (which puts tests/ on its path for this)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class PictureServer(ThreadingHTTPServer):
    """Answers ``GET path`` with ``picture(path)`` as image/png on 127.0.0.1; counts the
    requests in ``hits``."""

    def __init__(self, picture: Callable[[str], bytes]) -> None:
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits += 1
                body = picture(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


@contextmanager
def serving(picture: Callable[[str], bytes]) -> Iterator[PictureServer]:
    """A :class:`PictureServer` running in a thread until the block ends."""
    server = PictureServer(picture)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
