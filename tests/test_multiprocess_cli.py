"""Scripts beside each other and beside a window: one budget, one history, one service.

Real processes: ``python -m app imagine ... --wait`` runs in parallel, and a JobManager
worker standing in for an open window, against the simulator with its rate limit on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from multiprocess_worker import TOKEN
from test_multiprocess_jobs import Worker, is_event

from app.jobs.model import JobState
from app.jobs.store import JobStore
from app.simulator import Simulator, SimulatorConfig

RATE = 0.2


@pytest.fixture
def sim() -> Iterator[Simulator]:
    config = SimulatorConfig(speed=35.0, tile_size=32, rate_limit=RATE, token=TOKEN)
    with Simulator(config) as simulator:
        yield simulator


def cli(data_dir: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "IMAGINE_DATA_DIR": str(data_dir), **env},
        timeout=120,
        check=False,
    )


def service_env(sim: Simulator) -> dict[str, str]:
    return {
        "IMAGINE_BASE_URL": sim.base_url,
        "IMAGINE_API_TOKEN": TOKEN,
        "IMAGINE_RATE_INTERVAL": str(RATE),
    }


def parallel(
    n: int, run: Callable[[int], subprocess.CompletedProcess[str]]
) -> list[subprocess.CompletedProcess[str]]:
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def test_twelve_parallel_scripts_share_one_budget_and_one_history(
    tmp_path: Path, sim: Simulator
) -> None:
    env = service_env(sim)
    runs = parallel(
        12, lambda i: cli(tmp_path, env, "imagine", f"a field of poppies {i}", "--wait", "--json")
    )
    assert [r.returncode for r in runs] == [0] * 12, [r.stderr[-300:] for r in runs]
    assert sim.count(status=429) == 0  # no process's pacing collided with another's
    prompts = sorted(j.prompt for j in sim.jobs.values())
    assert prompts == sorted(f"a field of poppies {i}" for i in range(12))  # each sent once
    with JobStore(tmp_path / "history.sqlite3") as store:
        jobs = store.all()
    assert sorted(j.prompt for j in jobs) == prompts
    assert all(j.state is JobState.DONE for j in jobs)


def test_a_window_sees_a_scripts_job_live_and_leaves_its_polling_to_the_script(
    tmp_path: Path, sim: Simulator
) -> None:
    window = Worker(tmp_path, sim.base_url)
    try:
        window.wait_for(lambda line: line.get("event") == "ready")
        run = cli(tmp_path, service_env(sim), "imagine", "a lone pine", "--wait", "--json")
        assert run.returncode == 0, run.stderr
        message_id = json.loads(run.stdout)["messageId"]
        seen = window.wait_for(lambda line: line.get("message_id") == message_id)
        window.wait_for(is_event(seen["id"], JobState.DONE))
        assert window.ask("stats")["polls"].get(seen["id"], 0) == 0
        assert sim.count(status=429) == 0
        assert len(sim.jobs) == 1
    finally:
        window.quit()


def test_demo_scripts_in_parallel_then_a_button_on_each_job(tmp_path: Path) -> None:
    """Demo mode: parallel runs share one simulator, so a later button press on any of
    their jobs finds it (separate simulators lost each other's jobs: 404)."""
    env = {"IMAGINE_RATE_INTERVAL": "0"}
    runs = parallel(
        4,
        lambda i: cli(
            tmp_path, env, "imagine", f"snowy peak {i}", "--wait", "--json", "--speed", "35"
        ),
    )
    assert [r.returncode for r in runs] == [0] * 4, [r.stderr[-300:] for r in runs]
    assert all("built-in simulator" in r.stderr for r in runs)  # attached ones say so too
    for run in runs:
        button_id = json.loads(run.stdout)["response"]["buttonMessageId"]
        press = cli(
            tmp_path, env, "button", "U1", "--message", button_id, "--wait", "--speed", "35"
        )
        assert press.returncode == 0, press.stderr


def test_a_demo_window_and_a_script_share_one_simulator(tmp_path: Path) -> None:
    window = Worker(tmp_path, "demo")  # serves the data dir's demo simulator
    try:
        window.wait_for(lambda line: line.get("event") == "ready")
        env = {"IMAGINE_RATE_INTERVAL": "0"}
        run = cli(tmp_path, env, "imagine", "a red barn", "--wait", "--json", "--speed", "35")
        assert run.returncode == 0, run.stderr
        message_id = json.loads(run.stdout)["messageId"]
        window.wait_for(lambda line: line.get("message_id") == message_id)  # live
        job_id = window.ask("imagine", prompt="a blue barn")["id"]
        window.wait_for(is_event(job_id, JobState.DONE))
    finally:
        window.quit()
    state = json.loads((tmp_path / "simulator-state.json").read_text())
    assert sorted(j["prompt"] for j in state["jobs"]) == ["a blue barn", "a red barn"]
