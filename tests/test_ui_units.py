"""Pure pieces of the UI: formatting, button groups, Custom Zoom parsing, a 10k-row list."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from waiting import until

from app.jobs.model import Job, JobState
from app.jobs.store import PAGE, JobStore, TreeReader, read_history_shape
from app.ui.actions import ACTIONS, BY_ID, bindings, unknown_ids
from app.ui.format import elapsed_text, progress_bar, state_text, title_text, tree_prefix
from app.ui.messages import ImagesArrived, JobUpdated
from app.ui.screens.zoom import parse_zoom
from app.ui.widgets.button_bar import group_buttons
from app.ui.widgets.job_list import JobList
from app.ui.widgets.prompt import PromptInput
from app.ui.widgets.status import StatusInfo, status_text


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


def test_titles_draw_a_tree_and_roots_say_their_prompt() -> None:
    v2 = Job(id="b", kind="button", prompt="p", label="V2", parent_id="a", favourite=True)
    assert title_text(v2, tree_prefix([False])).plain == "├ ★ V2"
    assert title_text(v2, tree_prefix([False, True])).plain == "│ └ ★ V2"
    assert title_text(v2, tree_prefix([True, True])).plain == "  └ ★ V2"
    root = Job(id="a", kind="imagine", prompt="a lighthouse\nat dusk")
    assert title_text(root).plain == "a lighthouse at dusk"


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


def test_emoji_labels_take_one_cell_on_screen_and_go_back_exactly() -> None:
    """U+FE0F makes "❤️" two cells for Textual but one for tmux: shown without it."""
    from rich.cells import cell_len

    from app.ui.widgets.button_bar import JobButton

    for label in ("❤️", "✉️", "⬅️", "🖌️ Vary (Region)"):
        button = JobButton(label)
        shown = str(button.label)
        assert "\ufe0f" not in shown and cell_len(shown) == len(shown)
        assert button.job_label == label  # what is sent back
        job = Job(id="a", kind="button", prompt="p", label=label)
        assert job.title == label  # exports and sidecars keep the label as sent
        assert title_text(job, "└ ").plain == "└ " + shown


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
    CSS = "JobList { border: none; }"  # rows at the offsets the tests count with

    def compose(self) -> ComposeResult:
        yield JobList(id="jobs")
        yield PromptInput()


async def test_a_long_list_keeps_the_cursor_on_its_job_through_changes(tmp_path: Path) -> None:
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
        table = app.query_one(JobList)
        store = JobStore(tmp_path / "h.sqlite3")
        await _on_store(table, store, roots)
        assert table.row_count == 10_000
        assert not table.select("r5000")  # not read yet: selected once the store says where
        await until(lambda: table.selected_id == "r5000", what="r5000 selected")
        # A progress update redraws its row in place; the cursor stays.
        for p in range(0, 100, 5):
            table.upsert(roots[5000].evolve(state=JobState.RUNNING, progress=p))
        await pilot.pause()
        assert "95%" in table.cells("r5000")["state"].plain
        assert table.selected_id == "r5000"
        # Rows inserted above (a child, written by another process): the cursor keeps its job.
        child = Job(
            id="c1",
            kind="button",
            prompt="prompt 3",
            label="V1",
            parent_id="r3",
            created_at=now + 20_000,
        )
        store.save(child)
        table.upsert(child)
        await until(lambda: table.row_count == 10_001, what="the new row")
        await _settled(table)
        assert table.selected_id == "r5000" and table.cursor_row == 5001
        assert table.select("r5000")  # held: at once
        table.select("c1")
        await until(lambda: table.selected_id == "c1", what="the child")
        assert table.cursor_row == 4  # under its parent
        # A new root is listed at the end at once, before the store has it.
        table.upsert(Job(id="new", kind="imagine", prompt="x", created_at=now + 30_000))
        table.move_cursor(table.row_count - 1)
        await pilot.pause()
        assert table.row_count == 10_002 and table.selected_id == "new"
        store.close()


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


def _roots(n: int) -> list[Job]:
    """r0 … r{n-1}, oldest first, with prompts 'prompt 0' …"""
    now = time.time()
    return [
        Job(id=f"r{i}", kind="imagine", prompt=f"prompt {i}", created_at=now + i) for i in range(n)
    ]


def _screen(table: JobList) -> list[str]:
    """The list's lines as drawn (header first), trailing blanks trimmed."""
    return [table.render_line(y).text.rstrip() for y in range(table.size.height)]


async def _on_store(table: JobList, store: JobStore, jobs: list[Job]) -> None:
    """The list reading ``jobs`` from a real history, as the app has it."""
    store.save_many(jobs)
    table.use_reader(TreeReader(store).snapshot)
    await _settled(table)


async def _settled(table: JobList) -> None:
    await until(lambda: table.settled, what="the list's reads")


@pytest.mark.parametrize("width", [44, 53, 58, 70])
async def test_time_and_progress_stay_in_view_in_a_narrow_list(tmp_path: Path, width: int) -> None:
    """Side by side at 100-120 columns the list is 44-55 cells wide: the state column gives
    up its spare cells, then the prompt column goes; Time keeps its place (it was cut to
    'T' and no time shown)."""
    jobs = _tree(time.time() - 3600)
    app = _TableApp()
    async with app.run_test(size=(width, 12)) as pilot:
        table = app.query_one(JobList)
        await _on_store(table, JobStore(tmp_path / "h.sqlite3"), jobs)
        await pilot.pause()
        lines = _screen(table)
        header = lines[0].split()
        assert header[0] == "Job" and header[-2:] == ["State", "Time"]
        assert ("Prompt" in header) == (width >= 58)
        assert lines[1].endswith("31s")  # r0 took 31 s
        assert lines[1].startswith(" a lake at")  # the title, also where the prompt went
        running = next(line for line in lines if "running" in line)
        assert " 40%" in running  # the bar and the percent whole


async def test_the_list_keeps_tree_order_and_the_cursor_through_changes(tmp_path: Path) -> None:
    jobs = _tree(time.time() - 3600)
    app = _TableApp()
    async with app.run_test(size=(120, 20)) as pilot:
        table = app.query_one(JobList)
        store = JobStore(tmp_path / "h.sqlite3")
        await _on_store(table, store, jobs)
        await pilot.pause()
        assert table.listed()[:3] == ["r0", "k0", "g0"]
        lines = _screen(table)
        assert lines[0].split() == ["Job", "Prompt", "State", "Time"]
        assert lines[1].startswith(" a lake at") and "└ V2" in lines[2] and "  └ U1" in lines[3]
        assert "failed: boom" in lines[2]  # k0 failed
        # the prompt column takes the width the others leave, with an ellipsis
        assert "a lake at dawn number 0 with a very long tail of words" in lines[1]

        table.select("r5")
        table.upsert(jobs[1].evolve(state=JobState.FAILED, error="x"))  # in place
        child = Job(id="c", kind="button", prompt="p", label="V1", parent_id="r0")
        store.save(child)
        table.upsert(child)  # under its parent
        root = Job(id="z", kind="imagine", prompt="new", created_at=time.time() + 10)
        store.save(root)
        table.upsert(root)  # a new root: at the end
        await until(lambda: table.row_count == 92, what="both new rows")
        await _settled(table)
        order = table.listed()
        assert order[3] == "c" and order[-1] == "z"
        assert [table.row_index(i) for i in ("c", "z")] == [3, table.row_count - 1]
        assert table.selected_id == "r5"
        assert table.virtual_size.height == table.row_count + 1  # + the header
        lines = _screen(table)
        assert "├ V2" in lines[2] and "│ └ U1" in lines[3] and "└ V1" in lines[4]

        failed = [j.id for j in jobs if j.state is JobState.FAILED]
        table.set_view("state = ?", ("failed",), lambda job: job.state is JobState.FAILED)
        await _settled(table)
        assert table.listed() == [i for i in order if i in failed]
        table.set_view()
        await _settled(table)
        assert table.row_count == len(order)
        store.close()


async def test_the_cursor_stays_in_view_and_clicks_select(tmp_path: Path) -> None:
    app = _TableApp()
    async with app.run_test(size=(100, 12)) as pilot:
        table = app.query_one(JobList)
        store = JobStore(tmp_path / "h.sqlite3")
        await _on_store(table, store, _roots(200))
        table.focus()
        await pilot.press("end")
        await _settled(table)
        await pilot.pause()
        assert table.selected_id == "r199"
        assert any("prompt 199" in line for line in _screen(table))
        await pilot.press("home", "pagedown")
        await _settled(table)
        assert table.cursor_row > 5
        assert any(f"prompt {table.cursor_row}" in line for line in _screen(table))
        before = table.cursor_row
        await pilot.press("k")
        assert table.cursor_row == before - 1
        await pilot.press("home")
        # the header is the first line: row 3 of the list is drawn at y = 1 + 3
        await pilot.click(JobList, offset=(5, 4))
        assert table.selected_id == "r3"
        store.close()


async def test_the_first_frame_is_the_end_of_the_history(tmp_path: Path) -> None:
    """Before the store is open the list shows the end of the history, read ahead (its
    length and last pages); rows further up wait with "…" until their page is read."""
    jobs = [
        Job(id=f"r{i}", kind="imagine", prompt=f"prompt {i}", created_at=1000.0 + i)
        for i in range(5 * PAGE)
    ]
    path = tmp_path / "h.sqlite3"
    with JobStore(path) as store:
        store.save_many(jobs)
    shape = read_history_shape(path)
    assert shape is not None
    app = _TableApp()
    async with app.run_test(size=(120, 20)) as pilot:
        table = app.query_one(JobList)
        table.show_snapshot(shape.snapshot)
        table.move_cursor(table.row_count - 1)
        await pilot.pause()
        assert table.row_count == 5 * PAGE and not table.complete
        assert table.unloaded_on_screen() == 0  # the newest are at the bottom, in view
        assert table.selected_id == f"r{5 * PAGE - 1}"
        table.move_cursor(0)
        await pilot.pause()
        assert table.unloaded_on_screen() > 0
        assert _screen(table)[1].strip() == "…"
        with JobStore(path) as store:
            table.use_reader(TreeReader(store).snapshot)
            await _settled(table)
            await pilot.pause()
            assert table.complete and table.selected_id == "r0"
            assert table.unloaded_on_screen() == 0 and "prompt 0" in _screen(table)[1]


async def test_paging_down_to_the_end_of_a_long_history_shows_the_oldest_root_first(
    tmp_path: Path,
) -> None:
    """5,000 jobs, read a page at a time: Page Down walks every row once, in tree order,
    from the oldest top-level job to the newest; no row is left waiting."""
    now = time.time() - 86_400
    jobs: list[Job] = []
    for i in range(2500):
        root = Job(id=f"r{i:04d}", kind="imagine", prompt=f"prompt {i}", created_at=now + 2 * i)
        kid = Job(
            id=f"k{i:04d}",
            kind="button",
            prompt=root.prompt,
            label="V1",
            parent_id=root.id,
            created_at=now + 2 * i + 1,
        )
        jobs += [kid, root]
    app = _TableApp()
    async with app.run_test(size=(100, 30)) as pilot:
        table = app.query_one(JobList)
        store = JobStore(tmp_path / "h.sqlite3")
        await _on_store(table, store, jobs)
        table.focus()
        await pilot.press("home")
        await _settled(table)
        assert table.selected_id == "r0000" and "prompt 0" in _screen(table)[1]
        presses = 0
        while table.cursor_row < table.row_count - 1 and presses < table.row_count:
            await pilot.press("pagedown")  # bounded: a screen of rows per press
            presses += 1
            await _settled(table)
            await pilot.pause()
            assert table.unloaded_on_screen() == 0  # every row in view drawn from its job
        assert table.selected_id == "k2499" and "└ V1" in _screen(table)[-1]
        assert len(table.listed()) <= 24 * PAGE  # a few pages held, not the history
        store.close()


async def test_new_jobs_show_up_when_the_end_of_the_list_is_in_view(tmp_path: Path) -> None:
    app = _TableApp()
    async with app.run_test(size=(100, 12)) as pilot:
        table = app.query_one(JobList)
        store = JobStore(tmp_path / "h.sqlite3")
        await _on_store(table, store, _roots(50))
        table.move_cursor(49)
        await pilot.pause()
        # a child of the last job lands below the view's end: the view follows
        kid = Job(id="kid", kind="button", prompt="p", label="V2", parent_id="r49")
        store.save(kid)
        table.upsert(kid)
        await until(lambda: table.row_count == 51, what="the child's row")
        await pilot.pause()
        assert table.selected_id == "r49"
        assert any("└ V2" in line for line in _screen(table))
        # scrolled up, the view stays where the user put it
        table.move_cursor(0)
        table.upsert(Job(id="new", kind="imagine", prompt="latest", created_at=time.time() + 99))
        await pilot.pause()
        assert table.row_count == 52
        assert not any("latest" in line for line in _screen(table))
        store.close()


async def test_a_changed_job_is_redrawn_on_its_line(tmp_path: Path) -> None:
    app = _TableApp()
    async with app.run_test(size=(100, 8)) as pilot:
        table = app.query_one(JobList)
        job = Job(id="a", kind="imagine", prompt="p", state=JobState.RUNNING, progress=40)
        store = JobStore(tmp_path / "h.sqlite3")
        await _on_store(table, store, [job])
        await pilot.pause()
        assert "40%" in _screen(table)[1]
        for progress in (60, 80, 60):  # back and forth: no stale line from a cache
            job = job.evolve(progress=progress)
            table.upsert(job)
            await pilot.pause()
            assert f"{progress}%" in _screen(table)[1]
        table.upsert(job.evolve(state=JobState.DONE, progress=100))
        await pilot.pause()
        assert "✓ done" in _screen(table)[1]
        store.close()


async def test_the_cursor_stays_in_view_when_the_terminal_shrinks(tmp_path: Path) -> None:
    app = _TableApp()
    async with app.run_test(size=(100, 40)) as pilot:
        table = app.query_one(JobList)
        store = JobStore(tmp_path / "h.sqlite3")
        await _on_store(table, store, _roots(100))
        table.move_cursor(99)
        await pilot.pause()
        await pilot.resize_terminal(100, 12)
        await pilot.pause()
        assert any("prompt 99" in line for line in _screen(table))
        store.close()


# -- the action registry and the typed messages --------------------------------------------


def test_every_key_is_declared_once_and_documented_in_the_readme() -> None:
    generated = [b for t in ("app", "main", "jobs", "prompt", "search") for b in bindings(t)]
    ids = [getattr(b, "id", None) for b in generated]
    assert sorted(ids) == sorted(a.id for a in ACTIONS)  # each action bound once, with its id
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Keys", 1)[1].split("\n\n", 2)[1]
    documented = {
        name
        for row in table.splitlines()
        for name in re.findall(r"`([a-z0-9_]+)`", row.rsplit("|", 2)[-2])
    }
    assert documented <= set(BY_ID), documented - set(BY_ID)  # no stale id in the README
    assert set(BY_ID) - documented <= {"tile_2", "tile_3"}  # "tile_1 … tile_4"


def test_unknown_keymap_ids_are_the_ones_no_action_has() -> None:
    assert unknown_ids({"upscale": "U", "upscal": "x", "save": "ctrl+s", "Help": "h"}) == [
        "Help",
        "upscal",
    ]


def test_progress_of_one_job_may_replace_itself_but_a_state_change_may_not() -> None:
    running = Job(id="a", kind="imagine", prompt="p", state=JobState.RUNNING, progress=10)
    later = JobUpdated(running.evolve(progress=40))
    assert JobUpdated(running).can_replace(later)
    assert not JobUpdated(running).can_replace(JobUpdated(running.evolve(state=JobState.DONE)))
    assert not JobUpdated(running).can_replace(JobUpdated(Job(id="b", kind="imagine", prompt="p")))
    assert not JobUpdated(running).can_replace(ImagesArrived("a"))
