"""The one way tests wait: poll a condition, bounded, and say what never happened.

Works in any async test, with or without a Textual Pilot: the app under test runs on
the same loop, so sleeping here lets it work. :func:`until_sync` is the same for a test
with no loop (the simulator serves from its own threads).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

POLL = 0.02  # seconds between two looks


async def until(
    condition: Callable[[], object], timeout: float = 15.0, *, what: str = "the condition"
) -> Any:
    """The first truthy value of ``condition()``; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(POLL)


def until_sync(
    condition: Callable[[], object], timeout: float = 15.0, *, what: str = "the condition"
) -> Any:
    """:func:`until` for a test without an event loop."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(POLL)
