"""Full garbage collections wait for the user to rest (app/gcpause.py)."""

from __future__ import annotations

import gc
import threading
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


def middle_collections(n: int) -> None:
    for _ in range(n):
        gc.collect(1)  # each counts towards a full collection, as CPython's own do


def test_a_full_collection_waits_for_a_rest(old_garbage: weakref.ref[Node]) -> None:
    saved = gc.get_threshold()
    woken: list[int] = []
    collector = IdleCollector(quiet=0.5, most=100)
    collector.start(wake=lambda: woken.append(1))
    try:
        assert collector.tick(0.0) is None  # nothing due: nothing to come back for
        collector.input(10.0)
        middle_collections(saved[2] + 3)
        assert woken == [1]  # once, when it became due
        assert collector.tick(10.2) == pytest.approx(0.3)  # keys still coming: later
        assert old_garbage() is not None
        assert collector.tick(10.6) is None  # 0.6 s without a key: collected
        assert old_garbage() is None
        middle_collections(saved[2])
        assert woken == [1, 1]  # due again
    finally:
        collector.stop()
    assert gc.get_threshold() == saved
    middle_collections(saved[2] + 1)
    assert woken == [1, 1]  # stopped: the process's own collector again


def test_a_long_stretch_without_rest_still_collects(old_garbage: weakref.ref[Node]) -> None:
    collector = IdleCollector(quiet=0.5, most=20)
    collector.start(wake=lambda: None)
    try:
        for step in range(40):
            collector.input(step * 0.1)
            middle_collections(1)
            if collector.tick(step * 0.1) is None and old_garbage() is None:
                break
        assert old_garbage() is None
        assert step < 25
    finally:
        collector.stop()


async def test_the_app_collects_in_a_rest_and_gives_the_thresholds_back(
    tmp_path: Path,
) -> None:
    from app.ui.app import ImagineApp

    saved = gc.get_threshold()
    app = ImagineApp(Settings(data_dir=tmp_path, graphics="halfcell"))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert gc.get_threshold()[2] > 10**6  # full collections are the app's to start
        node = Node()
        ref = weakref.ref(node)
        middle_collections(2)
        del node
        await pilot.press("j")
        # Due: the app is woken (here from a plain thread, as the history's writer is,
        # whose context is not the app's) and waits for a rest on a timer of its own.
        thread = threading.Thread(target=middle_collections, args=(saved[2],))
        thread.start()
        thread.join(5)
        for _ in range(40):  # bounded: 2 s
            if ref() is None:
                break
            await pilot.pause(0.05)
        assert ref() is None
    assert gc.get_threshold() == saved  # tests run many apps in one process
