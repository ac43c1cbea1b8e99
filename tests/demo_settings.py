"""Settings for tests: demo mode on a fast simulator, everything under a tmp dir."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.settings import Settings


def demo_settings(data_dir: Path, **overrides: Any) -> Settings:
    base = Settings(
        data_dir=data_dir,
        graphics="halfcell",
        sim_speed=120.0,
        sim_tile_size=256,
        timeout=5.0,
    )
    return base.with_(**overrides)
