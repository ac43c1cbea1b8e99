"""Midjourney prompt parameters: find them, check them, complete them, fix their dashes.

A prompt is words, then parameters: ``a fox in snow --ar 16:9 --v 6.1 --no trees``.
Each bad parameter costs a paid job that fails (or silently does something else), so the
TUI and the CLI check a prompt before sending it; the TUI also highlights and completes
with the same parse. Phones and editors turn ``--`` into an em-dash (``—ar``) and the
service rewrites it, so the sent prompt no longer matches the typed one: :func:`normalize`
writes ``--`` before anything is sent.

Ranges are the documented ones (Midjourney's parameter list, V6-V7 and niji); values a
newer model adds are easy to add in :data:`PARAMS`. Backends that take plain prompts skip
all of this: callers pass ``enabled=False`` to :func:`check`.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Literal

from app.text import shorten


class Kind(Enum):
    FLAG = "flag"  # no value: --tile
    INT = "int"  # a whole number in [lo, hi]: --chaos 30
    NUMBER = "number"  # any number in [lo, hi]: --iw 1.5
    CHOICE = "choice"  # one of ``choices``: --v 6.1, --style raw
    RATIO = "ratio"  # W:H: --ar 16:9
    WORDS = "words"  # one or more words up to the next parameter: --no trees, --sref URL


@dataclass(frozen=True)
class Param:
    names: tuple[str, ...]  # the first is the one completions and messages prefer
    kind: Kind
    about: str
    lo: float = 0
    hi: float = 0
    choices: tuple[str, ...] = ()
    optional: bool = False  # the value may be left out (--niji, --p)
    common: tuple[str, ...] = ()  # values offered by completion, most used first

    @property
    def name(self) -> str:
        return self.names[0]

    def allowed(self) -> str:
        """What the value may be, as the end of a sentence."""
        if self.kind is Kind.INT:
            return f"a whole number from {_num(self.lo)} to {_num(self.hi)}"
        if self.kind is Kind.NUMBER:
            return f"a number from {_num(self.lo)} to {_num(self.hi)}"
        if self.kind is Kind.CHOICE:
            return "one of " + ", ".join(self.choices)
        if self.kind is Kind.RATIO:
            return "two whole numbers above 0 like 16:9 (width:height)"
        if self.kind is Kind.WORDS:
            return "one or more words or links"
        return "no value"


def _num(x: float) -> str:
    return str(int(x)) if x == int(x) else str(x)


def _p(names: str, kind: Kind, about: str, **kw: object) -> Param:
    return Param(tuple(names.split()), kind, about, **kw)  # type: ignore[arg-type]


_VERSIONS = ("1", "2", "3", "4", "5", "5.1", "5.2", "6", "6.1", "7", "8", "8.1")
# In the order completion offers them: the most used first.
PARAMS: tuple[Param, ...] = (
    _p(
        "ar aspect",
        Kind.RATIO,
        "aspect ratio",
        common=("16:9", "9:16", "3:2", "2:3", "4:3", "3:4", "1:1", "4:5", "21:9"),
    ),
    _p(
        "v version",
        Kind.CHOICE,
        "model version",
        choices=_VERSIONS,
        common=("7", "6.1", "6", "8.1", "5.2"),
    ),
    _p(
        "stylize s",
        Kind.INT,
        "how strongly the house style is applied",
        hi=1000,
        common=("100", "250", "500", "750", "1000", "50"),
    ),
    _p(
        "chaos c",
        Kind.INT,
        "how different the four images are",
        hi=100,
        common=("10", "25", "50", "100"),
    ),
    _p("no", Kind.WORDS, "what to leave out"),
    _p("seed", Kind.INT, "the starting noise, to repeat a result", hi=4294967295),
    _p(
        "style",
        Kind.CHOICE,
        "style variant",
        choices=("raw", "cute", "expressive", "original", "scenic", "4a", "4b", "4c"),
        common=("raw",),
    ),
    _p("tile", Kind.FLAG, "a seamless repeating pattern"),
    _p("weird w", Kind.INT, "how unconventional", hi=3000, common=("250", "500", "1000")),
    _p(
        "q quality",
        Kind.CHOICE,
        "rendering time",
        choices=(".25", ".5", "1", "2", "4"),
        common=("1", "2", "4", ".5"),
    ),
    _p(
        "niji",
        Kind.CHOICE,
        "the anime model",
        choices=("4", "5", "6", "7"),
        optional=True,
        common=("6", "7", "5"),
    ),
    _p("sref", Kind.WORDS, "style reference: image links or style codes", common=("random",)),
    _p("cref", Kind.WORDS, "character reference: image links"),
    _p("oref", Kind.WORDS, "omni reference: an image link"),
    _p("iw", Kind.NUMBER, "image prompt weight", hi=3, common=("1", "2", ".5")),
    _p("sw", Kind.INT, "style reference weight", hi=1000, common=("100", "250", "500")),
    _p("cw", Kind.INT, "character reference weight", hi=100, common=("100", "50", "0")),
    _p("ow", Kind.INT, "omni reference weight", lo=1, hi=1000, common=("100", "250", "400")),
    _p("stop", Kind.INT, "finish early, softer", lo=10, hi=100, common=("50", "80", "90")),
    _p("repeat r", Kind.INT, "run the prompt several times", lo=1, hi=40, common=("2", "4", "10")),
    _p("raw", Kind.FLAG, "raw style (V7 and video)"),
    _p("p personalize", Kind.WORDS, "personalization: profile or moodboard codes", optional=True),
    _p("exp", Kind.INT, "experimental aesthetics", hi=100, common=("5", "10", "25", "50")),
    _p(
        "sv",
        Kind.CHOICE,
        "style reference version",
        choices=("1", "2", "3", "4", "5", "6"),
        common=("6", "4"),
    ),
    _p("draft", Kind.FLAG, "draft mode: faster, cheaper"),
    _p("video", Kind.FLAG, "a video of the generation"),
    _p("motion", Kind.CHOICE, "video motion", choices=("low", "high"), common=("low", "high")),
    _p("loop", Kind.FLAG, "a looping video"),
    _p("end", Kind.WORDS, "video end frame: an image link"),
    _p("bs", Kind.CHOICE, "videos per job", choices=("1", "2", "4"), common=("1", "2", "4")),
    _p("zoom", Kind.NUMBER, "Custom Zoom: how far out", lo=1, hi=2, common=("1.5", "2")),
    _p("hd", Kind.FLAG, "high resolution"),
    _p("fast", Kind.FLAG, "fast mode for this job"),
    _p("relax", Kind.FLAG, "relax mode for this job"),
    _p("turbo", Kind.FLAG, "turbo mode for this job"),
    _p("public", Kind.FLAG, "show in the public gallery"),
    _p("stealth", Kind.FLAG, "hide from the public gallery"),
)
BY_NAME: dict[str, Param] = {n: p for p in PARAMS for n in p.names}
_REPEATABLE = frozenset(("no",))  # given twice, the service merges these

# Dash characters that stand in for "-": hyphen variants, figure/en/em dash, bar, minus.
DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
# A parameter token: at the start of a word, "--" (or one or two dash look-alikes),
# then a letter. "a cat — dog" and "well-known" stay words.
_LEAD = re.compile(rf"(?<!\S)([{DASHES}]{{1,2}})(?=[A-Za-z])")
_WORD = re.compile(r"\S+")
_INT = re.compile(r"[0-9]+")
_NUMBER = re.compile(r"[0-9]+(\.[0-9]*)?|\.[0-9]+")
_RATIO = re.compile(r"([0-9]+):([0-9]+)")
_GLUED = re.compile(r"([a-z]+?)([0-9.:].*)")  # "--ar16:9": name and value without a space


def _is_lead(dashes: str) -> bool:
    return dashes == "--" or any(d != "-" for d in dashes)


def normalize(prompt: str) -> str:
    """Write every dash-look-alike parameter lead (``—ar``, ``–ar``, ``—-ar``) as ``--``.

    Idempotent; text that is not a parameter lead is left as typed.
    """
    return _LEAD.sub(lambda m: "--" if _is_lead(m.group(1)) else m.group(1), prompt)


Role = Literal["name", "value", "bad"]


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    role: Role


@dataclass(frozen=True)
class Problem:
    start: int
    end: int
    message: str


@dataclass(frozen=True)
class Word:
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Found:
    """One parameter as written: its name token and the words that follow it."""

    param: Param | None  # None: not a known parameter
    name: Word  # the whole token, dashes included
    typed: str  # the name as typed, lower case, without dashes
    values: tuple[Word, ...]

    @property
    def value(self) -> str:
        return " ".join(v.text for v in self.values)


@dataclass(frozen=True)
class Parsed:
    text: str
    body_end: int  # where the parameters start (len(text) when there are none)
    found: tuple[Found, ...]
    spans: tuple[Span, ...]  # sorted, non-overlapping: for highlighting
    problems: tuple[Problem, ...]  # in the order they appear

    @property
    def body(self) -> str:
        """The words before the parameters."""
        return self.text[: self.body_end].strip()

    def get(self, name: str) -> Found | None:
        """The first known parameter called ``name`` (any of its names)."""
        param = BY_NAME.get(name)
        if param is None:
            return None
        return next((f for f in self.found if f.param is param), None)


def _words(text: str) -> Iterator[Word]:
    for m in _WORD.finditer(text):
        yield Word(m.start(), m.end(), m.group())


def _lead_length(word: str) -> int:
    """Length of the dashes that make ``word`` a parameter name, or 0."""
    m = _LEAD.match(word)
    return len(m.group(1)) if m and _is_lead(m.group(1)) else 0


def parse(prompt: str) -> Parsed:
    """Find the parameters of ``prompt`` and everything wrong with them. Never raises."""
    words = list(_words(prompt))
    found: list[Found] = []
    body_end = len(prompt)
    for word in words:
        lead = _lead_length(word.text)
        if lead:
            if not found:
                body_end = word.start
            typed = word.text[lead:].lower()
            found.append(Found(BY_NAME.get(typed), word, typed, ()))
        elif found:
            last = found[-1]
            found[-1] = Found(last.param, last.name, last.typed, (*last.values, word))
    spans: list[Span] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for f in found:
        _check_one(f, seen, spans, problems)
    spans.sort(key=lambda s: s.start)
    return Parsed(prompt, body_end, tuple(found), tuple(spans), tuple(problems))


def _show(text: str) -> str:
    return shorten(text, 40)


def _check_one(f: Found, seen: set[str], spans: list[Span], problems: list[Problem]) -> None:
    def bad(words: tuple[Word, ...], message: str) -> None:
        start, end = words[0].start, words[-1].end
        spans.append(Span(start, end, "bad"))
        problems.append(Problem(start, end, message))

    shown = "--" + _show(f.typed)
    param = f.param
    if param is None:
        bad((f.name,), _unknown(f.typed))
        spans.extend(Span(v.start, v.end, "value") for v in f.values)
        return
    twice = param.name in seen and param.name not in _REPEATABLE
    seen.add(param.name)
    values = f.values
    if twice:
        bad((f.name,), f"{shown} is given twice: keep one.")
    elif not values and not param.optional and param.kind is not Kind.FLAG:
        bad((f.name,), f"{shown} needs a value: {param.allowed()}.")
    else:
        spans.append(Span(f.name.start, f.name.end, "name"))
    if param.kind is Kind.FLAG:
        if values:
            bad(values, _stray(values, shown))
        return
    if not values:
        return
    if param.kind is Kind.WORDS:
        spans.extend(Span(v.start, v.end, "value") for v in values)
        return
    first, rest = values[0], values[1:]
    if "{" in first.text:  # a permutation such as {16:9,1:1}: the service expands it
        spans.extend(Span(v.start, v.end, "value") for v in values)
        return
    why = _value_problem(param, first.text)
    if why is None:
        spans.append(Span(first.start, first.end, "value"))
    else:
        bad((first,), f"{shown} {_show(first.text)} {why}: it takes {param.allowed()}.")
    if rest:
        bad(rest, _stray(rest, f"{shown} {_show(first.text)}"))


def _stray(words: tuple[Word, ...], after: str) -> str:
    text = _show(" ".join(w.text for w in words))
    return f"“{text}” after {after} is not part of it: words go before the parameters."


def _unknown(typed: str) -> str:
    shown = "--" + _show(typed)
    if not typed:
        return "“--” needs a parameter name right after it, like --ar."
    glued = _GLUED.fullmatch(typed)
    if glued and glued.group(1) in BY_NAME:
        name, value = glued.groups()
        return f"{shown} needs a space: --{name} {_show(value)}."
    close = difflib.get_close_matches(typed, list(BY_NAME), n=1, cutoff=0.6)
    hint = f" Did you mean --{close[0]}?" if close else " Type -- and Tab to see the list."
    return f"{shown} is not a parameter.{hint}"


def _value_problem(param: Param, value: str) -> str | None:
    """Why ``value`` is not allowed for ``param`` ("is out of range", …), or None."""
    if param.kind is Kind.INT:
        if not _INT.fullmatch(value):
            return "is not a whole number"
        return None if param.lo <= int(value) <= param.hi else "is out of range"
    if param.kind is Kind.NUMBER:
        if not _NUMBER.fullmatch(value):
            return "is not a number"
        return None if param.lo <= float(value) <= param.hi else "is out of range"
    if param.kind is Kind.CHOICE:
        return None if _choice(param, value) else "is not allowed"
    if param.kind is Kind.RATIO:
        m = _RATIO.fullmatch(value)
        if not m:
            return "is not a ratio"
        return None if int(m.group(1)) > 0 and int(m.group(2)) > 0 else "is not a ratio"
    return None


def _choice(param: Param, value: str) -> str | None:
    """The choice ``value`` stands for ("5.0" is "5", "0.5" is ".5"), or None."""
    low = value.lower()
    if low in param.choices:
        return low
    if _NUMBER.fullmatch(low):
        x = float(low)
        for c in param.choices:
            if _NUMBER.fullmatch(c) and math.isclose(float(c), x):
                return c
    return None


def check(prompt: str, *, enabled: bool = True) -> list[Problem]:
    """Everything wrong with the parameters of ``prompt`` (none when checking is off)."""
    return list(parse(prompt).problems) if enabled else []


def first_problem(prompt: str, *, enabled: bool = True) -> str | None:
    """The sentence for the first bad parameter, or None when the prompt can be sent."""
    problems = check(prompt, enabled=enabled)
    return problems[0].message if problems else None


def prepare(prompt: str, *, enabled: bool = True) -> tuple[str, str | None]:
    """The prompt to send (dashes fixed) and the first problem, if any.

    With checking off the prompt is sent exactly as typed.
    """
    if not enabled:
        return prompt, None
    fixed = normalize(prompt)
    return fixed, first_problem(fixed)


# -- completion ------------------------------------------------------------------------

_ORDER = {p.name: i for i, p in enumerate(PARAMS)}
_ALL_NAMES = sorted(BY_NAME, key=lambda n: (_ORDER[BY_NAME[n].name], n != BY_NAME[n].name))


def completions(text: str) -> list[str]:
    """Ways to finish the parameter being typed at the end of ``text``, as whole texts.

    ``"fox --sty"`` gives ``["fox --stylize", "fox --style"]``; ``"fox --ar "`` gives
    ``["fox --ar 16:9", …]``. Each starts with ``text``, so it can be shown as a suggestion.
    """
    if not text or text[-1].isspace():
        last = None
        before = list(_words(text))
        prev = before[-1] if before else None
        partial = ""
    else:
        words = list(_words(text))
        last = words[-1]
        prev = words[-2] if len(words) > 1 else None
        partial = last.text
    if last is not None:
        lead = _lead_length(last.text)
        if lead or last.text == "--":
            typed = last.text[lead:].lower() if lead else ""
            out = []
            param = BY_NAME.get(typed)
            if param is not None and param.common:
                out.append(f"{text} {param.common[0]}")
            out.extend(
                text + n[len(typed) :]
                for n in _ALL_NAMES
                if n.startswith(typed) and n != typed and not n.startswith(typed + " ")
            )
            return out
    if prev is None or not _lead_length(prev.text):
        return []
    param = BY_NAME.get(prev.text[_lead_length(prev.text) :].lower())
    if param is None:
        return []
    low = partial.lower()
    values = param.common or (param.choices if param.kind is Kind.CHOICE else ())
    if low in values:  # already a whole value: "--s 100" is not the start of "1000"
        return []
    return [text + v[len(partial) :] for v in values if v.startswith(low)]
