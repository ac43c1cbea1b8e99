"""SVG snapshots of the everyday screens: the save dialog, a filtered + searched list, and
the help screen with a key remapped from the config file.

Update with ``pytest tests/test_ui_everyday_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from scenarios import SIZE, TOURS, snapshot_app

SnapCompare = Callable[..., bool]


@pytest.mark.parametrize("state", ["save_dialog", "filter_search"])
def test_everyday_snapshot(state: str, snap_compare: SnapCompare, tmp_path: Path) -> None:
    tour: Any = TOURS[state]
    assert snap_compare(snapshot_app(tmp_path), terminal_size=SIZE, run_before=tour)


def test_help_lists_remapped_keys(snap_compare: SnapCompare, tmp_path: Path) -> None:
    app = snapshot_app(tmp_path, keymap={"upscale": "U", "save": "ctrl+s"})
    assert snap_compare(app, terminal_size=SIZE, run_before=TOURS["help_remapped"])
