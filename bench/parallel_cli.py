"""Scenario 5: N parallel ``imagine --wait`` processes against one rate-limited service.

Each process is a real ``python -m app imagine PROMPT --wait --json``, all sharing one
data dir (and so one request budget) and one token. The limit is the one scenario 2
uses: N submissions need N slots and each job at least one poll after it finishes,
L = max(2·N·I, (N−1)·I + G + I). Makespan runs from launching the processes to the
last one exiting, so it includes N Python start-ups on this machine's cores.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from app.settings import REAL_SERVICE_INTERVAL
from app.simulator import GENERATION_SECONDS, Simulator, SimulatorConfig

ROOT = Path(__file__).resolve().parent.parent
PROMPT = "A Rhinoceros in the Amazon with sun shining through, photorealistic, 4k"
TOKEN = "bench-parallel-token"


def run_parallel(k: float, n: int) -> dict[str, Any]:
    interval = REAL_SERVICE_INTERVAL / k
    config = SimulatorConfig(speed=k, rate_limit=interval, token=TOKEN, tile_size=64)
    with Simulator(config) as sim, tempfile.TemporaryDirectory() as data:
        env = {
            **os.environ,
            "IMAGINE_BASE_URL": sim.base_url,
            "IMAGINE_API_TOKEN": TOKEN,
            "IMAGINE_RATE_INTERVAL": str(interval),
            "IMAGINE_DATA_DIR": data,
        }
        t0 = time.monotonic()
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "app", "imagine", f"{PROMPT} #{i}", "--wait", "--json"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                env=env,
                cwd=ROOT,
                text=True,
            )
            for i in range(n)
        ]
        ended: dict[int, float] = {}
        deadline = t0 + 300 / k + 120
        while len(ended) < n and time.monotonic() < deadline:  # bounded
            for index, proc in enumerate(procs):
                if index not in ended and proc.poll() is not None:
                    ended[index] = time.monotonic() - t0
            time.sleep(0.02)
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        errors = sorted(
            {
                line
                for p in procs
                if p.returncode
                for line in (p.stderr.read() if p.stderr else "").splitlines()[-1:]
            }
        )
        for proc in procs:
            if proc.stderr:
                proc.stderr.close()
        reqs = [r for r in sim.requests if not r.path.startswith("/images/")]
        gen = GENERATION_SECONDS / k
        done = sum(p.returncode == 0 for p in procs)
        return {
            "n": n,
            "interval": interval,
            "gen": gen,
            "done": done,
            "exit_codes": sorted(p.returncode for p in procs),
            "requests": len(reqs),
            "429s": sum(r.status == 429 for r in reqs),
            "makespan": max(ended.values()) if done == n else None,
            "first_request": reqs[0].t - t0 if reqs else None,
            "last_request": reqs[-1].t - t0 if reqs else None,
            "first_exit": min(ended.values()) if ended else None,
            "limit": max(2 * n * interval, (n - 1) * interval + gen + interval),
            "errors": errors,
        }
