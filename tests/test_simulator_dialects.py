"""The simulator's midjourney-proxy and ImaginePro dialects, over real loopback HTTP.

Shapes, codes and auth answers as ``/work/shared/backends.md`` documents them.
"""

from __future__ import annotations

import base64
import contextlib
import io
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sim_http
from PIL import Image
from waiting import until_sync

from app.simulator import Simulator, SimulatorConfig

TILE = 64
SECRET = "s3cret"


@contextlib.contextmanager
def running(api: str, **overrides: Any) -> Iterator[tuple[Simulator, httpx.Client]]:
    """A simulator of ``api``, and a client that sends SECRET the way that API reads it."""
    headers = {"mj-api-secret": SECRET} if api == "midjourney-proxy" else {}
    if api == "imaginepro":
        headers = {"Authorization": f"Bearer {SECRET}"}
    with sim_http.running(headers, api=api, **{"tile_size": TILE, **overrides}) as pair:
        yield pair


def png_data_url(colour: tuple[int, int, int]) -> str:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), colour).save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


# -- midjourney-proxy ------------------------------------------------------------------


def proxy_submit(client: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = client.post(path, json=body)
    assert answer.status_code == 200, answer.text
    data: dict[str, Any] = answer.json()
    return data


def proxy_done(client: httpx.Client, task_id: str) -> dict[str, Any]:
    def finished() -> dict[str, Any] | None:
        task: dict[str, Any] = client.get(f"/task/{task_id}/fetch").json()
        return task if task["status"] in ("SUCCESS", "FAILURE") else None

    result: dict[str, Any] = until_sync(finished)
    return result


def proxy_imagine(client: httpx.Client, prompt: str = "a red fox in the snow") -> dict[str, Any]:
    answer = proxy_submit(client, "/submit/imagine", {"prompt": prompt})
    assert answer["code"] == 1
    return proxy_done(client, answer["result"])


def custom_id(task: dict[str, Any], shown: str) -> str:
    found: str = next(b["customId"] for b in task["buttons"] if (b["label"] or b["emoji"]) == shown)
    return found


def test_proxy_auth_takes_the_raw_secret_in_either_header() -> None:
    with running("midjourney-proxy", token=SECRET) as (sim, _client):
        base = sim.api_url
        for headers in ({}, {"mj-api-secret": "wrong"}, {"Authorization": f"Bearer {SECRET}"}):
            refused = httpx.post(f"{base}/submit/imagine", json={"prompt": "x"}, headers=headers)
            assert refused.status_code == 401
            assert refused.text == "Authorization header missing."
        # Authorization wins over mj-api-secret, compared verbatim.
        both = {"Authorization": "wrong", "mj-api-secret": SECRET}
        assert (
            httpx.post(f"{base}/submit/imagine", json={"prompt": "x"}, headers=both).status_code
            == 401
        )
        ok = httpx.post(
            f"{base}/submit/imagine", json={"prompt": "x"}, headers={"Authorization": SECRET}
        )
        assert ok.status_code == 200 and ok.json()["code"] == 1


def test_proxy_imagine_progress_and_grid() -> None:
    with running("midjourney-proxy", speed=40.0) as (_sim, client):
        answer = proxy_submit(client, "/submit/imagine", {"prompt": "a fox", "state": "tui:1"})
        assert answer["code"] == 1 and answer["description"] == "提交成功"
        task_id = answer["result"]
        assert task_id.isdigit() and len(task_id) >= 16
        seen = set()

        def finished() -> dict[str, Any] | None:
            task = client.get(f"/task/{task_id}/fetch").json()
            seen.add((task["status"], task["progress"]))
            return task if task["status"] == "SUCCESS" else None

        task = until_sync(finished)
        running_progress = {p for s, p in seen if s == "IN_PROGRESS"}
        assert running_progress and all(p.endswith("%") for p in running_progress)
        assert task["progress"] == "100%" and task["action"] == "IMAGINE"
        assert task["state"] == "tui:1" and task["imageUrls"] is None
        assert task["imageUrl"].endswith("/grid.png")
        grid = Image.open(io.BytesIO(httpx.get(task["imageUrl"]).content))
        assert grid.size == (2 * TILE, 2 * TILE)
        shown = [b["label"] or b["emoji"] for b in task["buttons"]]
        assert shown == ["U1", "U2", "U3", "U4", "🔄", "V1", "V2", "V3", "V4"]
        reroll = task["buttons"][4]
        assert reroll["label"] == "" and reroll["customId"].startswith("MJ::JOB::reroll::0::")
        hash_ = task["properties"]["messageHash"]
        assert task["buttons"][0]["customId"] == f"MJ::JOB::upsample::1::{hash_}"


def test_proxy_unknown_task_batch_fetch_and_prefixes() -> None:
    with running("midjourney-proxy") as (sim, client):
        missing = client.get("/task/1712345678901234/fetch")
        assert missing.status_code == 204 and missing.content == b""
        a = proxy_submit(client, "/submit/imagine", {"prompt": "one"})["result"]
        b = proxy_submit(client, "/submit/imagine", {"prompt": "two"})["result"]
        found = client.post("/task/list-by-condition", json={"ids": [a, "999", b]}).json()
        assert sorted(t["id"] for t in found) == sorted([a, b])
        assert client.post("/task/list-by-condition", json={}).json() == []
        fast = httpx.get(f"{sim.base_url}/mj-fast/mj/task/{a}/fetch", headers=client.headers)
        assert fast.json()["id"] == a


def test_proxy_action_upscale_pan_and_refusals() -> None:
    with running("midjourney-proxy") as (_sim, client):
        grid = proxy_imagine(client)
        up = proxy_submit(
            client, "/submit/action", {"taskId": grid["id"], "customId": custom_id(grid, "U2")}
        )
        assert up["code"] == 1
        upscaled = proxy_done(client, up["result"])
        assert upscaled["action"] == "UPSCALE" and upscaled["parentId"] == grid["id"]
        assert upscaled["imageUrl"].endswith("/image.png")
        pans = [b for b in upscaled["buttons"] if b["customId"].startswith("MJ::JOB::pan_")]
        assert len(pans) == 4 and all(b["label"] == "" and b["emoji"] for b in pans)
        pan = proxy_submit(
            client, "/submit/action", {"taskId": upscaled["id"], "customId": pans[0]["customId"]}
        )
        assert proxy_done(client, pan["result"])["action"] == "PAN"
        # Unknown parent: HTTP 404 that still carries code 3.
        lost = client.post("/submit/action", json={"taskId": "1", "customId": "MJ::x"})
        assert lost.status_code == 404 and lost.json()["code"] == 3
        # A parent not finished yet: code 4, HTTP 200.
        busy = proxy_submit(client, "/submit/imagine", {"prompt": "slow"})["result"]
        early = proxy_submit(client, "/submit/action", {"taskId": busy, "customId": "MJ::x"})
        assert early["code"] == 4 and early["description"] == "关联任务状态错误"
        unknown = proxy_submit(
            client, "/submit/action", {"taskId": grid["id"], "customId": "MJ::x"}
        )
        assert unknown["code"] == 4


def test_proxy_remix_goes_through_modal() -> None:
    with running("midjourney-proxy") as (_sim, client):
        grid = proxy_imagine(client, "a red fox")
        modal = proxy_submit(
            client,
            "/submit/action",
            {"taskId": grid["id"], "customId": custom_id(grid, "V1"), "enableRemix": True},
        )
        assert modal["code"] == 21 and modal["properties"]["finalPrompt"] == "a red fox"
        parked = client.get(f"/task/{modal['result']}/fetch").json()
        assert parked["status"] == "MODAL"
        go = proxy_submit(
            client, "/submit/modal", {"taskId": modal["result"], "prompt": "a blue fox"}
        )
        assert go["code"] == 1 and go["result"] == modal["result"]
        done = proxy_done(client, modal["result"])
        assert done["status"] == "SUCCESS" and done["prompt"] == "a blue fox"
        assert done["action"] == "VARIATION"
        lost = client.post("/submit/modal", json={"taskId": "123", "prompt": "x"})
        assert lost.status_code == 404 and lost.json()["code"] == 3


def test_proxy_custom_zoom_takes_zoom_in_the_prompt() -> None:
    with running("midjourney-proxy") as (_sim, client):
        grid = proxy_imagine(client, "a hill")
        up = proxy_submit(
            client, "/submit/action", {"taskId": grid["id"], "customId": custom_id(grid, "U1")}
        )
        upscaled = proxy_done(client, up["result"])
        zoom = proxy_submit(
            client,
            "/submit/action",
            {"taskId": upscaled["id"], "customId": custom_id(upscaled, "Custom Zoom")},
        )
        assert zoom["code"] == 21 and zoom["properties"]["finalPrompt"] == "a hill --zoom 2"
        proxy_submit(
            client, "/submit/modal", {"taskId": zoom["result"], "prompt": "a hill --zoom 1.5"}
        )
        done = proxy_done(client, zoom["result"])
        assert done["status"] == "SUCCESS" and done["action"] == "ZOOM"


@pytest.mark.parametrize("on_submit", [False, True])
def test_proxy_banned_word_now_or_later(on_submit: bool) -> None:
    with running("midjourney-proxy", banned=("gore",), ban_on_submit=on_submit) as (_sim, client):
        answer = proxy_submit(client, "/submit/imagine", {"prompt": "much GORE"})
        if on_submit:
            assert answer["code"] == 24 and answer["result"] is None
            assert answer["properties"]["bannedWord"] == "gore"
            return
        assert answer["code"] == 1
        task = proxy_done(client, answer["result"])
        assert task["status"] == "FAILURE" and task["failReason"] == "可能包含敏感词"
        assert task["progress"] == ""


def test_proxy_describe_blend_and_seed() -> None:
    with running("midjourney-proxy") as (_sim, client):
        desc = proxy_submit(client, "/submit/describe", {"link": "https://example.org/cat.png"})
        described = proxy_done(client, desc["result"])
        prompts = described["properties"]["finalPrompt"].split("\n\n")
        assert described["action"] == "DESCRIBE" and len(prompts) == 4
        assert prompts[0].startswith("1️⃣ ")
        assert proxy_submit(client, "/submit/describe", {})["code"] == 4
        upload = proxy_submit(client, "/submit/describe", {"base64": png_data_url((1, 2, 3))})
        assert proxy_done(client, upload["result"])["status"] == "SUCCESS"

        pics = [png_data_url((200, 0, 0)), png_data_url((0, 0, 200))]
        blend = proxy_submit(client, "/submit/blend", {"base64Array": pics, "dimensions": "SQUARE"})
        blended = proxy_done(client, blend["result"])
        assert blended["action"] == "BLEND" and blended["imageUrl"].endswith("/grid.png")
        one = proxy_submit(client, "/submit/blend", {"base64Array": pics[:1]})
        assert one["code"] == 4 and "2~5" in one["description"]
        urls = proxy_submit(client, "/submit/blend", {"base64Array": ["https://x/a.png"] * 2})
        assert urls["code"] == 4

        seed = client.get(f"/task/{blended['id']}/image-seed").json()
        assert seed["code"] == 1 and seed["result"].isdigit()
        assert client.get("/task/42/image-seed").status_code == 404


def test_proxy_bad_json_rate_limit_queue_full_and_chaos() -> None:
    with running("midjourney-proxy", rate_limit=30.0) as (sim, client):
        assert client.post("/submit/imagine", json={"prompt": "x"}).json()["code"] == 1
        limited = client.post("/submit/imagine", json={"prompt": "y"})
        assert limited.status_code == 429 and limited.content == b""
        assert int(limited.headers["Retry-After"]) > 0
    with running("midjourney-proxy") as (sim, client):
        bad = client.post("/submit/imagine", content=b"{nope", headers={"Content-Type": "x"})
        assert bad.status_code == 200 and bad.json()["code"] == -1
    with running("midjourney-proxy", max_queue=2) as (sim, client):
        codes = [
            client.post("/submit/imagine", json={"prompt": f"p{i}"}).json()["code"]
            for i in range(3)
        ]
        assert codes == [1, 1, 9]
    with running("midjourney-proxy", chaos=1.0, seed=3) as (sim, client):
        statuses = set()
        for _ in range(40):
            with contextlib.suppress(httpx.HTTPError):
                answer = httpx.get(
                    f"{sim.api_url}/task/1/fetch", headers=client.headers, timeout=0.5
                )
                statuses.add(answer.status_code)
                if answer.status_code == 500:
                    assert answer.json()["message"] == "操作失败"
        assert 500 in statuses


def test_proxy_queue_signal_is_still_accepted() -> None:
    with running("midjourney-proxy", speed=1.0) as (_sim, client):
        answers = [
            client.post("/submit/imagine", json={"prompt": f"p{i}"}).json() for i in range(5)
        ]
        assert [a["code"] for a in answers] == [1, 1, 1, 22, 22]
        assert answers[4]["properties"]["numberOfQueues"] == 2 and answers[4]["result"]


def test_proxy_jobs_survive_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "sim.json"
    with running("midjourney-proxy", state_path=state) as (_sim, client):
        task = proxy_imagine(client)
    with running("midjourney-proxy", state_path=state) as (_sim, client):
        again = client.get(f"/task/{task['id']}/fetch").json()
        assert again["status"] == "SUCCESS" and again["buttons"] == task["buttons"]
        up = proxy_submit(
            client, "/submit/action", {"taskId": task["id"], "customId": custom_id(task, "U3")}
        )
        assert proxy_done(client, up["result"])["status"] == "SUCCESS"


@pytest.mark.parametrize("api", ["midjourney-proxy", "imaginepro"])
def test_webhooks_carry_the_dialects_own_shape(api: str) -> None:
    with sim_http.HookReceiver() as receiver, running(api) as (_sim, client):
        hook = receiver.url
        if api == "midjourney-proxy":
            proxy_submit(client, "/submit/imagine", {"prompt": "x", "notifyHook": hook})
        else:
            client.post("/api/v1/nova/imagine", json={"prompt": "x", "webhookOverride": hook})
        body = until_sync(lambda: receiver.bodies[-1] if receiver.bodies else None)
    if api == "midjourney-proxy":
        assert body["status"] == "SUCCESS" and body["imageUrl"].endswith("grid.png")
    else:
        assert body["status"] == "DONE" and body["uri"].endswith("grid.png")


# -- ImaginePro ------------------------------------------------------------------------


def ip_done(client: httpx.Client, message_id: str) -> dict[str, Any]:
    def finished() -> dict[str, Any] | None:
        message: dict[str, Any] = client.get(f"/api/v1/message/fetch/{message_id}").json()
        return message if message["status"] in ("DONE", "FAIL") else None

    result: dict[str, Any] = until_sync(finished)
    return result


def test_imaginepro_auth_is_bearer() -> None:
    with running("imaginepro", token=SECRET) as (sim, client):
        for headers in ({}, {"Authorization": SECRET}, {"Authorization": "Bearer nope"}):
            refused = httpx.post(
                f"{sim.api_url}/api/v1/nova/imagine", json={"prompt": "x"}, headers=headers
            )
            assert refused.status_code == 401
            assert refused.json() == {
                "message": "Unauthorized",
                "error": "Unauthorized",
                "statusCode": 401,
            }
        assert client.post("/api/v1/nova/imagine", json={"prompt": "x"}).json()["success"] is True


def test_imaginepro_imagine_button_and_states() -> None:
    with running("imaginepro", speed=40.0) as (_sim, client):
        answer = client.post("/api/v1/nova/imagine", json={"prompt": "a lake", "ref": "r1"}).json()
        assert (
            set(answer) == {"success", "messageId", "createdAt"} and len(answer["messageId"]) == 36
        )
        seen = set()

        def finished() -> dict[str, Any] | None:
            message = client.get(f"/api/v1/message/fetch/{answer['messageId']}").json()
            seen.add((message["status"], message["progress"]))
            return message if message["status"] == "DONE" else None

        message = until_sync(finished)
        assert any(s == "PROCESSING" and isinstance(p, int) and 0 < p < 100 for s, p in seen)
        assert message["progress"] == 100 and message["uri"].endswith("/grid.png")
        assert message["ref"] == "r1" and "imageUrls" not in message
        assert message["buttons"] == ["U1", "U2", "U3", "U4", "🔄", "V1", "V2", "V3", "V4"]
        pressed = client.post(
            "/api/v1/nova/button", json={"messageId": message["messageId"], "button": "U4"}
        ).json()
        upscaled = ip_done(client, pressed["messageId"])
        assert upscaled["originatingMessageId"] == message["messageId"]
        assert upscaled["uri"].endswith("/image.png")
        assert "Vary (Region)" in upscaled["buttons"] and "Web" not in upscaled["buttons"]
        region = client.post(
            "/api/v1/nova/button",
            json={"messageId": upscaled["messageId"], "button": "Vary (Region)"},
        )
        assert region.status_code == 400 and "mask" in region.json()["message"]
        missing = client.get("/api/v1/message/fetch/nope")
        assert missing.status_code == 404 and missing.json()["statusCode"] == 404


def test_imaginepro_banned_blend_and_rate_limit() -> None:
    with running("imaginepro", banned=("gore",), rate_limit=0.0) as (_sim, client):
        banned = client.post("/api/v1/nova/imagine", json={"prompt": "gore"}).json()
        failed = ip_done(client, banned["messageId"])
        assert failed["status"] == "FAIL" and "Banned prompt" in failed["error"]
        check = client.post("/api/v1/nova/prompt-check", json={"prompt": "gore"}).json()
        assert check["status"] == "FAIL"
        first = ip_done(
            client, client.post("/api/v1/nova/imagine", json={"prompt": "a"}).json()["messageId"]
        )
        tile = first["uri"]
        blend = client.post("/api/v1/midjourney/blend", json={"urls": [tile, tile]}).json()
        assert ip_done(client, blend["messageId"])["status"] == "DONE"
    with running("imaginepro", rate_limit=30.0) as (_sim, client):
        client.post("/api/v1/nova/imagine", json={"prompt": "a"})
        limited = client.post("/api/v1/nova/imagine", json={"prompt": "b"})
        assert limited.status_code == 429 and limited.json()["statusCode"] == 429


def test_unknown_api_is_refused() -> None:
    with pytest.raises(ValueError, match="api must be"):
        SimulatorConfig(api="discord")


@pytest.mark.parametrize(("api", "suffix"), [("midjourney-proxy", "/mj"), ("imaginepro", "")])
def test_simulate_command_serves_a_dialect(api: str, suffix: str) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "simulate", "--api", api, "--speed", "100"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("BASE_URL=http://127.0.0.1:") and line.endswith(suffix)
        base = line.split("=", 1)[1]
        if api == "midjourney-proxy":
            answer = httpx.post(f"{base}/submit/imagine", json={"prompt": "x"}).json()
            assert answer["code"] == 1
        else:
            answer = httpx.post(f"{base}/api/v1/nova/imagine", json={"prompt": "x"}).json()
            assert answer["success"] is True
    finally:
        proc.terminate()
        proc.wait(timeout=10)
