"""SVG snapshots along the journeys of ``tests/scenarios.py``: several named shots each.

One app run per journey; each ``shot(name)`` is compared with
``__snapshots__/test_ui_snapshots/test_journey[<journey>][<name>].svg``. Update them with
``pytest tests/test_ui_snapshots.py --snapshot-update`` and look at what changed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_textual_snapshot import SVGImageExtension
from scenarios import TRIPS, quiet, snapshot_app
from syrupy import SnapshotAssertion


@pytest.mark.parametrize("name", list(TRIPS))
async def test_journey(
    name: str, snapshot: SnapshotAssertion, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trip = TRIPS[name]
    arranged = trip.prepare(monkeypatch) if trip.prepare is not None else None
    svg = snapshot.use_extension(SVGImageExtension)
    app = snapshot_app(tmp_path, **trip.settings)
    differ: list[str] = []
    taken: list[str] = []

    async with app.run_test(size=trip.size, notifications=True) as pilot:

        async def shot(label: str, *, toasts: bool = False) -> None:
            await quiet(pilot, toasts=toasts)
            taken.append(label)
            matches = svg(name=label) == app.export_screenshot(title="imagine")
            if not matches:
                differ.append(label)

        await trip.journey(pilot, shot, arranged)

    assert len(taken) == len(set(taken)), "two shots share a name"
    assert not differ, f"these shots differ from their snapshots: {differ}"
