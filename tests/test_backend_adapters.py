"""Each backend adapter against its dialect of the simulator, on 127.0.0.1.

The same journeys on every backend: what a user notices is the one job model (states,
four tiles, buttons by name, failure sentences), whatever the API underneath.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from app.api.errors import ApiError, AuthError, BadRequest, PromptBlocked
from app.backends import (
    API_NAMES,
    BackendApi,
    Button,
    Press,
    Refused,
    Unsupported,
    Update,
    make_api,
)
from app.backends.base import split_prompts
from app.backends.reasons import explain
from app.images import ImagePipeline
from app.images.split import parse_tile
from app.simulator import Simulator, SimulatorConfig

SPEED = 300.0
TILE = 64
TOKEN = "tok-123"


@contextlib.asynccontextmanager
async def backend(
    api: str, token: str | None = TOKEN, **config: Any
) -> AsyncIterator[tuple[Simulator, BackendApi]]:
    sim = Simulator(
        SimulatorConfig(api=api, token=TOKEN, **{"speed": SPEED, "tile_size": TILE, **config})
    )
    sim.start()
    adapter = make_api(api, sim.api_url, token, timeout=10.0)
    try:
        yield sim, adapter
    finally:
        await adapter.aclose()
        sim.stop()


async def finished(adapter: BackendApi, job_id: str) -> Update:
    for _ in range(500):  # bounded: a job takes ~0.12 s here
        update = await adapter.fetch(job_id)
        if update.finished:
            return update
        await asyncio.sleep(0.02)
    raise AssertionError("the job never finished")


def button(update: Update, name: str) -> Button:
    return next(b for b in update.buttons if b.name == name)


@pytest.mark.parametrize("api", API_NAMES)
async def test_imagine_variation_upscale_and_a_post_upscale_button(
    api: str, tmp_path: Path
) -> None:
    async with backend(api) as (sim, adapter):
        sent = await adapter.imagine("a quiet valley", "ref-1", None)
        grid = await finished(adapter, sent.job_id)
        assert grid.state == "done" and grid.progress == 100
        assert [b.name for b in grid.buttons] == [
            "U1",
            "U2",
            "U3",
            "U4",
            "🔄",
            "V1",
            "V2",
            "V3",
            "V4",
        ]
        assert len(grid.image_urls) == 4 and grid.button_target
        # The four tiles are real pictures a quarter of the grid, however the API sent them.
        images = ImagePipeline(adapter.http, tmp_path / "cache")
        tile = Image.open(await images.fetch(grid.image_urls[1]))
        assert tile.size == (TILE, TILE)
        if api != "thenextleg":  # split here from the grid: cut once, all four cached
            assert all(parse_tile(u) for u in grid.image_urls)
            assert all(images.cached_path(u) for u in grid.image_urls)
            assert sim.count(path_prefix="/images/") == 1

        v2 = await adapter.press(
            grid.button_target, button(grid, "V2").value, "ref-2", None, Press()
        )
        varied = await finished(adapter, v2.job_id)
        assert varied.state == "done" and len(varied.image_urls) == 4

        u1 = await adapter.press(
            grid.button_target, button(grid, "U1").value, "ref-3", None, Press()
        )
        upscaled = await finished(adapter, u1.job_id)
        assert upscaled.state == "done" and len(upscaled.image_urls) == 1
        assert upscaled.image_urls[0] == upscaled.image_url
        names = [b.name for b in upscaled.buttons]
        assert "⬅️" in names and "Zoom Out 2x" in names
        if api == "midjourney-proxy":  # pans are emoji only there, pressed by customId
            pan = button(upscaled, "⬅️")
            assert pan.label == "" and pan.send.startswith("MJ::JOB::pan_left::")
        assert upscaled.button_target is not None
        zoom = await adapter.press(
            upscaled.button_target, button(upscaled, "Zoom Out 2x").value, None, None, Press()
        )
        zoomed = await finished(adapter, zoom.job_id)
        assert zoomed.state == "done" and len(zoomed.image_urls) == 4


async def test_proxy_polls_many_jobs_in_one_request() -> None:
    async with backend("midjourney-proxy", speed=20.0) as (sim, adapter):
        ids = [(await adapter.imagine(f"scene {i}", None, None)).job_id for i in range(5)]
        before = sim.count(path_prefix="/mj/task/")
        updates = await adapter.fetch_many(ids)
        assert sim.count(path_prefix="/mj/task/") == before + 1
        assert set(updates) == set(ids)
        assert all(u.state in ("waiting", "running", "done") for u in updates.values())


@pytest.mark.parametrize("api", API_NAMES)
async def test_wrong_token_is_an_auth_error(api: str) -> None:
    async with backend(api, token="wrong") as (_sim, adapter):
        with pytest.raises(AuthError):
            await adapter.imagine("a hill", None, None)


@pytest.mark.parametrize("api", API_NAMES)
async def test_unknown_job_is_a_404(api: str) -> None:
    async with backend(api) as (_sim, adapter):
        missing = "1712345678901234" if api == "midjourney-proxy" else "not-a-job"
        with pytest.raises(BadRequest) as caught:
            await adapter.fetch(missing)
        assert caught.value.status == 404


@pytest.mark.parametrize(
    ("api", "on_submit"),
    [
        ("thenextleg", True),
        ("midjourney-proxy", True),
        ("midjourney-proxy", False),
        ("imaginepro", False),
        ("imaginepro", True),
    ],
)
async def test_banned_prompt_now_or_later(api: str, on_submit: bool) -> None:
    async with backend(api, banned=("gore",), ban_on_submit=on_submit) as (_sim, adapter):
        if on_submit:
            with pytest.raises(PromptBlocked) as caught:
                await adapter.imagine("lots of gore", None, None)
            assert "refused the prompt" in caught.value.human
            return
        sent = await adapter.imagine("lots of gore", None, None)
        failed = await finished(adapter, sent.job_id)
        assert failed.state == "failed" and failed.failure is not None
        assert failed.failure.code == "BANNED_PROMPT"
        assert "content rules" in failed.failure.text
        if api == "midjourney-proxy":  # the service's own words are kept beside the sentence
            assert "可能包含敏感词" in failed.failure.text


async def test_proxy_remix_asks_for_a_prompt_then_runs_it() -> None:
    async with backend("midjourney-proxy") as (_sim, adapter):
        grid = await finished(adapter, (await adapter.imagine("a red fox", None, None)).job_id)
        assert grid.button_target is not None
        v1 = button(grid, "V1").value
        asked = await adapter.press(grid.button_target, v1, None, None, Press(remix=True))
        assert asked.needs_prompt and asked.modal_prompt == "a red fox"
        parked = await adapter.fetch(asked.job_id)
        assert parked.state == "modal"
        go = await adapter.confirm(asked.job_id, "a blue fox")
        remixed = await finished(adapter, go.job_id)
        assert remixed.state == "done" and remixed.prompt == "a blue fox"


@pytest.mark.parametrize("api", ["thenextleg", "imaginepro"])
async def test_remix_prompt_rides_on_the_press(api: str) -> None:
    async with backend(api) as (_sim, adapter):
        grid = await finished(adapter, (await adapter.imagine("a red fox", None, None)).job_id)
        assert grid.button_target is not None
        sent = await adapter.press(
            grid.button_target, button(grid, "V1").value, None, None, Press(prompt="a blue fox")
        )
        assert not sent.needs_prompt
        remixed = await finished(adapter, sent.job_id)
        assert remixed.prompt == "a blue fox"


async def test_proxy_presses_a_label_by_reading_the_customid() -> None:
    async with backend("midjourney-proxy") as (_sim, adapter):
        grid = await finished(adapter, (await adapter.imagine("a cove", None, None)).job_id)
        assert grid.job_id is not None
        up = await finished(
            adapter, (await adapter.press(grid.job_id, "U3", None, None, Press())).job_id
        )
        assert up.state == "done" and len(up.image_urls) == 1
        with pytest.raises(Refused, match="does not offer that button"):
            await adapter.press(grid.job_id, "Make Square", None, None, Press())


async def test_proxy_custom_zoom_and_vary_region() -> None:
    async with backend("midjourney-proxy") as (_sim, adapter):
        grid = await finished(adapter, (await adapter.imagine("a hill", None, None)).job_id)
        assert grid.button_target is not None
        up = await finished(
            adapter,
            (
                await adapter.press(
                    grid.button_target, button(grid, "U2").value, None, None, Press()
                )
            ).job_id,
        )
        assert up.button_target is not None
        asked = await adapter.press(
            up.button_target, button(up, "Custom Zoom").value, None, None, Press(zoom=1.5)
        )
        assert asked.modal_prompt == "a hill --zoom 1.5"
        zoomed = await finished(
            adapter, (await adapter.confirm(asked.job_id, asked.modal_prompt)).job_id
        )
        assert zoomed.state == "done" and len(zoomed.image_urls) == 4
        with pytest.raises(Unsupported, match="mask"):
            await adapter.press(
                up.button_target, button(up, "Vary (Region)").value, None, None, Press()
            )


def png_bytes(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 40), colour).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize("api", ["thenextleg", "midjourney-proxy"])
async def test_describe_gives_four_prompts(api: str) -> None:
    async with backend(api) as (_sim, adapter):
        sent = await adapter.describe("https://example.org/cat.png", None)
        described = await finished(adapter, sent.job_id)
        assert len(described.prompts) == 4
        assert all(p and not p.startswith(("1", "2", "3", "4")) for p in described.prompts)
        if api == "midjourney-proxy":  # a local file goes inline
            local = await finished(
                adapter, (await adapter.describe(png_bytes((9, 9, 9)), None)).job_id
            )
            assert len(local.prompts) == 4
        else:
            with pytest.raises(Unsupported):
                await adapter.describe(png_bytes((9, 9, 9)), None)


async def test_imaginepro_has_no_describe() -> None:
    async with backend("imaginepro") as (_sim, adapter):
        assert "describe" not in adapter.features
        with pytest.raises(Unsupported, match="not supported by the imaginepro backend"):
            await adapter.describe("https://example.org/cat.png", None)


@pytest.mark.parametrize("api", API_NAMES)
async def test_blend_makes_a_grid(api: str) -> None:
    async with backend(api) as (_sim, adapter):
        first = await finished(adapter, (await adapter.imagine("a lake", None, None)).job_id)
        second = await finished(adapter, (await adapter.imagine("a peak", None, None)).job_id)
        images: list[str | bytes]
        if api == "midjourney-proxy":
            images = [png_bytes((200, 0, 0)), png_bytes((0, 0, 200))]
        elif api == "imaginepro":  # it fetches URLs itself: whole images, not local tiles
            assert first.image_url and second.image_url
            images = [first.image_url, second.image_url]
            with pytest.raises(Unsupported):
                await adapter.blend(list(first.image_urls[:2]), None)
        else:
            images = [first.image_urls[0], second.image_urls[3]]
        blended = await finished(adapter, (await adapter.blend(images, None)).job_id)
        assert blended.state == "done" and len(blended.image_urls) == 4


async def test_proxy_seed_and_its_refusals() -> None:
    async with backend("midjourney-proxy") as (_sim, adapter):
        grid = await finished(adapter, (await adapter.imagine("a dune", None, None)).job_id)
        assert (await adapter.seed(grid.job_id or "")).isdigit()
        with pytest.raises(Refused) as caught:
            await adapter.seed("1712345678901234")
        assert caught.value.status == 404


async def test_proxy_refusals_become_sentences() -> None:
    async with backend("midjourney-proxy", max_queue=1, speed=1.0) as (_sim, adapter):
        await adapter.imagine("one", None, None)
        with pytest.raises(Refused) as caught:
            await adapter.imagine("two", None, None)
        assert caught.value.failure.code == "QUEUE_FULL"
        assert "queue is full" in caught.value.human and "队列已满" in caught.value.human
        with pytest.raises(Refused) as lost:
            await adapter.press("1712345678901234", "MJ::JOB::upsample::1::x", None, None, Press())
        assert lost.value.status == 404


@pytest.mark.parametrize("shape", ["nest", "body"])
async def test_imaginepro_refusals_read_in_either_shape(shape: str) -> None:
    """Its docs show no error body: NestJS's (a 4xx; validators send a list of messages)
    and HTTP 200 {success: false, error} read the same."""
    async with backend("imaginepro", imaginepro_errors=shape, banned=("gore",)) as (_, adapter):
        with pytest.raises(BadRequest) as empty:
            await adapter.imagine(" ", None, None)
        assert "prompt should not be empty; prompt must be a string" in empty.value.human
        with pytest.raises(Refused) as lost:
            await adapter.press("not-a-job", "U1", None, None, Press())
        assert lost.value.failure.code == "NOT_FOUND" and "Message not found" in lost.value.human
        sent = await adapter.imagine("much gore", None, None)  # accepted, fails once it starts
        failed = await finished(adapter, sent.job_id)
        assert failed.failure is not None and failed.failure.code == "BANNED_PROMPT"


@pytest.mark.parametrize("api", API_NAMES)
async def test_chaos_only_ever_raises_api_errors(api: str) -> None:
    async with backend(api, chaos=0.5, seed=7, hang_seconds=0.3) as (_sim, adapter):
        adapter_errors = 0
        for i in range(30):
            try:
                sent = await adapter.imagine(f"storm {i}", None, None)
                await adapter.fetch(sent.job_id)
            except ApiError:
                adapter_errors += 1
        assert adapter_errors > 0  # chaos at 0.5 fails some; none escaped as anything else


@pytest.mark.parametrize("api", ["midjourney-proxy", "imaginepro"])
async def test_webhook_bodies_are_read_as_updates(api: str) -> None:
    async with backend(api) as (sim, adapter):
        sent = await adapter.imagine("a glacier", "ref-w", None)
        await finished(adapter, sent.job_id)
        job = sim.jobs[sent.job_id]
        body = sim.dialect.delivery(sim, _delivery(job.message_id), sim.base_url).body
        update = adapter.webhook_update(body)
        assert update is not None and update.state == "done"
        assert update.job_id == sent.job_id and update.ref == "ref-w"
        assert adapter.webhook_update({"nonsense": True}) is None


def _delivery(message_id: str) -> Any:
    from app.simulator.jobs import Delivery

    return Delivery("http://127.0.0.1:9/hook", {}, message_id)


def test_proxy_texts_are_translated_and_kept() -> None:
    queue = explain("提交失败，队列已满，请稍后重试")
    assert queue.code == "QUEUE_FULL" and "队列已满" in queue.text
    assert explain("任务超时").code == "incomplete"
    unknown = explain("某个新的错误")
    assert "Chinese" in unknown.human and unknown.original == "某个新的错误"
    assert explain("Banned prompt detected").code == "BANNED_PROMPT"
    assert explain("ALREADY_REQUESTED_UPSCALE").code == "ALREADY_REQUESTED_UPSCALE"
    assert explain("\x1b[31mred\x1b[0m").text.count("\x1b") == 0


def test_describe_prompts_split_on_blank_lines_or_crlf() -> None:
    text = "1️⃣ Cat --ar 5:4\r\n2️⃣ Cat2\n\n3️⃣ Cat3\n\n4️⃣ Cat4 --ar 5:4"
    assert split_prompts(text) == ("Cat --ar 5:4", "Cat2", "Cat3", "Cat4 --ar 5:4")


def test_unknown_api_name_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="choose one of thenextleg"):
        make_api("discord", "http://127.0.0.1:1", None)


def test_backends_do_not_import_textual_the_simulator_or_the_ui() -> None:
    code = (
        "import sys\n"
        "import app.backends, app.backends.midjourney_proxy, app.backends.imaginepro\n"
        "import app.backends.thenextleg\n"
        "bad = [m for m in sys.modules if m.startswith(('app.simulator', 'app.ui', 'textual'))]\n"
        "print(','.join(sorted(bad)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_the_secret_is_not_in_the_adapter_repr() -> None:
    adapter = make_api("midjourney-proxy", "http://127.0.0.1:1/mj", "hunter2")
    assert "hunter2" not in repr(adapter.http.auth) and "hunter2" not in repr(adapter)
    asyncio.run(adapter.aclose())
