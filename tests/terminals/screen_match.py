"""Find an expected image in a screenshot and say how faithfully it is drawn there.

The terminal scales the image to whole cells, so its size and place on screen are found by
search: a coarse normalised cross-correlation over sizes on a 4x reduced screenshot, then a
fine search around the best hit at full resolution. The scores compare colours, so a tile
of empty boxes, a foreign colour band or a grey image scores low even where the shapes match.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image

Array = NDArray[np.float64]
COARSE = 4  # reduction of the coarse search
COMPARE = 48  # side of the reduced images the colour score compares
BAND = 6  # rows of one sixel band: a wrong band shows up as one bad strip


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    w: int
    h: int

    @property
    def right(self) -> int:
        return self.x + self.w

    @property
    def bottom(self) -> int:
        return self.y + self.h

    def grow(self, by: int) -> Box:
        return Box(self.x - by, self.y - by, self.w + 2 * by, self.h + 2 * by)

    def union(self, other: Box) -> Box:
        x, y = min(self.x, other.x), min(self.y, other.y)
        return Box(x, y, max(self.right, other.right) - x, max(self.bottom, other.bottom) - y)

    def crop(self, img: Image.Image) -> Image.Image:
        return img.crop((self.x, self.y, self.right, self.bottom))


@dataclass(frozen=True)
class Found:
    box: Box
    ncc: float  # shape agreement at full resolution, -1..1
    score: float  # colour agreement of the reduced images, 0..1 (1 = same colours)
    worst_band: float  # mean colour error (0..255) of the worst 6-px row strip

    def describe(self) -> str:
        b = self.box
        return (
            f"at {b.x},{b.y} size {b.w}x{b.h}: score {self.score:.3f}, "
            f"ncc {self.ncc:.3f}, worst strip {self.worst_band:.1f}"
        )


def as_array(img: Image.Image) -> Array:
    return np.asarray(img.convert("RGB"), dtype=np.float64)


def _window_sums(a: Array, h: int, w: int) -> Array:
    """Sum of every h x w window of ``a`` (top-left anchored), by an integral image."""
    s = np.zeros((a.shape[0] + 1, a.shape[1] + 1))
    s[1:, 1:] = a.cumsum(0).cumsum(1)
    return s[h:, w:] - s[:-h, w:] - s[h:, :-w] + s[:-h, :-w]


def ncc_map(screen: Array, tpl: Array) -> Array:
    """Normalised cross-correlation of ``tpl`` at every place it fits in ``screen`` (RGB)."""
    hh, ww = screen.shape[:2]
    h, w = tpl.shape[:2]
    num = np.zeros((hh - h + 1, ww - w + 1))
    var = np.zeros_like(num)
    tnorm = 0.0
    for c in range(3):
        a, t = screen[:, :, c], tpl[:, :, c] - tpl[:, :, c].mean()
        tnorm += float((t * t).sum())
        fa = np.fft.rfft2(a)
        ft = np.fft.rfft2(t, s=a.shape)
        corr = np.fft.irfft2(fa * np.conj(ft), s=a.shape)[: hh - h + 1, : ww - w + 1]
        num += corr
        s1 = _window_sums(a, h, w)
        s2 = _window_sums(a * a, h, w)
        var += np.maximum(s2 - s1 * s1 / (h * w), 0.0)
    den = np.sqrt(var * tnorm)
    out: Array = np.where(den > 1e-6, num / np.maximum(den, 1e-6), 0.0)
    return out


def _best(screen: Array, expected: Image.Image, sizes: list[tuple[int, int]]) -> tuple[float, Box]:
    best = (-2.0, Box(0, 0, 1, 1))
    for w, h in sizes:
        if w < 4 or h < 4 or h > screen.shape[0] or w > screen.shape[1]:
            continue
        tpl = as_array(expected.resize((w, h), Image.Resampling.BOX))
        m = ncc_map(screen, tpl)
        y, x = np.unravel_index(int(np.argmax(m)), m.shape)
        if m[y, x] > best[0]:
            best = (float(m[y, x]), Box(int(x), int(y), w, h))
    return best


def snap(box: Box, cells: tuple[int, int, int, int]) -> Box:
    """``box`` moved to whole cells: every renderer draws a whole number of cells."""
    x0, y0, cw, ch = cells
    x = x0 + round((box.x - x0) / cw) * cw
    y = y0 + round((box.y - y0) / ch) * ch
    return Box(x, y, max(cw, round(box.w / cw) * cw), max(ch, round(box.h / ch) * ch))


def locate(
    shot: Image.Image,
    expected: Image.Image,
    within: Box | None = None,
    cells: tuple[int, int, int, int] | None = None,
) -> Found:
    """Where ``expected`` is drawn in ``shot`` (optionally only inside ``within``).

    With ``cells`` (x, y of the first cell, cell width, height) the place found is moved
    to whole cells, so a wrong strip at the image's edge counts against it.
    """
    area = within or Box(0, 0, shot.width, shot.height)
    region = area.crop(shot)
    ratio = expected.width / expected.height
    small = region.resize(
        (max(1, region.width // COARSE), max(1, region.height // COARSE)), Image.Resampling.BOX
    )
    coarse = as_array(small)
    top = min(small.width, small.height)
    sizes = [(max(4, round(s * ratio)), s) for s in range(6, top + 1, 2)]
    _, hit = _best(coarse, expected, sizes)
    rough = Box(hit.x * COARSE + area.x, hit.y * COARSE + area.y, hit.w * COARSE, hit.h * COARSE)
    if cells is not None:
        ncc, box = _on_cells(shot, expected, rough, cells)
    else:
        ncc, box = _fine(shot, expected, rough)
    return compare(shot, expected, box, ncc)


def _ncc(a: Array, b: Array) -> float:
    a, b = a - a.mean(), b - b.mean()
    den = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum()) / den if den > 1e-6 else 0.0


def _on_cells(
    shot: Image.Image, expected: Image.Image, rough: Box, cells: tuple[int, int, int, int]
) -> tuple[float, Box]:
    """The best box of whole cells within a cell of ``rough``: every renderer draws cells."""
    _, _, cw, ch = cells
    base = snap(rough, cells)
    best = (-2.0, base)
    screen = as_array(shot)
    for dw in (-cw, 0, cw):
        for dh in (-ch, 0, ch):
            w, h = base.w + dw, base.h + dh
            if w < cw or h < ch:
                continue
            want = as_array(expected.resize((w, h), Image.Resampling.BOX))
            for dx in (-cw, 0, cw):
                for dy in (-ch, 0, ch):
                    x, y = base.x + dx, base.y + dy
                    if x < 0 or y < 0 or x + w > shot.width or y + h > shot.height:
                        continue
                    score = _ncc(screen[y : y + h, x : x + w], want)
                    if score > best[0]:
                        best = (score, Box(x, y, w, h))
    return best


def _fine(shot: Image.Image, expected: Image.Image, rough: Box) -> tuple[float, Box]:
    """Size and place to the pixel around ``rough``, at full resolution."""
    margin = 2 * COARSE + 4
    fx, fy = max(0, rough.x - margin), max(0, rough.y - margin)
    window = Box(fx, fy, rough.w + 2 * margin + 8, rough.h + 2 * margin + 8)
    window = Box(fx, fy, min(window.w, shot.width - fx), min(window.h, shot.height - fy))
    fine = as_array(window.crop(shot))
    steps = [(rough.w + dw, rough.h + dh) for dw in range(-6, 7, 2) for dh in range(-6, 7, 2)]
    _, near = _best(fine, expected, steps)
    exact = [(near.w + dw, near.h + dh) for dw in (-1, 0, 1) for dh in (-1, 0, 1)]
    ncc, box = _best(fine, expected, exact)
    return ncc, Box(box.x + fx, box.y + fy, box.w, box.h)


def compare(shot: Image.Image, expected: Image.Image, box: Box, ncc: float) -> Found:
    drawn = box.crop(shot).convert("RGB")
    want = expected.convert("RGB").resize((box.w, box.h), Image.Resampling.LANCZOS)
    small = (COMPARE, COMPARE)
    a = as_array(drawn.resize(small, Image.Resampling.BOX))
    b = as_array(want.resize(small, Image.Resampling.BOX))
    score = 1.0 - float(np.abs(a - b).mean()) / 255.0
    full = np.abs(as_array(drawn) - as_array(want)).mean(axis=(1, 2))
    strips = [float(full[y : y + BAND].mean()) for y in range(0, len(full) - BAND + 1, BAND)]
    return Found(box, ncc, score, max(strips, default=0.0))


@dataclass(frozen=True)
class Difference:
    changed: float  # fraction of pixels whose largest channel difference is above 48
    mean: float  # mean absolute difference, 0..255

    def describe(self) -> str:
        return f"{self.changed * 100:.2f}% of pixels changed, mean difference {self.mean:.2f}"


def difference(a: Image.Image, b: Image.Image, box: Box) -> Difference:
    """How much the same ``box`` differs between two screenshots."""
    x, y = as_array(box.crop(a)), as_array(box.crop(b))
    d = np.abs(x - y)
    return Difference(float((d.max(axis=2) > 48).mean()), float(d.mean()))


def leftovers(before: Image.Image, now: Image.Image, boxes: list[Box], keep_out: Box) -> float:
    """The share of ``boxes`` (outside ``keep_out``) still showing what ``before`` drew there.

    Counted are pixels with the very colour they had in ``before`` where that was not the
    background: fragments of an earlier image left on screen.
    """
    a, b = as_array(before), as_array(now)
    left = total = 0
    for box in boxes:
        inner = box.grow(-2)
        mask = np.ones((inner.h, inner.w), dtype=bool)
        x0, y0 = keep_out.x - inner.x, keep_out.y - inner.y
        mask[max(0, y0) : max(0, y0 + keep_out.h), max(0, x0) : max(0, x0 + keep_out.w)] = False
        was = a[inner.y : inner.bottom, inner.x : inner.right]
        is_ = b[inner.y : inner.bottom, inner.x : inner.right]
        if not mask.any():
            continue
        background = np.median(is_[mask], axis=0)
        content = np.abs(was - background).max(axis=2) > 48
        same = np.abs(was - is_).max(axis=2) < 10
        left += int((mask & content & same).sum())
        total += int(mask.sum())
    return left / total if total else 0.0
