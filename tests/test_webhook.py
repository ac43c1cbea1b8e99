"""Webhook mode: jobs finish on the webhook with no polling, and fall back to polling."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from demo_settings import demo_settings, opened
from hostile import Hostile, serve
from waiting import until

from app.jobs import JobState
from app.jobs.model import Job
from app.runtime import Backend
from app.simulator import Simulator, SimulatorConfig


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_done(backend: Backend, ids: list[str]) -> None:
    def done(i: str) -> bool:
        job = backend.manager.get(i)
        return job is not None and job.state is JobState.DONE

    await until(lambda: all(done(i) for i in ids), 10, what=f"jobs {ids} done")


async def test_jobs_finish_on_the_webhook_without_polling(tmp_path: Path) -> None:
    with Simulator(SimulatorConfig(speed=100, tile_size=64)) as sim:
        settings = demo_settings(
            tmp_path,
            base_url=sim.base_url,
            rate_interval=0.0,
            webhook_listen="127.0.0.1:0",
            expected_seconds=1.0,
            webhook_grace=30.0,
        )
        async with opened(settings) as backend:
            jobs = [backend.manager.submit_imagine(f"hooked {i}") for i in range(3)]
            await wait_done(backend, [j.id for j in jobs])
            assert backend.webhook is not None and backend.webhook.received == 3
        assert sim.count(path_prefix="/message") == 0  # not one poll was needed


async def test_no_webhook_in_time_falls_back_to_polling(tmp_path: Path) -> None:
    with Simulator(SimulatorConfig(speed=100, tile_size=64)) as sim:
        dead = f"http://127.0.0.1:{free_port()}/hook"  # the service's calls go nowhere
        settings = demo_settings(
            tmp_path,
            base_url=sim.base_url,
            rate_interval=0.0,
            webhook_public_url=dead,
            expected_seconds=0.3,
            webhook_grace=0.5,
        )
        async with opened(settings) as backend:
            job = backend.manager.submit_imagine("nobody listens")
            await wait_done(backend, [job.id])
        assert sim.count(path_prefix="/message") >= 1


async def test_receiver_refuses_junk_and_keeps_running(tmp_path: Path) -> None:
    settings = demo_settings(tmp_path, webhook_listen="127.0.0.1:0")
    async with opened(settings) as backend:
        assert backend.webhook is not None
        url = backend.webhook.address
        async with httpx.AsyncClient() as http:
            assert (await http.post(url, content=b"not json")).status_code == 400
            assert (await http.get(url)).status_code == 405
            big = b"{" + b" " * (2 * 1024 * 1024) + b"}"
            assert (await http.post(url, content=big)).status_code == 413
            ok = await http.post(url, json={"progress": 100, "response": {"ref": "nobody"}})
            assert ok.status_code == 200


@asynccontextmanager
async def _uncertain(tmp_path: Path, prompt: str) -> AsyncIterator[tuple[Backend, Job, Hostile]]:
    """A backend listening for webhooks, and a job of ``prompt`` left uncertain: the
    service's answer to its submit was lost (garbled), so only a webhook can settle it."""
    hostile = Hostile()
    hostile.on("/imagine", lambda p, b: (200, {}, b"{garbled"))
    stop = serve(hostile)
    settings = demo_settings(
        tmp_path, base_url=hostile.url, rate_interval=0.0, webhook_listen="127.0.0.1:0"
    )
    try:
        async with opened(settings) as backend:
            job = backend.manager.submit_imagine(prompt)
            await until(
                lambda: backend.manager.get(job.id).state is JobState.UNCERTAIN,  # type: ignore[union-attr]
                what="the job uncertain",
            )
            yield backend, job, hostile
    finally:
        stop()


async def test_a_webhook_reconciles_an_uncertain_job(tmp_path: Path) -> None:
    async with _uncertain(tmp_path, "did it arrive?") as (backend, job, hostile):
        assert backend.webhook is not None
        body = {
            "progress": 100,
            "response": {
                "ref": job.id,
                "originatingMessageId": "srv-42",
                "content": "did it arrive?",
                "buttons": ["U1"],
                "imageUrls": [],
                "buttonMessageId": "b-42",
            },
        }
        async with httpx.AsyncClient() as http:
            assert (await http.post(backend.webhook.address, json=body)).status_code == 200
        reconciled = backend.manager.get(job.id)
        assert reconciled is not None and reconciled.state is JobState.DONE
        assert reconciled.message_id == "srv-42" and hostile.hits.count("/imagine") == 1


async def test_a_webhook_without_the_secret_path_is_refused(tmp_path: Path) -> None:
    """Any local process can reach the port: only the URL told to the service may finish jobs."""
    async with _uncertain(tmp_path, "forge me") as (backend, job, _):
        receiver = backend.webhook
        assert receiver is not None
        forged = {
            "progress": 100,
            "response": {
                "ref": job.id,
                "content": "forged",
                "buttons": ["U1"],
                "imageUrls": ["http://evil.example/1.png"],
                "buttonMessageId": "evil",
            },
        }
        root = f"http://127.0.0.1:{receiver.port}"
        async with httpx.AsyncClient() as http:
            for path in ("/", "/hook", "/" + receiver.secret[:-1], "/x" + receiver.secret):
                assert (await http.post(root + path, json=forged)).status_code == 404, path
        kept = backend.manager.get(job.id)
        assert kept is not None and kept.state is JobState.UNCERTAIN and not kept.image_urls
        assert receiver.received == 0 and receiver.refused == 4


async def test_the_public_url_carries_the_secret(tmp_path: Path) -> None:
    settings = demo_settings(
        tmp_path,
        webhook_listen="127.0.0.1:0",
        webhook_public_url="https://example.com/imagine-hook/",
    )
    async with opened(settings) as backend:
        assert backend.webhook is not None and len(backend.webhook.secret) >= 32
        told = backend.manager.settings.webhook_url
        assert told == f"https://example.com/imagine-hook/{backend.webhook.secret}"


async def test_a_webhook_never_replaces_a_finished_jobs_images(tmp_path: Path) -> None:
    with Simulator(SimulatorConfig(speed=100, tile_size=64)) as sim:
        settings = demo_settings(
            tmp_path, base_url=sim.base_url, rate_interval=0.0, webhook_listen="127.0.0.1:0"
        )
        async with opened(settings) as backend:
            job = backend.manager.submit_imagine("finished once")
            await wait_done(backend, [job.id])
            done = backend.manager.get(job.id)
            assert done is not None and backend.webhook is not None
            late = {
                "progress": 100,
                "response": {
                    "ref": job.id,
                    "content": "again",
                    "buttons": ["U1"],
                    "imageUrls": ["http://elsewhere.example/1.png"],
                    "buttonMessageId": "other",
                },
            }
            async with httpx.AsyncClient() as http:
                await http.post(backend.webhook.address, json=late)
            after = backend.manager.get(job.id)
            assert after is not None and after.image_urls == done.image_urls
            assert after.button_message_id == done.button_message_id
