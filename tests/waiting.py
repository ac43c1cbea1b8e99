"""Waiting for a condition in async tests: bounded, polled every 20 ms."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def until(cond: Callable[[], object], timeout: float = 10.0) -> None:
    """Return once ``cond()`` is true; fail the test after ``timeout`` seconds."""
    for _ in range(int(timeout / 0.02)):
        if cond():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"condition not reached in {timeout:g} s")
