"""Dialogs that ask for a prompt: remix (a V with a new prompt, the service's MODAL step
answered here) and picking one of a describe job's four suggestions."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Label

from app.text import clean_text
from app.ui.screens.form import FormScreen
from app.ui.widgets.in_order import InOrderInput


class RemixScreen(FormScreen[str]):
    """The prompt for a remix, pre-filled with the job's own."""

    NAME = "remix"

    def __init__(self, label: str, prompt: str) -> None:
        super().__init__(f"Remix: {label} with a new prompt", "Remix")
        self._prompt = prompt

    def fields(self) -> ComposeResult:
        yield Label("Prompt:")
        yield InOrderInput(value=self._prompt, id="remix-prompt")

    def answer(self) -> str:
        prompt = clean_text(self.value_of("remix-prompt"), single_line=True).strip()
        if not prompt:
            raise ValueError("Type the prompt the variations should follow.")
        return prompt


class PickPromptScreen(FormScreen[str]):
    """One of a describe job's suggested prompts, to edit and run."""

    NAME = "pick"

    def __init__(self, prompts: Sequence[str]) -> None:
        super().__init__("Describe: pick a prompt", "Use it")
        self._prompts = [clean_text(p, single_line=True) for p in prompts]

    def fields(self) -> ComposeResult:
        for n, prompt in enumerate(self._prompts, start=1):
            yield Label(Text(f"{n}. {prompt}"))  # server text: never markup
        yield Label("Which one (1–4)?")
        yield InOrderInput(value="1", id="pick-number")

    def answer(self) -> str:
        raw = self.value_of("pick-number").strip()
        if not raw.isdigit() or not 1 <= int(raw) <= len(self._prompts):
            raise ValueError(f"Type a number from 1 to {len(self._prompts)}.")
        return self._prompts[int(raw) - 1]
