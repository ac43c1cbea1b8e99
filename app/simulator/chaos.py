"""Seeded fault injection: what a flaky real service does to a client."""

from __future__ import annotations

import random
import threading

FAULTS = ("429", "500", "502", "503", "hang", "drop", "malformed", "html")
IMAGE_FAULTS = ("truncated", "corrupt")


class Chaos:
    def __init__(self, rate: float, seed: int) -> None:
        self.rate = rate
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def api_fault(self) -> str | None:
        """A fault for one API request, decided before the request is processed."""
        if self.rate <= 0:
            return None
        with self._lock:
            if self._rng.random() >= self.rate:
                return None
            return self._rng.choice(FAULTS)

    def image_fault(self, data: bytes) -> tuple[str | None, bytes]:
        """Maybe damage an image: half its bytes, or noise of the same length."""
        if self.rate <= 0:
            return None, data
        with self._lock:
            if self._rng.random() >= self.rate:
                return None, data
            fault = self._rng.choice(IMAGE_FAULTS)
            if fault == "truncated":
                return fault, data[: len(data) // 2]
            return fault, self._rng.randbytes(max(64, len(data) // 4))
