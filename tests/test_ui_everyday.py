"""Everyday use: keys and palette, history, saving and sharing, input buttons, themes."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from textual import events
from textual.app import App, ComposeResult
from textual.command import CommandInput, CommandList, CommandPalette
from textual.widgets import Input, Static
from ui_helpers import (
    SIZE,
    find,
    hold_backend,
    jobs,
    palette_text,
    send_prompt,
    ui_settings,
    view_shown,
    wait_done,
    wait_grid,
    wait_ready,
    wait_tiles,
)
from waiting import until

from app.jobs.model import Job, JobState
from app.jobs.store import JobStore, TreeReader
from app.ui import sharing
from app.ui.actions import help_rows
from app.ui.app import ImagineApp
from app.ui.commands import hit_text, unique_prompts
from app.ui.screens.help import HelpScreen
from app.ui.screens.image import ImageScreen
from app.ui.screens.save import SaveScreen
from app.ui.screens.zoom import CustomZoomScreen
from app.ui.widgets import job_panel
from app.ui.widgets.button_bar import ButtonBar, JobButton
from app.ui.widgets.history_bar import View
from app.ui.widgets.job_list import JobList

ENVELOPE = "\u2709\ufe0f"


class Notes:
    """Records every notification's text (the toasts still appear)."""

    def __init__(self, app: ImagineApp, monkeypatch: pytest.MonkeyPatch) -> None:
        self.texts: list[str] = []
        original = app.notify

        def notify(message: str, **kwargs: Any) -> None:
            self.texts.append(str(message))
            original(message, **kwargs)

        monkeypatch.setattr(app, "notify", notify)

    def has(self, fragment: str) -> bool:
        return any(fragment in text for text in self.texts)


async def _submit(pilot: Any, app: ImagineApp, prompt: str) -> Job:
    await send_prompt(pilot, app, prompt)
    job = find(app, prompt=prompt, kind="imagine")
    assert job is not None
    return await wait_done(pilot, app, id=job.id)


def _focus(app: ImagineApp) -> object:
    return app.focused


def _button(app: ImagineApp, label: str) -> JobButton | None:
    for button in app.query(JobButton):
        if button.job_label == label:
            return button
    return None


async def _job_button(app: ImagineApp, job_id: str, label: str) -> JobButton:
    """Select ``job_id``, then its button ``label`` once the bar holds that job's buttons:
    while the bar is rebuilt, the previous job's buttons are still there for a moment."""
    await until(lambda: app.main.table.select(job_id), what=f"the job {job_id} in the list")

    def ready() -> JobButton | None:
        bar = app.query_one("#buttons", ButtonBar)
        job = app.main.selected_job
        if job is None or job.id != job_id or bar.job_id != job_id:
            return None
        if {b.job_label for b in bar.buttons} != set(job.buttons):
            return None
        return _button(app, label)

    button: JobButton = await until(ready, what=f"the {label} button of {job_id}")
    return button


async def _field(app: ImagineApp, screen: type[Any], field_id: str, what: str) -> Input:
    """The dialog's input ``field_id``: a dialog is pushed first and composed a moment
    later, so waiting for the screen alone can find it still empty."""

    def found() -> Input | None:
        if not isinstance(app.screen, screen):
            return None
        fields = app.screen.query(f"#{field_id}")
        return fields.first(Input) if fields else None

    field: Input = await until(found, what=what)
    return field


# -- keys, help, palette -------------------------------------------------------------------


async def test_keymap_remaps_and_help_lists_every_key(tmp_path: Path) -> None:
    settings = ui_settings(tmp_path, keymap={"upscale": "U", "help": "f1", "no_such_id": "z"})
    app = ImagineApp(settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        # every App binding can be remapped: each has an id
        for binding in ImagineApp.BINDINGS:
            assert getattr(binding, "id", None), binding
        rows = {(keys, what) for _section, keys, what in help_rows(app)}
        assert ("U", "upscale the selected tile (U1–U4)") in rows
        assert ("F1", "this help") in rows or ("f1", "this help") in rows
        actions = {what for _s, _k, what in help_rows(app)}
        for expected in ("save the selected tile (+ JSON sidecar)", "search prompts", "quit"):
            assert expected in actions
        root = await _submit(pilot, app, "a remapped barn")
        app.main.table.focus()
        await pilot.press("U")  # the new key
        u1 = await wait_done(pilot, app, label="U1")
        assert u1.parent_id == root.id
        await pilot.press("f1")
        await until(lambda: isinstance(app.screen, HelpScreen), what="the help screen")
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        # "?" no longer opens help; "u" no longer upscales
        await pilot.press("question_mark")
        await pilot.pause(0.05)
        assert not isinstance(app.screen, HelpScreen)


async def test_unknown_keymap_id_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = ImagineApp(ui_settings(tmp_path, keymap={"upscal": "U"}))
    texts: list[str] = []
    monkeypatch.setattr(app, "notify", lambda message, **kw: texts.append(str(message)))
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        assert any("upscal" in t for t in texts)


def _burst(app: ImagineApp, *keys: str) -> None:
    """Keys as a terminal hands over a fast burst: queued all at once, none waited for."""
    for key in keys:
        app.post_message(events.Key(key, key if len(key) == 1 else None))


async def test_a_fast_burst_of_keys_is_typed_in_order(tmp_path: Path) -> None:
    """ctrl+p, 'button', 6 x Backspace, 'pan' in one burst read "but" (issue 15): the
    input's Backspace ran after the letters typed behind it."""
    app = ImagineApp(ui_settings(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await pilot.press("ctrl+p")
        box = await until(
            lambda: isinstance(app.screen, CommandPalette) and app.screen.query(CommandInput),
            what="the palette's input",
        )
        _burst(app, *"button", *["backspace"] * 6, *"pan", "left", "left", "x")
        await until(lambda: box.first().value == "pxan", what="'pxan' in the palette")
        await pilot.press("escape")
        await until(lambda: app.screen is app.main, what="the palette closed")
        app.main.table.focus()
        await until(lambda: app.focused is app.main.table, what="the list focused")
        # the keys behind / and Esc follow the focus they move: none reach the list
        # (there c, d, e would go to a child, describe a tile, edit the prompt)
        _burst(app, "slash", *"abc", "backspace", "backspace", *"de", "home", "x", "escape")
        await until(lambda: app.main.prompt_input.value == "xade", what="'xade' in the prompt")
        await until(lambda: app.focused is app.main.table, what="the list after Esc")
        _burst(app, "slash", "end", "y", "escape", "slash", "z")
        await until(lambda: app.main.prompt_input.value == "xadeyz", what="'xadeyz'")
        assert len(jobs(app)) == 0  # nothing was sent


async def test_keys_typed_right_after_e_or_ctrl_f_follow_the_focus(tmp_path: Path) -> None:
    """e then ', 35mm' typed fast from the list edit the prompt, none reach the list (there
    3 and m would pick tile 3 and open a remix); ctrl+f then 'harb' is the query. The
    palette's "Edit and re-run prompt" still works with the prompt focused."""
    app = ImagineApp(ui_settings(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        job = await _submit(pilot, app, "a quiet harbour")
        app.main.table.focus()
        await until(lambda: app.focused is app.main.table, what="the list focused")
        prompt = app.main.prompt_input
        _burst(app, "e", ",")
        app.post_message(events.Key("space", " "))
        _burst(app, *"35mm")
        await until(lambda: prompt.value == "a quiet harbour, 35mm", what="the edited prompt")
        assert prompt.cursor_position == len(prompt.value)
        assert app.focused is prompt and app.screen is app.main  # no remix dialog
        assert app.main.grid.selected == 1 and len(jobs(app)) == 1
        _burst(app, *"e!")  # in the prompt, e is a letter
        await until(lambda: prompt.value.endswith("35mme!"), what="e typed")

        app.main.table.focus()
        await until(lambda: app.focused is app.main.table, what="the list again")
        _burst(app, "ctrl+f", *"harb")
        search = app.main.search_input
        await until(lambda: search.value == "harb", what="'harb' in the search box")
        assert app.focused is search and app.main.table.selected_id == job.id

        prompt.value = ""
        app.main.set_focus(prompt)
        await pilot.press("ctrl+p")
        await until(lambda: isinstance(app.screen, CommandPalette), what="the palette")
        await pilot.press(*"edit and re-run")

        def first_hit() -> str:
            hits = app.screen.query(CommandList)
            found = hits.first() if hits else None
            return str(found.get_option_at_index(0).prompt) if found and found.option_count else ""

        await until(lambda: "Edit and re-run prompt" in first_hit(), what="the palette's hit")
        await pilot.press("enter")
        await until(lambda: prompt.value == job.prompt, what="the palette's edit")
        assert len(jobs(app)) == 1


async def test_palette_finds_past_prompts_and_selects_the_job(tmp_path: Path) -> None:
    app = ImagineApp(ui_settings(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        first = await _submit(pilot, app, "a [bold]lighthouse[/bold] at dusk")
        await _submit(pilot, app, "a meadow of poppies")
        assert app.main.table.selected_id != first.id
        app.main.table.focus()
        await pilot.press("ctrl+p")
        await until(lambda: isinstance(app.screen, CommandPalette), what="the palette")
        for char in "lighthouse":
            await pilot.press(char)

        def hit_shown() -> bool:
            return "imagine · a [bold]lighthouse" in palette_text(app)

        await until(hit_shown, what="the past prompt in the palette, literally")
        await pilot.press("enter")
        await until(lambda: app.main.table.selected_id == first.id, what="the job selected")


def test_hit_text_is_literal_and_prompts_are_unique() -> None:
    text = hit_text("[red]x[/red] \x1b[31mboom", [1])
    assert text.plain == "imagine · [red]x[/red] boom"
    older = Job(id="a", kind="imagine", prompt="p", created_at=1.0)
    newer = Job(id="b", kind="imagine", prompt="p", created_at=2.0)
    child = Job(id="c", kind="button", prompt="p", label="V1", created_at=3.0)
    assert unique_prompts([older, newer, child]) == [("p", newer)]


# -- history -------------------------------------------------------------------------------


async def test_filter_search_favourite_and_rerun(tmp_path: Path) -> None:
    settings = ui_settings(tmp_path, sim_banned=("grass",))
    app = ImagineApp(settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        barn = await _submit(pilot, app, "a red barn in snow")
        await _submit(pilot, app, "a blue boat at sea")
        await send_prompt(pilot, app, "a field of grass")
        await until(lambda: find(app, state=JobState.FAILED), what="the refused job")
        assert app.main.table.row_count == 3

        # favourite: ★ in the row
        app.main.table.select(barn.id)
        app.main.table.focus()
        await pilot.press("f")
        await until(lambda: "★" in str(app.main.table.cells(barn.id)["job"]), what="the ★")

        # F cycles all → running → done → failed → favourites → all
        seen = []
        for _ in range(5):
            await pilot.press("F")
            await view_shown(pilot)
            seen.append((app.main.view.state, app.main.table.row_count))
        assert seen == [("running", 0), ("done", 2), ("failed", 1), ("favourites", 1), ("all", 3)]
        await pilot.press("F", "F")  # done
        await view_shown(pilot)
        assert "done" in str(app.main.table.border_title)
        assert "2 of 3" in str(app.main.table.border_title)

        # search narrows within the filter; Esc shows everything again
        await pilot.press("ctrl+f")
        assert _focus(app) is app.main.search_input
        for char in "barn":
            await pilot.press(char)
        await until(lambda: app.main.table.row_count == 1, what="one match")
        assert app.main.table.selected_id == barn.id
        await pilot.press("enter")
        assert _focus(app) is app.main.table
        assert app.main.table.row_count == 1
        await pilot.press("escape")
        await view_shown(pilot)
        assert app.main.table.row_count == 3
        assert not app.main.view.active
        assert not app.main.search_input.display

        # e: the prompt goes back into the prompt pane; Enter runs it again
        app.main.table.select(barn.id)
        await pilot.press("e")
        assert _focus(app) is app.main.prompt_input
        assert app.main.prompt_input.value == "a red barn in snow"
        await pilot.press("enter")
        await until(
            lambda: len([j for j in jobs(app) if j.prompt == "a red barn in snow"]) == 2,
            what="the re-run",
        )


async def test_filtered_list_follows_state_changes(tmp_path: Path) -> None:
    app = ImagineApp(ui_settings(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        app.main.table.focus()
        await pilot.press("F")  # running
        assert app.main.view == View(state="running")
        await send_prompt(pilot, app, "a slow river")
        job = find(app, prompt="a slow river")
        assert job is not None
        await wait_done(pilot, app, id=job.id)
        # it left the "running" view when it finished
        await until(lambda: app.main.table.row_count == 0, what="the done job to leave the view")


class _TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield JobList(id="jobs")


async def test_ten_thousand_jobs_filter_fast(tmp_path: Path) -> None:
    now = time.time()
    many = [
        Job(
            id=f"j{i:05d}",
            kind="imagine",
            prompt=f"prompt number {i} {'castle' if i % 100 == 0 else 'field'}",
            state=JobState.DONE if i % 3 else JobState.FAILED,
            created_at=now + i,
        )
        for i in range(10_000)
    ]
    app = _TableApp()
    async with app.run_test() as pilot:
        table = app.query_one(JobList)
        with JobStore(tmp_path / "h.sqlite3") as store:
            store.save_many(many)
            table.use_reader(TreeReader(store).snapshot)
            await until(lambda: table.settled and table.row_count == 10_000, what="the list")
            view = View(state="done", query="castle")
            predicate = view.predicate()
            table.set_view(*view.condition(), predicate)
            await until(lambda: table.settled, what="the filtered list")
            assert table.row_count == len([j for j in many if predicate and predicate(j)])
            table.set_view()
            await until(lambda: table.settled, what="every job again")
            assert table.row_count == 10_000
            await pilot.pause()


# -- saving and sharing --------------------------------------------------------------------


async def _answer_folder(pilot: Any, app: ImagineApp, folder: Path) -> None:
    field = await _field(app, SaveScreen, "save-folder", "the folder question")
    assert field.value  # prefilled
    field.value = str(folder)
    await pilot.press("enter")


async def test_save_open_copy_and_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = ImagineApp(ui_settings(tmp_path / "data"))
    copied: list[str] = []
    monkeypatch.setattr(app, "copy_to_clipboard", copied.append)
    opened: list[Path] = []

    def no_viewer(path: Path) -> bool:
        opened.append(path)
        return False

    monkeypatch.setattr(sharing, "open_in_viewer", no_viewer)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        notes = Notes(app, monkeypatch)
        root = await _submit(pilot, app, "a lighthouse <b>at</b> dusk")
        await wait_tiles(pilot, app, 4)
        app.main.table.focus()
        out = tmp_path / "saved"

        # s: the selected tile
        await pilot.press("2", "s")
        await _answer_folder(pilot, app, out)
        await until(lambda: (out / f"{root.id}.json").exists(), what="the sidecar")
        assert sorted(p.name for p in out.glob("*.png")) == [f"{root.id}_2.png"]
        meta = json.loads((out / f"{root.id}.json").read_text())
        assert meta["prompt"] == "a lighthouse <b>at</b> dusk"
        assert meta["jobId"] == root.id
        assert meta["files"] == [f"{root.id}_2.png"]
        assert meta["buttonMessageId"] == root.button_message_id
        await until(lambda: notes.has("Saved 1 image"), what="the saved note")

        # S: all four; the folder is remembered
        await pilot.press("S")
        field = await _field(app, SaveScreen, "save-folder", "the folder question")
        assert field.value == str(out)
        await pilot.press("enter")
        await until(lambda: len(list(out.glob("*.png"))) == 4, what="four images")

        # y / Y: OSC 52
        await pilot.press("3", "y")
        assert copied[-1] == root.display_urls[2]
        await pilot.press("Y")
        assert copied[-1] == "a lighthouse <b>at</b> dusk"
        assert notes.has("Copied the prompt")

        # o: no viewer here -> the notification gives the path
        await pilot.press("o")
        await until(lambda: opened, what="the viewer call")
        assert opened[0].is_file()
        await until(lambda: notes.has(str(opened[0])), what="the path in a notification")

        # x: the whole tree
        await pilot.press("1", "v")
        v1 = await wait_done(pilot, app, label="V1")
        app.main.table.select(v1.id)
        await wait_tiles(pilot, app, 4)
        await pilot.press("x")
        tree = tmp_path / "tree"
        await _answer_folder(pilot, app, tree)
        await until(lambda: (tree / "index.html").exists(), what="index.html")
        page = (tree / "index.html").read_text()
        assert "a lighthouse &lt;b&gt;at&lt;/b&gt; dusk" in page
        assert "<b>at</b>" not in page
        assert (tree / f"{root.id}.json").exists() and (tree / f"{v1.id}.json").exists()
        await until(lambda: notes.has("Exported to"), what="the export note")


async def test_save_dialog_cancel_and_bad_folder(tmp_path: Path) -> None:
    app = ImagineApp(ui_settings(tmp_path / "data"))
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await _submit(pilot, app, "a quiet pond")
        app.main.table.focus()
        await pilot.press("s")
        field = await _field(app, SaveScreen, "save-folder", "the folder question")
        a_file = tmp_path / "file.txt"
        a_file.write_text("x")
        field.value = str(a_file)
        await pilot.press("enter")
        assert isinstance(app.screen, SaveScreen)  # stays open with an error
        await pilot.press("escape")
        assert not isinstance(app.screen, SaveScreen)
        assert not (tmp_path / "data" / "exports").exists()


# -- buttons that need input -----------------------------------------------------------------


async def test_custom_zoom_and_envelope_seed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = ImagineApp(ui_settings(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        notes = Notes(app, monkeypatch)
        await _submit(pilot, app, "a castle on a hill")
        app.main.table.focus()
        await pilot.press("1", "u")
        u1 = await wait_done(pilot, app, label="U1")
        zoom = await _job_button(app, u1.id, "Custom Zoom")
        zoom.press()  # as Enter on the focused button does
        await _field(app, CustomZoomScreen, "zoom-ar", "the question")
        app.screen.query_one("#zoom-value", Input).value = "1.5"
        app.screen.query_one("#zoom-ar", Input).value = "16:9"
        await pilot.press("enter")
        zoomed = await wait_done(pilot, app, label="Custom Zoom")
        assert zoomed.parent_id == u1.id
        assert zoomed.options.get("zoom") == 1.5
        assert zoomed.options.get("ar") == "16:9"
        assert len(zoomed.display_urls) == 4

        envelope = await _job_button(app, u1.id, ENVELOPE)
        envelope.press()
        sealed = await wait_done(pilot, app, label=ENVELOPE)
        seed = sealed.options.get("seed")
        assert seed
        await until(lambda: notes.has(f"seed is {seed}"), what="the seed notification")
        await until(lambda: app.main.table.select(sealed.id), what="the sealed job in the list")
        await until(
            lambda: f"seed {seed}" in str(app.query_one("#detail").render()),
            what="the seed in the job's detail",
        )


# -- themes ------------------------------------------------------------------------------------


async def test_theme_is_remembered_and_config_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = ImagineApp(ui_settings(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        app.theme = "nord"
        assert app.backend is not None
        store = app.backend.store  # written by the history's writer thread: wait for it
        await until(lambda: store.get_meta("theme") == "nord", what="the theme on disk")

    gate = hold_backend(monkeypatch)
    again = ImagineApp(ui_settings(tmp_path))
    async with again.run_test(size=SIZE) as pilot:
        # on the first frame already, not switched once the backend is open
        assert again.backend is None and again.theme == "nord"
        again.theme = "dracula"  # picked before the backend is open: saved once it is
        gate.set()
        await wait_ready(pilot)
        assert again.backend is not None
        store = again.backend.store
        await until(lambda: store.get_meta("theme") == "dracula", what="the early pick")

    configured = ImagineApp(ui_settings(tmp_path, theme="gruvbox"))
    async with configured.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await pilot.pause()
        assert configured.theme == "gruvbox"


def test_detail_text_is_literal() -> None:
    # A prompt with markup stays literal in the rows (Text, not markup).
    from app.ui.format import prompt_text

    job = Job(id="x", kind="imagine", prompt="[red]hi[/red]")
    assert isinstance(prompt_text(job, 40), Text)
    assert prompt_text(job, 40).plain == "[red]hi[/red]"


# -- moving through the list ---------------------------------------------------------------


async def _three_in_the_grid(pilot: Any, app: ImagineApp, prompt: str) -> list[Job]:
    """Three finished jobs (``prompt`` 0, 1, 2), the list focused, the first in the grid."""
    await wait_ready(pilot)
    done = [await _submit(pilot, app, f"{prompt} {i}") for i in range(3)]
    app.main.table.focus()
    app.main.table.select(done[0].id)
    await wait_grid(pilot, app, done[0].id)
    return done


def _record_loads(app: ImagineApp, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The jobs whose tile images the grid loads from now on, in order."""
    loaded: list[str] = []
    original = app.main.panel._load_tiles

    def record(job_id: str, *args: Any) -> Any:
        loaded.append(job_id)
        return original(job_id, *args)

    monkeypatch.setattr(app.main.panel, "_load_tiles", record)
    return loaded


async def test_moving_shows_text_at_once_and_images_where_the_cursor_stops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = ImagineApp(ui_settings(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        done = await _three_in_the_grid(pilot, app, "a quiet harbour")
        await wait_tiles(pilot, app, 4)
        bar = app.query_one("#buttons", ButtonBar)
        buttons = list(app.query(JobButton))
        loaded = _record_loads(app, monkeypatch)

        # Keys repeating: the grid waits for the cursor to rest; wide, so a slow machine
        # cannot catch up between the presses (Enter below loads at once, so nothing waits
        # this long). The cursor moved just now, so the first press is a repeat too.
        monkeypatch.setattr(job_panel, "GRID_DELAY", 5.0)
        app.main.panel._moved_at = time.monotonic()
        await pilot.press("j", "j")
        # the row's text and buttons follow at once; the grid still shows the first job
        assert app.main.selected_job is not None and app.main.selected_job.id == done[2].id
        detail = str(app.query_one("#detail", Static).content)
        assert "a quiet harbour 2" in detail
        assert bar.job_id == done[2].id
        assert list(app.query(JobButton)) == buttons  # same buttons: retargeted, not rebuilt
        assert app.main.grid_job == done[0].id and loaded == []
        # Enter before the images arrive starts loading them and opens nothing (never the
        # previous job's tile); the grid catches up, loading only the row it stopped on
        notes = Notes(app, monkeypatch)
        app.main.action_open_tile()
        assert notes.has("No image to open here yet") and not isinstance(app.screen, ImageScreen)
        await wait_grid(pilot, app, done[2].id)
        assert loaded == [done[2].id]
        await wait_tiles(pilot, app, 4)
        assert app.main.grid.tile(1).view.url == done[2].display_urls[0]
        # a button press acts on the row now selected
        button = _button(app, "V1")
        assert button is not None
        button.press()
        await until(
            lambda: find(app, parent_id=done[2].id, label="V1") is not None,
            what="V1 of the row the cursor is on",
        )


async def test_a_move_after_a_rest_loads_the_images_at_once_then_repeats_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = ImagineApp(ui_settings(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        done = await _three_in_the_grid(pilot, app, "a still pond")
        loaded = _record_loads(app, monkeypatch)
        monkeypatch.setattr(job_panel, "GRID_DELAY", 5.0)
        app.main.panel._moved_at = time.monotonic() - 10  # the cursor has rested
        await pilot.press("j")
        assert loaded == [done[1].id]  # no wait for the first move
        await wait_grid(pilot, app, done[1].id)
        await pilot.press("j")  # within GRID_DELAY of the last move: a repeat, it waits
        assert loaded == [done[1].id] and app.main.grid_job == done[1].id
        app.main.panel.flush()
        assert loaded == [done[1].id, done[2].id]
        await wait_grid(pilot, app, done[2].id)


async def test_palette_presses_any_button_of_the_selected_job(tmp_path: Path) -> None:
    app = ImagineApp(ui_settings(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        job = await _submit(pilot, app, "a quiet harbour")
        up = app.main.press(job.id, "U2")
        assert up is not None
        await wait_done(pilot, app, id=up.id)
        app.main.show_job(up.id)
        app.main.table.focus()
        await pilot.press("ctrl+p")
        await until(lambda: isinstance(app.screen, CommandPalette), what="the palette")
        for char in "zoom out 2":
            await pilot.press(char)
        await until(lambda: "button · Zoom Out 2x" in palette_text(app), what="the button")
        await pilot.press("enter")
        child = await until(lambda: find(app, label="Zoom Out 2x"), what="a Zoom Out 2x job")
        assert child.parent_id == up.id
