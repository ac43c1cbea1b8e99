"""The request budget: spacing never below the interval, actions before polls, Retry-After."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path

from app.jobs.budget import Priority, RequestBudget, shared_budget


async def test_requests_are_spaced_by_the_interval() -> None:
    budget = RequestBudget(0.05, margin=0.0)
    stamps: list[float] = []

    async def one() -> None:
        await budget.acquire()
        stamps.append(time.monotonic())

    await asyncio.gather(*(one() for _ in range(6)))
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert len(stamps) == 6
    assert min(gaps) >= 0.045  # timer granularity allowance only


async def test_actions_go_before_polls_that_waited_longer() -> None:
    budget = RequestBudget(0.05, margin=0.0)
    await budget.acquire()  # the slot is now taken; everyone else waits
    order: list[str] = []

    async def take(name: str, priority: Priority) -> None:
        await budget.acquire(priority)
        order.append(name)

    polls = [asyncio.create_task(take(f"poll{i}", Priority.POLL)) for i in range(3)]
    await asyncio.sleep(0.01)
    action = asyncio.create_task(take("action", Priority.ACTION))
    await asyncio.gather(action, *polls)
    assert order[0] == "action"
    assert order[1:] == ["poll0", "poll1", "poll2"]


async def test_hold_delays_everything_for_retry_after() -> None:
    budget = RequestBudget(0.0)
    budget.hold(0.2)
    start = time.monotonic()
    await budget.acquire(Priority.ACTION)
    assert time.monotonic() - start >= 0.18
    assert budget.holding_back is False


async def test_cancelled_waiter_does_not_block_the_queue() -> None:
    budget = RequestBudget(0.05, margin=0.0)
    await budget.acquire()
    doomed = asyncio.create_task(budget.acquire())
    await asyncio.sleep(0.005)
    doomed.cancel()
    start = time.monotonic()
    await asyncio.wait_for(budget.acquire(), timeout=1.0)
    assert time.monotonic() - start < 0.2
    assert budget.waiting == 0


def _shared(tmp_path: Path, token: str = "secret-token") -> RequestBudget:
    """A budget as another process would open it: its own SQLite connection."""
    return RequestBudget(
        0.1, margin=0.0, shared=shared_budget(tmp_path, "http://127.0.0.1:9/", token)
    )


async def test_budgets_sharing_a_file_space_their_requests_together(tmp_path: Path) -> None:
    first, second = _shared(tmp_path), _shared(tmp_path)
    stamps: list[float] = []

    async def one(budget: RequestBudget) -> None:
        await budget.acquire()
        stamps.append(time.monotonic())
        budget.answered()

    await asyncio.gather(*(one(b) for b in (first, second) * 3))
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert len(stamps) == 6
    assert min(gaps) >= 0.095
    assert b"secret-token" not in (tmp_path / "budget.sqlite3").read_bytes()


async def test_another_process_submission_goes_before_this_ones_polls(tmp_path: Path) -> None:
    polling, submitting = _shared(tmp_path), _shared(tmp_path)
    await polling.acquire(Priority.POLL)  # the slot is taken; everyone else waits
    polling.answered()
    order: list[str] = []

    async def take(budget: RequestBudget, name: str, priority: Priority) -> None:
        await budget.acquire(priority)
        order.append(name)
        budget.answered()

    polls = [asyncio.create_task(take(polling, f"poll{i}", Priority.POLL)) for i in range(2)]
    await asyncio.sleep(0.03)
    action = asyncio.create_task(take(submitting, "action", Priority.ACTION))
    await asyncio.gather(action, *polls)
    assert order == ["action", "poll0", "poll1"]


async def test_a_429_in_one_process_holds_the_others(tmp_path: Path) -> None:
    first, second = _shared(tmp_path), _shared(tmp_path)
    first.hold(0.3)
    start = time.monotonic()
    await second.acquire(Priority.ACTION)
    assert time.monotonic() - start >= 0.25


async def test_other_tokens_have_their_own_budget(tmp_path: Path) -> None:
    first, second = _shared(tmp_path, "one"), _shared(tmp_path, "two")
    first.hold(5.0)
    async with asyncio.timeout(1.0):
        await second.acquire(Priority.ACTION)


async def test_no_process_is_granted_a_slot_while_a_request_is_unanswered(
    tmp_path: Path,
) -> None:
    """A request can reach the service long after its grant (a busy machine): the next
    one, from any process, goes only after its answer, and a spacing after that."""
    first, second = _shared(tmp_path), _shared(tmp_path)
    await first.acquire(Priority.POLL)
    granted = asyncio.create_task(second.acquire(Priority.ACTION))
    await asyncio.sleep(0.3)  # three spacings: the grant alone would have let it go
    assert not granted.done()
    first.answered()
    answered_at = time.monotonic()
    await asyncio.wait_for(granted, 1.0)
    assert time.monotonic() - answered_at >= 0.095
