"""The request budget: spacing never below the interval, actions before polls, Retry-After."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import time
from pathlib import Path

from app.jobs.budget import Priority, RequestBudget, budget_key, shared_budget


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


def _all_bytes(folder: Path) -> bytes:
    """Every file SQLite keeps there (the database, its WAL and shared memory)."""
    return b"".join(p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file())


async def test_the_budget_file_holds_no_url_password_nor_token(tmp_path: Path) -> None:
    url = "http://alice:hunter2@127.0.0.1:9/v1"
    budget = RequestBudget(0.1, margin=0.0, shared=shared_budget(tmp_path, url, "secret-token"))
    await budget.acquire()
    budget.answered()
    assert budget.shared is not None
    budget.shared.close()
    stored = _all_bytes(tmp_path)
    assert b"hunter2" not in stored and b"alice" not in stored
    assert b"secret-token" not in stored


def test_services_and_tokens_keep_separate_budgets() -> None:
    keys = {
        budget_key("http://a.example/v1", "t1"),
        budget_key("http://a.example/v1/", "t1"),  # the same service
        budget_key("http://a.example/v1", "t2"),
        budget_key("http://b.example/v1", "t1"),
        budget_key("http://u:p1@a.example/v1", "t1"),
        budget_key("http://u:p2@a.example/v1", "t1"),
    }
    assert len(keys) == 5


async def test_a_budget_file_from_before_loses_its_url_keys(tmp_path: Path) -> None:
    """Older versions keyed slots by the base URL, password included."""
    path = tmp_path / "budget.sqlite3"
    with sqlite3.connect(path) as db:
        db.executescript(
            "CREATE TABLE slots (key TEXT PRIMARY KEY, next_free REAL NOT NULL,"
            " held_until REAL NOT NULL, spacing REAL NOT NULL, granted_to TEXT);"
            "INSERT INTO slots VALUES ('http://alice:hunter2@h.example#ab12', 0, 0, 1, NULL);"
        )
    db.close()
    assert b"hunter2" in path.read_bytes()
    budget = _shared(tmp_path)
    await budget.acquire()
    budget.answered()
    assert budget.shared is not None
    budget.shared.close()
    assert b"hunter2" not in _all_bytes(tmp_path)
