"""A long history in the TUI: memory, time to ready, idle CPU and j/k latency.

    python bench/history_scale.py [--jobs 100000] [--out result.json]

Issue 13's targets with 100,000 jobs: RSS <= 100 MB, ready <= 0.5 s, idle CPU <= 0.3 %
(list focused, nothing running), j/k p95 <= 50 ms; first paint within 1.2x of an empty
history's (the median of PAIRS runs of each, in turn). The history is written by one
process; each case runs the app headless (160x50) in a fresh process, so its RSS is the
app's own, not the seeding's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from ui_scale import SIZE, Frames, history  # noqa: E402

from app.jobs.store import JobStore  # noqa: E402
from app.settings import Settings  # noqa: E402

TARGETS = {  # figure: (target, "max" or "ratio")
    "rss_mb": 100.0,
    "ready_s": 0.5,
    "idle_cpu_pct": 0.3,
    "jk_p95_ms": 50.0,
    "first_paint_ratio": 1.2,
}
IDLE_SECONDS = 5.0
FILTERS = (  # history bar views, as F and a search make them
    {"state": "failed"},
    {"state": "favourites"},
    {"query": "misty"},
    {"state": "done", "query": "lake valley"},
)
PRESSES = 100
PAIRS = 9  # first-paint pairs (empty, full)


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident set of this process, from /proc."""
    now = peak = 0.0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            now = int(line.split()[1]) / 1024
        elif line.startswith("VmHWM:"):
            peak = int(line.split()[1]) / 1024
    return now, peak


def cpu_seconds() -> float:
    return time.process_time()  # ns resolution: os.times() counts 10 ms ticks (0.2 % of 5 s)


def seed(data_dir: Path, n: int) -> None:
    with JobStore(data_dir / "history.sqlite3") as store:
        store.save_many(history(n))


async def measure(data_dir: Path, n: int, paint_only: bool = False) -> dict[str, Any]:
    from textual import events

    from app.ui.app import ImagineApp

    settings = Settings(data_dir=data_dir, graphics="halfcell", sim_speed=10.0)
    result: dict[str, Any] = {"jobs": n, "rss_before_app_mb": rss_mb()[0]}
    t0 = time.perf_counter()
    app = ImagineApp(settings)
    frames = Frames(app)
    frames.watched["first_paint"] = lambda: (
        app.main.table.row_count == n and app.main.table.unloaded_on_screen() == 0
    )
    async with app.run_test(size=SIZE) as pilot:

        def ready() -> bool:
            table = app.main.table
            return app.backend is not None and table.complete and table.row_count == n

        hit = await frames.until(ready, 120.0)
        if hit is None:
            return {"error": f"not ready within 120 s ({app.main.table.row_count} rows)"}
        result["ready_s"] = hit - t0
        result["first_paint_s"] = frames.first.get("first_paint", hit) - t0
        if paint_only:
            return result
        app.main.table.focus()
        await pilot.pause(3.0)  # start-up work (pruning, resumed downloads) settles
        cpu0, wall0 = cpu_seconds(), time.perf_counter()
        await asyncio.sleep(IDLE_SECONDS)
        result["idle_cpu_pct"] = 100 * (cpu_seconds() - cpu0) / (time.perf_counter() - wall0)
        if n == 0:  # nothing to move between
            result["rss_mb"], result["peak_rss_mb"] = rss_mb()
            return result
        lat: list[float] = []
        app.main.table.move_cursor(max(0, n // 2))
        await pilot.pause()
        for i in range(PRESSES):
            key = "j" if (i // 20) % 2 == 0 else "k"
            want = app.main.table.cursor_row + (1 if key == "j" else -1)
            t1 = time.perf_counter()
            app._driver.send_message(events.Key(key, key))  # type: ignore[union-attr]
            drawn = await frames.until(lambda w=want: app.main.table.cursor_row == w, 2.0)
            lat.append(2.0 if drawn is None else drawn - t1)
            await asyncio.sleep(0.03)
        result["jk_p50_ms"] = 1000 * statistics.median(lat)
        result["jk_p95_ms"] = 1000 * statistics.quantiles(lat, n=20)[18]
        # A filter or search: how long the key's handler holds the UI, and until it is shown.
        from app.ui.widgets.history_bar import View

        blocked: list[float] = []
        shown: list[float] = []
        stalls = [0.0]  # the longest the event loop went without a turn

        async def watch() -> None:
            while True:
                t = time.perf_counter()
                await asyncio.sleep(0.002)
                stalls[0] = max(stalls[0], time.perf_counter() - t)

        watcher = asyncio.create_task(watch())
        for fields in FILTERS:
            view = View(**fields)
            t1 = time.perf_counter()
            app.main._apply_view(view)
            blocked.append(time.perf_counter() - t1)
            hit = await frames.until(lambda: app.main.table.settled, 10.0)
            shown.append((hit or time.perf_counter()) - t1)
        watcher.cancel()
        app.main._apply_view(View())
        result["filter_stall_max_ms"] = 1000 * stalls[0]
        result["filter_block_max_ms"] = 1000 * max(blocked)
        result["filter_shown_max_ms"] = 1000 * max(shown)
        result["rss_mb"], result["peak_rss_mb"] = rss_mb()
    return result


def run_case(data_dir: Path, n: int, *, paint_only: bool = False) -> dict[str, Any]:
    extra = ["--paint-only"] if paint_only else []
    out = subprocess.run(
        [sys.executable, __file__, "--case", str(data_dir), "--jobs", str(n), *extra],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "TEXTUAL_ANIMATIONS": "none"},
    )
    lines = [x for x in out.stdout.splitlines() if x.startswith("{")]
    if out.returncode != 0 or not lines:
        return {"error": out.stderr[-2000:]}
    return dict(json.loads(lines[-1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--pairs", type=int, default=PAIRS, help="first-paint runs, empty and full in turn"
    )
    parser.add_argument("--case", type=Path, help=argparse.SUPPRESS)  # one measuring child
    parser.add_argument("--paint-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case is not None:
        print(json.dumps(asyncio.run(measure(args.case, args.jobs, args.paint_only))))
        return
    with tempfile.TemporaryDirectory(prefix="bench-history-") as tmp:
        empty, full = Path(tmp) / "empty", Path(tmp) / "full"
        empty.mkdir()
        full.mkdir()
        JobStore(empty / "history.sqlite3").close()
        seed(full, args.jobs)
        base = run_case(empty, 0)
        scaled = run_case(full, args.jobs)
        # First paint is tens of milliseconds: one run of each swings with the machine.
        # Empty and full in turn, the ratio of each pair, the median of those.
        ratios: list[float] = []
        for _ in range(args.pairs):
            empty_paint = run_case(empty, 0, paint_only=True).get("first_paint_s")
            full_paint = run_case(full, args.jobs, paint_only=True).get("first_paint_s")
            if empty_paint and full_paint:
                ratios.append(full_paint / empty_paint)
    if ratios:
        scaled["first_paint_ratio"] = statistics.median(ratios)
        scaled["first_paint_ratios"] = sorted(ratios)
    elif "first_paint_s" in base and "first_paint_s" in scaled:
        scaled["first_paint_ratio"] = scaled["first_paint_s"] / base["first_paint_s"]
    report = {"empty": base, "history": scaled, "targets": TARGETS}
    for name, target in TARGETS.items():
        value = scaled.get(name)
        shown = "n/a" if value is None else f"{value:.3g}"
        verdict = "" if value is None else ("ok" if value <= target else "OVER")
        print(f"{name:>18}: {shown:>8}  (target <= {target:g}) {verdict}")
    if args.out is not None:
        args.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
