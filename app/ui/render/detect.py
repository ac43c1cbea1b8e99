"""Ask the terminal who it is and what it can draw, once, before Textual owns stdin.

One round of queries, answered in order by any terminal worth the name:

- XTVERSION (``CSI > 0 q``): the terminal's name and version, e.g. ``kitty(0.26.5)``;
- a kitty graphics query (``APC G ... ST``): ``OK`` if it speaks the kitty protocol;
- ``CSI 16 t``: the cell size in pixels, when the window size ioctl does not say;
- a 24-bit foreground colour, then DECRQSS (``DCS $ q m ST``): a terminal that shows
  24-bit colour reports the same colour back (the colour-depth check);
- DA1 (``CSI c``): its attributes; 4 means sixel. Every terminal answers DA1, so its
  answer ends the round: the terminal has said all it will.

Inside tmux the kitty query is not sent: tmux takes the APC string for a pane title
(the title became ``Gi=…;AAAA`` and stayed after exit). Answers are read in cbreak mode
and never echoed, so nothing reaches the scrollback.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import sys
import termios
import time
import tty
from dataclasses import dataclass, field

ESC = "\x1b"
KITTY_QUERY = f"{ESC}_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA{ESC}\\"
COLOUR_QUERY = f"{ESC}[38;2;1;2;3m{ESC}P$qm{ESC}\\{ESC}[0m"
QUERIES_NO_KITTY = f"{ESC}[>0q{ESC}[16t{COLOUR_QUERY}{ESC}[c"
# Seconds to wait for a first answer (a local terminal answers in ~1 ms), and for the
# round once the terminal has begun answering: DA1, answered last, is then sure to come.
# An answer that comes after the probe has given up is read by Textual as typed keys
# (ESC moved the focus off the prompt and the rest was typed into the TUI): a terminal
# that is merely slow (a loaded machine, ssh) gets the time to finish.
ROUND_TIMEOUT = 1.0
SLOW_TIMEOUT = 3.0

_XTVERSION = re.compile(r"\x1bP>\|(?P<text>[^\x1b]*)\x1b\\")
_KITTY = re.compile(r"\x1b_G(?P<body>[^\x1b]*)\x1b\\")
_CELL = re.compile(r"\x1b\[6;(?P<h>\d+);(?P<w>\d+)t")
_DA1 = re.compile(r"\x1b\[\?(?P<attrs>[\d;]*)c")
_SGR_REPORT = re.compile(r"\x1bP1\$r(?P<sgr>[^\x1b]*)\x1b\\")
_RGB_ECHO = re.compile(r"38[:;]2[:;]+1[:;]2[:;]3")
_PALETTE_ECHO = re.compile(r"38[:;]5[:;]\d+")


@dataclass
class Answers:
    """What the terminal said (empty where it said nothing)."""

    asked: bool = False  # False: no query was sent (not a terminal)
    version: str = ""  # XTVERSION text, e.g. "kitty(0.26.5)"
    kitty: bool = False  # answered OK to the kitty graphics query
    kitty_asked: bool = False
    da1: tuple[int, ...] = ()
    da1_seen: bool = False
    cell: tuple[int, int] | None = None  # (width, height) from CSI 16 t
    sgr: str | None = None  # the colour it reported back to DECRQSS (None: no answer)
    problem: str = ""  # why the round did not complete
    raw_len: int = 0

    @property
    def sixel(self) -> bool:
        return 4 in self.da1


@dataclass(frozen=True)
class Identity:
    """The terminal by name and version, from XTVERSION or, failing that, the environment."""

    name: str  # lower case: kitty, xterm, foot, wezterm, ghostty, konsole, mlterm, tmux, ...
    version: tuple[int, ...] = ()
    source: str = ""  # "XTVERSION" or the environment variable it came from

    def at_least(self, *version: int) -> bool:
        return bool(self.version) and self.version >= version

    def describe(self) -> str:
        v = ".".join(map(str, self.version))
        return f"{self.name} {v}".strip() + (f" (from {self.source})" if self.source else "")


def parse(raw: str) -> Answers:
    answers = Answers(asked=True, raw_len=len(raw))
    if m := _XTVERSION.search(raw):
        answers.version = m.group("text")
    if m := _KITTY.search(raw):
        answers.kitty = m.group("body").rsplit(";", 1)[-1].startswith("OK")
    if m := _CELL.search(raw):
        w, h = int(m.group("w")), int(m.group("h"))
        if w > 0 and h > 0:
            answers.cell = (w, h)
    if m := _SGR_REPORT.search(raw):
        answers.sgr = m.group("sgr")
    if m := _DA1.search(raw):
        answers.da1_seen = True
        answers.da1 = tuple(int(a) for a in m.group("attrs").split(";") if a.isdigit())
    return answers


def _version(text: str) -> tuple[int, ...]:
    m = re.search(r"(\d+(?:\.\d+)*)", text)
    return tuple(int(p) for p in m.group(1).split(".")[:3]) if m else ()


def identify(answers: Answers, env: dict[str, str] | os._Environ[str]) -> Identity | None:
    """Who the terminal is: its XTVERSION answer first, then what the environment says."""
    text = answers.version.strip()
    if text:
        name = re.split(r"[\s(]", text, maxsplit=1)[0].lower()
        return Identity(name, _version(text[len(name) :]), "XTVERSION")
    if env.get("KITTY_WINDOW_ID"):
        return Identity("kitty", (), "KITTY_WINDOW_ID")
    program = env.get("TERM_PROGRAM", "").lower()
    if program in ("wezterm", "ghostty", "iterm.app", "vscode", "tmux"):
        return Identity(program, _version(env.get("TERM_PROGRAM_VERSION", "")), "TERM_PROGRAM")
    if env.get("KONSOLE_VERSION"):
        return Identity("konsole", _version(env["KONSOLE_VERSION"]), "KONSOLE_VERSION")
    term = env.get("TERM", "")
    for name in ("foot", "kitty", "mlterm", "wezterm", "ghostty", "alacritty"):
        if term.startswith(name) or term == f"xterm-{name}":
            return Identity(name, (), "TERM")
    return None


def _read_answers(fd: int, first: float, slow: float) -> str:
    """Answers until DA1; by ``first`` if none has come, else by ``slow`` (monotonic)."""
    raw = ""
    while time.monotonic() < (slow if raw else first):
        wait = (slow if raw else first) - time.monotonic()
        ready, _, _ = select.select([fd], [], [], max(0.0, wait))
        if not ready:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        raw += chunk.decode("utf-8", "replace")
        if _DA1.search(raw):  # answered last: the round is complete
            break
    return raw


def ask(
    in_tmux: bool | None = None, timeout: float = ROUND_TIMEOUT, slow: float = SLOW_TIMEOUT
) -> Answers:
    """Send the queries on stdout and read the answers from stdin (both must be ttys)."""
    out, inp = sys.__stdout__, sys.__stdin__
    if out is None or inp is None or not out.isatty() or not inp.isatty():
        return Answers(problem="stdin or stdout is not a terminal")
    in_tmux = bool(os.environ.get("TMUX")) if in_tmux is None else in_tmux
    fd = inp.fileno()
    try:
        saved = termios.tcgetattr(fd)
    except termios.error as exc:
        return Answers(problem=f"cannot set up the terminal ({exc})")
    queries = QUERIES_NO_KITTY if in_tmux else QUERIES_NO_KITTY[:-3] + KITTY_QUERY + f"{ESC}[c"
    try:
        tty.setcbreak(fd, termios.TCSANOW)
        new = termios.tcgetattr(fd)
        new[3] &= ~termios.ECHO  # answers must never be echoed onto the screen
        termios.tcsetattr(fd, termios.TCSANOW, new)
        # Whatever waits in the input is not an answer to these queries: the late answers
        # to an earlier program's (`imagine-tui graphics` just before) ended this round
        # early and this round's own answers then reached the TUI as keys. Typeahead goes
        # too, as it always did (it was read here and dropped).
        termios.tcflush(fd, termios.TCIFLUSH)
        os.write(out.fileno(), queries.encode())
        start = time.monotonic()
        raw = _read_answers(fd, start + timeout, start + slow)
    except OSError as exc:
        return Answers(asked=True, problem=f"query failed ({exc})")
    finally:
        with contextlib.suppress(termios.error):
            termios.tcsetattr(fd, termios.TCSANOW, saved)
    answers = parse(raw)
    answers.kitty_asked = not in_tmux
    if not answers.da1_seen:
        waited = slow if raw else timeout
        answers.problem = f"no answer to the attribute query (DA1) within {waited:.1f}s"
    return answers


@dataclass
class ColourDepth:
    truecolor: bool  # 24-bit colours reach the screen as they are
    why: str
    hint: str = ""
    takes_rgb: bool = False  # the terminal accepts 24-bit colour codes (maybe mapping them)


def colour_depth(answers: Answers, env: dict[str, str] | os._Environ[str]) -> ColourDepth:
    """Whether 24-bit colour reaches the screen: COLORTERM, else the terminal's own echo."""
    colorterm = env.get("COLORTERM", "").lower()
    if colorterm in ("truecolor", "24bit"):
        return ColourDepth(True, f"COLORTERM={colorterm}")
    if answers.sgr is not None and _RGB_ECHO.search(answers.sgr):
        return ColourDepth(True, "the terminal reported a 24-bit colour back (DECRQSS)", "", True)
    takes_rgb = answers.sgr is not None and _PALETTE_ECHO.search(answers.sgr) is not None
    said = (
        f"reported the colour back as {answers.sgr!r}"
        if answers.sgr is not None
        else "did not report a 24-bit colour back"
    )
    where = "tmux" if env.get("TMUX") else "This terminal"
    hint = (
        f"{where} {said} and COLORTERM is {colorterm or 'unset'}: colours go through the "
        "256-colour palette, so images drawn in character cells lose shades. "
    )
    if env.get("TMUX"):
        hint += (
            "If the outer terminal does 24-bit colour, add "
            "`set -as terminal-features ',*:RGB'` to ~/.tmux.conf and set COLORTERM=truecolor."
        )
    elif takes_rgb:
        # It said so itself (mlterm): COLORTERM=truecolor would not change what it shows.
        hint += "Sixel and kitty images keep their colours."
    else:
        hint += "If it does 24-bit colour, set COLORTERM=truecolor."
    why = f"COLORTERM={colorterm or '(unset)'}; the terminal {said}"
    return ColourDepth(False, why, hint, takes_rgb)


@dataclass
class Probe:
    """Everything the probe found, for the renderer choice and `imagine-tui graphics`."""

    answers: Answers = field(default_factory=Answers)
    identity: Identity | None = None
    depth: ColourDepth = field(default_factory=lambda: ColourDepth(True, ""))


def probe() -> Probe:
    answers = ask()
    identity = identify(answers, os.environ)
    return Probe(answers, identity, colour_depth(answers, os.environ))
