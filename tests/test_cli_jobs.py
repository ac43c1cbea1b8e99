"""`imagine-tui jobs` and `imagine-tui wait JOB`: the history from a script, real processes."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import time
from pathlib import Path

from cli_process import cli, interrupt_imagine_wait, service_env, start
from demo_settings import demo_settings

from app.jobs.model import Job, JobState
from app.jobs.store import JobStore
from app.simulator import Simulator, SimulatorConfig


def test_jobs_lists_the_history_and_wait_finishes_a_job_left_running(tmp_path: Path) -> None:
    data, out = tmp_path / "d", tmp_path / "out"
    demo = ("--speed", "100", "--data-dir", str(data))
    assert cli("jobs", "--data-dir", str(data)).stdout == ""  # no history yet: nothing listed
    for prompt in ("a red fox", "a blue \x1b[31mheron"):
        assert cli("imagine", prompt, *demo).returncode == 0  # no --wait: left running

    listed = cli("jobs", "--json", "--data-dir", str(data))
    rows = json.loads(listed.stdout)
    assert [r["prompt"] for r in rows] == ["a blue heron", "a red fox"]  # newest first
    assert {r["state"] for r in rows} <= {"queued", "submitted", "running"}
    assert (
        len(json.loads(cli("jobs", "--json", "--limit", "1", "--data-dir", str(data)).stdout)) == 1
    )
    text = cli("jobs", "--data-dir", str(data)).stdout
    assert rows[1]["jobId"] in text and "imagine: a red fox" in text and "\x1b" not in text

    fox = rows[1]
    waited = cli("wait", fox["jobId"], "--json", "--out", str(out), *demo)
    assert waited.returncode == 0, waited.stderr
    result = json.loads(waited.stdout)
    assert result["jobId"] == fox["jobId"] and result["progress"] == 100
    assert sorted(p.name for p in out.iterdir() if p.suffix == ".png") == [
        f"{fox['jobId']}_{n}.png" for n in range(1, 5)
    ]
    # by the messageId imagine printed, once done: at once, same report
    again = cli("wait", fox["messageId"], *demo)
    assert again.returncode == 0 and f"buttonMessageId: {result['buttonMessageId']}" in again.stdout
    done = json.loads(cli("jobs", "--json", "--data-dir", str(data)).stdout)
    assert [r["state"] for r in done if r["jobId"] == fox["jobId"]] == ["done"]

    unknown = cli("wait", "no-such-job", *demo)
    assert unknown.returncode == 2 and "no job 'no-such-job'" in unknown.stderr
    assert "Traceback" not in unknown.stderr + waited.stderr
    assert cli("jobs", "--limit", "0", "--data-dir", str(data)).returncode == 2


def test_wait_after_ctrl_c_finishes_the_job_without_sending_it_again(tmp_path: Path) -> None:
    data = tmp_path / "d"
    with Simulator(SimulatorConfig(speed=5)) as sim:  # a 7 s job: time to interrupt it
        stopped = interrupt_imagine_wait(sim, data)
        assert stopped.returncode == 130, stopped.stderr
        job_id = stopped.stderr.split("job ", 1)[1].split()[0]  # the id the interruption printed

        waited = cli("wait", job_id, "--json", env=service_env(sim, data))
        assert waited.returncode == 0, waited.stderr
        result = json.loads(waited.stdout)
        assert result["messageId"] == stopped.message_id and result["progress"] == 100
        assert "progress: 100%" in waited.stderr
        assert len(sim.jobs) == 1  # never sent twice


def test_wait_follows_a_job_another_live_process_holds_instead_of_polling(
    tmp_path: Path,
) -> None:
    data = tmp_path / "d"
    settings = demo_settings(data)
    owner = f"{socket.gethostname()}/{os.getpid()}/test"  # this process: alive
    job = dataclasses.replace(
        Job(id="held1", kind="imagine", prompt="a held job"),
        state=JobState.SUBMITTED,
        message_id="m-held",
    )
    with Simulator(SimulatorConfig()) as sim, JobStore(settings.db_path) as store:
        store.insert(job, owner=owner, lease_until=time.time() + 300)
        proc = start("wait", "held1", "--json", env=service_env(sim, data))
        try:
            time.sleep(1.5)  # the waiter is up and following (a poll would 404 this job)
            store.update("held1", {"state": JobState.RUNNING, "progress": 40}, owner=owner)
            time.sleep(1.0)
            store.update(
                "held1",
                {
                    "state": JobState.DONE,
                    "progress": 100,
                    "button_message_id": "b-held",
                    "buttons": ("U1", "V1"),
                    "image_urls": tuple(f"{sim.base_url}/images/x/{n}.png" for n in range(4)),
                    "finished_at": time.time(),
                },
                owner=owner,
            )
            stdout, stderr = proc.communicate(timeout=30)
        finally:
            proc.kill()
        assert proc.returncode == 0, stderr
        result = json.loads(stdout)
        assert result["buttonMessageId"] == "b-held" and result["progress"] == 100
        assert "progress: 40%" in stderr
        assert not [r for r in sim.requests if "/message" in r.path]
        assert store.owner_of("held1") == owner  # never taken over from a live owner
