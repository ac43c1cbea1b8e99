"""Shared fixtures: a real simulator on loopback, and settings pointing at tmp dirs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from demo_settings import demo_settings

from app.settings import Settings
from app.simulator import Simulator, SimulatorConfig

FAST = 120.0  # a job takes 35 s / 120 ≈ 0.3 s


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the user's real config, data or account."""
    for var in (
        "IMAGINE_BASE_URL",
        "IMAGINE_API_TOKEN",
        "IMAGINE_DATA_DIR",
        "IMAGINE_GRAPHICS",
        "IMAGINE_RATE_INTERVAL",
        "IMAGINE_CONFIG",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")


@pytest.fixture
def sim_config() -> SimulatorConfig:
    return SimulatorConfig(speed=FAST, tile_size=128)


@pytest.fixture
def simulator(sim_config: SimulatorConfig) -> Iterator[Simulator]:
    with Simulator(sim_config) as sim:
        yield sim


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return demo_settings(tmp_path / "data")
