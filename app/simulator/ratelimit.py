"""Per-token sliding window: one accepted request every ``interval`` seconds."""

from __future__ import annotations

import math
import threading
import time


class RateLimiter:
    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def admit(self, key: str, now: float | None = None) -> int | None:
        """None when the request may go ahead (and counts), else seconds to wait."""
        if self.interval <= 0:
            return None
        now = time.monotonic() if now is None else now
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.interval:
                # Rejected requests do not move the window, as on the real service.
                return max(1, math.ceil(self.interval - (now - last)))
            self._last[key] = now
            return None
