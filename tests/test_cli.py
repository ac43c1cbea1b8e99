"""The scripting CLI: output, saved files, exit codes, no tracebacks, no token."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

from cli_process import cli, interrupt_imagine_wait, service_env, start
from demo_settings import demo_settings, opened
from PIL import Image

from app.jobs.model import Job, JobState
from app.jobs.store import JobStore
from app.settings import Settings
from app.simulator import Simulator, SimulatorConfig

TOKEN = "tok-SECRET-99"


def _store_jobs(data_dir: Path) -> list[Job]:
    with JobStore(Settings(data_dir=data_dir).db_path) as store:
        return store.all()


def test_imagine_wait_out_json_on_the_builtin_simulator(tmp_path: Path) -> None:
    out, data = tmp_path / "out", tmp_path / "d"
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
        str(data),
    )
    assert run.returncode == 0, run.stderr
    assert "built-in simulator" in run.stderr and "Traceback" not in run.stderr
    result = json.loads(run.stdout)
    assert result["progress"] == 100 and len(result["response"]["imageUrls"]) == 4
    # the app's saving rule: files named from the job id, the app's sidecar
    sidecar = json.loads((out / f"{result['jobId']}.json").read_text())
    assert sidecar["prompt"] == "a lighthouse at dusk" and "V1" in sidecar["buttons"]
    assert sidecar["messageId"] == result["messageId"] and sidecar["lineage"] == []
    assert sidecar["files"] == [f"{result['jobId']}_{n}.png" for n in range(1, 5)]
    for name in sidecar["files"]:
        with Image.open(out / name) as img:
            assert img.size[0] >= 64
    # the job is in the history the app shows, done, with its images in the app's cache
    [job] = _store_jobs(data)
    assert (job.id, job.state, job.message_id) == (
        result["jobId"],
        JobState.DONE,
        result["messageId"],
    )
    cached = {p.name for p in (data / "images").iterdir()}
    assert len([n for n in cached if n.endswith(".png") and ".t" not in n]) >= 4


def test_settings_before_the_command_are_the_commands_own(tmp_path: Path) -> None:
    """`imagine-tui --data-dir D imagine ...` ran on the default data dir: the command's
    own (absent) flags overwrote what the top level had parsed."""
    data, home = tmp_path / "d", tmp_path / "home"
    env = {"HOME": str(home), "XDG_DATA_HOME": str(home / "data")}
    made = cli("--data-dir", str(data), "--speed", "100", "imagine", "a fox", "--wait", env=env)
    assert made.returncode == 0, made.stderr
    [job] = _store_jobs(data)
    assert job.prompt == "a fox" and job.state is JobState.DONE
    assert not (home / "data").exists()  # nothing went to the default data dir
    listed = cli("--data-dir", str(data), "jobs", env=env)
    assert listed.returncode == 0 and "a fox" in listed.stdout, listed.stderr
    shown = cli("--data-dir", str(data), "config", env=env)
    assert f'data_dir = "{data}"' in shown.stdout
    # the command's own flag still wins
    other = tmp_path / "other"
    shown = cli("--data-dir", str(data), "config", "--data-dir", str(other), env=env)
    assert f'data_dir = "{other}"' in shown.stdout


def test_button_on_a_real_job_and_exit_codes(tmp_path: Path) -> None:
    data = tmp_path / "d"
    with Simulator(SimulatorConfig(speed=100, token=TOKEN, stall_words=("frozen",))) as sim:
        env = {
            "IMAGINE_BASE_URL": sim.base_url,
            "IMAGINE_API_TOKEN": TOKEN,
            "IMAGINE_RATE_INTERVAL": "0",
            "IMAGINE_DATA_DIR": str(data),
        }
        first = cli("imagine", "boats", "--wait", "--json", env=env)
        assert first.returncode == 0, first.stderr
        made = json.loads(first.stdout)
        bmid = made["response"]["buttonMessageId"]
        out = tmp_path / "out"
        child = cli("button", "V2", "--message", bmid, "--wait", "--out", str(out), env=env)
        assert child.returncode == 0, child.stderr
        assert "buttons: U1 U2 U3 U4" in child.stdout
        # the saved sidecar names the job it came from
        [sidecar] = [json.loads(p.read_text()) for p in out.glob("*.json")]
        assert [a["jobId"] for a in sidecar["lineage"]] == [made["jobId"]]
        # the message id `imagine` printed works too (the job is looked up), and so does
        # the label in lower case
        upscale = cli("button", "u1", "--message", made["messageId"], "--wait", env=env)
        assert upscale.returncode == 0, upscale.stderr
        assert "buttonMessageId: " in upscale.stdout
        # both children are in the history, under their parent
        jobs = {j.label: j for j in _store_jobs(data)}
        assert jobs["V2"].parent_id == jobs["U1"].parent_id == made["jobId"]
        assert jobs["V2"].state is jobs["U1"].state is JobState.DONE
        # 2: a button the job does not have is refused before anything is sent
        sent = len(sim.jobs)
        bad = cli("button", "V9", "--message", bmid, env=env)
        assert bad.returncode == 2 and "no 'V9' button" in bad.stderr
        assert "U1 U2 U3 U4 🔄 V1 V2 V3 V4" in bad.stderr
        assert cli("button", "V1", "--message", " ", env=env).returncode == 2
        assert len(sim.jobs) == sent and len(_store_jobs(data)) == 3
        # 1: the job failed; a job not in the history is sent as given, and the service
        # says what is wrong with it
        stalled = cli("imagine", "frozen lake", "--wait", "--expire-mins", "1", env=env)
        assert stalled.returncode == 1 and "failed" in stalled.stderr
        elsewhere = {**env, "IMAGINE_DATA_DIR": str(tmp_path / "other")}
        unknown = cli("button", "V9", "--message", bmid, "--wait", env=elsewhere)
        assert unknown.returncode == 1 and "does not offer that button" in unknown.stderr
        # 3: wrong token; the token itself is never printed
        wrong = cli("imagine", "x", env={**env, "IMAGINE_API_TOKEN": "nope"})
        assert wrong.returncode == 3 and "rejected the API token" in wrong.stderr
        for run in (first, child, upscale, bad, stalled, unknown, wrong):
            assert TOKEN not in run.stdout + run.stderr and "Traceback" not in run.stderr


def test_button_takes_the_job_id_jobs_lists(tmp_path: Path) -> None:
    data = tmp_path / "d"
    with Simulator(SimulatorConfig(speed=100, stall_words=("frozen",))) as sim:
        env = service_env(sim, data)
        made = json.loads(cli("imagine", "boats at dawn", "--wait", "--json", env=env).stdout)
        failed = cli("imagine", "frozen lake", "--wait", "--expire-mins", "1", env=env)
        assert failed.returncode == 1
        rows = json.loads(cli("jobs", "--json", env=env).stdout)
        [frozen] = [r["jobId"] for r in rows if r["prompt"] == "frozen lake"]

        # the id `jobs` lists presses the job's button as its messageId would
        child = cli("button", "v1", "--message", made["jobId"], "--wait", "--json", env=env)
        assert child.returncode == 0, child.stderr
        jobs = {j.id: j for j in _store_jobs(data)}
        pressed = jobs[json.loads(child.stdout)["jobId"]]
        assert (pressed.parent_id, pressed.label) == (made["jobId"], "V1")
        assert pressed.prompt == "boats at dawn" and pressed.state is JobState.DONE

        # an id naming no job here, or a job without buttons: said so, nothing sent or kept
        sent = len(sim.jobs)
        nothing = cli("button", "V1", "--message", "0123456789ab", env=env)
        assert nothing.returncode == 2 and "no job '0123456789ab' in the history" in nothing.stderr
        no_buttons = cli("button", "V1", "--message", frozen, env=env)
        assert no_buttons.returncode == 2 and "it has no buttons" in no_buttons.stderr
        assert "Traceback" not in nothing.stderr + no_buttons.stderr
        assert len(sim.jobs) == sent and {j.id for j in _store_jobs(data)} == set(jobs)


def test_bad_input_and_unreachable_service() -> None:
    # Unreachable: resent on the app's schedule (nothing can have arrived), then given up.
    gone = start(
        "imagine", "x", "--base-url", "http://127.0.0.1:9", env={"IMAGINE_RATE_INTERVAL": "0"}
    )
    try:
        assert cli("imagine", "   ").returncode == 2
        assert cli("imagine", "x", "--base-url", "not a url").returncode == 2
        assert cli("imagine", "x", "--token", "t").returncode == 2  # a token but no base URL
        _, stderr = gone.communicate(timeout=90)
    finally:
        gone.kill()
    assert gone.returncode == 3 and "Cannot reach" in stderr and "Gave up" in stderr
    assert "Traceback" not in stderr


def test_ctrl_c_while_waiting_says_where_the_job_is_and_the_app_finishes_it(
    tmp_path: Path,
) -> None:
    data = tmp_path / "d"
    with Simulator(SimulatorConfig(speed=5)) as sim:  # a 7 s job: time to interrupt it
        stopped = interrupt_imagine_wait(sim, data)
        assert stopped.returncode == 130 and "Traceback" not in stopped.stderr
        assert f"(messageId {stopped.message_id}) was sent and keeps running" in stopped.stderr
        [job] = _store_jobs(data)
        assert job.message_id == stopped.message_id and job.state.active
        assert len(sim.jobs) == 1

        # The app resumes it like any of its own jobs: polled to done, never sent again.
        async def finish() -> JobState:
            settings = demo_settings(data, base_url=sim.base_url, rate_interval=0.0)
            async with opened(settings) as backend:
                done = await asyncio.wait_for(backend.manager.until_settled(job.id), 30)
                return done.state

        assert asyncio.run(finish()) is JobState.DONE
        assert len(sim.jobs) == 1


def test_simulate_prints_base_url_and_serves() -> None:
    proc = start("simulate", "--port", "0", "--speed", "50")
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
