"""When the garbage collector runs: not while a long-lived structure is built, and its
full passes not under a key press."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Every object made inside lives on, so collections that keep walking the growing
    heap find nothing to free: loading 10k jobs took twice as long with them."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


class IdleCollector:
    """Full collections while the user rests, not under a key press.

    A full collection walks every object the app holds (~100,000 after a few hundred
    j/k presses: Textual's line caches) and took 20–80 ms; CPython starts one wherever
    enough objects have piled up, so it landed under a key now and then (j/k p95). Here
    the oldest generation is only collected by :meth:`tick`: once as many younger
    collections have run as would have started one, and no input came for ``quiet``
    seconds, or, in a long stretch without a rest, after ``most`` of them.
    """

    def __init__(self, *, quiet: float = 0.5, most: int = 100) -> None:
        self.quiet = quiet
        self.most = most
        self._saved: tuple[int, int, int] | None = None
        self._last_input = float("-inf")

    def start(self) -> None:
        if self._saved is None:
            self._saved = gc.get_threshold()
            young, middle, _ = self._saved
            gc.set_threshold(young, middle, 2**31 - 1)  # never by itself

    def stop(self) -> None:
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None

    def input(self, now: float) -> None:
        self._last_input = now

    def tick(self, now: float) -> bool:
        """Collect the oldest generation when it is due; True when it did."""
        if self._saved is None or not gc.isenabled():
            return False
        due = gc.get_count()[2]  # middle-generation collections since the last full one
        rested = now - self._last_input >= self.quiet
        if due >= self.most or (due >= self._saved[2] and rested):
            gc.collect()
            return True
        return False
