"""Pure pieces of the UI: formatting, button groups, Custom Zoom parsing, a 10k-row list."""

from __future__ import annotations

import time

import pytest
from textual.app import App, ComposeResult

from app.jobs.model import Job, JobState
from app.ui.buttons import group_buttons
from app.ui.format import elapsed_text, progress_bar, state_text, title_text
from app.ui.joblist import JobTable
from app.ui.prompt import PromptInput
from app.ui.screens import parse_zoom
from app.ui.status import StatusInfo, status_text


def test_state_words() -> None:
    job = Job(id="a", kind="imagine", prompt="p")
    assert state_text(job).plain == "queued"
    assert state_text(job.evolve(state=JobState.SUBMITTED)).plain == "submitted"
    running = state_text(job.evolve(state=JobState.RUNNING, progress=46)).plain
    assert running.startswith("running ") and running.endswith(" 46%")
    assert state_text(job.evolve(state=JobState.DONE)).plain == "✓ done"
    failed = job.evolve(state=JobState.FAILED, error="[red]boom[/] went the server")
    assert state_text(failed, 40).plain == "failed: [red]boom[/] went the server"
    coded = job.evolve(state=JobState.FAILED, error="x", error_code="QUEUE_FULL")
    assert state_text(coded).plain == "failed: queue full"
    assert state_text(job.evolve(state=JobState.UNCERTAIN)).plain == "? uncertain"
    assert state_text(job.evolve(state=JobState.STALLED, progress=46)).plain.startswith("stalled")


def test_progress_bar_and_elapsed() -> None:
    assert progress_bar(0) == "······"
    assert progress_bar(100) == "██████"
    assert len(progress_bar(37)) == 6
    assert elapsed_text(None).plain == ""
    assert elapsed_text(5.2).plain == "5s"
    assert elapsed_text(125).plain == "2m05"
    assert elapsed_text(3700).plain == "1h01"


def test_titles_are_indented_under_parents() -> None:
    v2 = Job(id="b", kind="button", prompt="p", label="V2", parent_id="a")
    assert title_text(v2, 1).plain == "└ V2"
    assert title_text(v2, 2).plain == "  └ V2"


def test_button_groups_keep_the_services_labels() -> None:
    grid = ("U1", "U2", "U3", "U4", "🔄", "V1", "V2", "V3", "V4")
    assert group_buttons(grid) == [
        ("upscale", ["U1", "U2", "U3", "U4"]),
        ("vary", ["V1", "V2", "V3", "V4", "🔄"]),
    ]
    after = (
        "Vary (Strong)",
        "Vary (Subtle)",
        "Zoom Out 2x",
        "Custom Zoom",
        "⬅️",
        "➡️",
        "Upscale (2x)",
        "❤️",
        "Make Square",
    )
    groups = dict(group_buttons(after))
    assert groups["vary"] == ["Vary (Strong)", "Vary (Subtle)"]
    assert groups["zoom"] == ["Zoom Out 2x", "Custom Zoom", "Make Square"]
    assert groups["pan"] == ["⬅️", "➡️"]
    assert groups["upscale"] == ["Upscale (2x)"]
    assert groups["other"] == ["❤️"]


def test_custom_zoom_answers_are_checked() -> None:
    assert parse_zoom("1.5", "16:9") == (1.5, "16:9")
    assert parse_zoom("", "") == (2.0, None)
    for zoom, ar in (("3", ""), ("x", ""), ("1.5", "wide"), ("1.5", "0:1")):
        with pytest.raises(ValueError):
            parse_zoom(zoom, ar)


def test_status_line_words() -> None:
    assert "demo: built-in simulator" in status_text(StatusInfo(demo=True)).plain
    text = status_text(
        StatusInfo(
            backend="api.example", in_flight=2, holding=3, online=False, offline_reason="no route"
        )
    ).plain
    assert "api.example" in text and "2 in flight" in text
    assert "rate budget holding 3 requests" in text and "offline: no route" in text


class _TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield JobTable(id="jobs")
        yield PromptInput()


async def test_ten_thousand_jobs_stay_fast() -> None:
    now = time.time()
    roots = [
        Job(
            id=f"r{i}",
            kind="imagine",
            prompt=f"prompt {i}",
            state=JobState.DONE,
            created_at=now + i,
            finished_at=now + i + 30,
        )
        for i in range(10_000)
    ]
    app = _TableApp()
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one(JobTable)
        started = time.perf_counter()
        table.load(roots)
        assert time.perf_counter() - started < 3.0
        table.select("r5000")
        await pilot.pause()
        # A progress update touches one row: no rebuild, cursor stays.
        started = time.perf_counter()
        for p in range(0, 100, 5):
            table.upsert(roots[10].evolve(state=JobState.RUNNING, progress=p))
        assert time.perf_counter() - started < 0.5
        assert table.selected_id == "r5000"
        # A new child is placed under its parent and the cursor stays on the same job.
        child = Job(
            id="c1",
            kind="button",
            prompt="prompt 3",
            label="V1",
            parent_id="r3",
            created_at=now + 20_000,
        )
        started = time.perf_counter()
        table.upsert(child)
        assert time.perf_counter() - started < 3.0
        assert table.get_row_index("c1") == 4
        assert table.selected_id == "r5000"
        # A new root is appended without a rebuild.
        table.upsert(Job(id="new", kind="imagine", prompt="x", created_at=now + 30_000))
        assert table.get_row_index("new") == 10_001


async def test_prompt_history_walks_back_and_forth() -> None:
    app = _TableApp()
    async with app.run_test() as pilot:
        prompt = app.query_one(PromptInput)
        prompt.set_history(["one", "two"])
        prompt.focus()
        prompt.value = "draft"
        await pilot.press("up")
        assert prompt.value == "two"
        await pilot.press("up", "up")
        assert prompt.value == "one"
        await pilot.press("down")
        assert prompt.value == "two"
        await pilot.press("down")
        assert prompt.value == "draft"
        prompt.remember("one")
        assert prompt.history == ["two", "one"]
