"""The app in a real tmux: nothing leaks into the pane title or the scrollback, the terminal
comes back as it was on every way out, and without 24-bit colour it says how to get it.

tmux took the kitty graphics query sent at start for a pane title (``Gi=…;AAAA``), which
stayed after exit. Each test runs its own tmux server (its own socket, no config file).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from ui_helpers import CRASHING_TUI
from xsession import CannotStart, need, wait_for

pytestmark = pytest.mark.timeout(180)
EXITED = re.compile(r"(?m)^EXIT=(\d+)\s*$")  # the line `echo "EXIT""=$?"` prints

# What a terminal shows when a query's answer or a graphics command reaches it as text.
LEAKS = ("^[", "\x1b", "Gi=", "AAAA", ";OK", "[?1;2c", "[>|", "P>|", "$r")


class Tmux:
    def __init__(self, work: Path) -> None:
        try:
            self.program = need("tmux")
        except CannotStart as exc:
            pytest.fail(str(exc), pytrace=False)
        self.work = work
        self.socket = f"imagine-tui-test-{os.getpid()}-{work.name}"

    def __call__(self, *args: str) -> str:
        done = subprocess.run(
            [self.program, "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        )
        return done.stdout

    def start(self) -> None:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("IMAGINE_", "TEXTUAL_", "TMUX")) and k != "COLORTERM"
        }
        env.update(
            TEXTUAL_ANIMATIONS="none",
            XDG_CONFIG_HOME=str(self.work / "config"),
            XDG_DATA_HOME=str(self.work / "xdg-data"),
            LANG="C.UTF-8",
        )
        session = ["new-session", "-d", "-s", "t", "-x", "120", "-y", "40", "/bin/sh"]
        subprocess.run(
            [self.program, "-L", self.socket, "-f", "/dev/null", *session],
            env=env,
            timeout=20,
            check=True,
        )

    def show(self, fmt: str) -> str:
        return self("display-message", "-p", "-t", "t", fmt).strip()

    def screen(self) -> str:
        """The pane and all its scrollback, wrapped lines joined."""
        return self("capture-pane", "-p", "-J", "-S", "-", "-t", "t")

    def type_line(self, line: str) -> None:
        self("send-keys", "-t", "t", "-l", line)
        self("send-keys", "-t", "t", "Enter")

    def stop(self) -> None:
        subprocess.run(
            [self.program, "-L", self.socket, "kill-server"], capture_output=True, timeout=20
        )


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    t = Tmux(tmp_path)
    t.start()
    yield t
    t.stop()


def _terminal_state(tmux: Tmux) -> str:
    return tmux.show(
        "title=#{pane_title} alternate=#{alternate_on} "
        "mouse=#{mouse_any_flag}#{mouse_button_flag}#{mouse_standard_flag}#{mouse_sgr_flag} "
        "cursor=#{cursor_flag} keypad=#{keypad_cursor_flag}#{keypad_flag}"
    )


@pytest.mark.parametrize("way_out", ["ctrl+q", "SIGTERM", "SIGHUP", "SIGINT", "crash"])
def test_every_way_out_restores_the_terminal_and_leaks_nothing(
    tmux: Tmux, tmp_path: Path, way_out: str
) -> None:
    before = _terminal_state(tmux)
    data, pid_file = tmp_path / "data", tmp_path / "app.pid"
    app = [sys.executable, "-m", "app", "--data-dir", str(data)]
    if way_out == "crash":
        app = [sys.executable, "-c", CRASHING_TUI, str(data)]
    # The shell notes its pid, then becomes the app: the signal goes to the app itself.
    inner = f"echo $$ > {shlex.quote(str(pid_file))}; exec {shlex.join(app)}"
    tmux.type_line(f'sh -c {shlex.quote(inner)}; echo "EXIT""=$?"')
    wait_for("the app to draw", lambda: "Describe an image" in tmux.screen(), 60)
    during = _terminal_state(tmux)
    assert "alternate=1" in during, during
    time.sleep(0.5)  # the first frame is out; its keys are read from here on
    pid = int(pid_file.read_text())
    if way_out == "ctrl+q":
        tmux("send-keys", "-t", "t", "C-q")
    elif way_out == "crash":
        tmux("send-keys", "-t", "t", "Escape")
        time.sleep(0.3)
        tmux("send-keys", "-t", "t", "?")  # the help key's handler raises
    else:
        os.kill(pid, getattr(__import__("signal"), way_out))
    wait_for(f"the app to exit on {way_out}", lambda: bool(EXITED.search(tmux.screen())), 30)
    after = _terminal_state(tmux)
    screen = tmux.screen()
    print(f"{way_out}: before [{before}] during [{during}] after [{after}]")
    print(screen[-600:])
    assert after == before, f"the terminal is not as it was: {after} (was {before})"
    leaked = [s for s in LEAKS if s in screen]
    assert not leaked, f"escape sequences or query answers in the scrollback: {leaked}"
    found = EXITED.search(screen)
    assert found is not None
    assert (
        int(found.group(1))
        == {"ctrl+q": 0, "SIGTERM": 143, "SIGHUP": 129, "SIGINT": 0, "crash": 1}[way_out]
    )


def test_graphics_in_tmux_without_24_bit_colour_says_how_to_get_it(tmux: Tmux) -> None:
    before = _terminal_state(tmux)
    tmux.type_line(f'{shlex.quote(sys.executable)} -m app graphics; echo "EXIT""=$?"')
    wait_for("imagine-tui graphics to finish", lambda: bool(EXITED.search(tmux.screen())), 60)
    screen = tmux.screen()
    print(screen)
    found = EXITED.search(screen)
    assert found is not None and found.group(1) == "0"
    assert "identity:   tmux" in screen
    assert "kitty graphics: not asked (inside tmux)" in screen
    assert "colours:    256-colour palette" in screen
    words = " ".join(screen.split())  # the report is wrapped to the pane's width
    assert "set -as terminal-features ',*:RGB'" in words and "COLORTERM=truecolor" in words
    assert _terminal_state(tmux) == before  # the pane title is not "Gi=…;AAAA"
    assert not [s for s in LEAKS if s in screen]
