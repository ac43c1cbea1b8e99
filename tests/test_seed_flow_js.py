"""The seed's own JavaScript flow, unchanged but for its two constants, against the simulator."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from app.simulator import GENERATION_SECONDS, Simulator, SimulatorConfig

SCRIPT = Path(__file__).resolve().parent.parent / "assets" / "seed_flow.js"
# The script sleeps 5 s between polls: a job shorter than that takes exactly two polls.
SPEED = GENERATION_SECONDS / 1.5
TOKEN = "seed-flow-token"


def with_constants(source: str, base_url: str, token: str) -> str:
    """Fill in BASE_URL and AUTH_TOKEN; nothing else in the script changes."""
    out, n_base = re.subn(
        r"^const BASE_URL = '';$", f"const BASE_URL = '{base_url}';", source, flags=re.M
    )
    out, n_token = re.subn(
        r"^const AUTH_TOKEN = '';$", f"const AUTH_TOKEN = '{token}';", out, flags=re.M
    )
    assert (n_base, n_token) == (1, 1), "the script's two constants were not found"
    return out


def test_seed_javascript_runs_against_the_simulator(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("`node` (v18+, with global fetch) is required to run the seed's JavaScript")
    source = SCRIPT.read_text(encoding="utf-8")
    with Simulator(SimulatorConfig(speed=SPEED, token=TOKEN, tile_size=64)) as sim:
        script = tmp_path / "seed_flow.js"
        filled = with_constants(source, sim.base_url, TOKEN)
        assert filled.replace(f"'{sim.base_url}'", "''").replace(f"'{TOKEN}'", "''") == source
        script.write_text(filled, encoding="utf-8")
        run = subprocess.run(
            [node, str(script)], capture_output=True, text=True, timeout=60, cwd=tmp_path
        )
        assert run.returncode == 0, run.stdout + run.stderr
        out = run.stdout
        assert "IMAGE GENERATION MESSAGE DATA" in out and "success: true" in out
        assert "COMPLETED IMAGE DATA" in out
        tail = out.split("COMPLETED VARIATION DATA", 1)[1]
        assert "progress: 100" in tail and "type: 'button'" in tail
        pattern = re.escape(sim.base_url) + r"/images/[A-Za-z0-9]{20}/0_([0-3])\.png"
        assert sorted(re.findall(pattern, tail)) == ["0", "1", "2", "3"]
        assert sim.count(401) == 0 and sim.count(200, "/button") == 1
        labels = [job.label for job in sim.jobs.values()]
        assert labels == [None, "V1"]
