"""When the garbage collector runs: not while a long-lived structure is built, and its
full passes not under a key press."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
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
    the oldest generation is collected only by :meth:`tick`. When as many younger
    collections have run as would have started one, ``wake`` is called (from whichever
    thread collected: it must only schedule a tick); the tick collects once no input came
    for ``quiet`` seconds, or, in a long stretch without a rest, after ``most`` of them.
    Nothing runs while nothing is due: no timer wakes an idle app.
    """

    def __init__(self, *, quiet: float = 0.5, most: int = 100) -> None:
        self.quiet = quiet
        self.most = most
        self._saved: tuple[int, int, int] | None = None
        self._last_input = float("-inf")
        self._wake: Callable[[], None] | None = None
        self._woken = False

    def start(self, wake: Callable[[], None]) -> None:
        if self._saved is None:
            self._saved = gc.get_threshold()
            young, middle, _ = self._saved
            gc.set_threshold(young, middle, 2**31 - 1)  # never by itself
            self._wake = wake
            gc.callbacks.append(self._collected)

    def stop(self) -> None:
        if self._saved is not None:
            gc.callbacks.remove(self._collected)
            gc.set_threshold(*self._saved)
            self._saved = self._wake = None

    def input(self, now: float) -> None:
        self._last_input = now

    def tick(self, now: float) -> float | None:
        """Collect the oldest generation when it is due and the user rests. None: done
        (or nothing due); else the seconds after which to tick again."""
        if self._saved is None:
            return None
        if not gc.isenabled():  # paused (gc_paused): woken again once it runs
            self._woken = False
            return None
        due = gc.get_count()[2]  # middle-generation collections since the last full one
        if due < self._saved[2]:
            self._woken = False
            return None
        rest = self._last_input + self.quiet - now
        if rest > 0 and due < self.most:
            return rest
        self._woken = False
        gc.collect()
        return None

    def _collected(self, phase: str, info: dict[str, int]) -> None:
        if phase != "stop" or info["generation"] != 1 or self._woken or self._saved is None:
            return
        if gc.get_count()[2] >= self._saved[2] and self._wake is not None:
            self._woken = True
            self._wake()
