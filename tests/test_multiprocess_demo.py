"""Demo mode: one simulator per data dir, whichever processes come and go.

The processes here are real: CLI runs (``python -m app``) and a helper serving the demo
simulator (``python -c``), on loopback, sharing one data dir.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from app.simulator import SimulatorConfig
from app.simulator.demo import DemoSimulator

SERVE = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from app.simulator import SimulatorConfig
    from app.simulator.demo import DemoSimulator
    data = Path(sys.argv[1])
    demo = DemoSimulator(
        SimulatorConfig(speed=35, tile_size=32, state_path=data / "simulator-state.json"), data
    )
    print(demo.start(), "host" if demo.hosted else "attached", flush=True)
    sys.stdin.readline()
    demo.stop()
    """
)


def serve(data_dir: Path) -> tuple[subprocess.Popen[str], str, str]:
    """A process serving (or attaching to) the demo simulator: its base URL and role."""
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(data_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    url, role = proc.stdout.readline().split()
    return proc, url, role


def demo(data_dir: Path) -> DemoSimulator:
    config = SimulatorConfig(speed=35, tile_size=32, state_path=data_dir / "simulator-state.json")
    return DemoSimulator(config, data_dir)


def saved_prompts(data_dir: Path) -> list[str]:
    state = json.loads((data_dir / "simulator-state.json").read_text())
    return sorted(job["prompt"] for job in state["jobs"])


def imagine(base_url: str, prompt: str) -> dict[str, str]:
    answer = httpx.post(f"{base_url}/imagine", json={"msg": prompt}, timeout=10)
    answer.raise_for_status()
    return dict(answer.json())


def test_a_second_process_attaches_and_takes_over_when_the_first_dies(tmp_path: Path) -> None:
    first, url, role = serve(tmp_path)
    assert role == "host"
    here = demo(tmp_path)
    try:
        assert here.start() == url and here.hosted is None  # attached, not a second service
        job = imagine(url, "a harbour at night")
        first.kill()
        first.wait(timeout=10)
        # The kernel dropped the dead host's lock: this process serves now, on the same
        # port, and knows the dead host's job.
        for _ in range(250):  # bounded: it checks four times a second
            if here.hosted is not None:
                break
            time.sleep(0.02)
        assert here.hosted is not None and here.hosted.base_url == url
        assert job["messageId"] in here.hosted.jobs
    finally:
        here.stop()


def test_eight_parallel_cli_runs_keep_eight_of_eight_jobs(tmp_path: Path) -> None:
    data = tmp_path / "d"

    def run(i: int) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app", "imagine", f"valley number {i}", "--speed", "35"],
            capture_output=True,
            text=True,
            env={**os.environ, "IMAGINE_DATA_DIR": str(data)},
            timeout=60,
            check=False,
        )

    with ThreadPoolExecutor(8) as pool:
        runs = list(pool.map(run, range(8)))
    assert [r.returncode for r in runs] == [0] * 8, [r.stderr for r in runs]
    assert saved_prompts(data) == sorted(f"valley number {i}" for i in range(8))


def test_image_links_survive_a_restart_of_the_demo(tmp_path: Path) -> None:
    first = demo(tmp_path)
    url = first.start()
    job = imagine(url, "a quiet lake")
    first.stop()
    again = demo(tmp_path)
    try:
        assert again.start() == url  # the recorded port, so earlier links still work
        for _ in range(200):  # bounded: the job finishes about 1 s after it was made
            status = httpx.get(f"{url}/message/{job['messageId']}", timeout=10).json()
            if status.get("progress") == 100:
                break
            time.sleep(0.05)
        image = status["response"]["imageUrls"][0]
        assert image.startswith(url)
        assert httpx.get(image, timeout=10).status_code == 200
    finally:
        again.stop()
