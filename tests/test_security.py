"""The API token never shows: not in logs, exceptions, the store, notifications or screenshots."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from waiting import until

from app.api import ImagineClient
from app.jobs import JobState
from app.runtime import close_backend, open_backend
from app.settings import Settings, resolve
from app.simulator import Simulator, SimulatorConfig
from app.ui.app import ImagineApp

TOKEN = "tok-9f8e7d6c5b4a-SECRET"


async def test_token_is_not_in_logs_store_or_errors(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # httpx and httpcore log every request at DEBUG
    with Simulator(SimulatorConfig(speed=120, token=TOKEN, tile_size=64)) as sim:
        settings = Settings.for_tests(
            tmp_path, base_url=sim.base_url, token=TOKEN, rate_interval=0.0
        )
        backend = await open_backend(settings)
        try:
            job = backend.manager.submit_imagine("a secret garden")
            await until(lambda: backend.manager.get(job.id).state is JobState.DONE)  # type: ignore[union-attr]
            child = backend.manager.press(job.id, "V1")
            await until(lambda: backend.manager.get(child.id).state is JobState.DONE)  # type: ignore[union-attr]
        finally:
            await close_backend(backend)
        wrong = Settings.for_tests(
            tmp_path / "w", base_url=sim.base_url, token="x" + TOKEN, rate_interval=0.0
        )
        backend = await open_backend(wrong)
        try:
            bad = backend.manager.submit_imagine("denied")
            await until(lambda: backend.manager.get(bad.id).state is JobState.FAILED)  # type: ignore[union-attr]
            error = backend.manager.get(bad.id).error or ""  # type: ignore[union-attr]
        finally:
            await close_backend(backend)
    assert "rejected the API token" in error and TOKEN not in error
    assert any("httpx" in r.name or "httpcore" in r.name for r in caplog.records)
    assert TOKEN not in caplog.text
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), f"token written to {path}"
    assert TOKEN not in repr(settings) and TOKEN not in repr(ImagineClient(sim.base_url, TOKEN))


def test_token_is_not_in_resolved_settings_repr() -> None:
    s = resolve({}, {"IMAGINE_BASE_URL": "http://127.0.0.1:9", "IMAGINE_API_TOKEN": TOKEN})
    assert s.token == TOKEN and TOKEN not in repr(s) and TOKEN not in str(s.sources)


async def test_token_is_not_on_screen_or_in_notifications(tmp_path: Path) -> None:
    with Simulator(SimulatorConfig(speed=120, token=TOKEN, tile_size=64)) as sim:
        settings = Settings.for_tests(
            tmp_path,
            base_url=sim.base_url,
            token="x" + TOKEN,
            rate_interval=0.0,
            graphics="halfcell",
        )
        app = ImagineApp(settings)
        async with app.run_test(size=(140, 45)) as pilot:
            for _ in range(200):
                if app.backend is not None:
                    break
                await pilot.pause(0.05)
            app.main.prompt_input.value = "hello"
            await pilot.press("enter")
            for _ in range(200):
                if any("token" in n.message for n in app._notifications):
                    break
                await pilot.pause(0.05)
            messages = [n.message for n in app._notifications]
            screen = app.export_screenshot()
    assert any("rejected the API token" in m for m in messages)
    assert all(TOKEN not in m for m in messages)
    assert TOKEN not in screen
