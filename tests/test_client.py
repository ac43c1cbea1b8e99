"""The API client over real loopback: one typed, human error per kind of failure."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from demo_settings import demo_settings, opened

from app.api import (
    ApiError,
    ApiTimeout,
    AuthError,
    BadResponse,
    ImagineClient,
    NetworkError,
    PromptBlocked,
    RateLimited,
    ServerError,
)
from app.simulator import Simulator, SimulatorConfig

TOKEN = "tok-SECRET-42"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_the_seed_flow_imagine_poll_v1_poll(simulator: Simulator) -> None:
    async with ImagineClient(simulator.base_url) as client:
        sub = await client.imagine("A Rhinoceros in the Amazon with sun shining through")
        seen: list[int] = []
        for _ in range(200):
            status = await client.message(sub.message_id)
            if status.done:
                break
            seen.append(status.progress or 0)
            await asyncio.sleep(0.01)
        assert status.done and status.response is not None
        assert len(status.response.image_urls) == 4
        var = await client.button("V1", status.response.button_message_id or "")
        for _ in range(200):
            child = await client.message(var.message_id)
            if child.done:
                break
            await asyncio.sleep(0.01)
        assert child.done and child.response is not None and child.response.type == "button"
        assert child.response.content == status.response.content


async def test_wrong_or_missing_token_is_an_auth_error() -> None:
    with Simulator(SimulatorConfig(speed=100, token=TOKEN)) as sim:
        for token in ("wrong", None):
            async with ImagineClient(sim.base_url, token) as client:
                with pytest.raises(AuthError) as err:
                    await client.imagine("x")
            assert err.value.status == 401 and TOKEN not in err.value.human
        async with ImagineClient(sim.base_url, TOKEN) as client:
            assert (await client.imagine("x")).message_id
            assert TOKEN not in repr(client)


async def test_rate_limit_gives_retry_after() -> None:
    with Simulator(SimulatorConfig(speed=100, rate_limit=5)) as sim:
        async with ImagineClient(sim.base_url) as client:
            await client.imagine("one")
            with pytest.raises(RateLimited) as err:
                await client.imagine("two")
    assert err.value.retry_after is not None and 0 < err.value.retry_after <= 5


async def test_banned_word_is_prompt_blocked_with_the_phrase() -> None:
    with Simulator(SimulatorConfig(speed=100, banned=("ass",))) as sim:
        async with ImagineClient(sim.base_url) as client:
            with pytest.raises(PromptBlocked) as err:
                await client.imagine("a field of grass")
    assert err.value.phrase == "ass" and "'ass'" in err.value.human


async def test_chaos_faults_map_to_typed_errors() -> None:
    config = SimulatorConfig(speed=100, chaos=1.0, seed=7, hang_seconds=1.0)
    kinds: dict[type[ApiError], ApiError] = {}
    with Simulator(config) as sim:
        async with ImagineClient(sim.base_url, timeout=httpx.Timeout(0.4)) as client:
            for _ in range(60):
                try:
                    await client.imagine("chaos")
                except ApiError as exc:
                    kinds.setdefault(type(exc), exc)
                if len(kinds) == 5:
                    break
    assert set(kinds) >= {RateLimited, ServerError, BadResponse, ApiTimeout, NetworkError}
    assert kinds[ApiTimeout].maybe_sent  # type: ignore[attr-defined]
    assert all(e.human and "Traceback" not in e.human for e in kinds.values())


async def test_unreachable_host_and_bad_base_url() -> None:
    async with ImagineClient(f"http://127.0.0.1:{free_port()}") as client:
        with pytest.raises(NetworkError) as err:
            await client.message("abc")
    assert not err.value.maybe_sent and "Cannot reach" in err.value.human
    for bad in ("", "localhost:8080", "ftp://x", "javascript:alert(1)"):
        with pytest.raises(ValueError, match="not a usable base URL"):
            ImagineClient(bad)


async def test_the_environment_proxy_is_used_and_no_proxy_honoured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from hostile import Hostile, json_reply, serve

    proxy = Hostile()  # a forward proxy sees absolute URLs in the request line
    service = f"http://127.0.0.1:{free_port()}"  # nothing listens: only the proxy answers
    proxy.on(f"{service}/message/*", lambda p, b: json_reply({"progress": 42}))
    stop = serve(proxy)
    for var in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(var, raising=False)
        monkeypatch.delenv(var.upper(), raising=False)
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    try:
        async with ImagineClient(service) as client:
            assert client.proxy == proxy.url
            assert (await client.message("m1")).progress == 42
        async with ImagineClient(service, use_env_proxy=False) as client:
            assert client.proxy is None
            with pytest.raises(NetworkError, match="Cannot reach"):
                await client.message("m1")
        monkeypatch.setenv("NO_PROXY", "example.com, 127.0.0.1")
        async with ImagineClient(service) as client:
            assert client.proxy is None
            with pytest.raises(NetworkError, match="Cannot reach"):
                await client.message("m1")
    finally:
        stop()
    assert proxy.hits == [f"{service}/message/m1"]


def test_config_says_which_proxy_without_its_password(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "HTTPS_PROXY": "http://me:hunter2@proxy.example:3128",
        "IMAGINE_BASE_URL": "https://api.example.com",
        "XDG_CONFIG_HOME": str(tmp_path),
    }
    for var in ("https_proxy", "no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY"):
        env.pop(var, None)
    out = subprocess.run(
        [sys.executable, "-m", "app", "config"], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert "proxy: http://***@proxy.example:3128 (from the environment)" in out.stdout
    assert "hunter2" not in out.stdout
    env["NO_PROXY"] = "api.example.com"
    out = subprocess.run(
        [sys.executable, "-m", "app", "config"], env=env, capture_output=True, text=True, timeout=60
    )
    assert "proxy: none" in out.stdout


async def test_the_demo_simulator_is_never_reached_through_a_proxy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.jobs import JobState

    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")  # a dead proxy
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    async with opened(demo_settings(tmp_path)) as backend:
        assert backend.api.client.proxy is None  # type: ignore[attr-defined]
        job = backend.manager.submit_imagine("local only")
        for _ in range(500):
            if backend.manager.get(job.id).state is JobState.DONE:  # type: ignore[union-attr]
                break
            await asyncio.sleep(0.02)
        assert backend.manager.get(job.id).state is JobState.DONE  # type: ignore[union-attr]
