"""The simulator's state file: a restarted simulator (a restarted demo app) knows its old jobs."""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from demo_settings import opened
from sim_http import TILE, diff, finish, image, imagine, press, running
from waiting import until

from app.jobs import JobState
from app.settings import Settings
from app.simulator.thenextleg import FORGETS, NOT_SAVED

SLOW = 20.0  # 1.75 s: long enough to stop the simulator while a job runs
PROMPT = "a mountain lake at dawn"


def path_of(url: str) -> str:
    return urlsplit(url).path


def test_a_finished_job_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "sim" / "state.json"  # the folder is made on the first save
    with running(state_path=state) as (sim, client):
        message_id = imagine(client, PROMPT)
        before = finish(client, message_id)["response"]
        tiles = [client.get(u).content for u in before["imageUrls"]]
        grid = client.get(before["imageUrl"]).content
        up = finish(client, press(client, "U1", before["buttonMessageId"]))
        assert up["progress"] == 100
        old_base, old_port = sim.base_url, sim.port
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    assert [p.name for p in state.parent.iterdir()] == ["state.json"]  # no temp files left

    with running(state_path=state) as (sim, client):
        assert sim.port != old_port
        after = finish(client, message_id)["response"]
        # The same answer, times and ids included; only the host in the URLs is new.
        assert json.loads(json.dumps(after).replace(sim.base_url, old_base)) == before
        assert [client.get(path_of(u)).content for u in before["imageUrls"]] == tiles
        assert client.get(path_of(before["imageUrl"])).content == grid
        # Which upscales were used is remembered too.
        again = finish(client, press(client, "U1", before["buttonMessageId"]))
        assert again["response"]["content"] == "ALREADY_REQUESTED_UPSCALE"


def test_a_variation_of_an_old_job_resembles_its_tile(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with running(state_path=state) as (_, client):
        parent = finish(client, imagine(client, PROMPT))["response"]
        tiles = [image(client, u) for u in parent["imageUrls"]]
    with running(state_path=state) as (_, client):
        child = finish(client, press(client, "V2", parent["buttonMessageId"]))["response"]
        assert child["buttons"] == parent["buttons"]
        kids = [image(client, u) for u in child["imageUrls"]]
    for i, kid in enumerate(kids):
        own = diff(kid, tiles[1])
        others = [diff(kid, t) for k, t in enumerate(tiles) if k != 1]
        assert own < min(others), (i, own, others)


def test_a_job_running_at_stop_finishes_after_the_restart(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with running(state_path=state, speed=SLOW) as (_, client):
        message_id = imagine(client, PROMPT)
        assert client.get(f"/message/{message_id}").json()["progress"] != 100
    with running(state_path=state, speed=SLOW) as (_, client):
        done = finish(client, message_id)
        assert done["progress"] == 100
        assert len(done["response"]["imageUrls"]) == 4
        assert image(client, done["response"]["imageUrls"][0]).size == (TILE, TILE)


def test_a_job_whose_time_passed_while_stopped_is_done_at_once(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with running(state_path=state, speed=SLOW) as (_, client):
        message_id = imagine(client, PROMPT)
    saved = json.loads(state.read_text())
    assert saved["jobs"][0]["status"] == "running"
    saved["jobs"][0]["created_at"] -= 3600  # as if the app had been closed for an hour
    state.write_text(json.dumps(saved))
    with running(state_path=state, speed=SLOW) as (_, client):
        assert client.get(f"/message/{message_id}").json()["progress"] == 100


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x00\xffnot json",
        b'{"version": 1, "jobs": [',
        b"[1, 2, 3]",
        b'{"version": 99, "jobs": []}',
        b'{"version": 1, "jobs": {}}',
    ],
)
def test_an_unreadable_state_file_means_an_empty_start(
    tmp_path: Path, garbage: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / "state.json"
    state.write_bytes(garbage)
    caplog.set_level(logging.WARNING, logger="app.simulator.state")
    with running(state_path=state) as (sim, client):
        assert sim.jobs == {}
        message_id = imagine(client, PROMPT)
        assert finish(client, message_id)["progress"] == 100
    assert "starting empty" in caplog.text
    saved = json.loads(state.read_text())  # replaced by a good file
    assert saved["version"] == 1 and [j["message_id"] for j in saved["jobs"]] == [message_id]


def test_bad_records_are_skipped_and_unknown_keys_ignored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / "state.json"
    with running(state_path=state) as (_, client):
        message_id = imagine(client, PROMPT)
        finish(client, message_id)
    saved = json.loads(state.read_text())
    saved["written_by"] = "a newer version"
    saved["jobs"][0]["colour"] = "blue"
    broken = dict(saved["jobs"][0], message_id="x" * 20, button_message_id="y" * 20)
    broken["scenes"] = [{"terrain": "not a number"}] * 4
    saved["jobs"] += [broken, {"message_id": 5}, "not a job"]
    state.write_text(json.dumps(saved))
    caplog.set_level(logging.WARNING, logger="app.simulator.state")
    with running(state_path=state) as (sim, client):
        assert list(sim.jobs) == [message_id]
        assert finish(client, message_id)["progress"] == 100
    assert caplog.text.count("skipping a bad job") == 3


def test_not_found_says_why(tmp_path: Path) -> None:
    for state, why in ((None, FORGETS), (tmp_path / "state.json", NOT_SAVED)):
        with running(state_path=state) as (_, client):
            answer = client.get("/message/nosuchjob")
            assert answer.status_code == 404 and why in answer.json()["msg"]
            body = {"button": "V1", "buttonMessageId": "nosuchjob"}
            answer = client.post("/button", json=body)
            assert answer.status_code == 404 and why in answer.json()["msg"]


# -- through the app --------------------------------------------------------------------


async def test_a_restarted_demo_app_can_press_buttons_of_old_jobs(settings: Settings) -> None:
    async with opened(settings) as backend:
        m = backend.manager
        job = m.submit_imagine("a red fox in snow")
        await until(lambda: m.get(job.id).state is JobState.DONE)  # type: ignore[union-attr]
    assert (settings.data_dir / "simulator-state.json").is_file()

    async with opened(settings) as again:
        m = again.manager
        v1 = m.press(job.id, "V1")
        await until(lambda: m.get(v1.id).state.finished)  # type: ignore[union-attr]
        child = m.get(v1.id)
        assert child is not None and child.state is JobState.DONE, child and child.error
        assert len(child.image_urls) == 4


async def test_a_demo_job_running_at_quit_finishes_after_restart(settings: Settings) -> None:
    slow = settings.with_(sim_speed=SLOW)
    async with opened(slow) as backend:
        m = backend.manager
        job = m.submit_imagine("boats at dusk")
        await until(lambda: m.get(job.id).state is JobState.RUNNING)  # type: ignore[union-attr]

    async with opened(slow) as again:
        m = again.manager
        await until(lambda: m.get(job.id).state.finished)  # type: ignore[union-attr]
        done = m.get(job.id)
        assert done is not None and done.state is JobState.DONE, done and done.error
