"""The prompt box knows parameters: highlighting as you type, Tab, a bad one blocks Enter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import Static
from ui_helpers import SIZE, find, jobs, ui_settings, wait_ready
from waiting import until

from app.ui.app import ImagineApp
from app.ui.prompt_check import STYLES, ParamHighlighter, problem_line


@pytest.fixture(autouse=True)
def _no_animations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")


def styled(text: str, check: bool = True) -> list[tuple[str, str]]:
    rich = ParamHighlighter(lambda: check)(Text(text))
    return [(text[s.start : s.end], str(s.style)) for s in rich.spans]


def test_the_highlighter_marks_names_values_and_the_bad_part() -> None:
    assert styled("fox --ar 16:9 --chaos 900") == [
        ("--ar", str(STYLES["name"])),
        ("16:9", str(STYLES["value"])),
        ("--chaos", str(STYLES["name"])),
        ("900", str(STYLES["bad"])),
    ]
    assert styled("fox —ar 16:9")[0] == ("—ar", str(STYLES["name"]))
    assert styled("fox --ar 16:9", check=False) == []


def test_the_problem_line_is_plain_text() -> None:
    line = problem_line("--style [bold]x[/bold] is not allowed")
    assert "[bold]x[/bold]" in line.plain and line.plain.startswith("⚠ ")


# -- in the app ------------------------------------------------------------------------


def error_line(app: ImagineApp) -> Static:
    return app.screen.query_one("#prompt-error", Static)


async def typed(pilot: Pilot[Any], text: str) -> ImagineApp:
    app = await wait_ready(pilot)
    app.main.prompt_input.focus()
    app.main.prompt_input.insert_text_at_cursor(text)  # em-dashes too, as a phone writes them
    await pilot.pause()
    return app


async def test_parameters_are_highlighted_as_you_type(tmp_path: Path) -> None:
    app = ImagineApp(ui_settings(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        box = (await typed(pilot, "a fox --ar 16:9 --chaos 900")).main.prompt_input
        shown = box._value  # what the Input draws
        spans = {shown.plain[s.start : s.end]: s.style for s in shown.spans}
        assert spans == {
            "--ar": STYLES["name"],
            "16:9": STYLES["value"],
            "--chaos": STYLES["name"],
            "900": STYLES["bad"],
        }


async def test_tab_completes_names_then_values_and_otherwise_moves_on(tmp_path: Path) -> None:
    app = ImagineApp(ui_settings(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        box = (await typed(pilot, "a fox")).main.prompt_input
        await pilot.press(*" --sty")
        await until(lambda: box._suggestion == "a fox --stylize")  # shown dimmed after it
        await pilot.press("tab")
        assert box.value == "a fox --stylize" and box.cursor_position == len(box.value)
        await pilot.press("space", "tab")  # a common value follows a name
        assert box.value == "a fox --stylize 100"
        await pilot.press("tab")  # nothing left to complete: Tab moves focus as usual
        assert app.focused is not box and box.value == "a fox --stylize 100"


async def test_enter_with_a_bad_parameter_sends_nothing_and_says_why(tmp_path: Path) -> None:
    app = ImagineApp(ui_settings(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await typed(pilot, "a fox —ar 16:")
        await pilot.press("enter")
        error = error_line(app)
        assert error.display
        assert str(error.render()).startswith(
            "⚠ --ar 16: is not a ratio: it takes two whole numbers above 0 like 16:9"
        )
        assert jobs(app) == [] and app.main.prompt_input.value == "a fox —ar 16:"
        await pilot.press("1", "0")  # the sentence follows the edits...
        assert "--ar 16:10" not in str(error.render())
        assert not error.display  # ...and goes once the prompt is right
        await pilot.press("enter")  # sent, with the em-dash written as --
        await until(lambda: find(app, prompt="a fox --ar 16:10") is not None)
        assert app.main.prompt_input.history[-1] == "a fox --ar 16:10"


async def test_the_sentence_follows_edits_that_are_still_wrong(tmp_path: Path) -> None:
    app = ImagineApp(ui_settings(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await typed(pilot, "a fox --chaos 500")
        await pilot.press("enter")
        assert "--chaos 500 is out of range" in str(error_line(app).render())
        await pilot.press("0")
        assert "--chaos 5000 is out of range" in str(error_line(app).render())
        assert jobs(app) == []


async def test_a_backend_without_parameters_gets_the_prompt_as_typed(tmp_path: Path) -> None:
    app = ImagineApp(ui_settings(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        ready = await wait_ready(pilot)
        assert ready.main.backend is not None
        ready.main.backend.manager.settings.prompt_parameters = False
        box = (await typed(pilot, "a fox —ar 16:")).main.prompt_input
        assert box._value.spans == []  # no highlighting
        await pilot.press("enter")
        await until(lambda: find(app, prompt="a fox —ar 16:") is not None)
        assert not error_line(app).display
