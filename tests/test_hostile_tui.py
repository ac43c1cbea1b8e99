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


def _job_list_focus(app: ImagineApp) -> None:
    app.main.table.focus()


async def test_a_locked_history_keeps_the_app_and_the_jobs(tmp_path: Path) -> None:
    """Another program holds the history's write lock past SQLite's 5 s wait."""
    import subprocess

    from ui_helpers import find, wait_done

    from app.jobs import JobState
    from app.jobs.store import JobStore

    app = ImagineApp(ui_settings(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        app.main.prompt_input.focus()
        app.main.prompt_input.value = "before the lock"
        await pilot.press("enter")
        first = find(app, prompt="before the lock")
        assert first is not None
        await wait_done(pilot, app, id=first.id)
        locker = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sqlite3, sys, time\n"
                "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
                "db.execute('BEGIN IMMEDIATE')\n"
                "print('locked', flush=True)\n"
                "time.sleep(60)\n",
                str(app.settings.db_path),
            ],
            stdout=subprocess.PIPE,
        )
        try:
            assert locker.stdout is not None and locker.stdout.readline() == b"locked\n"
            app.main.prompt_input.focus()
            app.main.prompt_input.value = "while locked"
            await pilot.press("enter")  # SQLite waits 5 s for the lock, then gives up
            locked = find(app, prompt="while locked")
            assert locked is not None and locked.state is JobState.FAILED
            assert "Not sent" in (locked.error or "") and "locked" in (locked.error or "")
            await until(
                lambda: any("kept in this session" in n.message for n in app._notifications)
            )
            app.main.table.select(first.id)
            _job_list_focus(app)
            await pilot.press("f")  # the favourite is kept in memory
            kept = app.backend.manager.get(first.id)  # type: ignore[union-attr]
            assert kept is not None and kept.favourite and kept.state is JobState.DONE
        finally:
            locker.kill()
            locker.wait()
        app.main.table.select(locked.id)
        _job_list_focus(app)
        await pilot.press("R")  # the lock is gone: the retry is saved and sent
        again = find(app, prompt="while locked", state=JobState.DONE)
        if again is None:
            await until(lambda: find(app, prompt="while locked", state=JobState.DONE), 20)
    assert app.return_code in (None, 0)
    with JobStore(app.settings.db_path) as store:  # the kept favourite reached the disk
        saved = store.get(first.id)
    assert saved is not None and saved.favourite


DISK_FULL_SCRIPT = """
import asyncio, json, os, resource, signal, sys
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from ui_helpers import SIZE, ui_settings, wait_ready
from app.jobs.store import JobStore
from app.ui.app import ImagineApp

data = Path(sys.argv[1])
JobStore(data / "history.sqlite3").close()  # the history exists; then the disk fills
limit = max((data / "history.sqlite3").stat().st_size, 32768) + 16384
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

async def main():
    app = ImagineApp(ui_settings(data))
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        manager = app.backend.manager
        for i in range(40):  # until the history file can grow no more
            app.main.prompt_input.focus()
            app.main.prompt_input.value = f"prompt {i}"
            await pilot.press("enter")
            await pilot.pause(0.05)
            if any("Not sent" in (j.error or "") for j in manager.jobs()):
                break
        jobs = manager.jobs()
        app.main.table.select(jobs[0].id)
        app.main.table.focus()
        await pilot.press("f")
        result = {
            "jobs": [[j.prompt, str(j.state), j.error, j.favourite] for j in manager.jobs()],
            "favourite": manager.get(jobs[0].id).favourite,
            "notices": [n.message for n in app._notifications],
        }
    result["return_code"] = app.return_code
    print("RESULT " + json.dumps(result), flush=True)

asyncio.run(main())
"""


def test_a_full_disk_keeps_the_app_and_the_jobs(tmp_path: Path) -> None:
    import json
    import subprocess

    data = tmp_path / "data"
    data.mkdir()
    out = subprocess.run(
        [sys.executable, "-c", DISK_FULL_SCRIPT, str(data), str(Path(__file__).parent)],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "TEXTUAL_ANIMATIONS": "none"},
    )
    lines = [x for x in out.stdout.splitlines() if x.startswith("RESULT ")]
    assert out.returncode == 0 and lines, out.stderr[-3000:]
    result = json.loads(lines[-1].removeprefix("RESULT "))
    assert result["return_code"] in (None, 0)
    unsent = [j for j in result["jobs"] if "Not sent" in (j[2] or "")]
    assert unsent and all(j[1] == "failed" for j in unsent)  # kept, and said why
    assert result["favourite"]  # `f` on a full disk: kept in memory, no crash
    assert any("kept in this session" in n for n in result["notices"])
