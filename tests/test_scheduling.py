"""The scheduler against the simulator's own rate limit: no 429s, Retry-After, stalls, expiry."""

from __future__ import annotations

import itertools
from pathlib import Path

from demo_settings import demo_settings, opened
from waiting import until

from app.jobs import JobState
from app.simulator import RequestRecord, Simulator, SimulatorConfig


async def _run(
    tmp_path: Path, prompts: list[str], *, rate_limit: float, rate_interval: float
) -> list[RequestRecord]:
    """``prompts`` run to done on a simulator that allows one request per ``rate_limit`` s,
    our budget set to ``rate_interval``: the API requests the simulator saw (no images)."""
    with Simulator(SimulatorConfig(speed=100, rate_limit=rate_limit, tile_size=64)) as sim:
        settings = demo_settings(tmp_path, base_url=sim.base_url, rate_interval=rate_interval)
        async with opened(settings) as backend:
            m = backend.manager
            jobs = [m.submit_imagine(prompt) for prompt in prompts]
            await until(lambda: all(m.get(j.id).state is JobState.DONE for j in jobs), 30)  # type: ignore[union-attr]
        return [r for r in sim.requests if not r.path.startswith("/images/")]


async def test_ten_jobs_under_the_rate_limit_get_no_429(tmp_path: Path) -> None:
    interval = 0.1
    busy = [f"busy {i}" for i in range(10)]
    api = await _run(tmp_path, busy, rate_limit=interval, rate_interval=interval)
    assert sum(r.status == 429 for r in api) == 0
    gaps = [b.t - a.t for a, b in itertools.pairwise(api)]
    assert min(gaps) >= interval * 0.95  # the budget was never exceeded
    # Submissions went before polls: all ten imagines were sent before the tenth poll.
    first_polls = [i for i, r in enumerate(api) if r.path.startswith("/message")]
    last_submit = max(i for i, r in enumerate(api) if r.path == "/imagine")
    assert last_submit < first_polls[min(9, len(first_polls) - 1)]


async def test_retry_after_is_honoured(tmp_path: Path) -> None:
    # Our budget thinks there is no limit: the service's 429s must teach it to wait.
    eager = [f"eager {i}" for i in range(3)]
    api = await _run(tmp_path, eager, rate_limit=1.0, rate_interval=0.0)
    limited = [r.t for r in api if r.status == 429]
    assert limited, "the test needs at least one 429"
    # Requests already in flight when a 429 came back can't be helped (received within
    # 50 ms); after that, nothing is sent until its Retry-After (1 s) has passed.
    for t in limited:
        assert not [r for r in api if t + 0.05 < r.t < t + 0.95], "sent during Retry-After"
    assert len(limited) <= len(api) // 2


async def test_stalled_job_is_flagged_and_can_be_retried(tmp_path: Path) -> None:
    settings = demo_settings(tmp_path, sim_stall_words=("frozen",), stall_seconds=0.6)
    async with opened(settings) as backend:
        m = backend.manager
        job = m.submit_imagine("a frozen lake")
        await until(lambda: m.get(job.id).state is JobState.STALLED, 10)  # type: ignore[union-attr]
        stalled = m.get(job.id)
        assert stalled is not None and "No progress" in (stalled.error or "")
        assert stalled.progress == 46  # where the simulator froze it
        again = m.retry(job.id)
        assert again.id != job.id and again.prompt == job.prompt


async def test_expire_mins_is_passed_through(tmp_path: Path) -> None:
    settings = demo_settings(tmp_path, sim_stall_words=("frozen",), expire_mins=1)
    async with opened(settings) as backend:
        m = backend.manager
        job = m.submit_imagine("frozen forever")  # 1 simulated minute = 0.5 s at speed 120
        await until(lambda: m.get(job.id).state is JobState.FAILED, 10)  # type: ignore[union-attr]
        assert "expired" in (m.get(job.id).error or "")  # type: ignore[union-attr]
    assert backend.simulator is not None
    assert any(
        "expireMins=1" in r.path or r.path.startswith("/message")
        for r in backend.simulator.requests
    )


async def test_how_long_jobs_take_is_learned_from_the_services_own_clock(tmp_path: Path) -> None:
    # The simulator's answers carry its times (taken, finished): after one imagine the
    # planner knows how long the next one will take, and asks about it right then.
    with Simulator(SimulatorConfig(speed=35, rate_limit=0.1, tile_size=64)) as sim:
        settings = demo_settings(tmp_path, base_url=sim.base_url, rate_interval=0.1)
        async with opened(settings) as backend:
            m = backend.manager
            assert m.planner.typical("imagine") is None
            job = m.submit_imagine("a lake at dawn")
            await until(lambda: m.get(job.id).state is JobState.DONE, 30)  # type: ignore[union-attr]
            taken = sim.jobs[m.get(job.id).message_id or ""].gen_seconds  # type: ignore[union-attr]
            learned = m.planner.typical("imagine")
            assert learned is not None and abs(learned - taken) < 0.1, (learned, taken)
            assert m.planner.typical("button V") is None  # a variation may take longer
        assert sim.count(429) == 0
