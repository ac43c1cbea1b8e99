"""Full garbage collections wait for the user to rest (app/gcpause.py)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.gcpause import IdleCollector
from app.settings import Settings


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only a collection frees it


@pytest.fixture
def old_garbage() -> Iterator[weakref.ref[Node]]:
    """A cycle that has reached the oldest generation."""
    saved = gc.get_threshold()
    gc.collect()
    node = Node()
    ref = weakref.ref(node)
    gc.collect(1)  # young -> middle -> oldest
    gc.collect(1)
    del node
    yield ref
    gc.set_threshold(*saved)


def young_collections(n: int) -> None:
    for _ in range(n):
        gc.collect(1)  # each counts as one towards a full collection


def test_full_collection_waits_for_a_rest(old_garbage: weakref.ref[Node]) -> None:
    saved = gc.get_threshold()
    collector = IdleCollector(quiet=0.5, most=100)
    collector.start()
    try:
        young_collections(saved[2] + 1)
        collector.input(10.0)
        assert not collector.tick(10.2)  # keys still coming
        assert old_garbage() is not None
        assert collector.tick(10.6)  # 0.6 s without a key
        assert old_garbage() is None
        assert not collector.tick(11.0)  # nothing due
    finally:
        collector.stop()
    assert gc.get_threshold() == saved


def test_a_long_stretch_without_rest_still_collects(old_garbage: weakref.ref[Node]) -> None:
    collector = IdleCollector(quiet=0.5, most=20)
    collector.start()
    try:
        for step in range(40):
            collector.input(step * 0.1)
            young_collections(1)
            if collector.tick(step * 0.1):
                break
        assert old_garbage() is None
        assert step < 25
    finally:
        collector.stop()


async def test_the_app_gives_back_the_collector_thresholds(tmp_path: Path) -> None:
    from app.ui.app import ImagineApp

    saved = gc.get_threshold()
    app = ImagineApp(Settings(data_dir=tmp_path, graphics="halfcell"))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert gc.get_threshold()[2] > 10**6  # full collections are the app's to start
        await pilot.press("j")
    assert gc.get_threshold() == saved  # tests run many apps in one process
