"""Which job gets the next poll."""

from __future__ import annotations

from app.jobs.planner import PollPlanner


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_job_nearest_to_finishing_is_polled_first() -> None:
    clock = Clock()
    planner = PollPlanner(min_gap=1.0, max_gap=4.0, expected_seconds=40.0, clock=clock)
    planner.add("slow", started=clock.now - 30)
    planner.add("fast", started=clock.now - 30)
    clock.now += 5
    planner.polled("slow", 15)  # 15 % after 35 s: far from done
    planner.polled("fast", 78)  # 78 % after 35 s: nearly done
    clock.now += 8
    job, _ = planner.next_due()
    assert job == "fast"


def test_far_from_done_jobs_are_polled_only_every_max_gap() -> None:
    clock = Clock()
    planner = PollPlanner(min_gap=1.0, max_gap=10.0, expected_seconds=100.0, clock=clock)
    planner.add("job")
    clock.now += 1.0
    planner.touch("job")
    planner.polled("job", 5)
    clock.now += 3.0
    assert planner.next_due()[0] is None  # predicted to be far from done: leave the slot free
    clock.now += 7.5
    assert planner.next_due()[0] == "job"


def test_error_backoff_is_respected() -> None:
    clock = Clock()
    planner = PollPlanner(min_gap=1.0, max_gap=2.0, clock=clock)
    planner.add("job")
    planner.failed("job", backoff=30.0)
    clock.now += 10
    job, wait = planner.next_due()
    assert job is None and 19 < wait <= 20.5
