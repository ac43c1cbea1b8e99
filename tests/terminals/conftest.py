"""Fixtures for the real-terminal tests: one X display, one recorded walk per emulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from journey import Journey, walk
from xsession import CannotStart, XDisplay

ARTEFACTS = Path(__file__).resolve().parents[2] / "artefacts" / "terminals"


@pytest.fixture(scope="session")
def xdisplay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[XDisplay]:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    try:
        display = XDisplay(ARTEFACTS).start()
    except CannotStart as exc:
        pytest.fail(f"no virtual X display: {exc}", pytrace=False)
    yield display
    display.stop()


_WALKS: dict[str, Journey] = {}


@pytest.fixture
def journey(
    request: pytest.FixtureRequest, xdisplay: XDisplay, tmp_path_factory: pytest.TempPathFactory
) -> Journey:
    """The walk for this test's emulator, made once and shared by its tests."""
    name: str = request.param
    if name not in _WALKS:
        work = tmp_path_factory.mktemp(f"term-{name}")
        _WALKS[name] = walk(name, xdisplay, work, ARTEFACTS / name)
    found = _WALKS[name]
    if found.error:
        pytest.fail(f"{name}: {found.error} (screenshots: {found.artefacts})", pytrace=False)
    return found
