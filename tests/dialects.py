"""The simulator's dialects as the refusal tests (CLI and TUI) run them, and their token."""

from __future__ import annotations

import pytest

# Every dialect, and ImaginePro's refusals in both shapes its docs leave open.
DIALECTS = [
    pytest.param("thenextleg", {}, id="thenextleg"),
    pytest.param("midjourney-proxy", {}, id="midjourney-proxy"),
    pytest.param("imaginepro", {}, id="imaginepro-nestjs-errors"),
    pytest.param("imaginepro", {"imaginepro_errors": "body"}, id="imaginepro-200-errors"),
]
TOKEN = "tok-RIGHT-42"
