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


def _polls(planner: PollPlanner, clock: Clock, job: str, done_at: float) -> list[float]:
    """When ``job`` is asked about (seconds after now), the service answering with its
    seed's progress steps, until the first answer after ``done_at`` (10 s at most)."""
    start, polls = clock.now, []
    for _ in range(1000):  # bounded: 10 s in 10 ms steps
        due, _ = planner.next_due()
        if due == job:
            t = clock.now - start
            polls.append(round(t, 2))
            planner.touch(job)
            if t >= done_at:
                break
            planner.polled(job, (0, 15, 31, 46, 62, 78, 93)[min(6, int(t / done_at * 7))])
        clock.now += 0.01
    return polls


def test_once_a_kind_of_job_finished_the_next_is_asked_about_just_after_that_time() -> None:
    clock = Clock()
    planner = PollPlanner(min_gap=0.3, max_gap=1.2, expected_seconds=40.0, clock=clock)
    # Nothing learned yet: asked about from its progress, every max_gap at first.
    planner.add("first", started=clock.now, kind="imagine", service_start=5000.0)
    first = _polls(planner, clock, "first", 4.0)
    planner.finished("first", 5004.0)  # the service's own clock: it took 4 s
    planner.remove("first")
    assert planner.typical("imagine") == 4.0
    planner.add("next", started=clock.now, kind="imagine", service_start=9000.0)
    polls = _polls(planner, clock, "next", 4.0)
    # The answer after the finish is asked for right after it, and the poll every max_gap
    # that would have come just before it (3.9 s, within the budget's gap) is not sent.
    assert 4.0 <= polls[-1] <= 4.02, polls
    assert not [t for t in polls if 3.7 < t < 4.0], polls
    assert polls[-1] < first[-1]  # the first job's finish was seen later (no learned time)
    # Another kind of job learns nothing from imagines.
    planner.add("vary", kind="button V", service_start=9100.0)
    assert planner.typical("button V") is None
    # A service that says nothing of its times teaches nothing.
    planner.finished("vary", None)
    assert planner.typical("button V") is None
