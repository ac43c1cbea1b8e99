"""Pause the garbage collector while a large, long-lived structure is built."""

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
