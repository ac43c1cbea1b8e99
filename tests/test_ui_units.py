"""Pure pieces of the UI: formatting, button groups, Custom Zoom parsing, a 10k-row list."""

from __future__ import annotations

import time

import pytest
from textual.app import App, ComposeResult
from textual.widgets import DataTable

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


def _tree(now: float) -> list[Job]:
    """Roots with children and grandchildren, a favourite, a failure and a running job."""
    out: list[Job] = []
    for i in range(30):
        root = Job(
            id=f"r{i}",
            kind="imagine",
            prompt=f"a lake at dawn number {i} with a very long tail of words",
            state=JobState.DONE,
            created_at=now + 10 * i,
            finished_at=now + 10 * i + 31,
            favourite=i == 3,
        )
        kid = Job(
            id=f"k{i}",
            kind="button",
            prompt=root.prompt,
            label="V2",
            parent_id=root.id,
            state=JobState.FAILED if i % 7 == 0 else JobState.RUNNING,
            progress=40,
            error="boom" if i % 7 == 0 else None,
            created_at=now + 10 * i + 40,
        )
        grandkid = Job(
            id=f"g{i}",
            kind="button",
            prompt=root.prompt,
            label="U1",
            parent_id=kid.id,
            state=JobState.QUEUED,
            created_at=now + 10 * i + 50,
        )
        out += [grandkid, root, kid]  # load() sorts by creation time
    return out


def _snapshot(table: JobTable) -> tuple[object, ...]:
    ordered = [row.key.value for row in table.ordered_rows]
    return (
        table.row_count,
        ordered,
        [table.get_row_index(key) for key in ordered if key is not None],
        [table.get_row_at(i) for i in range(table.row_count)],
        [(key.value, y) for key, y in table._y_offsets],
        [(row.height, row.label, row.auto_height) for row in table.ordered_rows],
        table.cursor_coordinate,
        table.virtual_size,
    )


async def test_bulk_load_matches_add_row() -> None:
    """JobTable fills DataTable's internals itself (see joblist.py): the result must be
    what add_row one row at a time gives (this guards a textual upgrade)."""
    jobs = _tree(time.time() - 3600)
    app = _TableApp()
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one(JobTable)
        table.load(jobs)
        await pilot.pause()
        fast = _snapshot(table)
        assert table.tree_order()[:3] == ["r0", "k0", "g0"]

        order = table.tree_order()
        DataTable.clear(table)
        for job_id in order:
            DataTable.add_row(table, *table._cells(table._jobs[job_id]), key=job_id)
        await pilot.pause()
        assert _snapshot(table) == fast
        # DataTable's own measuring pass and offsets agree with the shortcuts
        assert DataTable._y_offsets.fget(table) == table._y_offsets  # type: ignore[attr-defined]
        DataTable._update_dimensions(table, [])
        assert table.virtual_size == fast[-1]

        # The cached row order follows every kind of change.
        table.select("r5")
        table.upsert(jobs[1].evolve(state=JobState.FAILED, error="x"))  # in place
        child = Job(id="c", kind="button", prompt="p", label="V1", parent_id="r0")
        table.upsert(child)  # a rebuild
        root = Job(id="z", kind="imagine", prompt="new", created_at=time.time() + 10)
        table.upsert(root)  # appended
        await pilot.pause()
        keys = [row.key.value for row in table.ordered_rows]
        assert keys == table.tree_order()
        assert keys[3] == "c" and keys[-1] == "z"
        assert [key.value for key, _ in table._y_offsets] == keys
        assert table.selected_id == "r5"
        assert table.virtual_size.height == table.row_count + 1  # + the header
        table.set_filter(lambda job: job.state is JobState.FAILED)
        assert [row.key.value for row in table.ordered_rows] == [
            j for j in table.tree_order() if table._jobs[j].state is JobState.FAILED
        ]


def test_cached_cells_equal_fresh_ones() -> None:
    from app.ui.format import elapsed_cell, prompt_cell, state_cell, title_cell

    for job in _tree(time.time()):
        for depth in (0, 1, 3):
            assert title_cell(job, depth) == title_text(job, depth)
        assert state_cell(job, 22) == state_text(job, 22)
        assert elapsed_cell(job.elapsed) == elapsed_text(job.elapsed)
        assert elapsed_cell(None) == elapsed_text(None)
        from app.ui.format import prompt_text

        assert prompt_cell(job, 16) == prompt_text(job, 16)
    # shared between equal rows: one object, so a 10k list holds few Texts
    a, b = Job(id="a", kind="imagine", prompt="p"), Job(id="b", kind="imagine", prompt="p")
    assert state_cell(a) is state_cell(b) and prompt_cell(a, 16) is prompt_cell(b, 16)
