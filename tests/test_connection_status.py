"""The connection status follows any answer from the service, not only a good one."""

from __future__ import annotations

import asyncio
from pathlib import Path

from demo_settings import demo_settings
from waiting import until

from app.jobs import JobState
from app.runtime import close_backend, open_backend
from app.simulator import Simulator, SimulatorConfig


async def test_a_404_from_a_restarted_service_means_online(tmp_path: Path) -> None:
    sim = Simulator(SimulatorConfig(speed=2, tile_size=64))  # slow: still running later
    sim.start()
    settings = demo_settings(
        tmp_path / "data", base_url=sim.base_url, rate_interval=0.0, timeout=0.5
    )
    backend = await open_backend(settings)
    m = backend.manager
    fresh: Simulator | None = None
    try:
        job = m.submit_imagine("a lighthouse at dusk")
        await until(lambda: (m.get(job.id) or job).message_id is not None, what="it to be sent")
        sim.stop()
        await until(lambda: not m.online, what="offline")
        await asyncio.sleep(0.5)
        fresh = Simulator(SimulatorConfig(speed=2, tile_size=64), port=sim.port)
        fresh.start()  # restarted without its jobs: it answers 404 for ours
        await until(lambda: m.online, what="online again after the 404")
        await until(lambda: (m.get(job.id) or job).state is JobState.FAILED, what="the 404")
    finally:
        await close_backend(backend)
        if fresh is not None:
            fresh.stop()
