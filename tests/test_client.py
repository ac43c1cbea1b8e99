"""The API client over real loopback: one typed, human error per kind of failure."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest

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
