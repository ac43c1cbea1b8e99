"""The terminal-graphics probe: what the terminal says decides the renderer; odd terminals
never take the app down.

Each case imports ``app.ui.graphics`` in a fresh interpreter attached to a pseudo-terminal
with the window size set by ioctl. Either nobody answers (the queries time out), or a
thread answers as a given terminal would (XTVERSION, kitty graphics, DA1). textual-image
0.12 divides by the column count at import: 0 columns raised ZeroDivisionError there.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import os
import pty
import sqlite3
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from app.ui import graphics

PROBE = """
import json, sys
import app.ui.graphics as g
from textual import constants
cls = g.image_widget_class("auto")
with open(sys.argv[1], "w") as fp:
    json.dump({
        "renderer": g.DETECTED.renderer,
        "cell": list(g.DETECTED.cell_size),
        "cell_source": g.DETECTED.cell_source,
        "notes": g.DETECTED.notes,
        "widget": cls.__name__ if cls else None,
        "report": g.graphics_report(),
        "color_system": constants.COLOR_SYSTEM,
    }, fp)
"""

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pty")


class _Terminal:
    """Reads what the app writes; answers the query round as ``answers`` says (or not),
    the last ``late[1]`` characters ``late[0]`` seconds after the rest (a slow terminal)."""

    def __init__(self, fd: int, answers: str | None, late: tuple[float, int] = (0, 0)) -> None:
        self.fd, self.answers, self.late, self.seen = fd, answers, late, b""

    def run(self) -> None:
        try:
            while chunk := os.read(self.fd, 4096):
                self.seen += chunk
                if self.answers is not None and chunk.endswith(b"\x1b[c"):
                    delay, count = self.late
                    first, last = self.answers[: len(self.answers) - count], self.answers[-count:]
                    os.write(self.fd, (first if count else self.answers).encode())
                    if count:
                        time.sleep(delay)
                        os.write(self.fd, last.encode())
        except OSError:
            pass


KITTY_026 = "\x1bP>|kitty(0.26.5)\x1b\\\x1b_Gi=31;OK\x1b\\\x1b[?62;c"
KITTY_035 = "\x1bP>|kitty(0.35.2)\x1b\\\x1b_Gi=31;OK\x1b\\\x1b[?62;c"
XTERM_VT340 = "\x1bP>|XTerm(379)\x1b\\\x1bP1$r0;38:2::1:2:3m\x1b\\\x1b[?63;1;2;4;6;9;15;16;22;28c"
MLTERM = "\x1bP1$r0;38;5;16m\x1b\\\x1b[?63;1;2;3;4;6;7;15;18;22;29c"
WEZTERM = "\x1bP>|WezTerm 20240203\x1b\\\x1b_Gi=31;OK\x1b\\\x1b[?65;4;6;18;22c"
FOOT = "\x1bP>|foot(1.13.1)\x1b\\\x1b[?62;4;22c"
TMUX = "\x1bP>|tmux 3.3a\x1b\\\x1b[?1;2c"


def _probe_in_pty(
    tmp_path: Path,
    rows: int,
    cols: int,
    *,
    stdin_tty: bool = True,
    xpixel: int = 0,
    answers: str | None = None,
    env_extra: dict[str, str] | None = None,
    late: tuple[float, int] = (0, 0),
    waiting: str = "",
) -> dict[str, Any]:
    master, slave = pty.openpty()
    if waiting:  # already in the input when the app starts (an earlier program's answers)
        os.write(master, waiting.encode())
    ypixel = rows * 20 if xpixel else 0
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, xpixel, ypixel))
    out = tmp_path / "probe.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEXTUAL_CELL")}
    env["TERM"] = "xterm-256color"
    for var in ("TMUX", "COLORTERM", "KITTY_WINDOW_ID", "TERM_PROGRAM", "KONSOLE_VERSION"):
        env.pop(var, None)
    env.update(env_extra or {})
    terminal = _Terminal(master, answers, late)
    reader = threading.Thread(target=terminal.run, daemon=True)
    reader.start()
    try:
        proc = subprocess.run(
            [sys.executable, "-c", PROBE, str(out)],
            stdin=slave if stdin_tty else subprocess.DEVNULL,
            stdout=slave,
            stderr=slave,
            env=env,
            timeout=60,
            check=False,
        )
    finally:
        os.close(slave)
        reader.join(timeout=5)
        os.close(master)
    assert proc.returncode == 0, "importing app.ui.graphics crashed"
    result: dict[str, Any] = json.loads(out.read_text())
    result["written"] = terminal.seen.decode("utf-8", "replace")
    return result


def test_zero_columns_falls_back_to_cells(tmp_path: Path) -> None:
    result = _probe_in_pty(tmp_path, rows=24, cols=0)
    assert result["renderer"] == "quadrant"
    assert result["widget"] is not None  # images are still drawn, with character cells
    assert result["cell"] == [10, 20]
    assert result["cell_source"].startswith("assumed")
    assert "0 columns" in " ".join(result["notes"])
    assert "quadrant cells" in result["report"]


def test_zero_rows_and_columns_falls_back(tmp_path: Path) -> None:
    result = _probe_in_pty(tmp_path, rows=0, cols=0)
    assert result["renderer"] == "quadrant"
    assert result["widget"] is not None


def test_silent_terminal_gets_quadrant_cells(tmp_path: Path) -> None:
    # A normal size but no answer to any query: no sixel, no kitty, default cell size.
    result = _probe_in_pty(tmp_path, rows=24, cols=80)
    assert result["renderer"] == "quadrant"
    assert result["cell"] == [10, 20]
    assert "no answer to the attribute query" in result["report"]


def test_cell_size_from_the_window_size(tmp_path: Path) -> None:
    result = _probe_in_pty(tmp_path, rows=24, cols=80, xpixel=80 * 9)
    assert result["cell"] == [9, 20]
    assert result["cell_source"].startswith("the terminal")


def test_stdin_not_a_terminal_does_not_crash(tmp_path: Path) -> None:
    result = _probe_in_pty(tmp_path, rows=24, cols=80, stdin_tty=False)
    assert result["renderer"] in ("quadrant", "unicode")
    assert result["widget"] is not None


def test_kitty_026_has_no_placeholders_so_gets_classic_placements(tmp_path: Path) -> None:
    # kitty 0.26 answers the kitty query OK but shows placeholder boxes, and has no sixel.
    result = _probe_in_pty(tmp_path, rows=24, cols=80, answers=KITTY_026)
    assert result["renderer"] == "kitty"
    assert result["widget"] == "KittyClassicImage"
    assert "kitty 0.26.5" in result["report"] and "classic way" in result["report"]


def test_kitty_with_placeholders_gets_kitty_graphics(tmp_path: Path) -> None:
    result = _probe_in_pty(tmp_path, rows=24, cols=80, answers=KITTY_035)
    assert result["renderer"] == "kitty"
    assert result["widget"] == "TGPImage"


def test_sixel_terminals_get_sixel_and_the_report_says_so(tmp_path: Path) -> None:
    for answers, who in ((XTERM_VT340, "xterm 379"), (WEZTERM, "wezterm 20240203")):
        result = _probe_in_pty(tmp_path, rows=24, cols=80, answers=answers)
        assert result["renderer"] == "sixel", who
        assert who in result["report"]
        assert "draws with sixel" in result["report"]  # what the TUI will use, not "half-blocks"


def test_colour_depth_from_the_terminals_own_echo(tmp_path: Path) -> None:
    # COLORTERM unset: the terminal's DECRQSS answer for a 24-bit colour decides.
    xterm = _probe_in_pty(tmp_path, rows=24, cols=80, answers=XTERM_VT340)
    assert "colours:    24-bit (the terminal reported a 24-bit colour back" in xterm["report"]
    assert "hint:" not in xterm["report"]
    mlterm = _probe_in_pty(tmp_path, rows=24, cols=80, answers=MLTERM)
    assert "maps 24-bit codes to it" in mlterm["report"]
    # Palette codes for mlterm: with 24-bit ones, bold + foreground + background is 11 SGR
    # parameters, and mlterm drops those past the 10th (bold badges came out white).
    assert mlterm["color_system"] == "256"
    assert xterm["color_system"] == "auto"
    # mlterm maps 24-bit colours itself: COLORTERM=truecolor would change nothing there.
    assert "hint:" in mlterm["report"] and "COLORTERM=truecolor" not in mlterm["report"]


def test_a_slow_terminal_is_waited_for(tmp_path: Path) -> None:
    # foot under load answered DA1 after the probe had given up (0.5 s): its answers were
    # read by the TUI as keys, an ESC took the focus off the prompt and the test's typed
    # prompt was lost. Once the terminal has begun answering, the probe waits for DA1.
    da1 = "\x1b[?62;4;22c"
    result = _probe_in_pty(tmp_path, rows=24, cols=80, answers=FOOT, late=(1.5, len(da1)))
    assert result["renderer"] == "sixel", result["report"]
    assert "DA1 62;4;22 (sixel yes)" in result["report"]


def test_answers_left_over_from_an_earlier_program_are_not_taken_for_its_own(
    tmp_path: Path,
) -> None:
    # `imagine-tui graphics`, then the TUI: the first one's late DA1 answer (here without
    # sixel) waiting in the input ended the TUI's round before its own answers came.
    result = _probe_in_pty(tmp_path, rows=24, cols=80, answers=FOOT, waiting="\x1b[?1;2c")
    assert result["renderer"] == "sixel", result["report"]


def test_foot_without_sixel_answer_gets_sextants(tmp_path: Path) -> None:
    result = _probe_in_pty(tmp_path, rows=24, cols=80, answers=FOOT.replace("4;", ""))
    assert result["renderer"] == "sextant"


def test_inside_tmux_no_kitty_query_is_sent(tmp_path: Path) -> None:
    # tmux took the kitty query's APC string for the pane title ("Gi=…;AAAA").
    result = _probe_in_pty(tmp_path, rows=24, cols=80, answers=TMUX, env_extra={"TMUX": "x"})
    assert "\x1b_G" not in result["written"]
    assert "\x1b[c" in result["written"]
    assert result["renderer"] == "quadrant"
    assert "256-colour" in result["report"]  # no COLORTERM: a hint about colours
    assert "the kitty graphics query is not sent inside tmux" in result["report"]


def test_only_the_probe_queries_the_terminal(tmp_path: Path) -> None:
    # textual-image's own import-time queries are off: one round, each query once.
    result = _probe_in_pty(tmp_path, rows=24, cols=80, answers=XTERM_VT340)
    written = result["written"]
    assert written.count("\x1b[c") == 1
    assert written.count("\x1b_G") == 1
    assert written.count("\x1b[16t") == 1


def test_report_and_test_image_render_to_a_console() -> None:
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, color_system="truecolor", width=60)
    graphics.show_test_image(console, graphics="halfcell")
    out = buf.getvalue()
    assert "▀" in out or "▄" in out
    assert "\x1b[38;2;" in out  # true-colour half-blocks
    report = graphics.graphics_report("halfcell")
    assert "draws with colour half-blocks" in report and "cell size" in report


def test_run_graphics_command_prints_and_returns_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert graphics.run_graphics_command("unicode") == 0
    out = capsys.readouterr().out
    assert "the TUI:" in out


def test_a_late_answer_is_not_typed_into_the_prompt(tmp_path: Path) -> None:
    # The whole app in a pty whose terminal answers DA1 0.7 s after XTVERSION. With the
    # probe giving up at 0.5 s, the TUI read the late answer as keys: the prompt typed
    # next became "[?62;4;22ca lighthouse".
    from test_hostile_tui import Tty

    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMAGINE_", "TEXTUAL_"))}
    env.update(
        TERM="xterm-256color",
        TEXTUAL_ANIMATIONS="none",
        XDG_CONFIG_HOME=str(tmp_path / "cfg"),
        IMAGINE_GRAPHICS="halfcell",
    )
    env.pop("TMUX", None)
    data = tmp_path / "data"
    tty = Tty(["-m", "app", "--data-dir", str(data)], env)
    try:
        assert tty.read_until(lambda out: b"\x1b[c" in out, 30), "the probe asked nothing"
        os.write(tty.fd, b"\x1bP>|foot(1.13.1)\x1b\\")
        time.sleep(0.7)
        os.write(tty.fd, b"\x1b[?62;4;22c")
        assert tty.read_until(lambda out: b"in flight" in out, 60), tty.out[-2000:]
        time.sleep(1.0)  # keys go to the prompt once it has the focus (after the first frame)
        os.write(tty.fd, b"a lighthouse\r")
        store = data / "history.sqlite3"

        def submitted() -> bool:
            if not store.exists():
                return False
            with contextlib.closing(sqlite3.connect(f"file:{store}?mode=ro", uri=True)) as db:
                return bool(db.execute("SELECT 1 FROM jobs").fetchone())

        deadline = time.monotonic() + 30
        while not submitted() and time.monotonic() < deadline:
            tty.read_until(lambda _: False, 0.2)
        os.write(tty.fd, b"\x11")  # ctrl+q
        assert tty.wait(30) == 0
    finally:
        tty.close()
    with contextlib.closing(sqlite3.connect(f"file:{store}?mode=ro", uri=True)) as db:
        prompts = [row[0] for row in db.execute("SELECT prompt FROM jobs")]
    assert prompts == ["a lighthouse"]
