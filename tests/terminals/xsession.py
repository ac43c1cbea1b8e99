"""A virtual X display, real terminal emulators on it, keys typed into them, screenshots.

Everything here is bounded: each wait has a deadline and says what it waited for when it
runs out. A program that cannot start raises :class:`CannotStart` with its own last words,
so the test fails with the reason instead of skipping.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageChops

SCREEN = (1280, 800)
COLS, ROWS = 132, 40
FONT = "DejaVu Sans Mono"
EMOJI_FONT = "Noto Color Emoji"  # buttons such as 🔄 (fonts-noto-color-emoji)


class CannotStart(RuntimeError):
    """An X server, compositor or emulator did not come up; the message says why."""


def wait_for(what: str, check: Callable[[], bool], timeout: float, every: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout:.0f}s waiting for {what}")
        time.sleep(every)


def _tail(path: Path, lines: int = 6) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no output)"
    return " | ".join(text[-lines:]) or "(no output)"


def need(program: str) -> str:
    found = shutil.which(program)
    if found is None:
        raise CannotStart(f"{program} is not installed (.ci/run installs it with apt-get)")
    return found


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    """Stop a process group this harness started (never anything else)."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=5)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass


@dataclass
class XDisplay:
    """An Xvfb server on a display number it picks itself (-displayfd)."""

    logs: Path
    name: str = ""
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> XDisplay:
        need("Xvfb")
        log = self.logs / "xvfb.log"
        read, write = os.pipe()
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [
                    "Xvfb",
                    "-displayfd",
                    str(write),
                    "-screen",
                    "0",
                    f"{SCREEN[0]}x{SCREEN[1]}x24",
                    "-nolisten",
                    "tcp",
                    "+extension",
                    "GLX",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                pass_fds=(write,),
                start_new_session=True,
            )
        os.close(write)
        number = b""
        deadline = time.monotonic() + 20
        while not number.endswith(b"\n") and time.monotonic() < deadline:
            chunk = os.read(read, 16)
            if not chunk:
                break
            number += chunk
        os.close(read)
        if not number.strip().isdigit():
            self.stop()
            raise CannotStart(f"Xvfb did not start: {_tail(log)}")
        self.name = f":{number.decode().strip()}"
        return self

    def env(self) -> dict[str, str]:
        return {**os.environ, "DISPLAY": self.name}

    def stop(self) -> None:
        _stop(self.proc)

    def shot(self, path: Path) -> Image.Image:
        """A screenshot of the whole display, saved as PNG."""
        subprocess.run(
            ["import", "-display", self.name, "-window", "root", f"png:{path}"],
            check=True,
            timeout=30,
            capture_output=True,
        )
        with Image.open(path) as img:
            return img.convert("RGB")

    def xdotool(self, *args: str) -> str:
        done = subprocess.run(
            [need("xdotool"), *args],
            env=self.env(),
            check=False,
            timeout=20,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0 and args[0] in ("search", "getwindowfocus"):
            return ""  # nothing found; no window has the focus (it follows the pointer)
        if done.returncode != 0:
            raise RuntimeError(f"xdotool {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout.strip()


@dataclass(frozen=True)
class Grid:
    """Where the terminal's character cells are on the screen, in pixels."""

    x: int
    y: int
    cell_w: int
    cell_h: int
    cols: int
    rows: int


@dataclass
class Emulator:
    """How to start one terminal emulator with a command in it."""

    name: str
    programs: tuple[str, ...]
    offset: int = 0  # pixels between the window's corner and the first cell
    extra_env: dict[str, str] = field(default_factory=dict)
    wayland: bool = False  # runs inside a Weston compositor shown on the X display

    def argv(self, title: str, command: list[str]) -> list[str]:
        font_px = "10"
        if self.name == "xterm":
            return [
                "xterm",
                "-ti",
                "vt340",
                "-fa",
                FONT,
                "-fs",
                font_px,
                "-b",
                "0",
                "-geometry",
                f"{COLS}x{ROWS}+0+0",
                "-T",
                title,
                "-e",
                *command,
            ]
        if self.name == "kitty":
            return [
                "kitty",
                "--config",
                "NONE",
                "--title",
                title,
                "-o",
                f"font_family={FONT}",
                "-o",
                f"font_size={font_px}",
                "-o",
                "window_padding_width=0",
                "-o",
                "remember_window_size=no",
                "-o",
                f"initial_window_width={COLS}c",
                "-o",
                f"initial_window_height={ROWS}c",
                "-o",
                "placement_strategy=top-left",
                "-o",
                "enable_audio_bell=no",
                *command,
            ]
        if self.name == "mlterm":
            return [
                "mlterm",
                "--geometry",
                f"{COLS}x{ROWS}+0+0",
                "--title",
                title,
                "--fontsize",
                "14",  # pixels
                "--border",
                "0",
                "--sbmod=none",  # no scroll bar: the cells start at the window's corner
                "-e",
                *command,
            ]
        if self.name == "foot":
            return [
                "foot",
                "--title",
                title,
                "--font",  # then colour emoji: fontconfig alone picks Symbola's outlines
                f"{FONT}:size={font_px},{EMOJI_FONT}:size={font_px}",
                "--window-size-chars",
                f"{COLS}x{ROWS}",
                "-o",
                "pad=0x0",
                *command,
            ]
        raise ValueError(self.name)


EMULATORS = {
    "xterm": Emulator("xterm", ("xterm",), offset=1),  # the X window's own 1 px border
    "kitty": Emulator("kitty", ("kitty",), extra_env={"LIBGL_ALWAYS_SOFTWARE": "1"}),
    "mlterm": Emulator("mlterm", ("mlterm",)),
    "foot": Emulator("foot", ("foot", "weston"), wayland=True),
}


@dataclass
class Terminal:
    """One emulator on the display, running ``command``; keys go in with xdotool."""

    display: XDisplay
    emulator: Emulator
    logs: Path
    work: Path
    title: str = "imagine-tui-under-test"
    proc: subprocess.Popen[bytes] | None = None
    compositor: subprocess.Popen[bytes] | None = None
    window: str = ""

    def start(self, command: list[str], env: dict[str, str]) -> Terminal:
        for program in self.emulator.programs:
            need(program)
        env = {**env, **self.display.env(), **self.emulator.extra_env}
        if self.emulator.wayland:
            env = self._start_weston(env)
        if self.emulator.name == "mlterm":
            env = self._mlterm_fonts(env)
        # A second try if it exits at once: under load mlterm once lost its X connection
        # ("Connection reset by peer"). Both failures are reported if it fails again.
        failures = []
        for _ in range(2):
            try:
                return self._start_emulator(command, env)
            except CannotStart as exc:
                failures.append(str(exc))
        raise CannotStart("; then: ".join(failures))

    def _start_emulator(self, command: list[str], env: dict[str, str]) -> Terminal:
        log = self.logs / f"{self.emulator.name}.log"
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                self.emulator.argv(self.title, command),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_for(
                f"the {self.emulator.name} window",
                lambda: self._exited() or bool(self._find()),
                timeout=30,
            )
        except TimeoutError as exc:
            _stop(self.proc)
            raise CannotStart(f"{self.emulator.name}: {exc}; its output: {_tail(log)}") from None
        if self._exited():
            raise CannotStart(f"{self.emulator.name} exited at once: {_tail(log)}")
        self.window = self._find()
        self.focus()  # now, before the app asks to hear of focus changes
        return self

    def _exited(self) -> bool:
        return self.proc is not None and self.proc.poll() is not None

    def _find(self) -> str:
        if self.emulator.wayland:  # the compositor's window, which it names in its log
            log = (self.logs / "weston.log").read_text(errors="replace")
            found = re.findall(r"window id (\d+)", log)
            return found[-1] if found and self._shows_client() else ""
        found = self.display.xdotool("search", "--onlyvisible", "--name", self.title)
        return found.splitlines()[-1] if found else ""

    def _shows_client(self) -> bool:
        """Weston's kiosk shell has mapped the client once its window is not the backdrop."""
        return (self.logs / self.emulator.name).with_suffix(".log").stat().st_size > 0

    def _mlterm_fonts(self, env: dict[str, str]) -> dict[str, str]:
        """mlterm takes no fallback font from fontconfig: emoji (🔄) come from its aafont."""
        home = self.work / "mlterm-home"
        (home / ".mlterm").mkdir(parents=True, exist_ok=True)
        (home / ".mlterm" / "aafont").write_text("U+1F300-1F6FF = Symbola\n")
        return {**env, "HOME": str(home)}

    def _start_weston(self, env: dict[str, str]) -> dict[str, str]:
        """foot speaks Wayland only: a Weston kiosk compositor draws into an X window."""
        runtime = self.work / "xdg-runtime"
        runtime.mkdir(mode=0o700, exist_ok=True)
        socket = f"wl-{os.getpid()}"
        env = {**env, "XDG_RUNTIME_DIR": str(runtime)}
        log = self.logs / "weston.log"
        with log.open("wb") as out:
            self.compositor = subprocess.Popen(
                [
                    "weston",
                    "--backend=x11-backend.so",
                    "--use-pixman",
                    "--shell=kiosk-shell.so",
                    f"--width={SCREEN[0] - 80}",
                    f"--height={SCREEN[1] - 60}",
                    f"--socket={socket}",
                    "--idle-time=0",
                ],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_for(
                "the Weston compositor socket",
                lambda: (runtime / socket).exists() or self.compositor.poll() is not None,  # type: ignore[union-attr]
                timeout=30,
            )
        except TimeoutError as exc:
            raise CannotStart(f"weston: {exc}; its output: {_tail(log)}") from None
        if self.compositor.poll() is not None:
            raise CannotStart(f"weston exited at once: {_tail(log)}")

        # Its X window gets the keyboard before foot connects. Given it after foot had it,
        # Weston under load at times sent foot a leave and never the enter after it (2 of
        # 15 tries): every key typed after that went nowhere.
        def window() -> str:
            found = re.findall(r"window id (\d+)", log.read_text(errors="replace"))
            return found[-1] if found else ""

        wait_for("Weston's X window", lambda: bool(window()), timeout=30)
        self.window = window()
        self.focus()
        return {**env, "WAYLAND_DISPLAY": socket}

    def geometry(self, size: tuple[int, int]) -> Grid:
        """The cell grid, from the window's geometry and the pty size the app saw."""
        cols, rows = size
        out = self.display.xdotool("getwindowgeometry", "--shell", self.window)
        values = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        x, y = int(values["X"]), int(values["Y"])
        w, h = int(values["WIDTH"]), int(values["HEIGHT"])
        if self.emulator.wayland:
            return self._wayland_grid(x, y, w, h, cols, rows)
        off = self.emulator.offset
        return Grid(x + off, y + off, w // cols, h // rows, cols, rows)

    def _wayland_grid(self, x: int, y: int, w: int, h: int, cols: int, rows: int) -> Grid:
        # Kiosk mode makes foot fill the output (so the pty size seen at start is stale);
        # its cells start at the top-left (pad 0x0), their size is in foot's log.
        log = (self.logs / f"{self.emulator.name}.log").read_text(errors="replace")
        found = re.findall(r"cell width=(\d+), height=(\d+)", log)
        if not found:
            raise CannotStart(f"{self.emulator.name} did not log its cell size")
        cw, ch = (int(v) for v in found[-1])
        return Grid(x, y, cw, ch, w // cw, h // ch)

    def focus(self) -> None:
        """Give the window the keyboard, unless it has it.

        Focusing it again each time made a focus-out and a focus-in: under load Weston
        once ended up with the keyboard away from foot, the app blurred, and every key
        typed after that was lost.
        """
        if self.display.xdotool("getwindowfocus") == self.window:
            return
        if self.emulator.wayland:
            # Weston sends keys to the client under the pointer. Bottom-right corner, out
            # of the way: weston draws the pointer into the screenshot.
            out = self.display.xdotool("getwindowgeometry", "--shell", self.window)
            size = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
            x, y = int(size["WIDTH"]) - 3, int(size["HEIGHT"]) - 3
            self.display.xdotool("mousemove", "--window", self.window, str(x), str(y))
        self.display.xdotool("windowfocus", "--sync", self.window)

    def type(self, text: str) -> None:
        self.focus()
        self.display.xdotool("type", "--delay", "40", text)

    def key(self, *keys: str) -> None:
        self.focus()
        for k in keys:
            self.display.xdotool("key", "--delay", "60", k)
            time.sleep(0.15)

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        _stop(self.proc)
        _stop(self.compositor)


def settle(display: XDisplay, path: Path, timeout: float = 15, quiet: float = 0.8) -> Image.Image:
    """A screenshot once the screen has stopped changing for ``quiet`` seconds.

    A change no bigger than a few characters (a blinking text cursor) does not count.
    """
    last = display.shot(path)
    still_since = time.monotonic()
    deadline = time.monotonic() + timeout
    while time.monotonic() - still_since < quiet:
        if time.monotonic() > deadline:
            return last
        time.sleep(0.2)
        now = display.shot(path)
        box = ImageChops.difference(now, last).getbbox()
        if box is not None and (box[2] - box[0]) * (box[3] - box[1]) > 40 * 40:
            still_since = time.monotonic()
        last = now
    return last


def drawn(display: XDisplay, path: Path, timeout: float = 60) -> Image.Image:
    """A screenshot once the app has drawn its screen (many colours) and it has settled."""

    def busy() -> bool:
        small = display.shot(path).resize((160, 100), Image.Resampling.NEAREST)
        return len(small.getcolors(64) or range(64)) >= 8

    wait_for("the app to draw its screen", busy, timeout, every=0.5)
    return settle(display, path, quiet=1.5)


def app_command(data_dir: Path, work: Path, extra: list[str]) -> list[str]:
    """The app on the demo simulator: note the pty size first, the exit code after.

    Before the TUI, ``imagine-tui graphics`` runs in the same terminal, inside script(1),
    which passes its queries and the terminal's answers through and keeps what it printed
    in ``graphics.txt``. After a failure the terminal stays open a while, so a screenshot
    shows the traceback.
    """
    python = sys.executable
    app = " ".join([python, "-m", "app", *extra])
    script = (
        f'stty size > "{work}/pty-size"; '
        f'script -q -e -c "{python} -m app graphics" "{work}/graphics.txt"; '
        f'{app} --data-dir "{data_dir}"; code=$?; '
        f'echo $code > "{work}/exit-code"; [ $code = 0 ] || sleep 20'
    )
    return ["sh", "-c", script]


def resize(display: XDisplay, window: str, width: int, height: int) -> None:
    """Resize an X window (there is no window manager: the emulator takes it as it is)."""
    display.xdotool("windowsize", "--sync", window, str(width), str(height))


def window_size(display: XDisplay, window: str) -> tuple[int, int]:
    out = display.xdotool("getwindowgeometry", "--shell", window)
    values = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    return int(values["WIDTH"]), int(values["HEIGHT"])
