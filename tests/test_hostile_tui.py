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
from typing import Any

from textual import events
from textual.widgets import Input
from ui_helpers import CRASHING_TUI, SIZE, ui_settings, wait_ready
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
    tty = Tty(["-c", CRASHING_TUI, str(tmp_path / "data")], _env(tmp_path))
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


LOCKER = """
import select, sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
select.select([sys.stdin], [], [], 60)  # until told to let go (a line), at most 60 s
db.execute("COMMIT")
"""


def _on_disk(db: Path, job_id: str) -> tuple[str, bool] | None:
    """A job's state and favourite as the file holds them (read-only)."""
    import contextlib
    import sqlite3

    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as ro:
        row = ro.execute("SELECT state, favourite FROM jobs WHERE id = ?", (job_id,)).fetchone()
    return (str(row[0]), bool(row[1])) if row else None


async def _submit(pilot: Any, app: ImagineApp, prompt: str) -> None:
    app.main.prompt_input.focus()
    app.main.prompt_input.value = prompt
    await pilot.press("enter")


async def test_a_locked_history_never_freezes_the_app_nor_loses_a_write(tmp_path: Path) -> None:
    """Another program holds the history's write lock (longer than SQLite's 5 s wait): the
    app goes on answering keys, keeps every change, says so, and writes it all afterwards."""
    import subprocess

    from ui_helpers import find, wait_done

    from app.jobs import JobState

    app = ImagineApp(ui_settings(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        db = app.settings.db_path
        await _submit(pilot, app, "first before the lock")
        first = await wait_done(pilot, app, prompt="first before the lock")
        await _submit(pilot, app, "second before the lock")
        second = await wait_done(pilot, app, prompt="second before the lock")
        locker = subprocess.Popen(
            [sys.executable, "-c", LOCKER, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        try:
            assert locker.stdout is not None and locker.stdout.readline() == b"locked\n"
            await _submit(pilot, app, "while locked")
            locked = find(app, prompt="while locked")
            # Shown at once, waiting to be saved before it is sent (a write on the UI
            # thread would have held Enter for 5 s, then failed the job).
            assert locked is not None and locked.state is JobState.QUEUED
            app.main.table.select(first.id)
            _job_list_focus(app)
            moved = []
            for key in ("j", "k", "j", "k"):
                await pilot.press(key)
                moved.append(app.main.selected_job.id)  # type: ignore[union-attr]
            assert set(moved) == {first.id, second.id} and len(set(moved[::2])) == 1
            app.main.table.select(first.id)
            await pilot.press("f")  # shown at once, written once it can be
            assert app.backend.manager.get(first.id).favourite  # type: ignore[union-attr]
            await until(
                lambda: any("kept in this session" in n.message for n in app._notifications),
                what="a word that the history cannot be written",
            )
            await pilot.press("j")  # still answering while the writes wait
            assert app.main.selected_job.id == second.id  # type: ignore[union-attr]
            assert locker.poll() is None  # all of this while the lock was held
            assert _on_disk(db, locked.id) is None and _on_disk(db, first.id) == ("done", False)
            assert find(app, prompt="while locked").state is JobState.QUEUED  # type: ignore[union-attr]
        finally:
            assert locker.stdin is not None
            locker.stdin.write(b"go\n")
            locker.stdin.close()
            locker.wait(30)
        # The lock is gone: every kept write lands, in order, and the job goes out.
        await until(
            lambda: _on_disk(db, locked.id) == ("done", False),
            30,
            what="the job made while locked, done on disk",
        )
        assert _on_disk(db, first.id) == ("done", True)
        await until(lambda: any("written again" in n.message for n in app._notifications))
        assert find(app, prompt="while locked").state is JobState.DONE  # type: ignore[union-attr]
    assert app.return_code in (None, 0)


def _meta_on_disk(db: Path, key: str) -> str | None:
    """A kept setting (theme, save folder) as the file holds it (read-only)."""
    import contextlib
    import sqlite3

    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as ro:
        row = ro.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return str(row[0]) if row else None


async def test_a_locked_history_never_freezes_a_theme_change_nor_a_save(tmp_path: Path) -> None:
    """The theme and the save folder are kept in the history too: with its write lock held
    by another program, picking a theme and saving an image leave the keys answering, and
    both values are on disk once the lock is let go."""
    import subprocess

    from ui_helpers import wait_done, wait_tiles

    from app.ui.screens.save import SaveScreen

    app = ImagineApp(ui_settings(tmp_path / "data"))
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        db = app.settings.db_path
        await _submit(pilot, app, "a harbour at dawn")
        job = await wait_done(pilot, app, prompt="a harbour at dawn")
        await wait_tiles(pilot, app, 4)
        _job_list_focus(app)
        out = tmp_path / "saved"
        locker = subprocess.Popen(
            [sys.executable, "-c", LOCKER, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        try:
            assert locker.stdout is not None and locker.stdout.readline() == b"locked\n"
            app.theme = "nord"  # as the palette's theme picker sets it
            await pilot.press("2", "s")

            def asked() -> Input | None:  # the dialog is composed a moment after it is pushed
                fields = app.screen.query("#save-folder")
                return (
                    fields.first(Input) if isinstance(app.screen, SaveScreen) and fields else None
                )

            field: Input = await until(asked, what="the folder question")
            field.value = str(out)
            await pilot.press("enter")
            await until(lambda: (out / f"{job.id}_2.png").exists(), what="the saved image")
            await until(
                lambda: any("Saved 1 image" in n.message for n in app._notifications),
                what="the saved note",
            )
            for tile in (3, 1, 4):  # still answering keys while the writes wait
                await pilot.press(str(tile))
                assert app.main.grid.selected == tile
            assert locker.poll() is None  # all of this while the lock was held
            assert _meta_on_disk(db, "theme") != "nord"
            assert _meta_on_disk(db, "save_dir") is None
        finally:
            assert locker.stdin is not None
            locker.stdin.write(b"go\n")
            locker.stdin.close()
            locker.wait(30)
        await until(lambda: _meta_on_disk(db, "theme") == "nord", 30, what="the theme on disk")
        await until(
            lambda: _meta_on_disk(db, "save_dir") == str(out), 30, what="the folder on disk"
        )
    assert app.return_code in (None, 0)


DISK_FULL_SCRIPT = """
import asyncio, json, os, resource, signal, sys
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from ui_helpers import CRASHING_TUI, SIZE, ui_settings, wait_ready
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
            if any("kept in this session" in n.message for n in app._notifications):
                break
        app.main.prompt_input.focus()
        app.main.prompt_input.value = "once the disk is full"
        await pilot.press("enter")
        await pilot.pause(0.5)
        jobs = manager.jobs()
        app.main.table.select(jobs[0].id)
        app.main.table.focus()
        await pilot.press("f")
        result = {
            "jobs": [[j.prompt, str(j.state), j.message_id] for j in manager.jobs()],
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
    # The jobs the history could not take are kept, waiting to be saved before they are
    # sent (the disk never frees up here: never sent).
    unsaved = [j for j in result["jobs"] if j[0] == "once the disk is full"]
    assert unsaved and all(j[1] == "queued" and j[2] is None for j in unsaved), result
    assert result["favourite"]  # `f` on a full disk: kept in memory, no crash
    assert any("kept in this session" in n for n in result["notices"])
