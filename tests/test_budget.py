"""The request budget: spacing never below the interval, actions before polls, Retry-After."""

from __future__ import annotations

import asyncio
import itertools
import time

from app.jobs.budget import Priority, RequestBudget


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
