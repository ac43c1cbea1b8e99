"""The simulator's HTTP server: a real loopback service shaped like the imagine API.

``ThreadingHTTPServer`` with HTTP/1.1 keep-alive: every answer carries a
Content-Length, so one connection can serve many requests, as a client's pool expects.
"""

from __future__ import annotations

import contextlib
import json
import re
import signal
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from app.settings import API_NAMES
from app.simulator.chaos import Chaos
from app.simulator.config import MAX_BODY_BYTES, PROGRESS_STEPS, SimulatorConfig
from app.simulator.dialect import Dialect
from app.simulator.images import IMAGE_PATH, ImageStore
from app.simulator.imaginepro import ImaginePro
from app.simulator.jobs import JobStore, SimJob
from app.simulator.midjourney_proxy import MidjourneyProxy
from app.simulator.ratelimit import RateLimiter
from app.simulator.state import StateFile
from app.simulator.thenextleg import TheNextLeg
from app.simulator.webhook import WebhookRecord, WebhookSender

_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")
CLOCK_INTERVAL = 0.02  # how often finished jobs are noticed for webhooks
MAX_RECORDS = 200_000
HTML_502 = (
    b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway"
    b"</h1></center><hr><center>nginx</center></body></html>"
)


def dialect_for(api: str) -> Dialect:
    """The dialect of ``api`` (here, not in dialect.py, which each dialect imports)."""
    dialects: dict[str, Callable[[], Dialect]] = {
        "midjourney-proxy": MidjourneyProxy,
        "imaginepro": ImaginePro,
        "thenextleg": TheNextLeg,
    }
    if api not in dialects:
        raise ValueError(f"unknown API {api!r}: choose one of {', '.join(API_NAMES)}")
    return dialects[api]()


@dataclass(frozen=True)
class RequestRecord:
    t: float  # time.monotonic()
    method: str
    path: str
    status: int  # 0 when no answer was sent (hang, drop)
    fault: str | None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() must not wait for idle keep-alive connections
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up mid-answer (the app quit during a download) is normal here.
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)

    def serve(self) -> None:
        """serve_forever without its polling wake-ups (20 a second while idle): the loop
        sleeps until a connection comes, and :meth:`shutdown` makes one to end it."""
        self.serve_forever(poll_interval=3600.0)

    def shutdown(self) -> None:
        ending = threading.Thread(target=super().shutdown, name="sim-shutdown", daemon=True)
        ending.start()  # asks the loop to end, then waits until it has
        host, port = self.server_address[:2]
        while ending.is_alive():  # a connection wakes the loop to see the request
            with contextlib.suppress(OSError):
                socket.create_connection((str(host), int(port)), timeout=1.0).close()
            ending.join(0.05)

    def process_request(self, request: Any, client_address: Any) -> None:
        # Tracked from the accept, not from when its thread starts: a handover waits for it.
        self.sim._track(request, add=True)
        super().process_request(request, client_address)

    def __init__(self, address: tuple[str, int], sim: Simulator) -> None:
        self.sim = sim
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, a keep-alive client's
    # delayed ACK would add ~40 ms to every answer.
    disable_nagle_algorithm = True
    timeout = 120  # idle keep-alive connections give their thread back eventually
    _status = 0
    _fault: str | None = None
    _recorded = False

    @property
    def sim(self) -> Simulator:
        server = self.server
        assert isinstance(server, _Server)
        return server.sim

    def setup(self) -> None:
        super().setup()
        self.sim._track(self.connection, add=True)

    def finish(self) -> None:
        self.sim._track(self.connection, add=False)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the request log is self.sim.requests

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    # -- answering -------------------------------------------------------------------

    def send_bytes(
        self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self._status = status
        if not self._recorded:  # logged before the client can see the answer
            self._record_now()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if self.sim._stopping.is_set() or not self.sim.keep_alive:
            self.close_connection = True  # the client must not reuse this connection
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        with contextlib.suppress(OSError):  # the client may have given up already
            self.wfile.write(data)

    def send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_bytes(status, data, "application/json; charset=utf-8", headers)

    def send_error_json(self, status: int, msg: str, headers: dict[str, str] | None = None) -> None:
        """A failure in the served API's own error shape."""
        answer = self.sim.dialect.error(status, msg)
        both = {**answer.headers, **(headers or {})}
        self.send_answer(answer.status, answer.body, answer.content_type, both)

    def send_answer(
        self, status: int, body: Any, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        if isinstance(body, bytes):
            self.send_bytes(status, body, content_type, headers)
        else:
            self.send_json(status, body, headers)

    def base_url(self) -> str:
        """URLs in answers use the host the client used, so they work from anywhere."""
        host = self.headers.get("Host", "")
        return f"http://{host}" if _HOST.match(host) else self.sim.base_url

    # -- dispatch --------------------------------------------------------------------

    def _read_body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return None
        if length < 0 or length > MAX_BODY_BYTES:
            return None
        return self.rfile.read(length) if length else b""

    def _handle(self, method: str) -> None:
        self._status, self._fault, self._recorded = 0, None, False
        path = urlsplit(self.path).path
        try:
            body = self._read_body()
            if body is None:
                self.close_connection = True  # the rest of the stream cannot be trusted
                self.send_error_json(413, "Request body missing a length, or too large")
            elif method == "GET" and IMAGE_PATH.match(path):
                self._image(path)
            else:
                self._api(method, path, body)
        finally:
            if not self._recorded:
                self._record_now()

    def _record_now(self) -> None:
        self._recorded = True
        path = urlsplit(self.path).path
        record = RequestRecord(time.monotonic(), self.command, path, self._status, self._fault)
        self.sim._record(record)

    def _api(self, method: str, path: str, body: bytes) -> None:
        sim = self.sim
        dialect = sim.dialect
        route = dialect.route(method, path)
        if route is None:
            if dialect.known_path(path):
                self.send_error_json(405, f"{method} is not allowed on {path}")
            else:
                self.send_error_json(404, f"No such endpoint: {path}")
            return
        auth = dialect.credential({k.lower(): v for k, v in self.headers.items()})
        if sim.config.token is not None and auth != sim.config.token:
            refused = dialect.unauthorized()
            self.send_answer(refused.status, refused.body, refused.content_type, refused.headers)
            return
        fault = sim.chaos.api_fault()
        if fault is not None:
            self._fault = fault
            self._inject(fault)
            return
        wait = sim.limiter.admit(auth)
        if wait is not None:
            self.send_error_json(
                429, "Too many requests: one request every few seconds", {"Retry-After": str(wait)}
            )
            return
        answer = dialect.dispatch(sim, route, self.path, body, self.base_url())
        self.send_answer(answer.status, answer.body, answer.content_type, answer.headers)

    def _inject(self, fault: str) -> None:
        if fault == "429":
            self.send_error_json(429, "Too many requests", {"Retry-After": "1"})
        elif fault in ("500", "502", "503"):
            self.send_error_json(int(fault), "Internal server error")
        elif fault == "html":
            self.send_bytes(502, HTML_502, "text/html")
        elif fault == "malformed":
            self.send_bytes(200, b'{"success": true, "messageId": "', "application/json")
        else:  # "hang" and "drop": no answer at all, then the connection closes
            self.close_connection = True
            if fault == "hang":  # logged now: the answer that never comes may take long
                self._record_now()
                self.sim._stopping.wait(self.sim.config.hang_seconds)
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

    def _image(self, path: str) -> None:
        match = IMAGE_PATH.match(path)
        assert match is not None
        data = self.sim.image_bytes(match.group(1), match.group(2))
        if data is None:
            self.send_error_json(404, "No such image")
            return
        fault, sent = self.sim.chaos.image_fault(data)
        self._fault = fault
        self.send_bytes(200, sent, "image/png", {"Cache-Control": "public, max-age=86400"})


class Simulator:
    """The simulated service; ``start()`` serves it on loopback in the background."""

    def __init__(
        self, config: SimulatorConfig | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.config = config or SimulatorConfig()
        self.dialect = dialect_for(self.config.api)
        self.host = host
        self.port = port
        self.base_url = ""
        # With a state file, jobs outlive the process, as a real service's do.
        state = StateFile(self.config.state_path) if self.config.state_path else None
        self.store = JobStore(
            self.config,
            saved=state.load() if state else (),
            on_change=state.save if state else None,
            new_id=self.dialect.new_id,
        )
        self.images = ImageStore()
        self.chaos = Chaos(self.config.chaos, self.config.seed)
        self.limiter = RateLimiter(self.config.rate_limit)
        self.webhooks = WebhookSender()
        self._stopping = threading.Event()
        self._records: deque[RequestRecord] = deque(maxlen=MAX_RECORDS)
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        # Off for a service other processes take over: with one request per connection,
        # an open connection is a request under way, so a handover can wait for them all.
        self.keep_alive = True
        self._server: _Server | None = None
        self._threads: list[threading.Thread] = []
        self._to_draw: list[SimJob] = []  # new jobs whose final pictures are not drawn yet

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> str:
        if self._server is not None:
            return self.base_url
        self._stopping.clear()
        server = _Server((self.host, self.port), self)  # bound and listening on return
        self._server = server
        self.port = server.server_address[1]
        shown = f"[{self.host}]" if ":" in self.host else self.host
        self.base_url = f"http://{shown}:{self.port}"
        self.store.base_url = self.base_url
        self._threads = [
            threading.Thread(target=server.serve, name="sim-http", daemon=True),
            threading.Thread(target=self._clock, name="sim-clock"),
        ]
        for thread in self._threads:
            thread.daemon = True
            thread.start()
        return self.base_url

    def stop(self, drain: float = 0.0) -> None:
        """Stop serving. With ``drain`` (and ``keep_alive`` off), hand over gracefully:
        another process is about to serve this port. Connections already made are
        answered (up to ``drain`` seconds), so no request is lost without an answer."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()  # releases "hang" faults at once
        self.store.arrived.set()  # and the clock's sleep
        server.shutdown()
        if drain:
            self._drain(server, drain)
        with self._lock:
            open_connections = list(self._connections)
        for conn in open_connections:  # idle keep-alive connections end now, not at timeout
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        server.server_close()
        for thread in self._threads:
            thread.join(timeout=2.0)

    def _drain(self, server: _Server, seconds: float) -> None:
        server.socket.setblocking(False)
        while True:  # answer whoever connected before the socket closes
            try:
                conn, address = server.socket.accept()
            except OSError:
                break
            conn.setblocking(True)
            server.process_request(conn, address)
        server.socket.close()  # from now on a connection is refused: safe to retry
        deadline = time.monotonic() + seconds
        while self._connections and time.monotonic() < deadline:
            time.sleep(0.01)

    def __enter__(self) -> Simulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _clock(self) -> None:
        arrived = self.store.arrived
        while True:  # ends with stop()
            arrived.clear()  # before looking: a job added from here on sets it again
            if not self.store.running():
                arrived.wait()  # nothing to settle: no wake-ups while idle
            if self._stopping.wait(CLOCK_INTERVAL):
                return
            if self.config.ready_images:
                self._draw_finals()
            for delivery in self.store.tick():
                self.webhooks.send(self.dialect.delivery(self, delivery, self.base_url))

    def _draw_finals(self) -> None:
        """Draw the final pictures of jobs at their last progress step (or just done, if
        a poll settled them first), so that they are served at once when the job is done,
        not drawn then (one after another: ~70 ms for four 512 px tiles, which a client
        would count as the service being slow). Only this run's new jobs are looked at."""
        self._to_draw += self.store.take_new()
        now, steps = time.monotonic(), len(PROGRESS_STEPS)
        waiting = []
        for job in self._to_draw:
            if (
                job.status == "running"
                and now < job.created + job.gen_seconds * (steps - 1) / steps
            ):
                if not job.stall:
                    waiting.append(job)  # not near its end yet
                continue
            if job.status not in ("running", "done") or job.failure_code:
                continue
            if job.image_owner != job.message_id:  # it shows another job's pictures
                continue
            tiles = ("0_0.png", "0_1.png", "0_2.png", "0_3.png", "grid.png")
            for name in ("image.png",) if job.single else tiles:
                self.images.png(job, name, ready=True)
        self._to_draw = waiting

    # -- observation -----------------------------------------------------------------

    @property
    def api_url(self) -> str:
        """The base URL a client of the served API is given (the proxy's ends in /mj)."""
        return self.base_url + self.dialect.base_path

    @property
    def jobs(self) -> dict[str, SimJob]:
        return self.store.snapshot()

    @property
    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    @property
    def webhook_log(self) -> list[WebhookRecord]:
        return self.webhooks.records

    def count(self, status: int | None = None, path_prefix: str | None = None) -> int:
        return sum(
            1
            for r in self.requests
            if (status is None or r.status == status)
            and (path_prefix is None or r.path.startswith(path_prefix))
        )

    # -- internals used by the handler -----------------------------------------------

    def _record(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def image_bytes(self, owner_id: str, name: str) -> bytes | None:
        job = self.store.get(owner_id)
        if job is None:
            return None
        return self.images.png(job, name, ready=job.status == "done")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _interruptible() -> Iterator[None]:
    """Ctrl-C and SIGTERM end the wait, even when SIGINT was inherited as ignored
    (as for background jobs of a non-interactive shell)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def run_simulator(
    config: SimulatorConfig,
    host: str = "127.0.0.1",
    port: int = 0,
    announce: Callable[[str], None] = print,
) -> None:
    """Serve until Ctrl-C; announce ``BASE_URL=...`` once connections are accepted."""
    sim = Simulator(config, host, port)
    with _interruptible():
        sim.start()
        try:
            probe_host = "127.0.0.1" if host in ("", "0.0.0.0") else host
            probe_host = "::1" if host == "::" else probe_host
            with socket.create_connection((probe_host, sim.port), timeout=5.0):
                pass  # accepted: the listening socket is live
            announce(f"BASE_URL={sim.api_url}")
            with contextlib.suppress(ValueError, OSError, AttributeError):
                sys.stdout.flush()  # a parent process reading our stdout must see it now
            while not sim._stopping.wait(0.5):  # ends on Ctrl-C, SIGTERM or stop()
                pass
        except KeyboardInterrupt:
            pass
        finally:
            sim.stop()


__all__ = ["RequestRecord", "Simulator", "run_simulator"]
