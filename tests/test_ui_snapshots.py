"""SVG snapshots of the main states (pytest-textual-snapshot).

Deterministic by construction: fixed terminal and cell size, half-block images from the
simulator (fixed per prompt and seed), animations off, elapsed times hidden, no toasts
except the error's. Update with ``pytest tests/test_ui_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from scenarios import SIZE, TOURS, snapshot_app

SnapCompare = Callable[..., bool]


@pytest.fixture(autouse=True)
def _no_animations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")


@pytest.mark.parametrize("state", ["empty", "running", "done", "upscale", "error", "help"])
def test_snapshot(state: str, snap_compare: SnapCompare, tmp_path: Path) -> None:
    tour: Any = TOURS[state]
    assert snap_compare(snapshot_app(tmp_path), terminal_size=SIZE, run_before=tour)
