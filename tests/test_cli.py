"""The scripting CLI: output, saved files, exit codes, no tracebacks, no token."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from PIL import Image

from app.simulator import Simulator, SimulatorConfig

TOKEN = "tok-SECRET-99"


def cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        check=False,
    )


def test_imagine_wait_out_json_on_the_builtin_simulator(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run = cli(
        "imagine",
        "a lighthouse at dusk",
        "--wait",
        "--json",
        "--out",
        str(out),
        "--speed",
        "100",
        "--data-dir",
        str(tmp_path / "d"),
    )
    assert run.returncode == 0, run.stderr
    assert "built-in simulator" in run.stderr and "Traceback" not in run.stderr
    result = json.loads(run.stdout)
    assert result["progress"] == 100 and len(result["response"]["imageUrls"]) == 4
    sidecar = json.loads((out / f"{result['messageId']}.json").read_text())
    assert sidecar["prompt"] == "a lighthouse at dusk" and "V1" in sidecar["buttons"]
    assert len(sidecar["files"]) == 4
    for name in sidecar["files"]:
        with Image.open(out / name) as img:
            assert img.size[0] >= 64


def test_button_on_a_real_job_and_exit_codes() -> None:
    with Simulator(SimulatorConfig(speed=100, token=TOKEN, stall_words=("frozen",))) as sim:
        env = {
            "IMAGINE_BASE_URL": sim.base_url,
            "IMAGINE_API_TOKEN": TOKEN,
            "IMAGINE_RATE_INTERVAL": "0",
        }
        first = cli("imagine", "boats", "--wait", "--json", env=env)
        assert first.returncode == 0, first.stderr
        bmid = json.loads(first.stdout)["response"]["buttonMessageId"]
        child = cli("button", "V2", "--message", bmid, "--wait", env=env)
        assert child.returncode == 0, child.stderr
        assert "buttons: U1 U2 U3 U4" in child.stdout
        # 1: the job failed (unknown button) or went incomplete (expired)
        bad = cli("button", "V9", "--message", bmid, "--wait", env=env)
        assert bad.returncode == 1 and "does not offer that button" in bad.stderr
        stalled = cli("imagine", "frozen lake", "--wait", "--expire-mins", "1", env=env)
        assert stalled.returncode == 1 and "failed" in stalled.stderr
        # 3: wrong token; the token itself is never printed
        wrong = cli("imagine", "x", env={**env, "IMAGINE_API_TOKEN": "nope"})
        assert wrong.returncode == 3 and "rejected the API token" in wrong.stderr
        for run in (first, child, bad, stalled, wrong):
            assert TOKEN not in run.stdout + run.stderr and "Traceback" not in run.stderr


def test_bad_input_and_unreachable_service() -> None:
    assert cli("imagine", "   ").returncode == 2
    assert cli("imagine", "x", "--base-url", "not a url").returncode == 2
    assert cli("imagine", "x", "--token", "t").returncode == 2  # a token but no base URL
    gone = cli("imagine", "x", "--base-url", "http://127.0.0.1:9", "--rate-interval", "0")
    assert gone.returncode == 3 and "Cannot reach" in gone.stderr and "Traceback" not in gone.stderr


def test_simulate_prints_base_url_and_serves() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "simulate", "--port", "0", "--speed", "50"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("BASE_URL=http://127.0.0.1:")
        run = cli(
            "imagine",
            "x",
            "--wait",
            env={"IMAGINE_BASE_URL": line.split("=", 1)[1], "IMAGINE_RATE_INTERVAL": "0"},
        )
        assert run.returncode == 0, run.stderr
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
    assert proc.returncode in (0, 130)
