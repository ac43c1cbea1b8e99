"""The prompt box's parameter help on its own: highlighting, Tab, the inline sentence."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import Input, Static
from ui_helpers import SIZE, find, jobs, ui_settings, wait_ready
from waiting import until

from app.ui.app import ImagineApp
from app.ui.prompt_check import STYLES, ParamHighlighter, ParamInput, problem_line


@pytest.fixture(autouse=True)
def _no_animations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")


class Box(App[None]):
    def __init__(self, check: bool = True) -> None:
        super().__init__()
        self.check = check

    def compose(self) -> ComposeResult:
        yield ParamInput(check=lambda: self.check, id="box")
        yield Input(id="next")


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


async def test_tab_completes_names_then_values_and_otherwise_moves_on() -> None:
    app = Box()
    async with app.run_test() as pilot:
        box = app.query_one("#box", ParamInput)
        box.focus()
        await pilot.press(*"fox --sty")
        await until(lambda: box._suggestion == "fox --stylize")
        await pilot.press("tab")
        assert box.value == "fox --stylize" and box.cursor_position == len(box.value)
        await pilot.press("space", "tab")  # a common value follows a name
        assert box.value == "fox --stylize 100"
        await pilot.press("tab")  # nothing left to complete: Tab moves focus as usual
        assert app.focused is app.query_one("#next")


async def test_with_checking_off_tab_only_moves_focus() -> None:
    app = Box(check=False)
    async with app.run_test() as pilot:
        box = app.query_one("#box", ParamInput)
        box.focus()
        await pilot.press(*"fox --sty", "tab")
        assert box.value == "fox --sty"
        assert app.focused is app.query_one("#next")
        assert box.problem() is None


async def test_problem_is_the_sentence_for_the_value_as_sent() -> None:
    app = Box()
    async with app.run_test() as pilot:
        box = app.query_one("#box", ParamInput)
        box.value = "fox —chaos 101"
        await pilot.pause()
        problem = box.problem()
        assert problem == "--chaos 101 is out of range: it takes a whole number from 0 to 100."
        box.value = "fox —chaos 10"
        assert box.problem() is None


# -- in the app ------------------------------------------------------------------------


async def test_enter_with_a_bad_parameter_sends_nothing_and_says_why(tmp_path: Path) -> None:
    app = ImagineApp(ui_settings(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        app.prompt_input.focus()
        app.prompt_input.insert_text_at_cursor("a fox —ar 16:")  # as a phone would write it
        await pilot.press("enter")
        error = app.query_one("#prompt-error", Static)
        assert error.display
        assert "--ar 16: is not a ratio: it takes two whole numbers above 0 like 16:9" in str(
            error.render()
        )
        assert jobs(app) == [] and app.prompt_input.value == "a fox —ar 16:"
        await pilot.press("9", "enter")  # fixed: sent, with the em-dash written as --
        await until(lambda: find(app, prompt="a fox --ar 16:9") is not None)
        assert not error.display
