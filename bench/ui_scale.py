"""Scenario 4, one case per process (so ru_maxrss is this case's peak).

    python bench/ui_scale.py paint --jobs 10000 --out result.json
    python bench/ui_scale.py keys --jobs 50 --out result.json
    python bench/ui_scale.py enter --jobs 8 --out result.json

``paint``: a history of N finished jobs, the app headless at 160x50; time from creating
the app to the first frame that shows the history (all N rows listed, every row in view
drawn from its job), to the first frame with the backend open as well, and peak RSS.
``keys``: N jobs polling against an out-of-process simulator; time from a key event
(j/k) entering the app to the first frame drawn with the cursor moved.
``enter``: demo mode on a simulator served by another process (as another window would
serve it), with its rate limit; a prompt typed, Enter pressed, and the time to the first
frame with the new job's four tiles drawn, against the simulator's own time for the job.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from textual import events  # noqa: E402

from app.jobs.model import Job, JobState, new_job_id  # noqa: E402
from app.jobs.store import JobStore  # noqa: E402
from app.runtime import Backend  # noqa: E402
from app.settings import REAL_SERVICE_INTERVAL, Settings  # noqa: E402
from app.ui.app import ImagineApp  # noqa: E402

SIZE = (160, 50)
DEAD_HOST = "http://127.0.0.1:9"  # loopback discard port: refused at once, never off-box
WORDS = (
    "misty",
    "valley",
    "lake",
    "dawn",
    "alpine",
    "meadow",
    "storm",
    "river",
    "pine",
    "glacier",
)


def peak_rss_mb() -> float:
    """This process's peak RSS. VmHWM, not ru_maxrss: on Linux ru_maxrss survives
    fork+exec, so a child would report its parent's peak if that was higher."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def history(n: int, seed: int = 7) -> list[Job]:
    """N finished jobs: imagines with V/U/reroll children (and grandchildren), some failed."""
    rng = random.Random(seed)
    jobs: list[Job] = []
    # Steps average 302.5 s: start far enough back that the newest job is ~90 days old
    # (a long history must not run into the future, where it would count as recent).
    now = time.time() - 90 * 86400 - n * 302.5
    done_parents: list[Job] = []
    while len(jobs) < n:
        now += rng.uniform(5, 600)
        jid = new_job_id()
        prompt = " ".join(rng.choices(WORDS, k=rng.randint(3, 12))) + ", landscape painting"
        parent = rng.choice(done_parents[-50:]) if done_parents and rng.random() < 0.55 else None
        label = (
            rng.choice(("V1", "V2", "V3", "V4", "U1", "U2", "U3", "U4", "🔄")) if parent else None
        )
        failed = rng.random() < 0.04
        root = f"{DEAD_HOST}/images/{jid}"
        upscale = bool(label and label.startswith("U"))
        urls = () if failed or upscale else tuple(f"{root}/0_{i}.png" for i in range(4))
        job = Job(
            id=jid,
            kind="button" if parent else "imagine",
            prompt=parent.prompt if parent else prompt,
            label=label,
            parent_id=parent.id if parent else None,
            state=JobState.FAILED if failed else JobState.DONE,
            progress=0 if failed else 100,
            message_id=f"m{jid}",
            button_message_id=None if failed else f"b{jid}",
            buttons=()
            if failed
            else (
                ("Vary (Strong)", "Vary (Subtle)", "Zoom Out 2x")
                if upscale
                else ("U1", "U2", "U3", "U4", "🔄", "V1", "V2", "V3", "V4")
            ),
            image_url=None if failed else (f"{root}/image.png" if upscale else f"{root}/grid.png"),
            image_urls=urls,
            error="The job failed or expired before it finished." if failed else None,
            error_code="incomplete" if failed else None,
            created_at=now,
            updated_at=now + 40,
            finished_at=now + rng.uniform(30, 60),
        )
        jobs.append(job)
        if not failed and not upscale:
            done_parents.append(job)
    return jobs


async def opened_backend(app: ImagineApp) -> Backend:
    """The app's backend once it is open (waited for up to 20 s)."""
    for _ in range(400):  # bounded: 20 s
        if app.backend is not None:
            return app.backend
        await asyncio.sleep(0.05)
    raise AssertionError("backend never opened")


class Frames:
    """Wraps App._display: the time of every frame, and a predicate checked on each."""

    def __init__(self, app: ImagineApp) -> None:
        self.app = app
        self.count = 0
        self.watched: dict[str, Any] = {}  # name -> predicate, checked on every frame
        self.first: dict[str, float] = {}  # name -> time of the first frame it held
        self._want: Any = None
        self._hit: asyncio.Event = asyncio.Event()
        self.hit_at = 0.0
        original = app._display

        def display(screen: Any, renderable: Any) -> None:
            original(screen, renderable)
            if renderable is None:
                return
            self.count += 1
            now = time.perf_counter()
            for name, predicate in self.watched.items():
                if name not in self.first and predicate():
                    self.first[name] = now
            if self._want is not None and not self._hit.is_set():
                try:
                    ok = bool(self._want())
                except Exception:
                    ok = False
                if ok:
                    self.hit_at = time.perf_counter()
                    self._hit.set()

        app._display = display  # type: ignore[method-assign]

    async def until(self, predicate: Any, timeout: float) -> float | None:
        """perf_counter time of the first frame drawn while ``predicate()`` holds."""
        self._hit = asyncio.Event()
        self._want = predicate
        try:
            await asyncio.wait_for(self._hit.wait(), timeout)
        except TimeoutError:
            return None
        finally:
            self._want = None
        return self.hit_at


async def paint(n: int, settle: float, limit: float) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="bench-ui-"))
    settings = Settings(data_dir=data_dir, graphics="halfcell", sim_speed=10.0)
    jobs = history(n)
    with JobStore(settings.db_path) as store:
        store.save_many(jobs)
    rss_before = peak_rss_mb()
    t0 = time.perf_counter()
    app = ImagineApp(settings)
    frames = Frames(app)
    result: dict[str, Any] = {"jobs": n}
    # What a user sees first: the whole list, and every row in view drawn from its job.
    frames.watched["history"] = lambda: (
        app.main.table.row_count == n and app.main.table.unloaded_on_screen() == 0
    )
    async with app.run_test(size=SIZE) as pilot:

        def ready() -> bool:  # ... and the job manager running (submit, poll, buttons)
            return (
                app.backend is not None
                and app.main.table.complete
                and app.main.table.row_count == n
            )

        painted = await frames.until(ready, limit)
        if painted is None:
            return {
                "error": f"no frame with {n} rows within {limit:.0f}s "
                f"(row_count {app.main.table.row_count}, {len(asyncio.all_tasks())} tasks, "
                f"RSS {peak_rss_mb():.0f} MB)",
                "peak_rss_mb": peak_rss_mb(),
            }
        result["first_paint"] = frames.first["history"] - t0
        result["ready"] = painted - t0
        result["rss_at_paint_mb"] = peak_rss_mb()
        await pilot.pause(settle)  # let start-up work (resumed downloads...) run
        result["frames"] = frames.count
        result["tasks_after_settle"] = len(asyncio.all_tasks())
        result["peak_rss_mb"] = peak_rss_mb()
        result["rss_before_app_mb"] = rss_before
        t1 = time.perf_counter()
    result["shutdown_seconds"] = time.perf_counter() - t1
    return result


def start_external_sim(speed: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from app.simulator import SimulatorConfig, run_simulator; "
            "run_simulator(SimulatorConfig(speed=float(sys.argv[1])))",
            str(speed),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith("BASE_URL="):
            return proc, line.strip().split("=", 1)[1]
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError("the simulator did not start")


async def keys(n: int, presses: int, out: Path) -> dict[str, Any]:
    proc, base_url = start_external_sim(speed=1.0)  # jobs take 35 s: they keep polling
    try:
        settings = Settings(
            base_url=base_url,
            rate_interval=0.05,
            data_dir=Path(tempfile.mkdtemp(prefix="bench-keys-")),
            graphics="halfcell",
        )
        app = ImagineApp(settings)
        frames = Frames(app)
        result: dict[str, Any] = {"jobs": n}
        async with app.run_test(size=SIZE) as pilot:
            backend = await opened_backend(app)
            ids = [backend.manager.submit_imagine(f"bench polling job {i}").id for i in range(n)]
            for _ in range(400):  # bounded: 20 s; all submitted once each has a message id
                if all(backend.manager.get(i).message_id for i in ids):  # type: ignore[union-attr]
                    break
                await asyncio.sleep(0.05)
            app.main.table.focus()
            app.main.table.move_cursor(0)
            await pilot.pause()
            granted0, t_start = backend.budget.granted, time.perf_counter()
            lat: list[float] = []
            misses = 0
            for i in range(presses):
                key = "j" if (i // 40) % 2 == 0 else "k"
                want = app.main.table.cursor_row + (1 if key == "j" else -1)
                t0 = time.perf_counter()
                app._driver.send_message(events.Key(key, key))  # type: ignore[union-attr]
                hit = await frames.until(lambda w=want: app.main.table.cursor_row == w, 2.0)
                if hit is None:
                    misses += 1
                    lat.append(2.0)
                else:
                    lat.append(hit - t0)
                await asyncio.sleep(0.03)  # a fast typist's gap, not a burst
            span = time.perf_counter() - t_start
            running = sum(1 for j in backend.manager.jobs() if j.state.active)
            result.update(
                n=len(lat),
                missed=misses,
                p50=statistics.median(lat),
                p95=statistics.quantiles(lat, n=20)[18],
                max=max(lat),
                still_running=running,
                polls_per_s=(backend.budget.granted - granted0) / span,
            )
            # The same through Textual's test helper, for comparison (it sleeps for idle).
            pil: list[float] = []
            for i in range(20):
                t0 = time.perf_counter()
                await pilot.press("j" if i % 2 == 0 else "k")
                await pilot.pause()
                pil.append(time.perf_counter() - t0)
            result.update(
                pilot_p50=statistics.median(pil), pilot_p95=statistics.quantiles(pil, n=20)[18]
            )
            result["peak_rss_mb"] = peak_rss_mb()
            out.write_text(json.dumps(result))  # before shutdown, in case it hangs
            t1 = time.perf_counter()
        result["shutdown_seconds"] = time.perf_counter() - t1
        return result
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()


async def tiles(n: int, out: Path) -> dict[str, Any]:
    """j/k onto finished jobs whose images are cached: the time from the key to the first
    frame with all four of the new job's tiles drawn. First pass: a new process, the
    thumbnails on disk; second pass back over the same jobs: thumbnails in memory."""
    import httpx

    from app.images import ImagePipeline
    from app.ui.grid import thumb_size
    from bench.scale import _pictures, serving

    data_dir = Path(tempfile.mkdtemp(prefix="bench-tiles-"))
    settings = Settings(data_dir=data_dir, graphics="halfcell", sim_speed=10.0)
    pictures = await asyncio.to_thread(_pictures)
    result: dict[str, Any] = {"jobs": n}
    # a path /<n>/<anything> answers picture n % 4, as in bench/scale.py
    with serving(lambda path: pictures[int(path.split("/")[1]) % len(pictures)]) as server:
        now = time.time() - 3600
        jobs = [
            Job(
                id=new_job_id(),
                kind="imagine",
                prompt=f"cached job {i}",
                state=JobState.DONE,
                progress=100,
                message_id=f"m{i}",
                button_message_id=f"b{i}",
                buttons=("U1", "U2", "U3", "U4", "🔄", "V1", "V2", "V3", "V4"),
                image_url=server.url(f"/0/grid-{i}"),
                image_urls=tuple(server.url(f"/{t}/job-{i}-{t}") for t in range(4)),
                created_at=now + i,
                updated_at=now + i,
                finished_at=now + i,
            )
            for i in range(n)
        ]
        with JobStore(settings.db_path) as store:
            store.save_many(jobs)
        async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
            warm = ImagePipeline(http, settings.image_dir)  # the cache of an earlier run
            size = thumb_size(settings.graphics, SIZE, 2)  # as the app asks for a tile
            for job in jobs:
                await warm.thumbnails(list(job.image_urls), size)
            await warm.flush()
        app = ImagineApp(settings)
        frames = Frames(app)
        async with app.run_test(size=SIZE) as pilot:
            for _ in range(400):  # bounded: 20 s
                if app.backend is not None and app.main.table.row_count == n:
                    break
                await asyncio.sleep(0.05)
            app.main.table.focus()
            app.main.table.move_cursor(0)
            await pilot.pause(0.5)

            def drawn(urls: tuple[str, ...]) -> bool:
                grid = app.main.panel.grid
                return all(
                    grid.tile(t + 1).view.image is not None and grid.tile(t + 1).view.url == u
                    for t, u in enumerate(urls)
                )

            passes: dict[str, list[float]] = {"disk": [], "memory": []}
            for name, key in (("disk", "j"), ("memory", "k")):
                for _ in range(n - 1):
                    want = app.main.table.cursor_row + (1 if key == "j" else -1)
                    t0 = time.perf_counter()
                    app._driver.send_message(events.Key(key, key))  # type: ignore[union-attr]
                    moved = await frames.until(lambda w=want: app.main.table.cursor_row == w, 2)
                    job = app.main.selected_job
                    urls = job.display_urls if job is not None else ()
                    hit = await frames.until(lambda u=urls: drawn(u), 5.0) if moved else None
                    passes[name].append((hit - t0) if hit is not None else 5.0)
                    await asyncio.sleep(0.15)  # a reader's pause: look, then move on
            for name, lat in passes.items():
                result[name] = {
                    "p50": statistics.median(lat),
                    "p95": statistics.quantiles(lat, n=20)[18],
                    "max": max(lat),
                    "n": len(lat),
                }
            result["downloads_during_run"] = server.hits - n * 4
            out.write_text(json.dumps(result))
    return result


ENTER_HOST = """
import json, sys
from pathlib import Path
from app.simulator import SimulatorConfig
from app.simulator.demo import DemoSimulator
data_dir, speed, rate = Path(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
# as the app's own demo service (app/runtime.py) serves it, unless asked for the old way
config = SimulatorConfig(
    speed=speed,
    rate_limit=rate,
    state_path=data_dir / "simulator-state.json",
    ready_images=sys.argv[4] == "ready",
)
demo = DemoSimulator(config, data_dir)
print("BASE_URL=" + demo.start(), flush=True)
sys.stdin.read()  # serves until the bench closes our stdin
sim = demo.hosted
api = [r for r in sim.requests if not r.path.startswith("/images/")] if sim else []
print(json.dumps({"api_requests": len(api), "429s": sum(r.status == 429 for r in api)}))
demo.stop()
"""


def host_demo(data_dir: Path, speed: float, rate: float, lazy: bool) -> subprocess.Popen[str]:
    """The data dir's demo service, served by another process: the app attaches to it, as
    a second window does. Its rendering and encoding then cost the app's process nothing,
    as a real service's would not."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            ENTER_HOST,
            str(data_dir),
            str(speed),
            str(rate),
            ("ready", "lazy")[lazy],
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # blocks until served (or the process ended)
    if not line.startswith("BASE_URL="):
        proc.kill()
        raise RuntimeError("the demo simulator did not start")
    return proc


def sim_record(data_dir: Path, message_id: str) -> dict[str, Any] | None:
    """The simulator's own record of a job (its state file), once it has finished."""
    try:
        data = json.loads((data_dir / "simulator-state.json").read_bytes())
    except (OSError, ValueError):
        return None  # being replaced right now: read again
    for record in data.get("jobs", ()):
        if record.get("message_id") == message_id and record.get("finished_after") is not None:
            return dict(record)
    return None


async def enter(n: int, speed: float, rate: float, out: Path, lazy: bool) -> dict[str, Any]:
    """Enter -> the new job's four tiles drawn, for n jobs one after another; each against
    the simulator's generation time G (from accepting the imagine to the job being done)."""
    from app.jobs.manager import ImagesReady, JobChanged, JobEvent

    data_dir = Path(tempfile.mkdtemp(prefix="bench-enter-"))
    host = host_demo(data_dir, speed, rate, lazy)
    result: dict[str, Any] = {"jobs": n, "speed": speed, "rate_limit": rate, "lazy_images": lazy}
    try:
        settings = Settings(
            data_dir=data_dir, graphics="halfcell", sim_speed=speed, sim_rate_limit=rate
        )
        app = ImagineApp(settings)
        frames = Frames(app)
        seen: dict[str, dict[str, float]] = {}  # job id -> event -> wall time

        def listen(event: JobEvent) -> None:
            now = time.time()
            if isinstance(event, JobChanged) and event.job.state is JobState.DONE:
                seen.setdefault(event.job.id, {}).setdefault("done_seen", now)
            elif isinstance(event, ImagesReady):
                seen.setdefault(event.job_id, {}).setdefault("downloaded", now)

        runs: list[dict[str, float]] = []
        async with app.run_test(size=SIZE) as pilot:
            backend = await opened_backend(app)
            backend.manager.add_listener(listen)
            rng = random.Random(13)
            for i in range(n):
                # A new prompt each time: new scenes, so the service draws new pictures.
                prompt = f"{' '.join(rng.choices(WORDS, k=4))} {i}, landscape painting"
                app.main.prompt_input.focus()
                app.main.prompt_input.value = prompt
                await pilot.pause(0.3)

                def drawn(prompt: str = prompt) -> bool:
                    job = app.main.panel.job
                    if job is None or job.prompt != prompt or job.state is not JobState.DONE:
                        return False
                    grid = app.main.panel.grid
                    urls = job.display_urls
                    return len(urls) == 4 and all(
                        grid.tile(t + 1).view.image is not None and grid.tile(t + 1).view.url == u
                        for t, u in enumerate(urls)
                    )

                wall0, t0 = time.time(), time.perf_counter()
                app._driver.send_message(events.Key("enter", "\r"))  # type: ignore[union-attr]
                hit = await frames.until(drawn, 35.0 / speed + 30.0)
                job = app.main.panel.job
                if hit is None or job is None or job.message_id is None:
                    return {**result, "error": f"job {i}: its 4 tiles were not drawn in time"}
                record = None
                for _ in range(100):  # bounded: 5 s for the state file to be rewritten
                    record = sim_record(data_dir, job.message_id)
                    if record is not None:
                        break
                    await asyncio.sleep(0.05)
                if record is None:
                    return {**result, "error": f"job {i}: not in the simulator's state file"}
                drawn_wall = wall0 + (hit - t0)
                g = float(record["finished_after"])
                done_wall = float(record["created_at"]) + g
                times = seen.get(job.id, {})
                runs.append(
                    {
                        "enter_to_images_s": hit - t0,
                        "generation_s": g,
                        "overhead_s": hit - t0 - g,
                        # where the overhead goes (wall clock, shared by both processes)
                        "enter_to_accepted_s": float(record["created_at"]) - wall0,
                        "done_to_seen_s": times.get("done_seen", drawn_wall) - done_wall,
                        "seen_to_downloaded_s": times.get("downloaded", drawn_wall)
                        - times.get("done_seen", drawn_wall),
                        "seen_to_drawn_s": drawn_wall - times.get("done_seen", drawn_wall),
                    }
                )
                await pilot.pause(0.5)  # look at it, then type the next prompt
            over = [r["overhead_s"] for r in runs]
            result.update(
                runs=runs,
                overhead_median_s=statistics.median(over),
                overhead_max_s=max(over),
                enter_to_images_median_s=statistics.median(r["enter_to_images_s"] for r in runs),
                generation_median_s=statistics.median(r["generation_s"] for r in runs),
                parts_median_s={
                    k: statistics.median(r[k] for r in runs)
                    for k in (
                        "enter_to_accepted_s",
                        "done_to_seen_s",
                        "seen_to_downloaded_s",
                        "seen_to_drawn_s",
                    )
                },
                load_average=os.getloadavg()[0],
            )
            out.write_text(json.dumps(result))
    finally:
        assert host.stdin is not None and host.stdout is not None
        try:
            stats, _ = host.communicate("", timeout=15)
            result.update(json.loads(stats.strip().splitlines()[-1]))
        except (subprocess.TimeoutExpired, ValueError, IndexError):
            host.kill()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("case", choices=("paint", "keys", "tiles", "enter"))
    parser.add_argument("--jobs", type=int, default=0)
    parser.add_argument("--presses", type=int, default=100)
    parser.add_argument("--settle", type=float, default=3.0)
    parser.add_argument("--paint-timeout", type=float, default=60.0)
    parser.add_argument("--speed", type=float, default=10.0, help="enter: simulator speed")
    parser.add_argument(
        "--lazy-images",
        action="store_true",
        help="enter: the simulator draws each picture when first asked (before 2026-11-28)",
    )
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    try:
        if args.case == "paint":
            result = asyncio.run(paint(args.jobs, args.settle, args.paint_timeout))
        elif args.case == "enter":
            speed = args.speed
            rate = REAL_SERVICE_INTERVAL / speed  # the service's limit, on the same time scale
            result = asyncio.run(enter(args.jobs or 8, speed, rate, args.out, args.lazy_images))
        elif args.case == "tiles":
            result = asyncio.run(tiles(args.jobs or 12, args.out))
        else:
            result = asyncio.run(keys(args.jobs, args.presses, args.out))
    except Exception as exc:  # reported, not raised: the parent prints it in the table
        result = {"error": f"{type(exc).__name__}: {exc}"}
    args.out.write_text(json.dumps(result))
    if args.case == "enter" and "error" not in result:
        parts = ", ".join(
            f"{k[:-2]} {v * 1000:.0f} ms" for k, v in result["parts_median_s"].items()
        )
        median, worst = result["overhead_median_s"] * 1000, result["overhead_max_s"] * 1000
        print(
            f"Enter -> 4 images: overhead over generation median {median:.0f} ms, "
            f"max {worst:.0f} ms over {result['jobs']} jobs "
            f"(G {result['generation_median_s']:.2f} s; {parts}; "
            f"{result['429s']} x 429, load {result['load_average']:.1f})"
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
