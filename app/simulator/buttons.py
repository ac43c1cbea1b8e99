"""What each button does: the plan for the job a ``POST /button`` creates.

Pure functions over scenes; the job store applies the plan. Labels are compared
exactly, emoji and variation selectors included, as the real service does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from app.simulator import landscape
from app.simulator.landscape import Scene

REROLL = "\U0001f504"  # 🔄
HEART = "\u2764\ufe0f"  # ❤️
ENVELOPE = "\u2709\ufe0f"  # ✉️
VARY_REGION = "\U0001f58c\ufe0f Vary (Region)"  # 🖌️ Vary (Region)
PANS = {
    "\u2b05\ufe0f": "left",  # ⬅️
    "\u27a1\ufe0f": "right",  # ➡️
    "\u2b06\ufe0f": "up",  # ⬆️
    "\u2b07\ufe0f": "down",  # ⬇️
}
WEB = "Web"  # a link in the chat client, not an API button: pressing it fails

GRID_BUTTONS = ("U1", "U2", "U3", "U4", REROLL, "V1", "V2", "V3", "V4")
UPSCALE_BUTTONS = (
    "Vary (Strong)",
    "Vary (Subtle)",
    VARY_REGION,
    "Zoom Out 2x",
    "Zoom Out 1.5x",
    "Custom Zoom",
    *PANS,
    "Make Square",
    "Upscale (2x)",
    "Upscale (4x)",
    HEART,
    ENVELOPE,
    WEB,
)
HIRES_BUTTONS = ("Redo Upscale (2x)", "Redo Upscale (4x)", HEART, ENVELOPE, WEB)

_TILE = re.compile(r"^([UV])([1-4])$")
_AR = re.compile(r"^\s*(\d{1,3})\s*:\s*(\d{1,3})\s*$")
EXTEND_STRENGTH = 0.08  # zoom / pan / square: the four results differ only slightly


@dataclass(frozen=True)
class Parent:
    """What a button needs to know about the job it was pressed on."""

    prompt: str
    scenes: tuple[Scene, ...]
    single: bool
    long_side: int  # of one tile, or of the single image
    buttons: tuple[str, ...]
    pressed: frozenset[str]  # U labels already used on this job
    gen_seed: int


@dataclass(frozen=True)
class Plan:
    failure_code: str | None = None
    scenes: tuple[Scene, ...] = ()
    single: bool = False
    long_side: int = 0
    buttons: tuple[str, ...] = ()
    quick: bool = False  # finishes in QUICK_SECONDS instead of a full generation
    reuse_parent_image: bool = False  # ❤️ / ✉️ answer with the parent's picture
    seed_value: str | None = None  # ✉️
    prompt: str | None = None  # Custom Zoom may replace the prompt
    gen_seed: int = 0


def _fail(code: str) -> Plan:
    return Plan(failure_code=code, quick=True)


def _grid(scenes: list[Scene], tile: int, gen_seed: int, prompt: str | None = None) -> Plan:
    return Plan(
        scenes=tuple(scenes),
        long_side=tile,
        buttons=GRID_BUTTONS,
        gen_seed=gen_seed,
        prompt=prompt,
    )


def _family(scene: Scene, seed: int, strength: float) -> list[Scene]:
    return [landscape.vary(scene, seed * 4 + k, strength) for k in range(4)]


def plan_button(
    parent: Parent, label: str, body: dict[str, Any], tile_size: int, press: int
) -> Plan:
    """The job that pressing ``label`` on ``parent`` creates (``press`` counts presses)."""
    if label not in parent.buttons or label == WEB:
        return _fail("BUTTON_NOT_FOUND")
    seed = landscape.stable_int(parent.gen_seed, label, press)
    remix = _remix_prompt(body)  # remix mode: V and 🔄 may come with a new prompt
    tile = re.match(_TILE, label)
    if tile and not parent.single:
        index = int(tile.group(2)) - 1
        scene = parent.scenes[index]
        if tile.group(1) == "U":
            if label in parent.pressed:
                return _fail("ALREADY_REQUESTED_UPSCALE")
            return Plan(
                scenes=(scene,),
                single=True,
                long_side=parent.long_side * 2,
                buttons=UPSCALE_BUTTONS,
                gen_seed=seed,
            )
        return _grid(_family(scene, seed, 0.45), parent.long_side, seed, remix)
    if label == REROLL:
        views = [s.view for s in parent.scenes]
        scenes = landscape.grid_scenes(remix or parent.prompt, seed, views)
        return _grid(scenes, parent.long_side, seed, remix)
    return _plan_upscaled(parent, label, body, tile_size, seed)


def _plan_upscaled(
    parent: Parent, label: str, body: dict[str, Any], tile_size: int, seed: int
) -> Plan:
    """Buttons offered on an upscaled (single) image."""
    scene = parent.scenes[0]
    if label in ("Vary (Strong)", "Vary (Subtle)"):
        strength = 0.8 if label == "Vary (Strong)" else 0.2
        return _grid(_family(scene, seed, strength), tile_size, seed)
    if label == VARY_REGION:
        return _fail("INVALID_PARAMETER")  # the API cannot send the mask it needs
    if label in ("Zoom Out 2x", "Zoom Out 1.5x"):
        zoomed = landscape.zoom_out(scene, 2.0 if label == "Zoom Out 2x" else 1.5)
        return _grid(_family(zoomed, seed, EXTEND_STRENGTH), tile_size, seed)
    if label == "Custom Zoom":
        return _custom_zoom(scene, body, tile_size, seed)
    if label in PANS:
        panned = landscape.pan(scene, PANS[label])
        return _grid(_family(panned, seed, EXTEND_STRENGTH), tile_size, seed)
    if label == "Make Square":
        v = scene.view
        side = max(v.sx, v.sy)
        square = replace(scene, view=replace(v, sx=side, sy=side))
        return _grid(_family(square, seed, EXTEND_STRENGTH), tile_size, seed)
    if label.startswith(("Upscale (", "Redo Upscale (")):
        # Capped at 4 tiles' width: big enough to look sharp, small enough to stay fast.
        long_side = tile_size * (4 if "4x" in label else 3)
        hires = scene if label.startswith("Upscale") else landscape.vary(scene, seed, 0.05)
        return Plan(
            scenes=(hires,),
            single=True,
            long_side=long_side,
            buttons=HIRES_BUTTONS,
            gen_seed=seed,
        )
    if label in (HEART, ENVELOPE):
        return Plan(
            scenes=parent.scenes,
            single=True,
            long_side=parent.long_side,
            quick=True,
            reuse_parent_image=True,
            seed_value=str(parent.gen_seed) if label == ENVELOPE else None,
            gen_seed=parent.gen_seed,
        )
    return _fail("BUTTON_NOT_FOUND")


def _remix_prompt(body: dict[str, Any]) -> str | None:
    prompt = body.get("prompt")
    return prompt.strip() if isinstance(prompt, str) and prompt.strip() else None


def _custom_zoom(scene: Scene, body: dict[str, Any], tile_size: int, seed: int) -> Plan:
    zoom = body.get("zoom")
    if isinstance(zoom, str):
        try:
            zoom = float(zoom)
        except ValueError:
            zoom = None
    if isinstance(zoom, bool) or not isinstance(zoom, (int, float)) or not 1 <= zoom <= 2:
        return _fail("INVALID_PARAMETER")
    zoomed = landscape.zoom_out(scene, float(zoom))
    ar = body.get("ar")
    if ar is not None:
        match = _AR.match(ar) if isinstance(ar, str) else None
        if not match or int(match.group(1)) == 0 or int(match.group(2)) == 0:
            return _fail("INVALID_PARAMETER")
        w, h = int(match.group(1)), int(match.group(2))
        if max(w / h, h / w) > landscape.MAX_ASPECT:
            return _fail("INVALID_PARAMETER")
        zoomed = landscape.with_aspect(zoomed, w, h)
    prompt = body.get("prompt")
    new_prompt = prompt.strip() if isinstance(prompt, str) and prompt.strip() else None
    return _grid(_family(zoomed, seed, EXTEND_STRENGTH), tile_size, seed, new_prompt)
