"""The command line as a user meets it: real `python -m app` processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from app.simulator import Simulator


def cli(
    *args: str,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    timeout: float = 90,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        check=False,
    )


def start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """`python -m app ARGS` running, its stdout and stderr piped as text."""
    return subprocess.Popen(
        [sys.executable, "-m", "app", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def service_env(sim: Simulator, data: Path) -> dict[str, str]:
    """The environment that points the CLI at ``sim`` with its history in ``data``."""
    return {
        "IMAGINE_BASE_URL": sim.base_url,
        "IMAGINE_RATE_INTERVAL": "0",
        "IMAGINE_DATA_DIR": str(data),
    }


@dataclass(frozen=True)
class Interrupted:
    returncode: int
    message_id: str  # the first line imagine printed: the service took the job
    stderr: str


def interrupt_imagine_wait(sim: Simulator, data: Path) -> Interrupted:
    """`imagine "a slow harbour" --wait`, Ctrl-C as soon as the service took the job."""
    proc = start("imagine", "a slow harbour", "--wait", env=service_env(sim, data))
    try:
        assert proc.stdout is not None
        message_id = proc.stdout.readline().strip()
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
    return Interrupted(proc.returncode, message_id, stderr)
