"""Settings for tests: demo mode on a fast simulator, everything under a tmp dir."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.settings import Settings

if TYPE_CHECKING:
    from app.runtime import Backend


def demo_settings(data_dir: Path, **overrides: Any) -> Settings:
    base = Settings(
        data_dir=data_dir,
        graphics="halfcell",
        sim_speed=120.0,
        sim_tile_size=256,
        timeout=5.0,
    )
    return base.with_(**overrides)


@asynccontextmanager
async def opened(settings: Settings) -> AsyncIterator[Backend]:
    """The backend on ``settings``, opened as the app opens it; closed when the block ends."""
    from app.runtime import close_backend, open_backend

    backend = await open_backend(settings)
    try:
        yield backend
    finally:
        await close_backend(backend)
