"""Landscapes as numbers: what a picture shows, before anything is drawn.

A :class:`Scene` describes a landscape in *world* coordinates (x grows right, y grows
up; the default view shows x in [-0.5, 0.5] and y in [0, 1]). Buttons make new scenes
from old ones (vary, zoom out, pan, reframe); :mod:`app.simulator.imagegen` draws them.
Everything random comes from :func:`stable_int`, never Python's salted ``hash()``.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from app import params

TIMES = ("day", "sunset", "night", "dawn")
# What a prompt's words can add to the picture. Whole words (and plurals) of the prompt's
# text before its parameters; "--no trees" takes trees away.
ELEMENTS = ("sea", "lighthouse", "forest", "city", "desert", "snow")
_ELEMENT_WORDS = {
    "sea": "sea ocean beach coast coastal shore seaside harbour harbor bay waves surf boat ship",
    "lighthouse": "lighthouse beacon",
    "forest": "forest woods woodland jungle trees tree pine pines grove rainforest",
    "city": "city skyline town street skyscraper skyscrapers downtown metropolis buildings",
    "desert": "desert dune dunes sand sandy sahara",
    "snow": "snow snowy winter ice icy frozen glacier arctic blizzard",
}
_IMPLIES = {"lighthouse": "sea"}
_WORD = re.compile(r"[a-z]+")
_RATIO = re.compile(r"([0-9]{1,4}):([0-9]{1,4})")
_KEYWORDS = {
    "night": ("night", "moon", "star", "midnight", "dark"),
    "sunset": ("sunset", "dusk", "evening", "golden hour"),
    "dawn": ("dawn", "sunrise", "morning", "mist"),
    "day": ("sun shining", "noon", "daylight", "bright", "sunny"),
}
MAX_ASPECT = 3.0  # pans stop widening the frame beyond 3:1


def stable_int(*parts: object) -> int:
    """A 31-bit integer from ``parts`` that is the same in every process."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") & 0x7FFFFFFF


@dataclass(frozen=True)
class View:
    """The part of the world a picture shows: centre and extent in world units."""

    cx: float = 0.0
    cy: float = 0.5
    sx: float = 1.0
    sy: float = 1.0

    def pixel_size(self, long_side: int) -> tuple[int, int]:
        if self.sx >= self.sy:
            return long_side, max(8, round(long_side * self.sy / self.sx))
        return max(8, round(long_side * self.sx / self.sy)), long_side


@dataclass(frozen=True)
class Scene:
    terrain: int  # seeds the ridge shapes
    hue: float  # hue of the land, 0..1
    sky_shift: float  # small rotation of the sky's hues
    time: str  # one of TIMES
    sun_x: float
    sun_y: float
    sun_r: float
    heights: tuple[float, ...]  # base height of each ridge layer, far to near
    amps: tuple[float, ...]  # height of each layer's peaks
    water: float | None  # lake level, or None
    cloud_seed: int
    clouds: float  # cloud density 0..1
    jitter_seed: int  # a variation's own small change to the ridges
    jitter: float
    trees: bool
    view: View = field(default_factory=View)
    elements: tuple[str, ...] = ()  # from ELEMENTS: what the prompt asked to see


# -- building scenes -------------------------------------------------------------------


def elements_for_prompt(prompt: str) -> tuple[tuple[str, ...], bool]:
    """The scene elements a prompt's words ask for, minus those its ``--no`` removes;
    and whether it said ``--no trees``."""
    parsed = params.parse(prompt)
    words = _words(parsed.body)
    wanted = {e for e, names in _ELEMENT_WORDS.items() if words & set(names.split())}
    wanted |= {_IMPLIES[e] for e in wanted if e in _IMPLIES}
    no = parsed.get("no")
    unwanted = _words(no.value) if no is not None else set()
    wanted = {e for e in wanted if not unwanted & {e, *_ELEMENT_WORDS[e].split()}}
    return tuple(e for e in ELEMENTS if e in wanted), "tree" in unwanted


def _words(text: str) -> set[str]:
    found = set(_WORD.findall(text.lower()))
    return found | {w[:-1] for w in found if w.endswith("s")}


def _time_for_prompt(prompt: str) -> str | None:
    low = params.parse(prompt).body.lower()
    for time_name, words in _KEYWORDS.items():
        if any(w in low for w in words):
            return time_name
    return None


def _new_scene(rng: random.Random, hue: float, time_name: str) -> Scene:
    layers = rng.randint(3, 5)
    water = rng.uniform(0.16, 0.28) if rng.random() < 0.4 else None
    low = (water + 0.1) if water is not None else 0.1
    heights: list[float] = []
    amps: list[float] = []
    for i in range(layers):
        t = i / (layers - 1)
        heights.append(0.55 + (low - 0.55) * t + rng.uniform(-0.04, 0.04))
        amps.append((0.24 - 0.17 * t) * rng.uniform(0.75, 1.25))
    sun_y = {"day": 0.82, "sunset": 0.5, "night": 0.8, "dawn": 0.56}[time_name]
    return Scene(
        terrain=rng.getrandbits(31),
        hue=hue % 1.0,
        sky_shift=rng.uniform(-0.05, 0.05),
        time=time_name,
        sun_x=rng.uniform(-0.33, 0.33),
        sun_y=sun_y + rng.uniform(-0.08, 0.08),
        sun_r=rng.uniform(0.035, 0.075),
        heights=tuple(heights),
        amps=tuple(amps),
        water=water,
        cloud_seed=rng.getrandbits(31),
        clouds=rng.uniform(0.0, 1.0),
        jitter_seed=rng.getrandbits(31),
        jitter=0.0,
        trees=water is None or rng.random() < 0.5,
    )


def _with_elements(
    scene: Scene, elements: tuple[str, ...], treeless: bool, rng: random.Random
) -> Scene:
    """Reshape a landscape to show what the prompt named; the drawing adds the rest."""
    heights, amps = scene.heights, scene.amps
    water, trees, hue, clouds = scene.water, scene.trees, scene.hue, scene.clouds
    if "sea" in elements:  # open water up to a far horizon, headlands behind
        water = rng.uniform(0.3, 0.36)
        n = rng.randint(2, 3)
        heights = tuple(
            0.5 + (water + 0.05 - 0.5) * i / (n - 1) + rng.uniform(-0.02, 0.02) for i in range(n)
        )
        amps = tuple((0.12 - 0.08 * i / (n - 1)) * rng.uniform(0.7, 1.2) for i in range(n))
        trees = rng.random() < 0.3
    elif "desert" in elements or "city" in elements:
        water = None
    if "desert" in elements:  # low sandy dunes under a clear sky
        hue, trees, clouds = rng.uniform(0.07, 0.11), False, clouds * 0.3
        amps = tuple(a * 0.45 for a in amps)
    if "forest" in elements:
        hue, trees = rng.uniform(0.24, 0.36), True
    if "city" in elements:  # hills low enough for the skyline to stand out
        heights = tuple(h * 0.8 for h in heights)
    return replace(
        scene,
        heights=heights,
        amps=amps,
        water=water,
        trees=trees and not treeless,
        hue=hue,
        clouds=clouds,
        elements=elements,
    )


def grid_scenes(prompt: str, seed: int, views: Sequence[View] | None = None) -> list[Scene]:
    """Four clearly different landscapes for one prompt: one per time of day."""
    rng = random.Random(stable_int("grid", prompt.strip().lower(), seed))
    base_hue = rng.random()
    times = list(TIMES)
    rng.shuffle(times)
    wanted = _time_for_prompt(prompt)
    if wanted is not None:  # the prompt's mood leads, as the first tile
        times.remove(wanted)
        times.insert(0, wanted)
    elements, treeless = elements_for_prompt(prompt)
    # Its own random numbers: a prompt without scene words draws what it always drew.
    erng = random.Random(stable_int("elements", prompt.strip().lower(), seed))
    aspect = aspect_for_prompt(prompt)
    scenes = []
    for i, time_name in enumerate(times):
        scene = _new_scene(rng, base_hue + rng.uniform(-0.12, 0.12) + 0.07 * i, time_name)
        if elements or treeless:
            scene = _with_elements(scene, elements, treeless, erng)
        if views is not None:
            scene = replace(scene, view=views[i % len(views)])
        elif aspect is not None:
            scene = with_aspect(scene, *aspect)
        scenes.append(scene)
    return scenes


def aspect_for_prompt(prompt: str) -> tuple[int, int] | None:
    """The prompt's ``--ar W:H`` when the pictures can have it (up to MAX_ASPECT), else None."""
    found = params.parse(prompt).get("ar")
    match = _RATIO.fullmatch(found.value) if found is not None else None
    if match is None:
        return None
    w, h = int(match.group(1)), int(match.group(2))
    return (w, h) if w and h and max(w / h, h / w) <= MAX_ASPECT else None


def vary(scene: Scene, seed: int, strength: float) -> Scene:
    """A relative of ``scene``: same place and light, changed by ``strength`` (0..1)."""
    rng = random.Random(stable_int("vary", scene, seed))
    s = strength

    def wobble(amount: float) -> float:
        return rng.uniform(-amount, amount) * s

    water = scene.water
    if water is not None:
        water = water + wobble(0.03)
    return replace(
        scene,
        hue=(scene.hue + wobble(0.06)) % 1.0,
        sky_shift=scene.sky_shift + wobble(0.03),
        sun_x=scene.sun_x + wobble(0.12),
        sun_y=scene.sun_y + wobble(0.06),
        sun_r=max(0.02, scene.sun_r * (1 + wobble(0.3))),
        heights=tuple(h + wobble(0.05) for h in scene.heights),
        amps=tuple(max(0.02, a * (1 + wobble(0.3))) for a in scene.amps),
        water=water,
        cloud_seed=rng.getrandbits(31) if s >= 0.5 else scene.cloud_seed,
        clouds=min(1.0, max(0.0, scene.clouds + wobble(0.4))),
        jitter_seed=rng.getrandbits(31),
        jitter=min(1.0, 0.4 * s + scene.jitter * 0.5),
    )


def zoom_out(scene: Scene, factor: float) -> Scene:
    v = scene.view
    return replace(scene, view=replace(v, sx=v.sx * factor, sy=v.sy * factor))


def pan(scene: Scene, direction: str) -> Scene:
    """Extend the frame by half in ``direction`` ("left"/"right"/"up"/"down")."""
    v = scene.view
    horizontal = direction in ("left", "right")
    extent = v.sx if horizontal else v.sy
    ext = extent * 0.5
    sign = -1.0 if direction in ("left", "down") else 1.0
    if horizontal:
        if (v.sx + ext) / v.sy <= MAX_ASPECT:
            new = replace(v, sx=v.sx + ext, cx=v.cx + sign * ext / 2)
        else:  # already very wide: slide instead of widening
            new = replace(v, cx=v.cx + sign * ext)
    elif (v.sy + ext) / v.sx <= MAX_ASPECT:
        new = replace(v, sy=v.sy + ext, cy=v.cy + sign * ext / 2)
    else:
        new = replace(v, cy=v.cy + sign * ext)
    return replace(scene, view=new)


def with_aspect(scene: Scene, width: float, height: float) -> Scene:
    """Extend the short side so the frame has aspect ``width:height``."""
    v = scene.view
    target = width / height
    if target > v.sx / v.sy:
        return replace(scene, view=replace(v, sx=v.sy * target))
    return replace(scene, view=replace(v, sy=v.sx / target))
