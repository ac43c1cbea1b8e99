"""Lazily rendered, cached PNGs for ``/images/<messageId>/<name>.png``.

Rendering is CPU-bound and holds the GIL, so one render lock costs no real
parallelism and guarantees each picture is drawn once even when a client asks for
the grid, the tiles and a preview at the same moment.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from typing import Generic, TypeVar
from urllib.parse import unquote, urlsplit

from PIL import Image

from app.simulator import imagegen
from app.simulator.config import PROGRESS_STEPS
from app.simulator.jobs import SimJob
from app.simulator.landscape import Scene

K = TypeVar("K")
V = TypeVar("V")
_NAME = re.compile(r"^(grid|image|0_([0-3])|progress_(\d{1,3}))\.png$")
IMAGE_PATH = re.compile(r"^/images/([A-Za-z0-9-]{1,64})/([A-Za-z0-9_]{1,32}\.png)$")


def image_path_of(url: str) -> tuple[str, str] | None:
    """``(messageId, name)`` when ``url`` names one of the simulator's images."""
    match = IMAGE_PATH.match(unquote(urlsplit(url).path))
    return (match.group(1), match.group(2)) if match else None


class _Lru(Generic[K, V]):  # Python 3.11: no PEP 695 syntax
    def __init__(self, max_items: int, max_weight: int) -> None:
        self._items: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._max_items = max_items
        self._max_weight = max_weight
        self._weight = 0

    def get(self, key: K) -> V | None:
        item = self._items.get(key)
        if item is None:
            return None
        self._items.move_to_end(key)
        return item[0]

    def put(self, key: K, value: V, weight: int) -> None:
        old = self._items.pop(key, None)
        if old is not None:
            self._weight -= old[1]
        self._items[key] = (value, weight)
        self._weight += weight
        while self._items and (
            len(self._items) > self._max_items or self._weight > self._max_weight
        ):
            _, (_, dropped) = self._items.popitem(last=False)
            self._weight -= dropped


class ImageStore:
    def __init__(self, max_bytes: int = 192 * 1024 * 1024) -> None:
        self._lock = threading.Lock()
        self._png: _Lru[tuple[str, str], bytes] = _Lru(512, max_bytes)
        self._renders: _Lru[tuple[Scene, int], Image.Image] = _Lru(48, max_bytes)

    @staticmethod
    def valid_name(name: str) -> bool:
        return _NAME.match(name) is not None

    def drawn(self, message_id: str, name: str) -> bool:
        """Whether ``name`` of that job is drawn and kept, ready to be served."""
        with self._lock:
            return self._png.get((message_id, name)) is not None

    def png(self, job: SimJob, name: str, ready: bool) -> bytes | None:
        """The bytes of ``name`` for ``job`` (the job owning the image), or None.

        ``ready`` says whether the job has finished: its final pictures are not
        served before that, its progress previews are.
        """
        match = _NAME.match(name)
        if match is None or not job.scenes:
            return None
        if match.group(3) is not None:
            if int(match.group(3)) not in PROGRESS_STEPS[1:] or job.single:
                return None
        elif not ready or (name == "image.png") != job.single:
            return None
        key = (job.message_id, name)
        with self._lock:
            cached = self._png.get(key)
            if cached is not None:
                return cached
            data = imagegen.encode_png(self._picture(job, match))
            self._png.put(key, data, len(data))
            return data

    def _picture(self, job: SimJob, match: re.Match[str]) -> Image.Image:
        if job.single:
            return self._render(job.scenes[0], job.long_side)
        if match.group(2) is not None:
            return self._render(job.scenes[int(match.group(2))], job.long_side)
        grid = imagegen.compose_grid([self._render(s, job.long_side) for s in job.scenes])
        if match.group(3) is not None:
            return imagegen.progress_preview(grid, int(match.group(3)))
        return grid

    def _render(self, scene: Scene, long_side: int) -> Image.Image:
        key = (scene, long_side)
        img = self._renders.get(key)
        if img is None:
            img = imagegen.render(scene, long_side)
            self._renders.put(key, img, img.width * img.height * 3)
        return img
