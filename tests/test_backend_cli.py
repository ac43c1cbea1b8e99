"""The scripting CLI is the same on every backend (``--api``): imagine → V2 → U1 → a
post-upscale button, describe, blend, remix, and each refusal (wrong secret, banned prompt,
full queue, unknown task, unfinished job) with one exit code and one sentence, each as a
real subprocess against the matching dialect of the simulator."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_process import cli
from dialects import DIALECTS, TOKEN
from PIL import Image

from app.api.errors import FAILURE_CODES, AuthError
from app.backends import API_NAMES
from app.simulator import Simulator, SimulatorConfig

FAST = ("--speed", "150")


@pytest.fixture(params=API_NAMES)
def service(request: pytest.FixtureRequest) -> Iterator[Simulator]:
    """One simulator of the backend's dialect for the whole test: the URLs a job printed
    still work for the next command (a demo run's simulator ends with its process)."""
    with Simulator(SimulatorConfig(api=request.param, speed=150.0, tile_size=64)) as sim:
        yield sim


def job(data: Path, sim: Simulator, *args: str) -> dict[str, Any]:
    run = cli(
        *args,
        *("--api", sim.config.api, "--base-url", sim.api_url, "--rate-interval", "0"),
        *("--wait", "--json", "--data-dir", str(data)),
    )
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    result: dict[str, Any] = json.loads(run.stdout)
    return result


def test_imagine_variation_upscale_and_a_post_upscale_button(
    service: Simulator, tmp_path: Path
) -> None:
    data, out, api = tmp_path / "d", tmp_path / "out", service
    grid = job(data, api, "imagine", "a lighthouse at dusk", "--out", str(out))
    files = sorted(out.glob("*.png"))
    assert len(files) == 4  # split from the grid where the service sent only that
    sizes = {Image.open(f).size for f in files}
    assert len(sizes) == 1
    v2 = job(data, api, "button", "V2", "--message", grid["messageId"])
    assert len(v2["response"]["imageUrls"]) == 4
    u1 = job(data, api, "button", "u1", "--message", v2["messageId"])
    assert "⬅️" in u1["response"]["buttons"]
    pan = job(data, api, "button", "⬅️", "--message", u1["messageId"])
    assert pan["state"] == "done" and len(pan["response"]["imageUrls"]) == 4


def test_remix_a_variation_with_a_new_prompt(service: Simulator, tmp_path: Path) -> None:
    data, api = tmp_path / "d", service
    grid = job(data, api, "imagine", "a red fox")
    remix = job(data, api, "button", "V1", "--message", grid["messageId"], "--prompt", "a blue fox")
    assert remix["state"] == "done" and remix["response"]["content"] == "a blue fox"


@pytest.mark.parametrize("api", API_NAMES)
def test_describe_a_local_file(api: str, tmp_path: Path) -> None:  # the demo simulator
    picture = tmp_path / "cat.png"
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 200)).save(out, format="PNG")
    picture.write_bytes(out.getvalue())
    args = ("describe", str(picture), "--api", api, "--wait", "--data-dir", str(tmp_path / "d"))
    run = cli(*args, *FAST)
    if api == "imaginepro":
        assert run.returncode == 2 and "not supported by the imaginepro backend" in run.stderr
        return
    if api == "thenextleg":  # it takes URLs only: said before anything is paid for
        assert run.returncode == 2 and "give an image URL" in run.stderr
        return
    assert run.returncode == 0, run.stderr
    prompts = [line for line in run.stdout.splitlines() if line.startswith("prompt ")]
    assert len(prompts) == 4


def test_describe_a_tile(service: Simulator, tmp_path: Path) -> None:
    data = tmp_path / "d"
    grid = job(data, service, "imagine", "a pier")
    tile = grid["response"]["imageUrls"][0]
    if service.config.api == "imaginepro":  # its docs leave out where the prompts come back
        common = ("--api", "imaginepro", "--base-url", service.api_url, "--data-dir", str(data))
        run = cli("describe", tile, *common, "--rate-interval", "0", "--wait")
        assert run.returncode == 2
        assert "Describe is not supported by the imaginepro backend" in run.stderr
        assert not any("describe" in r.path for r in service.requests)  # nothing sent
        return
    described = job(data, service, "describe", tile)
    assert len(described["prompts"]) == 4


def test_blend_tiles_from_two_jobs(service: Simulator, tmp_path: Path) -> None:
    data = tmp_path / "d"
    a = job(data, service, "imagine", "a desert", "--out", str(tmp_path / "a"))
    b = job(data, service, "imagine", "a forest", "--out", str(tmp_path / "b"))
    if service.config.api == "imaginepro":  # it fetches URLs itself: whole images only
        urls = [a["response"]["imageUrl"], b["response"]["imageUrl"]]
    else:
        urls = [a["response"]["imageUrls"][0], b["response"]["imageUrls"][1]]
    blended = job(data, service, "blend", *urls)
    assert blended["state"] == "done" and len(blended["response"]["imageUrls"]) == 4


def test_the_envelope_prints_the_seed(tmp_path: Path) -> None:
    with Simulator(SimulatorConfig(speed=150.0, tile_size=64)) as sim:
        data = tmp_path / "d"
        up = job(
            data, sim, "button", "U1", "--message", job(data, sim, "imagine", "a bay")["messageId"]
        )
        common = ("--base-url", sim.api_url, "--rate-interval", "0", "--data-dir", str(data))
        run = cli("button", "✉️", "--message", up["messageId"], "--wait", *common)
        assert run.returncode == 0, run.stderr
        assert any(line.removeprefix("seed: ").isdigit() for line in run.stdout.splitlines())


def test_a_reader_that_leaves_early_gets_no_traceback(tmp_path: Path) -> None:
    """`imagine ... | head -1`: the pipe closes before the result is printed."""
    args = ("imagine", "a cove", "--wait", "--data-dir", str(tmp_path), *FAST)
    with subprocess.Popen(
        [sys.executable, "-m", "app", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        errors = proc.stderr.read().decode()
        assert proc.wait(timeout=90) == 141
    assert "Traceback" not in errors and "BrokenPipe" not in errors


def test_blend_needs_two_images(tmp_path: Path) -> None:
    run = cli("blend", "https://example.org/a.png", "--data-dir", str(tmp_path), *FAST)
    assert run.returncode == 2 and "2 to 5 images" in run.stderr


def test_a_missing_file_is_bad_input(tmp_path: Path) -> None:
    run = cli("describe", str(tmp_path / "nope.png"), "--api", "midjourney-proxy", *FAST)
    assert run.returncode == 2 and "neither an http(s) URL nor a readable file" in run.stderr


WRONG = "tok-WRONG-77"
# (exit code, sentence) for each refusal: one of each, whatever the backend.
WRONG_SECRET = (3, AuthError(401).human.split(" (HTTP")[0])
BANNED = (2, FAILURE_CODES["BANNED_PROMPT"])
QUEUE_FULL = (3, FAILURE_CODES["QUEUE_FULL"])
UNKNOWN_TASK = (2, FAILURE_CODES["NOT_FOUND"])
NOT_FINISHED = (2, FAILURE_CODES["NOT_FINISHED"])


@pytest.mark.parametrize(("api", "shape"), DIALECTS)
def test_each_refusal_has_one_exit_code_and_one_sentence_on_every_backend(
    api: str, shape: dict[str, Any], tmp_path: Path
) -> None:
    """Wrong secret 3; a banned prompt 2 whether refused at submit (TheNextLeg's 400, the
    proxy's code 24) or failed later (the proxy's FAILURE); a full queue 3; an unknown
    task 2; a button on an unfinished job 2. The same sentence for each on every API."""
    runs = iter(range(100))

    def run(sim: Simulator, *args: str, token: str = TOKEN) -> subprocess.CompletedProcess[str]:
        common = ("--api", api, "--base-url", sim.api_url, "--rate-interval", "0")
        data = ("--data-dir", str(tmp_path / f"d{next(runs)}"))  # nothing known beforehand
        done = cli(*args, *common, *data, env={"IMAGINE_API_TOKEN": token})
        assert "Traceback" not in done.stderr and token not in done.stdout + done.stderr
        return done

    def says(done: subprocess.CompletedProcess[str], expected: tuple[int, str]) -> None:
        assert (done.returncode, expected[1] in done.stderr) == (expected[0], True), done.stderr

    def service(**config: Any) -> Simulator:
        return Simulator(
            SimulatorConfig(
                api=api, token=TOKEN, banned=("gore",), tile_size=64, **{**shape, **config}
            )
        )

    with service(speed=150.0, ban_on_submit=True) as sim:
        says(run(sim, "imagine", "a hill", "--wait", token=WRONG), WRONG_SECRET)
        says(run(sim, "imagine", "much gore", "--wait"), BANNED)
        says(run(sim, "button", "U1", "--message", "no-such-job", "--wait"), UNKNOWN_TASK)
    with service(speed=150.0, ban_on_submit=False) as sim:
        says(run(sim, "imagine", "much gore", "--wait"), BANNED)
        assert any(j.failure_code == "BANNED_PROMPT" for j in sim.jobs.values())  # later
    with service(speed=0.5, max_queue=1) as sim:  # a job of 70 s holds the queue
        history = ("--api", api, "--base-url", sim.api_url, "--data-dir", str(tmp_path / "h"))
        running = cli(
            "imagine", "a slow valley", "--json", *history, env={"IMAGINE_API_TOKEN": TOKEN}
        )
        assert running.returncode == 0, running.stderr
        says(run(sim, "imagine", "a dale", "--wait"), QUEUE_FULL)
        # TheNextLeg names a job's buttons by an id it gives once the job is done: read
        # it from the service, as a client that saw the job elsewhere would have it.
        job = sim.jobs[json.loads(running.stdout)["messageId"]]
        target = job.button_message_id if api == "thenextleg" else job.message_id
        says(run(sim, "button", "U1", "--message", target, "--wait"), NOT_FINISHED)
        # The job in this history: the same sentence, said before anything is sent.
        here = cli("button", "U1", "--message", job.message_id, *history)
        says(here, NOT_FINISHED)


def test_config_shows_the_api_and_its_source(tmp_path: Path) -> None:
    run = cli("config", env={"IMAGINE_API": "imaginepro"})
    assert run.returncode == 0
    assert any(
        line.startswith('api = "imaginepro"') and line.endswith("# env IMAGINE_API")
        for line in run.stdout.splitlines()
    )
    bad = cli("config", env={"IMAGINE_API": "discord"})
    assert bad.returncode == 2 and "must be one of thenextleg" in bad.stderr
