"""Deterministic procedural landscapes: drawing a :class:`Scene` with Pillow.

Everything random is derived from the scene's own numbers through a stable hash,
never from Python's salted ``hash()`` or from Pillow's unseeded noise, so the same
scene renders to the same bytes. Because the terrain is a function of world x,
zooming out, panning and re-rendering bigger show the *same* place: a zoom-out keeps
the old picture in the centre, and an upscale gains detail (more noise octaves, more
trees) instead of just growing.
"""

from __future__ import annotations

import colorsys
import io
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageOps

from app.simulator.landscape import Scene, View, stable_int

RGB = tuple[int, int, int]

# -- noise ----------------------------------------------------------------------------


def _hash01(seed: int, i: int) -> float:
    h = ((i * 0x9E3779B1) ^ (seed * 0x85EBCA77)) & 0xFFFFFFFF
    h ^= h >> 15
    h = (h * 0x2C1B3C6D) & 0xFFFFFFFF
    h ^= h >> 12
    h = (h * 0x297A2D39) & 0xFFFFFFFF
    h ^= h >> 15
    return h / 0xFFFFFFFF


def _fbm(seed: int, x: float, octaves: int, ridged: bool) -> float:
    """Fractal value noise in 0..1; ``ridged`` folds it into sharp peaks."""
    total = 0.0
    norm = 0.0
    amp = 1.0
    freq = 1.0
    for octave in range(octaves):
        xf = x * freq
        i = math.floor(xf)
        f = xf - i
        s = seed + octave * 7919
        a = _hash01(s, i)
        b = _hash01(s, i + 1)
        n = a + (b - a) * f * f * (3 - 2 * f)
        if ridged:
            n = 1.0 - abs(2.0 * n - 1.0)
        total += amp * n
        norm += amp
        amp *= 0.5 if octave else 0.55
        freq *= 2.0
    return total / norm


# -- colour ---------------------------------------------------------------------------


def _hsv(h: float, s: float, v: float) -> RGB:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, min(1.0, max(0.0, s)), min(1.0, max(0.0, v)))
    return round(r * 255), round(g * 255), round(b * 255)


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    t = min(1.0, max(0.0, t))
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


def _scale(c: RGB, f: float) -> RGB:
    return (min(255, round(c[0] * f)), min(255, round(c[1] * f)), min(255, round(c[2] * f)))


@dataclass(frozen=True)
class _Palette:
    top: RGB
    horizon: RGB
    sun: RGB
    land: RGB
    cloud: RGB
    water: RGB


def _palette(scene: Scene) -> _Palette:
    pal = _time_palette(scene)
    e = scene.elements
    if not e:
        return pal
    light = {"day": 1.0, "sunset": 0.7, "night": 0.35, "dawn": 0.85}[scene.time]
    land, water = pal.land, pal.water
    if "desert" in e:
        land = _hsv(scene.hue, 0.55, 0.8 * light)
    if "snow" in e:  # white land, and ice where a lake would be
        land = _hsv(0.6 if scene.time != "sunset" else 0.95, 0.07, 0.35 + 0.6 * light)
        water = _hsv(0.55, 0.12, 0.3 + 0.55 * light)
    if "forest" in e:
        land = _hsv(scene.hue, 0.55, 0.45 * light)
    if "sea" in e:
        water = _hsv(0.56 + 0.06 * (1 - light), 0.8, 0.25 + 0.35 * light)
    return replace(pal, land=land, water=water)


def _time_palette(scene: Scene) -> _Palette:
    k = scene.sky_shift
    land_hue = scene.hue
    if scene.time == "day":
        return _Palette(
            _hsv(0.58 + k, 0.62, 0.85),
            _hsv(0.55 + k, 0.2, 0.98),
            _hsv(0.14, 0.2, 1.0),
            _hsv(land_hue, 0.45, 0.5),
            (250, 250, 252),
            _hsv(0.56 + k, 0.5, 0.6),
        )
    if scene.time == "sunset":
        return _Palette(
            _hsv(0.7 + k, 0.55, 0.42),
            _hsv(0.06 + k, 0.72, 1.0),
            _hsv(0.1, 0.55, 1.0),
            _hsv(land_hue * 0.3 + 0.7, 0.45, 0.3),
            _hsv(0.02 + k, 0.45, 0.95),
            _hsv(0.75 + k, 0.4, 0.35),
        )
    if scene.time == "night":
        return _Palette(
            _hsv(0.66 + k, 0.75, 0.1),
            _hsv(0.62 + k, 0.55, 0.34),
            _hsv(0.15, 0.08, 0.95),
            _hsv(land_hue, 0.4, 0.14),
            _hsv(0.62, 0.2, 0.4),
            _hsv(0.63 + k, 0.6, 0.18),
        )
    return _Palette(  # dawn
        _hsv(0.6 + k, 0.4, 0.72),
        _hsv(0.93 + k, 0.28, 0.98),
        _hsv(0.1, 0.3, 1.0),
        _hsv(land_hue, 0.3, 0.42),
        _hsv(0.95 + k, 0.15, 0.98),
        _hsv(0.6 + k, 0.3, 0.55),
    )


# -- rendering ------------------------------------------------------------------------


@dataclass
class _Canvas:
    """World-to-pixel mapping for one render."""

    view: View
    w: int
    h: int
    x0: float = field(init=False)
    y_top: float = field(init=False)

    def __post_init__(self) -> None:
        self.x0 = self.view.cx - self.view.sx / 2
        self.y_top = self.view.cy + self.view.sy / 2

    def px(self, x: float) -> float:
        return (x - self.x0) / self.view.sx * self.w

    def py(self, y: float) -> float:
        return (self.y_top - y) / self.view.sy * self.h

    def wx(self, px: float) -> float:
        return self.x0 + px / self.w * self.view.sx

    def wy(self, py: float) -> float:
        return self.y_top - py / self.h * self.view.sy

    def unit(self) -> float:
        """Pixels per world unit."""
        return self.w / self.view.sx


def _cells(lo: float, hi: float, size: float, limit: int = 400) -> Iterator[int]:
    """World grid cells of ``size`` covering lo..hi, at most ``limit`` of them."""
    first = math.floor(lo / size)
    count = min(limit, math.ceil(hi / size) - first + 1)
    return iter(range(first, first + count))


def _sky(c: _Canvas, pal: _Palette) -> Image.Image:
    column = Image.new("RGB", (1, c.h))
    pixels = [
        _mix(pal.horizon, pal.top, max(0.0, (c.wy(y) - 0.15) / 0.85) ** 0.8) for y in range(c.h)
    ]
    column.putdata(pixels)
    return column.resize((c.w, c.h), Image.Resampling.NEAREST)


def _stars(img: Image.Image, c: _Canvas, scene: Scene) -> None:
    draw = ImageDraw.Draw(img)
    size = 0.2
    r = max(0.6, c.unit() / 600)
    bright = 255 if scene.time == "night" else 200
    for cx in _cells(c.x0, c.x0 + c.view.sx, size, 60):
        for cy in _cells(max(0.25, c.y_top - c.view.sy), c.y_top, size, 60):
            rng = random.Random(stable_int("stars", scene.cloud_seed, cx, cy))
            for _ in range(rng.randint(4, 10) if scene.time == "night" else rng.randint(0, 2)):
                x = c.px((cx + rng.random()) * size)
                y = c.py((cy + rng.random()) * size)
                rad = r * rng.uniform(0.5, 1.6)
                v = round(bright * rng.uniform(0.5, 1.0))
                draw.ellipse((x - rad, y - rad, x + rad, y + rad), fill=(v, v, min(255, v + 20)))


def _glow(img: Image.Image, c: _Canvas, scene: Scene, pal: _Palette) -> Image.Image:
    # Drawn small and scaled up: a soft halo without a large, slow blur.
    f = 8
    small = Image.new("RGBA", (max(1, c.w // f), max(1, c.h // f)), (0, 0, 0, 0))
    d = ImageDraw.Draw(small)
    x, y = c.px(scene.sun_x) / f, c.py(scene.sun_y) / f
    rad = scene.sun_r * c.unit() / f * (5 if scene.time != "night" else 3)
    alpha = {"day": 90, "sunset": 170, "night": 70, "dawn": 140}[scene.time]
    d.ellipse((x - rad, y - rad, x + rad, y + rad), fill=(*pal.sun, alpha))
    small = small.filter(ImageFilter.GaussianBlur(max(1.0, rad * 0.6)))
    halo = small.resize((c.w, c.h), Image.Resampling.BILINEAR)
    return Image.alpha_composite(img.convert("RGBA"), halo).convert("RGB")


def _sun(img: Image.Image, c: _Canvas, scene: Scene, pal: _Palette) -> None:
    x, y = c.px(scene.sun_x), c.py(scene.sun_y)
    r = scene.sun_r * c.unit()
    mask = Image.new("L", (c.w, c.h), 0)
    draw = ImageDraw.Draw(mask)
    draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    if scene.time == "night":  # a crescent: cut an offset disc out of the moon
        dx = r * 0.55
        draw.ellipse((x - r + dx, y - r - dx * 0.3, x + r + dx, y + r - dx * 0.3), fill=0)
    img.paste(pal.sun, (0, 0), mask)


def _clouds(img: Image.Image, c: _Canvas, scene: Scene, pal: _Palette) -> Image.Image:
    if scene.clouds < 0.15:
        return img
    f = 4
    layer = Image.new("RGBA", (max(1, c.w // f), max(1, c.h // f)), (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    unit = c.unit() / f
    alpha = 110 if scene.time == "night" else 200
    for cell in _cells(c.x0, c.x0 + c.view.sx, 0.35, 40):
        rng = random.Random(stable_int("cloud", scene.cloud_seed, cell))
        for _ in range(rng.randint(0, 2)):
            if rng.random() > scene.clouds:
                continue
            cx = (cell + rng.random()) * 0.35
            cy = rng.uniform(0.62, 0.95)
            width = rng.uniform(0.08, 0.22)
            for _ in range(rng.randint(4, 8)):
                ex = cx + rng.uniform(-width, width) * 0.6
                ey = cy + rng.uniform(-0.015, 0.02)
                rx = rng.uniform(0.3, 0.6) * width * unit
                ry = rx * rng.uniform(0.35, 0.6)
                x = c.px(ex) / f
                y = c.py(ey) / f
                d.ellipse((x - rx, y - ry, x + rx, y + ry), fill=(*pal.cloud, alpha))
    layer = layer.filter(ImageFilter.GaussianBlur(max(0.8, unit * 0.006)))
    big = layer.resize((c.w, c.h), Image.Resampling.BILINEAR)
    return Image.alpha_composite(img.convert("RGBA"), big).convert("RGB")


def _ridge(c: _Canvas, scene: Scene, layer: int, step: int) -> list[tuple[float, float]]:
    n = len(scene.heights)
    t = layer / max(1, n - 1)
    freq = 3.2 - 1.6 * t
    ridged = t < 0.6 and "desert" not in scene.elements  # dunes are smooth
    # Octaves until the finest bumps are a few pixels wide: bigger renders get more.
    octaves = max(2, min(10, math.ceil(math.log2(max(2.0, c.unit() / (freq * 5))))))
    seed = scene.terrain * 31 + layer
    jseed = scene.jitter_seed * 31 + layer
    base, amp = scene.heights[layer], scene.amps[layer]
    pts = []
    for px in range(-step, c.w + 2 * step, step):
        x = c.wx(px)
        y = base + amp * (_fbm(seed, x * freq, octaves, ridged) - 0.5) * 2
        if scene.jitter:
            y += scene.jitter * amp * 0.35 * (_fbm(jseed, x * freq * 1.7, 3, False) - 0.5) * 2
        pts.append((float(px), c.py(y)))
    return pts


def _mountains(img: Image.Image, c: _Canvas, scene: Scene, pal: _Palette) -> list[float]:
    """Draw the ridge layers far to near; return the nearest ridge's pixel heights."""
    n = len(scene.heights)
    step = 2
    gradient = Image.linear_gradient("L").resize((c.w, c.h), Image.Resampling.BILINEAR)
    rng = random.Random(stable_int("mottle", scene.terrain, c.w, c.h))
    mottle_small = Image.frombytes("L", (96, 96), rng.randbytes(96 * 96))
    mottle = (
        mottle_small.resize((c.w, c.h), Image.Resampling.BICUBIC)
        .filter(ImageFilter.BoxBlur(max(1, c.w // 256)))
        .point(lambda v: 128 + (v - 128) // 10)
    )
    mottle_rgb = Image.merge("RGB", (mottle, mottle, mottle))
    nearest: list[float] = []
    for layer in range(n):
        t = layer / max(1, n - 1)
        pts = _ridge(c, scene, layer, step)
        poly = [*pts, (pts[-1][0], c.h + 2), (pts[0][0], c.h + 2)]
        mask = Image.new("L", (c.w, c.h), 0)
        ImageDraw.Draw(mask).polygon(poly, fill=255)
        haze = 0.7 * (1 - t) ** 1.3
        top = _mix(_scale(pal.land, 1.15 - 0.45 * t), pal.horizon, haze)
        bottom = _mix(_scale(pal.land, 0.75 - 0.4 * t), pal.horizon, haze * 0.8)
        peak = max(0, min(254, int(min(p[1] for p in pts) / c.h * 255)))
        fill = ImageOps.colorize(gradient, top, bottom, blackpoint=peak, whitepoint=255)
        fill = ImageChops.add(fill, mottle_rgb, 1.0, -128)
        img.paste(fill, (0, 0), mask)
        snowy = "snow" in scene.elements or (layer < 2 and scene.time != "sunset")
        if snowy and "desert" not in scene.elements:
            line = scene.heights[layer] if "snow" in scene.elements else max(scene.heights)
            white = _mix(top, (255, 255, 255), 0.75 if layer == 0 else 0.5)
            _snow(img, c, pts, scene, white, line + 0.04)
        wooded = "forest" in scene.elements and layer == n - 2
        if layer == n - 1:
            nearest = [p[1] for p in pts]
        if scene.trees and (layer == n - 1 or wooded):
            _trees(img, c, scene, pts, _tree_colour(scene, bottom), far=wooded)
    return nearest


def _snow(
    img: Image.Image,
    c: _Canvas,
    pts: list[tuple[float, float]],
    scene: Scene,
    color: RGB,
    line: float,
) -> None:
    snow_line = c.py(line)
    draw = ImageDraw.Draw(img)
    run: list[tuple[float, float, float]] = []  # (x, ridge y, snow depth) of one snowy stretch
    for i, (x, y) in enumerate([*pts, (pts[-1][0], c.h * 2.0)]):
        depth = max(0.0, snow_line - y) * (0.55 + 0.35 * _hash01(scene.terrain, i // 3))
        if depth > 0:
            run.append((x, y, depth))
            continue
        if len(run) >= 2:  # each stretch is its own polygon: no hairline where depth is 0
            top = [(rx, ry) for rx, ry, _ in run]
            bottom = [(rx, ry + rd) for rx, ry, rd in reversed(run)]
            draw.polygon([*top, *bottom], fill=color)
        run = []


def _tree_colour(scene: Scene, ground: RGB) -> RGB:
    if "snow" in scene.elements or "forest" in scene.elements:  # dark pines, not grey ones
        light = {"day": 1.0, "sunset": 0.6, "night": 0.3, "dawn": 0.8}[scene.time]
        return _mix(_hsv(0.37, 0.6, 0.32 * light), _scale(ground, 0.6), 0.25)
    return _scale(ground, 0.7)


def _trees(
    img: Image.Image,
    c: _Canvas,
    scene: Scene,
    pts: list[tuple[float, float]],
    color: RGB,
    far: bool = False,
) -> None:
    draw = ImageDraw.Draw(img)
    step = pts[1][0] - pts[0][0]
    size = 0.018
    dense = 0.85 if "forest" in scene.elements else 0.45
    for cell in _cells(c.x0, c.x0 + c.view.sx, size, 2000):
        rng = random.Random(stable_int("tree", scene.terrain + 7919 * far, cell))
        if rng.random() > dense:
            continue
        x = c.px((cell + rng.random()) * size)
        idx = int((x - pts[0][0]) / step)
        if not 0 <= idx < len(pts):
            continue
        base = pts[idx][1] + rng.uniform(2, 10) * c.unit() / 1000
        height = rng.uniform(0.025, 0.06) * c.unit() * (0.6 if far else 1.0)
        width = height * 0.35
        tiers = 3 if height < 40 else 5  # bigger renders get fuller trees
        for k in range(tiers):
            ty = base - height * (k / tiers)
            tw = width * (1 - k / (tiers + 1))
            draw.polygon(
                [(x - tw, ty), (x + tw, ty), (x, ty - height * 1.6 / tiers - height * 0.1)],
                fill=color,
            )


def _water(img: Image.Image, c: _Canvas, scene: Scene, pal: _Palette) -> Image.Image:
    if scene.water is None:
        return img
    level = round(c.py(scene.water))
    if level >= c.h or level <= 0:
        return img
    depth = c.h - level
    span = min(depth, level)
    mirror = img.crop((0, level - span, c.w, level)).transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    mirror = mirror.filter(ImageFilter.BoxBlur(max(1, c.w // 400)))
    tint = Image.new("RGB", mirror.size, pal.water)
    mirror = Image.blend(mirror, tint, 0.75 if "sea" in scene.elements else 0.4)
    out = img.copy()
    out.paste(Image.new("RGB", (c.w, depth), pal.water), (0, level))
    out.paste(mirror, (0, level))
    draw = ImageDraw.Draw(out)
    rng = random.Random(stable_int("ripples", scene.terrain, c.w))
    light = _mix(pal.water, pal.sun, 0.5)
    for _ in range(max(6, c.w // 30)):
        y = level + int(depth * rng.random() ** 1.5)
        x = rng.uniform(0, c.w)
        length = rng.uniform(0.02, 0.12) * c.w
        draw.line((x, y, x + length, y), fill=light, width=max(1, c.w // 700))
    return out


_LIGHT = {"day": 1.0, "sunset": 0.7, "night": 0.4, "dawn": 0.85}


def _city(img: Image.Image, c: _Canvas, scene: Scene, pal: _Palette) -> None:
    """A skyline standing on the ground in front of the hills; lit windows after dark."""
    draw = ImageDraw.Draw(img)
    ground = scene.water if scene.water is not None else min(scene.heights) - 0.05
    lit = scene.time != "day"
    wall = _mix(_hsv(0.62, 0.2, 0.45 * _LIGHT[scene.time]), pal.horizon, 0.15)
    size = 0.045
    for cell in _cells(c.x0, c.x0 + c.view.sx, size, 400):
        rng = random.Random(stable_int("city", scene.terrain, cell))
        if rng.random() < 0.12:  # a gap between blocks
            continue
        x0 = (cell + rng.uniform(0.0, 0.25)) * size
        x1 = x0 + size * rng.uniform(0.55, 0.95)
        top = ground + rng.uniform(0.06, 0.3) * (1.2 - abs((x0 + x1) / 2) * 0.8)
        left, right, y_top = c.px(x0), c.px(x1), c.py(top)
        shade = rng.uniform(0.8, 1.2)
        draw.rectangle((left, y_top, right, c.py(ground) + 1), fill=_scale(wall, shade))
        wx, wy = max(2.0, (right - left) / 7), max(2.0, c.unit() * 0.012)
        window = (255, 214, 120) if lit else _mix(_scale(wall, shade), pal.horizon, 0.5)
        y = y_top + wy
        rows = 0
        while y + wy < c.py(ground) and rows < 60:
            x = left + wx * 0.7
            while x + wx < right:
                if not lit or rng.random() < 0.45:
                    draw.rectangle((x, y, x + wx * 0.6, y + wy * 0.5), fill=window)
                x += wx * 1.2
            y += wy * 1.1
            rows += 1


def _lighthouse(img: Image.Image, c: _Canvas, scene: Scene, pal: _Palette) -> Image.Image:
    """A striped tower on a rock at the water's edge; its lamp shines after dark."""
    side = -1.0 if scene.terrain % 2 else 1.0
    x = side * (0.2 + 0.12 * _hash01(scene.terrain, 17))
    ground = scene.water if scene.water is not None else scene.heights[-1]
    light = _LIGHT[scene.time]
    draw = ImageDraw.Draw(img)
    rock = [(x - 0.12, ground), (x - 0.05, ground + 0.045), (x + 0.03, ground + 0.058)]
    rock += [(x + 0.09, ground + 0.02), (x + 0.13, ground - 0.01), (x - 0.14, ground - 0.01)]
    draw.polygon([(c.px(a), c.py(b)) for a, b in rock], fill=_scale(pal.land, 0.45))
    base, height, half = ground + 0.05, 0.26, 0.032  # wide enough to read in a small tile
    bands = 5
    for k in range(bands):  # red and white bands, narrowing upwards
        y0, y1 = base + height * k / bands, base + height * (k + 1) / bands
        w0, w1 = half * (1 - 0.3 * k / bands), half * (1 - 0.3 * (k + 1) / bands)
        colour = (235, 232, 225) if k % 2 == 0 else (205, 35, 30)
        poly = [(x - w0, y0), (x + w0, y0), (x + w1, y1), (x - w1, y1)]
        draw.polygon([(c.px(a), c.py(b)) for a, b in poly], fill=_scale(colour, light))
    top = base + height
    lamp = (255, 236, 150) if scene.time != "day" else _scale((235, 232, 225), 0.8)
    draw.rectangle(
        (c.px(x - half * 0.6), c.py(top + 0.03), c.px(x + half * 0.6), c.py(top)), fill=lamp
    )
    draw.polygon(
        [
            (c.px(a), c.py(b))
            for a, b in ((x - half, top + 0.03), (x + half, top + 0.03), (x, top + 0.05))
        ],
        fill=_scale((205, 35, 30), light),
    )
    if scene.time == "day":
        return img
    # The beam: drawn small and scaled up, like the sun's glow.
    f = 4
    beam = Image.new("RGBA", (max(1, c.w // f), max(1, c.h // f)), (0, 0, 0, 0))
    lx, ly = c.px(x) / f, c.py(top + 0.015) / f
    reach = -side * 0.5 * c.unit() / f
    spread = 0.07 * c.unit() / f
    ImageDraw.Draw(beam).polygon(
        [(lx, ly), (lx + reach, ly - spread), (lx + reach, ly + spread)], fill=(255, 240, 170, 110)
    )
    beam = beam.filter(ImageFilter.GaussianBlur(1.5)).resize((c.w, c.h), Image.Resampling.BILINEAR)
    return Image.alpha_composite(img.convert("RGBA"), beam).convert("RGB")


def _grain(img: Image.Image, scene: Scene) -> Image.Image:
    w, h = img.size
    rng = random.Random(stable_int("grain", scene.terrain, w, h))
    noise = Image.frombytes("L", (w, h), rng.randbytes(w * h)).point(
        lambda v: 128 + (v - 128) // 16
    )
    return ImageChops.add(img, Image.merge("RGB", (noise, noise, noise)), 1.0, -128)


def render(scene: Scene, long_side: int) -> Image.Image:
    """Render ``scene``; its longer side is ``long_side`` pixels."""
    w, h = scene.view.pixel_size(long_side)
    c = _Canvas(scene.view, w, h)
    pal = _palette(scene)
    img = _sky(c, pal)
    if scene.time in ("night", "dawn"):
        _stars(img, c, scene)
    img = _glow(img, c, scene, pal)
    _sun(img, c, scene, pal)
    img = _clouds(img, c, scene, pal)
    _mountains(img, c, scene, pal)
    if "city" in scene.elements:
        _city(img, c, scene, pal)
    if "lighthouse" in scene.elements:
        img = _lighthouse(img, c, scene, pal)
    img = _water(img, c, scene, pal)
    return _grain(img, scene)


def compose_grid(tiles: Sequence[Image.Image]) -> Image.Image:
    """The 2x2 grid: tile 1 top left, 2 top right, 3 bottom left, 4 bottom right."""
    w, h = tiles[0].size
    grid = Image.new("RGB", (2 * w, 2 * h))
    for i, tile in enumerate(tiles[:4]):
        grid.paste(
            tile.resize((w, h)) if tile.size != (w, h) else tile, ((i % 2) * w, (i // 2) * h)
        )
    return grid


def progress_preview(grid: Image.Image, progress: int) -> Image.Image:
    """The grid at half size, blurred less as the job gets closer to done."""
    w, h = grid.size
    small = grid.resize((max(1, w // 2), max(1, h // 2)), Image.Resampling.BILINEAR)
    radius = (1.0 - progress / 100) * max(small.size) / 18 + 0.5
    return small.filter(ImageFilter.GaussianBlur(radius))


def encode_png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG", compress_level=1)  # fast; Pillow's PNGs carry no timestamps
    return buf.getvalue()
