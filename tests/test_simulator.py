"""The built-in API simulator, over real loopback HTTP, against the seed's shapes."""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PIL import Image
from sim_http import SPEED, TILE, HookReceiver, diff, finish, image, imagine, press, running
from waiting import until_sync

from app.api import ImagineClient
from app.api.client import error_for_status
from app.api.errors import PromptBlocked, RateLimited
from app.api.models import parse_message
from app.simulator import Simulator
from app.simulator.buttons import GRID_BUTTONS, HIRES_BUTTONS, UPSCALE_BUTTONS
from app.simulator.chaos import FAULTS
from app.simulator.config import PROGRESS_STEPS
from app.simulator.ratelimit import RateLimiter

PROMPT = "A Rhinoceros in the Amazon with sun shining through, photorealistic, 4k"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
# The key sets of the seed's logged answers.
SUBMIT_KEYS = {"success", "messageId", "createdAt"}
IMAGINE_KEYS = {
    "accountId",
    "createdAt",
    "originatingMessageId",
    "buttons",
    "imageUrl",
    "imageUrls",
    "description",
    "type",
    "content",
    "responseAt",
    "buttonMessageId",
}
BUTTON_KEYS = IMAGINE_KEYS | {"ref"}
UPSCALE_SET = [
    "Vary (Strong)",
    "Vary (Subtle)",
    "🖌️ Vary (Region)",
    "Zoom Out 2x",
    "Zoom Out 1.5x",
    "Custom Zoom",
    "⬅️",
    "➡️",
    "⬆️",
    "⬇️",
    "Make Square",
    "Upscale (2x)",
    "Upscale (4x)",
    "❤️",
    "✉️",
    "Web",
]


@pytest.fixture
def api() -> Iterator[tuple[Simulator, httpx.Client]]:
    with running() as pair:
        yield pair


# -- shapes -----------------------------------------------------------------------------


def test_imagine_answer_matches_the_seed(api: tuple[Simulator, httpx.Client]) -> None:
    _, client = api
    answer = client.post("/imagine", json={"msg": PROMPT})
    body = answer.json()
    assert answer.status_code == 200
    assert answer.http_version == "HTTP/1.1"
    assert set(body) == SUBMIT_KEYS
    assert body["success"] is True
    assert re.fullmatch(r"[A-Za-z0-9]{20}", body["messageId"])
    assert ISO.match(body["createdAt"])


def test_progress_climbs_through_the_seeds_steps() -> None:
    # 1.75 s, a step every 0.25 s: at speed 100 (50 ms a step) a poll slowed by a busy
    # machine missed steps, and fewer than 3 were seen now and then.
    with running(speed=20) as (sim, client):
        watch_progress(sim, client)


def watch_progress(sim: Simulator, client: httpx.Client) -> None:
    message_id = imagine(client, PROMPT)
    seen: list[Any] = []
    previews: dict[int, str] = {}
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        body = client.get(f"/message/{message_id}").json()
        seen.append(body["progress"])
        if body["progress"] == 100:
            break
        assert set(body) == {"progress", "progressImageUrl"}
        assert type(body["progress"]) is int
        if body["progress"] == 0:
            assert body["progressImageUrl"] is None
        else:
            previews[body["progress"]] = body["progressImageUrl"]
        time.sleep(0.008)
    assert seen[0] == 0 and seen[-1] == 100
    assert seen == sorted(seen)
    middle = set(seen) - {0, 100}
    assert middle <= set(PROGRESS_STEPS) and len(middle) >= 3, seen
    # The preview is the final grid, half size and blurred: close to it, but not the same.
    final = finish(client, message_id)["response"]
    grid = image(client, final["imageUrl"])
    early, late = min(previews), max(previews)
    small = grid.resize((TILE, TILE))
    blurry = image(client, previews[early])
    sharp = image(client, previews[late])
    assert blurry.size == sharp.size == (TILE, TILE)
    assert diff(sharp, small) < diff(blurry, small)
    assert sim.jobs[message_id].status == "done"


def test_finished_imagine_matches_the_seed(api: tuple[Simulator, httpx.Client]) -> None:
    sim, client = api
    message_id = imagine(client, PROMPT)
    body = finish(client, message_id)
    assert set(body) == {"progress", "response"}
    assert body["progress"] == 100 and type(body["progress"]) is int
    response = body["response"]
    assert set(response) == IMAGINE_KEYS
    assert response["buttons"] == ["U1", "U2", "U3", "U4", "🔄", "V1", "V2", "V3", "V4"]
    assert response["type"] == "imagine"
    assert response["content"] == PROMPT
    assert response["description"] == ""
    assert response["originatingMessageId"] == message_id
    assert response["buttonMessageId"] != message_id
    assert re.fullmatch(r"[A-Za-z0-9]{20}", response["buttonMessageId"])
    assert ISO.match(response["createdAt"]) and ISO.match(response["responseAt"])
    assert response["responseAt"] > response["createdAt"]
    urls = response["imageUrls"]
    assert len(urls) == 4
    assert [u.rsplit("/", 1)[1] for u in urls] == ["0_0.png", "0_1.png", "0_2.png", "0_3.png"]
    assert all(u.startswith(sim.base_url + "/images/") for u in urls)
    tiles = [image(client, u) for u in urls]
    assert all(t.size == (TILE, TILE) for t in tiles)
    grid = image(client, response["imageUrl"])
    assert grid.size == (2 * TILE, 2 * TILE)
    assert diff(grid.crop((TILE, 0, 2 * TILE, TILE)), tiles[1]) < 1  # U2 is top right
    # The project's own parser reads it as a finished job.
    status = parse_message(body)
    assert status.done and status.response is not None
    assert status.response.api_buttons == tuple(GRID_BUTTONS)


def test_variation_answer_matches_the_seed(api: tuple[Simulator, httpx.Client]) -> None:
    sim, client = api
    parent = finish(client, imagine(client, PROMPT))["response"]
    child_id = press(client, "V1", parent["buttonMessageId"])
    response = finish(client, child_id)["response"]
    assert set(response) == BUTTON_KEYS
    assert response["ref"] == ""
    assert response["type"] == "button"
    assert response["content"] == PROMPT
    assert response["buttons"] == parent["buttons"]
    assert len(response["imageUrls"]) == 4
    job = sim.jobs[child_id]
    assert job.kind == "button" and job.label == "V1"
    assert job.parent_message_id == parent["originatingMessageId"]
    assert job.button_message_id == response["buttonMessageId"]


def test_ref_is_echoed(api: tuple[Simulator, httpx.Client]) -> None:
    _, client = api
    response = finish(client, imagine(client, PROMPT, ref="order-7"))["response"]
    assert response["ref"] == "order-7"
    assert set(response) == IMAGINE_KEYS | {"ref"}


# -- pictures ---------------------------------------------------------------------------


def test_tiles_differ_and_variations_resemble_their_tile(
    api: tuple[Simulator, httpx.Client],
) -> None:
    _, client = api
    parent = finish(client, imagine(client, PROMPT))["response"]
    tiles = [image(client, u) for u in parent["imageUrls"]]
    for i in range(4):
        for j in range(i + 1, 4):
            assert diff(tiles[i], tiles[j]) > 12, (i, j)
    for n in (1, 3):
        child = finish(client, press(client, f"V{n}", parent["buttonMessageId"]))["response"]
        kids = [image(client, u) for u in child["imageUrls"]]
        for i, kid in enumerate(kids):
            own = diff(kid, tiles[n - 1])
            others = [diff(kid, t) for k, t in enumerate(tiles) if k != n - 1]
            assert own < min(others), (n, i, own, others)
        assert min(diff(kids[0], k) for k in kids[1:]) > 0.5  # four different children


def test_reroll_gives_a_new_grid_for_the_same_prompt(api: tuple[Simulator, httpx.Client]) -> None:
    _, client = api
    parent = finish(client, imagine(client, PROMPT))["response"]
    again = finish(client, press(client, "🔄", parent["buttonMessageId"]))["response"]
    assert again["content"] == PROMPT and again["buttons"] == parent["buttons"]
    assert diff(image(client, parent["imageUrl"]), image(client, again["imageUrl"])) > 10


def test_upscale_and_the_post_upscale_buttons(api: tuple[Simulator, httpx.Client]) -> None:
    _, client = api
    parent = finish(client, imagine(client, PROMPT))["response"]
    tile = image(client, parent["imageUrls"][2])
    up = finish(client, press(client, "U3", parent["buttonMessageId"]))["response"]
    assert set(up) == BUTTON_KEYS and up["type"] == "button"
    assert up["buttons"] == UPSCALE_SET == list(UPSCALE_BUTTONS)
    assert up["imageUrls"] == [up["imageUrl"]]
    big = image(client, up["imageUrl"])
    assert big.size == (2 * TILE, 2 * TILE)
    assert diff(big.resize((TILE, TILE)), tile) < 20  # tile 3, re-rendered bigger
    assert parse_message({"progress": 100, "response": up}).response is not None
    source = up["buttonMessageId"]
    labels = [
        "Vary (Strong)",
        "Vary (Subtle)",
        "Zoom Out 2x",
        "Zoom Out 1.5x",
        "⬅️",
        "⬆️",
        "Make Square",
        "Upscale (2x)",
        "Upscale (4x)",
        "❤️",
        "✉️",
    ]
    jobs = {label: press(client, label, source) for label in labels}
    jobs["Custom Zoom"] = press(client, "Custom Zoom", source, zoom=1.2, ar="16:9")
    results = {label: finish(client, mid) for label, mid in jobs.items()}
    assert all(r["progress"] == 100 for r in results.values()), results
    out = {label: r["response"] for label, r in results.items()}
    for label in ("Vary (Strong)", "Vary (Subtle)", "Zoom Out 2x", "Make Square", "⬆️"):
        assert out[label]["buttons"] == list(GRID_BUTTONS), label
        assert len(out[label]["imageUrls"]) == 4
    strong = image(client, out["Vary (Strong)"]["imageUrls"][0]).resize((TILE, TILE))
    subtle = image(client, out["Vary (Subtle)"]["imageUrls"][0]).resize((TILE, TILE))
    assert diff(subtle, tile) < diff(strong, tile)
    # Zoom out: the old picture sits in the middle, shrunk, with scenery around it.
    zoomed = image(client, out["Zoom Out 2x"]["imageUrls"][0])
    assert zoomed.size == (TILE, TILE)
    centre = zoomed.crop((TILE // 4, TILE // 4, 3 * TILE // 4, 3 * TILE // 4))
    assert diff(centre, tile.resize(centre.size)) < diff(zoomed, tile)
    wide = image(client, out["⬅️"]["imageUrls"][0])
    assert wide.width == TILE and wide.height < TILE  # panned sideways: a wider frame
    tall = image(client, out["⬆️"]["imageUrls"][0])
    assert tall.height == TILE and tall.width < TILE
    custom = image(client, out["Custom Zoom"]["imageUrls"][0])
    assert abs(custom.width / custom.height - 16 / 9) < 0.05
    for label, side in (("Upscale (2x)", 3 * TILE), ("Upscale (4x)", 4 * TILE)):
        assert out[label]["buttons"] == list(HIRES_BUTTONS)
        assert image(client, out[label]["imageUrl"]).size == (side, side)
    assert out["❤️"]["imageUrl"] == up["imageUrl"] and "seed" not in out["❤️"]
    assert out["✉️"]["imageUrl"] == up["imageUrl"]
    assert out["✉️"]["seed"].isdigit()
    assert set(out["✉️"]) == BUTTON_KEYS | {"seed"}


def failure(client: httpx.Client, message_id: str) -> str:
    body = finish(client, message_id)
    assert body["progress"] == "incomplete"
    status = parse_message(body)
    assert status.failed and status.response is not None
    assert status.response.failure_code is not None
    return status.response.failure_code


def test_buttons_that_fail(api: tuple[Simulator, httpx.Client]) -> None:
    sim, client = api
    grid = finish(client, imagine(client, PROMPT))["response"]["buttonMessageId"]
    first = press(client, "U1", grid)
    second = press(client, "U1", grid)
    unknown = press(client, "U5", grid)
    assert failure(client, second) == "ALREADY_REQUESTED_UPSCALE"
    assert failure(client, unknown) == "BUTTON_NOT_FOUND"
    up = finish(client, first)["response"]["buttonMessageId"]
    assert failure(client, press(client, "❤", up)) == "BUTTON_NOT_FOUND"  # no U+FE0F
    assert failure(client, press(client, "Web", up)) == "BUTTON_NOT_FOUND"
    assert failure(client, press(client, "🖌️ Vary (Region)", up)) == "INVALID_PARAMETER"
    assert failure(client, press(client, "Custom Zoom", up)) == "INVALID_PARAMETER"
    assert failure(client, press(client, "Custom Zoom", up, zoom=3)) == "INVALID_PARAMETER"
    failed = sim.jobs[second]
    assert failed.status == "failed" and failed.failure_code == "ALREADY_REQUESTED_UPSCALE"
    assert finish(client, first)["progress"] == 100


def test_request_errors_are_json(api: tuple[Simulator, httpx.Client]) -> None:
    _, client = api
    cases = [
        client.post("/imagine", json={"msg": "  "}),
        client.post("/imagine", json={}),
        client.post("/imagine", content=b"{not json", headers={"Content-Type": "text/plain"}),
        client.post("/imagine", json=["a list"]),
        client.post("/button", json={"button": "U1"}),
        client.get("/message/doesNotExist123"),
        client.post("/button", json={"button": "U1", "buttonMessageId": "nope"}),
        client.get("/nowhere"),
        client.get("/imagine"),
        client.get("/images/nope/grid.png"),
    ]
    assert [c.status_code for c in cases] == [400, 400, 400, 400, 400, 404, 404, 404, 405, 404]
    for answer in cases:
        body = answer.json()
        assert body["success"] is False and isinstance(body["msg"], str) and body["msg"]


def test_get_image_info_describe_blend(api: tuple[Simulator, httpx.Client]) -> None:
    _, client = api
    response = finish(client, imagine(client, PROMPT))["response"]
    direct = client.get(response["imageUrls"][0]).content
    fetched = client.post("/getImage", json={"imgUrl": response["imageUrls"][0]})
    assert fetched.status_code == 200 and fetched.content == direct
    assert fetched.headers["content-type"] == "image/png"
    assert client.post("/getImage", json={"imgUrl": "https://example.com/x.png"}).status_code == 404
    info = client.get("/info").json()
    assert info["progress"] == 100 and info["response"]["type"] == "info"
    assert "fastTimeRemaining" in info["response"]["content"]
    asked = client.post("/describe", json={"url": response["imageUrls"][0]})
    described = finish(client, asked.json()["messageId"])
    assert described["response"]["type"] == "describe"
    assert len(described["response"]["content"]) == 4
    urls = response["imageUrls"][:2]
    blended = finish(client, client.post("/blend", json={"urls": urls}).json()["messageId"])
    assert len(blended["response"]["imageUrls"]) == 4
    assert client.post("/blend", json={"urls": urls[:1]}).status_code == 400


# -- access control ---------------------------------------------------------------------


def test_token_is_required_for_the_api_but_not_for_images() -> None:
    with running(token="s3cret") as (_, client):
        assert client.post("/imagine", json={"msg": "x"}).status_code == 401
        wrong = client.get("/info", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.json()["success"] is False
        good = {"Authorization": "Bearer s3cret"}
        message_id = client.post("/imagine", json={"msg": "x"}, headers=good).json()["messageId"]
        body = finish(client, message_id, headers=good)
        assert client.get(body["response"]["imageUrl"]).status_code == 200


def test_rate_limit_is_a_sliding_window_per_token() -> None:
    with running(rate_limit=0.4, speed=150) as (sim, client):
        first = client.post("/imagine", json={"msg": "hills"})
        assert first.status_code == 200
        for _ in range(3):  # rejected requests do not move the window
            limited = client.get("/info")
            assert limited.status_code == 429
            assert limited.headers["Retry-After"] == "1"
            assert limited.json()["success"] is False
        assert isinstance(error_for_status(limited), RateLimited)
        other = client.get("/info", headers={"Authorization": "Bearer other"})
        assert other.status_code == 200  # another token has its own window
        time.sleep(0.42)
        done = client.get(f"/message/{first.json()['messageId']}").json()
        assert done["progress"] == 100
        # Image downloads are not API requests: never limited, never counted.
        assert client.get(done["response"]["imageUrl"]).status_code == 200
        assert client.get("/info").status_code == 429
        assert sim.count(429) == 4 and sim.count(200, "/images/") == 1
    limiter = RateLimiter(2.5)
    assert limiter.admit("t", now=100.0) is None
    assert limiter.admit("t", now=100.1) == 3  # ceil of the 2.4 s left
    assert limiter.admit("t", now=102.4) == 1
    assert limiter.admit("t", now=102.5) is None


def test_banned_words_are_refused_like_the_prefilter() -> None:
    with running(banned=("ass",)) as (sim, client):
        answer = client.post("/imagine", json={"msg": "A field of green GRASS"})
        assert answer.status_code == 400
        assert answer.json() == {"success": False, "msg": "Invalid phrase: 'ass'"}
        error = error_for_status(answer)
        assert isinstance(error, PromptBlocked) and error.phrase == "ass"
        assert sim.jobs == {}
        allowed = client.post("/imagine", json={"msg": "grass", "ignorePrefilter": "true"})
        assert allowed.status_code == 200


def test_a_stalled_job_expires_as_incomplete() -> None:
    with running(stall_words=("frozen",), speed=100) as (sim, client):
        message_id = imagine(client, "a FROZEN lake")
        time.sleep(35 / 100 + 0.05)  # past the normal generation time
        body = client.get(f"/message/{message_id}?expireMins=1").json()
        assert body["progress"] == 46  # frozen, not done
        assert body["progressImageUrl"]
        # expireMins=1 is 60 s / 100 = 0.6 s here
        body = finish(client, message_id, 5, query="?expireMins=1")
        assert body["progress"] == "incomplete"
        assert client.get(f"/message/{message_id}").json()["progress"] == "incomplete"
        status = parse_message(body)
        assert status.failed and status.progress is None
        job = sim.jobs[message_id]
        assert job.status == "incomplete" and job.finished is not None


# -- webhooks ---------------------------------------------------------------------------


def test_webhooks_deliver_the_message_body() -> None:
    with HookReceiver() as receiver, running() as (sim, client):
        # Nobody polls: the simulator's own clock must notice the job finishing.
        message_id = imagine(client, PROMPT, webhookOverride=receiver.url, ref="r1")
        receiver.wait_for(1)
        hooked = receiver.bodies[0]
        assert hooked == client.get(f"/message/{message_id}").json()
        assert hooked["progress"] == 100 and hooked["response"]["ref"] == "r1"
        parent = hooked["response"]["buttonMessageId"]
        press(client, "Nope", parent, webhookOverride=receiver.url)
        receiver.wait_for(2)
        assert receiver.bodies[1]["progress"] == "incomplete"
        assert receiver.bodies[1]["response"]["content"] == "BUTTON_NOT_FOUND"
        imagine(client, "lost", webhookOverride="http://127.0.0.1:9/closed")
        until_sync(lambda: len(sim.webhook_log) >= 3, 5, what="three webhook attempts")
        log = sim.webhook_log
        assert [r.status for r in log[:2]] == [204, 204]
        assert log[2].status is None and log[2].error


# -- chaos ------------------------------------------------------------------------------


def test_chaos_injects_every_fault_kind() -> None:
    with running(chaos=1.0, seed=7, hang_seconds=30) as (sim, client):
        seen: dict[str, str] = {}
        for _ in range(30):
            try:
                answer = client.get("/info", timeout=0.15)
            except httpx.ReadTimeout:
                seen["hang"] = "timeout"
                continue
            except httpx.RemoteProtocolError:
                seen["drop"] = "closed"
                continue
            if answer.status_code == 429:
                assert answer.headers["Retry-After"] == "1"
                seen["429"] = answer.json()["msg"]
            elif answer.status_code == 502 and "text/html" in answer.headers["content-type"]:
                assert b"<html" in answer.content
                seen["html"] = "page"
            elif answer.status_code in (500, 502, 503):
                seen[str(answer.status_code)] = answer.json()["msg"]
            elif answer.status_code == 200:
                try:
                    answer.json()
                except ValueError:
                    seen["malformed"] = "bad json"
        assert set(seen) == set(FAULTS)
        faults = {r.fault for r in sim.requests if r.fault}
        assert faults == set(FAULTS)
        started = time.monotonic()
    # stop() released the connections still held by "hang" faults at once.
    assert time.monotonic() - started < 3


def test_a_hang_holds_the_connection_then_closes_it() -> None:
    with running(chaos=1.0, seed=3, hang_seconds=0.3) as (sim, client):
        for _ in range(40):
            started = time.monotonic()
            try:
                client.get("/info", timeout=5)
            except httpx.RemoteProtocolError:
                if sim.requests[-1].fault == "hang":
                    assert 0.25 < time.monotonic() - started < 3
                    return
        raise AssertionError("no hang fault in 40 requests")


def test_a_faulted_post_creates_no_job() -> None:
    with running(chaos=0.5, seed=11, hang_seconds=0.05) as (sim, client):
        created = 0
        for i in range(40):
            try:
                answer = client.post("/imagine", json={"msg": f"p{i}"}, timeout=2)
                created += answer.status_code == 200 and "messageId" in answer.json()
            except (httpx.TransportError, ValueError):
                continue
        assert 0 < created < 40
        assert len(sim.jobs) == created
        assert sum(1 for r in sim.requests if r.fault) == 40 - created


def test_chaos_damages_some_images() -> None:
    with running(chaos=0.5, seed=5, hang_seconds=0.05) as (sim, client):
        message_id = ""
        for _ in range(40):  # the POST itself may be faulted
            with contextlib.suppress(httpx.TransportError, ValueError, KeyError):
                message_id = client.post("/imagine", json={"msg": "x"}, timeout=2).json()[
                    "messageId"
                ]
                break
        assert message_id
        time.sleep(35 / SPEED + 0.05)
        owner = sim.jobs[message_id]
        assert owner.status == "done"
        url = f"/images/{message_id}/0_0.png"
        whole = sim.image_bytes(message_id, "0_0.png")
        assert whole is not None
        kinds: set[str] = set()
        for _ in range(40):
            answer = client.get(url)
            assert answer.status_code == 200 and answer.headers["content-type"] == "image/png"
            assert int(answer.headers["content-length"]) == len(answer.content)
            if answer.content == whole:
                continue
            if answer.content == whole[: len(whole) // 2]:
                kinds.add("truncated")
            else:
                kinds.add("corrupt")
            with pytest.raises(OSError):
                Image.open(io.BytesIO(answer.content)).load()
        assert kinds == {"truncated", "corrupt"}
        assert {r.fault for r in sim.requests if r.path == url} >= {"truncated", "corrupt", None}


# -- determinism and process use --------------------------------------------------------


def test_same_seed_same_pictures_but_never_the_same_id() -> None:
    grids = []
    ids = []
    for seed in (4, 4, 5):
        with running(seed=seed) as (_, client):
            message_id = imagine(client, PROMPT)
            response = finish(client, message_id)["response"]
            ids.append(message_id)
            grids.append(client.get(response["imageUrl"]).content)
    assert len(set(ids)) == 3  # a restarted simulator must not reuse an earlier run's ids
    assert grids[0] == grids[1] != grids[2]


def test_client_compatibility_end_to_end(api: tuple[Simulator, httpx.Client]) -> None:
    sim, _ = api

    async def flow() -> tuple[str, int]:
        async with ImagineClient(sim.base_url) as client:
            submitted = await client.imagine(PROMPT, ref="abc")
            for _ in range(500):
                status = await client.message(submitted.message_id, expire_mins=5)
                if status.done:
                    break
                await asyncio.sleep(0.02)
            assert status.response is not None and status.response.ref == "abc"
            up = await client.button("U4", status.response.button_message_id or "")
            data = await client.get_image(status.response.image_urls[3])
            return up.message_id, len(data)

    up_id, size = asyncio.run(flow())
    assert size > 1000 and up_id in sim.jobs


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_run_simulator_announces_then_stops_cleanly(stop_signal: signal.Signals) -> None:
    command = [sys.executable, "-m", "app", "simulate", "--speed", "100", "--seed", "1"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline().strip()
            match = re.fullmatch(r"BASE_URL=(http://127\.0\.0\.1:\d+)", line)
            assert match, line
            assert httpx.get(match.group(1) + "/info", timeout=5).status_code == 200
            process.send_signal(stop_signal)
            assert process.wait(timeout=10) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=5)


def test_the_demo_draws_a_jobs_pictures_without_being_asked() -> None:
    # As the real service has its pictures on its CDN when it says done, the demo's
    # simulator draws them near the end of the job, not on the first request (drawing
    # four 512 px tiles one after another took ~70 ms, counted as the app being slow).
    names = [f"0_{i}.png" for i in range(4)] + ["grid.png"]
    for ready in (True, False):
        with running(ready_images=ready) as (sim, client):
            mid = imagine(client, "a windmill at dusk")
            finish(client, mid)
            if ready:
                until_sync(lambda m=mid: all(sim.images.drawn(m, n) for n in names), 10)
            else:
                time.sleep(0.2)  # the clock ticks every 20 ms: it had its chances
                assert not any(sim.images.drawn(mid, n) for n in names)
            assert image(client, f"/images/{mid}/0_0.png").size == (TILE, TILE)
            assert sim.images.drawn(mid, "0_0.png")
