"""One walk through the app in a real terminal emulator, recorded as screenshots.

The app runs on its demo simulator (fixed seed, fast) with its own data directory, after
``imagine-tui graphics`` has said what it found there. Two prompts make two jobs, A then
B; the walk goes back to A, opens tile 1 full screen and closes it, opens the help and
the command palette over the grid and closes them, makes the window smaller and large
again (not foot: Weston's kiosk shell sizes it), and quits. What each screenshot should
show is read from the app's own job history and image cache (the images the simulator
served), and found on screen by :mod:`screen_match`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image
from screen_match import Box, Found, locate
from xsession import (
    EMULATORS,
    Grid,
    Terminal,
    XDisplay,
    app_command,
    drawn,
    resize,
    settle,
    wait_for,
    window_size,
)

from app.images.cache import find_full
from app.jobs.model import Job, JobState

PROMPT_A = "a lighthouse at dusk"
PROMPT_B = "a red barn in snow"
PROMPT_C = "a green field at noon"
# The simulator's time scale: a job takes ~3 s, long enough to catch its preview on screen.
SPEED = "12"
PREVIEW_SHOTS = 6  # at most, while job C runs


@dataclass
class Journey:
    emulator: str
    artefacts: Path
    grid: Grid | None = None
    shots: dict[str, Path] = field(default_factory=dict)
    images: dict[str, list[Image.Image]] = field(default_factory=dict)  # job -> tiles
    found: dict[str, list[Found]] = field(default_factory=dict)  # shot -> tiles found
    previews: list[tuple[str, Found]] = field(default_factory=list)  # job C's, as found
    exit_code: int | None = None
    error: str | None = None  # why the walk stopped early
    graphics: str = ""  # what `imagine-tui graphics` printed there (text only)

    def image(self, name: str) -> Image.Image:
        with Image.open(self.shots[name]) as img:
            return img.convert("RGB")

    @property
    def cells(self) -> tuple[int, int, int, int] | None:
        g = self.grid
        return None if g is None else (g.x, g.y, g.cell_w, g.cell_h)

    def grid_box(self, shot: str) -> Box:
        """The four tiles of ``shot`` and what lies between them."""
        boxes = [f.box for f in self.found[shot]]
        box = boxes[0]
        for other in boxes[1:]:
            box = box.union(other)
        return box.grow(4)


def _blue(colour: tuple[int, ...]) -> bool:
    """The prompt's border with the keyboard (theme primary #0178D4; mlterm's palette
    makes it #0087D7); without it, it is orange."""
    return colour[2] >= 150 and colour[0] <= 60


def _job(data: Path, prompt: str) -> Job | None:
    """Read the app's history read-only: a watcher must not write to what it watches."""
    path = data / "history.sqlite3"
    if not path.exists():
        return None
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        row = db.execute(
            "SELECT state, image_urls FROM jobs WHERE prompt = ? LIMIT 1", (prompt,)
        ).fetchone()
    if row is None:
        return None
    return Job(
        id="watched",
        kind="imagine",
        prompt=prompt,
        state=JobState(row[0]),
        image_urls=tuple(json.loads(row[1])),
    )


def _progress(data: Path, prompt: str) -> tuple[JobState, str | None] | None:
    path = data / "history.sqlite3"
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        row = db.execute(
            "SELECT state, progress_image_url FROM jobs WHERE prompt = ? LIMIT 1", (prompt,)
        ).fetchone()
    return None if row is None else (JobState(row[0]), row[1])


def _tiles(data: Path, job: Job) -> list[Image.Image] | None:
    tiles = []
    for url in job.image_urls[:4]:
        path = find_full(data / "images", url)
        if path is None:
            return None
        with Image.open(path) as img:
            tiles.append(img.convert("RGB"))
    return tiles if len(tiles) == 4 else None


def _wait_for_job(data: Path, prompt: str) -> list[Image.Image]:
    result: list[list[Image.Image]] = []

    def done() -> bool:
        job = _job(data, prompt)
        if job is None or job.state is not JobState.DONE:
            return False
        tiles = _tiles(data, job)
        if tiles:
            result.append(tiles)
        return bool(tiles)

    wait_for(f"the job {prompt!r} to finish with four images", done, timeout=60, every=0.4)
    return result[0]


class Walk:
    def __init__(self, journey: Journey, display: XDisplay, work: Path) -> None:
        self.j = journey
        self.display = display
        self.data = work / "data"
        self.term = Terminal(display, EMULATORS[journey.emulator], journey.artefacts, work)
        self.work = work
        self.size_file = work / "pty-size"
        self.exit_file = work / "exit-code"
        self.step = 0

    def shot(self, name: str) -> Image.Image:
        self.step += 1
        path = self.j.artefacts / f"{self.step:02d}-{name}.png"
        img = settle(self.display, path)
        self.j.shots[name] = path
        return img

    def ready(self) -> bool:
        """The prompt's border, across its top row, is in the focused colour."""
        g = self.j.grid
        assert g is not None
        top = self.display.shot(self.j.artefacts / "ready.png").crop(
            (g.x, g.y, g.x + g.cols * g.cell_w, g.y + g.cell_h)
        )
        blue = sum(n for n, c in top.getcolors(1 << 16) or [] if _blue(c))
        return blue > 40 * g.cell_w

    def graphics_report(self) -> str:
        """`imagine-tui graphics`'s text: escape sequences (and the sixel image) taken out."""
        raw = (self.work / "graphics.txt").read_text(errors="replace")
        (self.j.artefacts / "graphics.txt").write_text(raw)  # as it came, for the record
        raw = re.sub(r"\x1b(P|_|\])[^\x1b]*\x1b\\", "", raw)  # DCS, APC, OSC strings
        raw = re.sub(r"\x1b\[[0-9;?:<=>]*[ -/]*[@-~]", "", raw)  # CSI sequences
        return raw.replace("\r", "")

    def find_tiles(self, name: str, job: str, near: str | None = None) -> list[Found]:
        img = self.j.image(name)
        found = []
        for i, tile in enumerate(self.j.images[job]):
            within = self.j.found[near][i].box.grow(60) if near else None
            found.append(locate(img, tile, within=within, cells=self.j.cells))
        self.j.found[name] = found
        return found

    def run(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("IMAGINE_", "TEXTUAL_"))}
        env.update(
            {
                "TEXTUAL_ANIMATIONS": "none",
                "XDG_CONFIG_HOME": str(self.data.parent / "config"),
                "LANG": "C.UTF-8",
            }
        )
        env.pop("TMUX", None)
        command = app_command(self.data, self.work, ["--speed", SPEED])
        self.term.start(command, env)
        wait_for("the app to start", lambda: (self.data / "history.sqlite3").exists(), 60)
        self.j.graphics = self.graphics_report()
        wait_for("the pty size", lambda: self.size_file.read_text().strip() != "", 10)
        rows, cols = (int(v) for v in self.size_file.read_text().split())
        self.j.grid = self.term.geometry((cols, rows))
        self.step += 1
        self.j.shots["start"] = self.j.artefacts / f"{self.step:02d}-start.png"
        drawn(self.display, self.j.shots["start"])
        # Keys go in only once the screen shows the prompt holds them: a typed prompt was
        # lost whole when the app had been told it lost the focus, or an Esc (a late
        # terminal answer) had taken it off the prompt.
        wait_for("the prompt to show it has the keyboard (its border blue)", self.ready, 20, 0.5)

        self.term.type(PROMPT_A)
        self.term.key("Return")
        wait_for(
            "the typed prompt to reach the app (a job in its history)",
            lambda: _job(self.data, PROMPT_A) is not None,
            20,
        )
        self.j.images["A"] = _wait_for_job(self.data, PROMPT_A)
        self.shot("grid-A")
        self.find_tiles("grid-A", "A")

        self.term.key("slash")  # a submit hands the keys to the list; / is the prompt again
        self.term.type(PROMPT_B)
        self.term.key("Return")
        self.j.images["B"] = _wait_for_job(self.data, PROMPT_B)
        self.shot("grid-B")
        self.find_tiles("grid-B", "B", near="grid-A")

        self.watch_preview()

        self.term.key("Escape", "Home")  # to the job list, its first job: A
        self.shot("grid-A-again")
        self.find_tiles("grid-A-again", "A", near="grid-A")

        self.term.key("Return")  # tile 1 full screen
        time.sleep(0.5)
        # Tile 2, then back to 1: each switch frees the image shown before. kitty frees
        # with it every image that has no placement, the hidden grid's too (issue: Esc
        # then showed an empty grid whenever the full-screen image had been replaced).
        self.term.key("2", "1")
        full = self.shot("full-screen")
        self.j.found["full-screen"] = [locate(full, self.j.images["A"][0], cells=self.j.cells)]

        self.term.key("Escape")
        self.shot("after-full-screen")
        self.find_tiles("after-full-screen", "A", near="grid-A")

        # Modal screens over the grid, each closed again: the grid must come back whole.
        for key, name in (("question", "help"), ("ctrl+p", "palette")):
            self.term.key(key)
            self.shot(name)
            self.term.key("Escape")
            self.shot(f"after-{name}")
            self.find_tiles(f"after-{name}", "A", near="grid-A")

        if not self.term.emulator.wayland:
            self.resize_and_back()

        self.term.key("ctrl+q")
        wait_for("the app to quit", self.exit_file.exists, 20)
        self.j.exit_code = int(self.exit_file.read_text().strip() or "-1")

    def watch_preview(self) -> None:
        """Screenshots while job C runs, kept where its preview is on screen."""
        self.term.key("slash")
        self.term.type(PROMPT_C)
        self.term.key("Return")
        taken: list[tuple[str, str]] = []  # shot, the preview's URL at the time
        deadline = time.monotonic() + 60
        while len(taken) < PREVIEW_SHOTS and time.monotonic() < deadline:
            now = _progress(self.data, PROMPT_C)
            if now is not None and now[0] is JobState.DONE:
                break
            if now is not None and now[0] is JobState.RUNNING and now[1]:
                self.step += 1
                name = f"preview-{len(taken) + 1}"
                path = self.j.artefacts / f"{self.step:02d}-{name}.png"
                self.display.shot(path)
                self.j.shots[name] = path
                taken.append((name, now[1]))
            time.sleep(0.1)
        self.j.images["C"] = _wait_for_job(self.data, PROMPT_C)
        near = self.j.found["grid-B"][0].box.union(self.j.found["grid-B"][3].box).grow(60)
        for name, url in taken:
            cached = find_full(self.data / "images", url)
            if cached is None:
                continue
            with Image.open(cached) as img:
                preview = img.convert("RGB")
            found = locate(self.j.image(name), preview, within=near, cells=self.j.cells)
            if found.ncc >= 0.9:  # drawn (not still the text before it, or half drawn)
                self.j.previews.append((name, found))

    def resize_and_back(self) -> None:
        """A smaller window (the tiles drawn anew, smaller), then the first size again."""
        grid = self.j.grid
        assert grid is not None
        width, height = window_size(self.display, self.term.window)
        small_w, small_h = width - 24 * grid.cell_w, height - 6 * grid.cell_h
        resize(self.display, self.term.window, small_w, small_h)
        self.shot("smaller")
        # The tiles are in the window's right two thirds: a search of the whole screen
        # took ~2 s a tile.
        right = Box(small_w // 3, 0, small_w - small_w // 3, small_h)
        img = self.j.image("smaller")
        self.j.found["smaller"] = [
            locate(img, tile, within=right, cells=self.j.cells) for tile in self.j.images["A"]
        ]
        resize(self.display, self.term.window, width, height)
        self.shot("larger-again")
        self.find_tiles("larger-again", "A", near="grid-A")

    def stop(self) -> None:
        self.term.stop()


def walk(emulator: str, display: XDisplay, work: Path, artefacts: Path) -> Journey:
    artefacts.mkdir(parents=True, exist_ok=True)
    for old in artefacts.glob("*.png"):
        old.unlink()
    journey = Journey(emulator, artefacts)
    w = Walk(journey, display, work)
    try:
        w.run()
    except Exception as exc:  # the tests report it as the reason they fail
        journey.error = f"{type(exc).__name__}: {exc}"
        with contextlib.suppress(Exception):
            display.shot(artefacts / "failed.png")
    finally:
        w.stop()
    return journey
