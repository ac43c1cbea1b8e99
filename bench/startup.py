"""Start-up as a user meets it: whole processes, launch to done, medians of alternating runs.

    python bench/startup.py [--runs 7] [--out result.json]

- ``imagine-tui --help`` and ``imagine-tui config`` against ``python -c pass``: CPU time
  of the whole process (``config`` with a config file naming a service, as a user has);
- the TUI's first screen (an empty history, demo mode, headless 120x40) against a minimal
  Textual app (one Static) in the same harness: launch to the first frame drawn (the
  verdict), and the CPU time the process used until then (one thread: the same figure
  without the waits for a core that other work on the machine causes).

Each pair runs in turn (A B A B ...) so a drift in the machine's speed hits both; the
ratios are of the medians. Bytecode is compiled once into a private cache (as an installed
package has it), even where PYTHONDONTWRITEBYTECODE is set for development.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SIZE = (120, 40)

# The child for the TUI cases: import as `imagine-tui` would, run headless, and leave at
# the first frame drawn; print the wall time of that frame.
_FIRST_FRAME = """
import sys, time
which, data_dir = sys.argv[1], sys.argv[2]
if which == "minimal":
    from textual.app import App
    from textual.widgets import Static

    class Minimal(App[None]):
        def compose(self):
            yield Static("Hello")

    app = Minimal()
else:
    from app.cli import resolve  # the command line's path into the TUI
    from app.ui.app import ImagineApp

    app = ImagineApp(resolve({"data_dir": data_dir, "graphics": "halfcell"}))
shown = []
original = app._display

def display(screen, renderable):
    original(screen, renderable)
    if renderable is not None and not shown:
        shown.extend((time.time(), time.process_time()))
        app.exit()

app._display = display
app.run(headless=True, size=(int(sys.argv[3]), int(sys.argv[4])))
print(*shown if shown else ["none"])
"""


def _env(pycache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMAGINE_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    env["TEXTUAL_ANIMATIONS"] = "none"
    return env


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("imagine-tui")  # the installed entry point
    return [str(script)] if script.exists() else [sys.executable, "-m", "app"]


def _cpu(cmd: list[str], env: dict[str, str]) -> float:
    """The command's CPU time (user + system) as the OS accounts it: a start-up is one
    thread, so this is its wall time without the noise of spawning it from here."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _first_frame(which: str, env: dict[str, str], data_dir: Path) -> tuple[float, float]:
    """Wall time from launch to the first frame, and the process's CPU time until then."""
    t0 = time.time()
    out = subprocess.run(
        [sys.executable, "-c", _FIRST_FRAME, which, str(data_dir), *map(str, SIZE)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    line = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else "none"
    if line == "none":
        raise RuntimeError(f"{which}: no frame drawn ({out.stderr.strip()[-300:]})")
    shown, cpu = map(float, line.split())
    return shown - t0, cpu


def _pair(a: Any, b: Any, runs: int) -> dict[str, Any]:
    a(), b()  # warm-up: bytecode written, files in the page cache
    ta: list[float] = []
    tb: list[float] = []
    for _ in range(runs):
        ta.append(a())
        tb.append(b())
    return _medians(ta, tb)


def _medians(ta: list[float], tb: list[float]) -> dict[str, Any]:
    ma, mb = statistics.median(ta), statistics.median(tb)
    return {"a": ma, "b": mb, "ratio": ma / mb, "a_runs": ta, "b_runs": tb}


def _frames(env: dict[str, str], data_dir: Path, runs: int) -> dict[str, Any]:
    """The TUI against the minimal app; the CPU times of the same runs under "cpu"."""
    cpu: dict[str, list[float]] = {"tui": [], "minimal": []}

    def frame(which: str) -> float:
        wall, used = _first_frame(which, env, data_dir)
        cpu[which].append(used)
        return wall

    result = _pair(lambda: frame("tui"), lambda: frame("minimal"), runs)
    result["cpu"] = _medians(cpu["tui"][1:], cpu["minimal"][1:])  # not the warm-up
    return result


def measure(runs: int = 7) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        base = Path(tmp)
        env = _env(base / "pyc")
        env |= {"XDG_CONFIG_HOME": str(base / "config"), "XDG_DATA_HOME": str(base / "data")}
        config = base / "config" / "imagine-tui" / "config.toml"
        config.parent.mkdir(parents=True)
        config.write_text('base_url = "https://api.example.com/v2"\ntoken = "bench"\n')
        demo = env | {"XDG_CONFIG_HOME": str(base / "no-config")}  # the TUI on the simulator
        py = [sys.executable, "-c", "pass"]
        cli = _cli()
        data_dir = base / "tui-data"
        return {
            "help": _pair(lambda: _cpu([*cli, "--help"], env), lambda: _cpu(py, env), runs),
            "config": _pair(lambda: _cpu([*cli, "config"], env), lambda: _cpu(py, env), runs),
            "tui": _frames(demo, data_dir, runs),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    result = measure(max(1, args.runs))
    for name, r in result.items():
        print(f"{name:7} {r['a'] * 1000:7.1f} ms vs {r['b'] * 1000:6.1f} ms  ×{r['ratio']:.2f}")
        if "cpu" in r:
            c = r["cpu"]
            print(f"  (CPU) {c['a'] * 1000:7.1f} ms vs {c['b'] * 1000:6.1f} ms  ×{c['ratio']:.2f}")
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
