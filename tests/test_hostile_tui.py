"""The TUI in a hostile world: killed, unable to start, crashing, flooded with text.

The process tests run the real app in a pseudo-terminal, as a user's terminal would.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import sys
import termios
import time
from collections.abc import Callable
from pathlib import Path

from textual import events
from ui_helpers import SIZE, ui_settings, wait_ready
from waiting import until

from app.jobs.manager import MAX_PROMPT
from app.ui.app import ImagineApp

ALT_SCREEN_OFF = b"\x1b[?1049l"
MOUSE_OFF = b"\x1b[?1000l"


class Tty:
    """A child process on a pseudo-terminal: read what it draws, type, signal it."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # the child: become the program
            os.execve(sys.executable, [sys.executable, *argv], env)
        self.pid, self.fd = pid, fd
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        self.out = b""
        self.status: int | None = None

    def read_until(self, done: Callable[[bytes], bool], timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if done(self.out):
                return True
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:  # EIO: the child closed the terminal
                    return done(self.out)
                if not chunk:
                    return done(self.out)
                self.out += chunk
        return done(self.out)

    def wait(self, timeout: float) -> int:
        """The exit code (128 + n for a signal), reading the last output meanwhile."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.read_until(lambda _: False, 0.2)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.read_until(lambda _: False, 0.2)
                return os.waitstatus_to_exitcode(status) % 256
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        raise AssertionError(f"the app did not exit in {timeout:g} s")

    def close(self) -> None:
        os.close(self.fd)


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMAGINE_")}
    env.update(
        TERM="xterm-256color",
        XDG_CONFIG_HOME=str(tmp_path / "cfg"),
        XDG_DATA_HOME=str(tmp_path / "xdg-data"),
        TEXTUAL_ANIMATIONS="none",
        IMAGINE_GRAPHICS="halfcell",
    )
    return env


def _drawn(text: bytes) -> Callable[[bytes], bool]:
    return lambda out: text in out


def test_sigterm_restores_the_terminal_and_exits_non_zero(tmp_path: Path) -> None:
    tty = Tty(["-m", "app", "--data-dir", str(tmp_path / "data")], _env(tmp_path))
    try:
        assert tty.read_until(_drawn(b"Describe an image"), 60), tty.out[-2000:]
        mark = len(tty.out)
        os.kill(tty.pid, signal.SIGTERM)
        code = tty.wait(30)
        after = tty.out[mark:]
    finally:
        tty.close()
    assert code == 128 + signal.SIGTERM
    assert ALT_SCREEN_OFF in after and MOUSE_OFF in after and b"Traceback" not in after


def test_could_not_start_exits_non_zero(tmp_path: Path) -> None:
    blocked = tmp_path / "data"
    blocked.write_text("a file where the data folder should be")
    tty = Tty(["-m", "app", "--data-dir", str(blocked)], _env(tmp_path))
    try:
        assert tty.read_until(_drawn(b"Could not start"), 60), tty.out[-2000:]
        mark = len(tty.out)
        os.write(tty.fd, b"\x11")  # ctrl+q
        code = tty.wait(30)
        after = tty.out[mark:]
    finally:
        tty.close()
    assert code == 2
    assert ALT_SCREEN_OFF in after and b"Traceback" not in after


def test_a_crashed_tui_exits_non_zero(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from app.settings import resolve\n"
        "from app.ui import app as m\n"
        "def boom(self):\n"
        "    raise RuntimeError('a bug in a key handler')\n"
        "m.ImagineApp.action_help = boom\n"
        f"sys.exit(m.run_app(resolve({{'data_dir': {str(tmp_path / 'data')!r}}})))\n"
    )
    tty = Tty(["-c", script], _env(tmp_path))
    try:
        assert tty.read_until(_drawn(b"Describe an image"), 60), tty.out[-2000:]
        os.write(tty.fd, b"\x1b")  # leave the prompt, then ask for help: the handler raises
        time.sleep(0.3)
        os.write(tty.fd, b"?")
        code = tty.wait(30)
    finally:
        tty.close()
    assert code == 1
    assert b"a bug in a key handler" in tty.out and ALT_SCREEN_OFF in tty.out


async def test_a_flood_of_typed_or_pasted_text_is_capped_with_a_word(tmp_path: Path) -> None:
    app = ImagineApp(ui_settings(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        prompt = app.main.query_one("#prompt")
        prompt.focus()
        prompt.value = "x" * (MAX_PROMPT - 3)  # type: ignore[attr-defined]
        prompt.cursor_position = MAX_PROMPT - 3  # type: ignore[attr-defined]
        await pilot.press(*"abcdefghij")
        assert prompt.value == "x" * (MAX_PROMPT - 3) + "abc"  # type: ignore[attr-defined]
        await until(lambda: any("at most" in n.message for n in app._notifications))
        prompt.value = ""  # type: ignore[attr-defined]
        prompt.post_message(events.Paste("y" * 1_000_000))
        await until(lambda: len(prompt.value) == MAX_PROMPT)  # type: ignore[attr-defined]
        await pilot.press("backspace", "z")  # still answering keys
        assert prompt.value.endswith("yz")  # type: ignore[attr-defined]
