"""One demo simulator per data dir, shared by every process using that dir.

Two windows and a script on one data dir must see one service: separate simulators
each overwrote ``simulator-state.json`` with the jobs they knew (8 parallel CLI runs
kept 1 of 8), and a button pressed in one window named a job the other's service had
never heard of.

The first process serves the simulator itself, holding an exclusive ``flock`` on
``simulator.lock`` for as long as it does, and records the port and its pid in
``simulator.json``. Later processes find the lock taken and attach to that port. When
the host stops (or dies: the kernel drops its lock), one attached process takes over:
it loads the state file, which only a host writes and which holds every job, and serves
on the recorded port, so image links handed out earlier stay valid. A restarted demo
binds the recorded port again for the same reason.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from pathlib import Path
from typing import IO

from app.files import private_dir, write_atomic
from app.simulator.config import SimulatorConfig
from app.simulator.server import Simulator

try:
    import fcntl
except ImportError:  # not POSIX: each process serves its own simulator, as before
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

ATTACH_SECONDS = 10.0  # how long a new process waits for a host that is starting
TAKEOVER_CHECK = 0.05  # how often an attached process checks whether the host is gone
HANDOVER_SECONDS = 3.0  # a stopping host finishes the requests under way for this long


class DemoSimulator:
    """The data dir's demo service: served here, or attached to another process's."""

    def __init__(self, config: SimulatorConfig, data_dir: Path) -> None:
        self.config = config
        self.lock_path = data_dir / "simulator.lock"
        self.record_path = data_dir / "simulator.json"
        self.base_url = ""
        self.hosted: Simulator | None = None  # set while this process serves it
        self._lock: IO[bytes] | None = None
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self._mutex = threading.Lock()

    def start(self) -> str:
        """Serve or attach; the service's base URL."""
        data_dir = self.lock_path.parent
        private_dir(data_dir)
        if fcntl is None:
            return self._serve(port=0)
        deadline = time.monotonic() + ATTACH_SECONDS
        while True:
            if self._try_host():
                return self.base_url
            port = self._live_port()
            if port is not None:
                self.base_url = f"http://127.0.0.1:{port}"
                self._watcher = threading.Thread(
                    target=self._watch, name="demo-takeover", daemon=True
                )
                self._watcher.start()
                return self.base_url
            if time.monotonic() > deadline:
                raise OSError(f"the demo simulator of {data_dir} neither starts nor answers")
            time.sleep(0.05)

    def stop(self) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=2.0)
        with self._mutex:
            if self.hosted is not None:
                self.hosted.stop(drain=HANDOVER_SECONDS)  # port free before the lock is
                self.hosted = None
            if self._lock is not None:
                self._lock.close()  # releases the flock: an attached process takes over
                self._lock = None

    # -- hosting ---------------------------------------------------------------------

    def _try_host(self) -> bool:
        assert fcntl is not None
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
        lock = os.fdopen(os.open(self.lock_path, flags, 0o600), "ab")  # private, as all files
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            return False
        with self._mutex:
            if self._stop.is_set():
                lock.close()
                return False
            self._lock = lock
            record = self._read_record()
            self._serve(port=int(record.get("port", 0)) if record else 0)
            data = json.dumps({"port": self._port(), "pid": os.getpid()}).encode()
            write_atomic(self.record_path, data)
        return True

    def _serve(self, port: int) -> str:
        simulator = Simulator(self.config, port=port)
        simulator.keep_alive = False  # so a handover knows which requests are under way
        try:
            simulator.start()
        except OSError:
            if port == 0:
                raise
            # Another program took the port: links to images made before are lost.
            log.warning("demo simulator port %d is taken; serving on another", port)
            simulator = Simulator(self.config)
            simulator.keep_alive = False
            simulator.start()
        self.hosted = simulator
        if self.base_url and self.base_url != simulator.base_url:
            log.warning("the demo simulator moved to %s", simulator.base_url)
        self.base_url = simulator.base_url
        return self.base_url

    def _port(self) -> int:
        assert self.hosted is not None
        return self.hosted.port

    def _watch(self) -> None:
        """Attached: become the host when the host goes away."""
        while not self._stop.wait(TAKEOVER_CHECK):
            if self._try_host():
                log.info("took over the demo simulator at %s", self.base_url)
                return

    # -- attaching -------------------------------------------------------------------

    def _read_record(self) -> dict[str, int] | None:
        try:
            data = json.loads(self.record_path.read_bytes())
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict):
            return None
        port, pid = data.get("port"), data.get("pid")
        if not isinstance(port, int) or not isinstance(pid, int) or not 0 < port < 65536:
            return None
        return {"port": port, "pid": pid}

    def _live_port(self) -> int | None:
        """The host's port, once its record names a running process that answers there."""
        record = self._read_record()
        if record is None or not _running(record["pid"]):
            return None  # the host is still starting; its record is not written yet
        try:
            socket.create_connection(("127.0.0.1", record["port"]), timeout=0.5).close()
        except OSError:
            return None
        return record["port"]


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's process, but running
    return True


__all__ = ["DemoSimulator"]
