"""The terminal-graphics probe never takes the app down: odd terminals get half-blocks.

Each case imports ``app.ui.graphics`` in a fresh interpreter attached to a pseudo-terminal
that nobody answers (the probe's escape-sequence queries time out), with the window size
set by ioctl. textual-image 0.12 divides by the column count at import: 0 columns raised
ZeroDivisionError there.
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from app.ui import graphics

PROBE = """
import json, sys
import app.ui.graphics as g
cls = g.image_widget_class("auto")
with open(sys.argv[1], "w") as fp:
    json.dump({
        "renderer": g.DETECTED.renderer,
        "cell": list(g.DETECTED.cell_size),
        "cell_source": g.DETECTED.cell_source,
        "notes": g.DETECTED.notes,
        "widget": cls.__name__ if cls else None,
        "report": g.graphics_report(),
    }, fp)
"""

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pty")


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass
    except OSError:
        pass


def _probe_in_pty(
    tmp_path: Path, rows: int, cols: int, *, stdin_tty: bool = True, xpixel: int = 0
) -> dict[str, Any]:
    master, slave = pty.openpty()
    ypixel = rows * 20 if xpixel else 0
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, xpixel, ypixel))
    out = tmp_path / "probe.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEXTUAL_CELL")}
    env["TERM"] = "xterm-256color"
    reader = threading.Thread(target=_drain, args=(master,), daemon=True)
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
        os.close(master)
    assert proc.returncode == 0, "importing app.ui.graphics crashed"
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def test_zero_columns_falls_back_to_half_blocks(tmp_path: Path) -> None:
    result = _probe_in_pty(tmp_path, rows=24, cols=0)
    assert result["renderer"] == "halfcell"
    assert result["widget"] is not None  # images are still drawn, with half-blocks
    assert result["cell"] == [10, 20]
    assert result["cell_source"].startswith("assumed")
    assert "ZeroDivisionError" in " ".join(result["notes"])
    assert "half-blocks" in result["report"]


def test_zero_rows_and_columns_falls_back(tmp_path: Path) -> None:
    result = _probe_in_pty(tmp_path, rows=0, cols=0)
    assert result["renderer"] == "halfcell"
    assert result["widget"] is not None


def test_silent_terminal_gets_half_blocks(tmp_path: Path) -> None:
    # A normal size but no answer to any query: no sixel, no kitty, default cell size.
    result = _probe_in_pty(tmp_path, rows=24, cols=80)
    assert result["renderer"] == "halfcell"
    assert result["cell"] == [10, 20]


def test_cell_size_from_the_window_size(tmp_path: Path) -> None:
    result = _probe_in_pty(tmp_path, rows=24, cols=80, xpixel=80 * 9)
    assert result["cell"] == [9, 20]
    assert result["cell_source"] == "the terminal"


def test_stdin_not_a_terminal_does_not_crash(tmp_path: Path) -> None:
    # stdout is a tty but stdin is not: textual-image's queries raise termios.error.
    result = _probe_in_pty(tmp_path, rows=24, cols=80, stdin_tty=False)
    assert result["renderer"] in ("halfcell", "unicode")
    assert result["widget"] is not None


def test_report_and_test_image_render_to_a_console() -> None:
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, color_system="truecolor", width=60)
    graphics.show_test_image(console, graphics="halfcell")
    out = buf.getvalue()
    assert "▀" in out or "▄" in out
    assert "\x1b[38;2;" in out  # true-colour half-blocks
    report = graphics.graphics_report("halfcell")
    assert "renderer" in report and "cell size" in report


def test_run_graphics_command_prints_and_returns_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert graphics.run_graphics_command("unicode") == 0
    out = capsys.readouterr().out
    assert "renderer" in out
