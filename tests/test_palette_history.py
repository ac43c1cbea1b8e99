"""The palette's past-prompt search in a long history: answered by the store on a thread,
a bounded number of distinct prompts per search (the newest holding the query's words),
so it finds an old prompt and never reads the whole history."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.command import CommandPalette
from ui_helpers import SIZE, palette_text, ui_settings, wait_ready
from waiting import until

from app.jobs.model import Job, JobState
from app.jobs.store import JobStore, has_words, prompt_words
from app.ui.app import ImagineApp
from app.ui.commands import LOOKED_AT, MAX_HITS, unique_prompts

JOBS = 20_000
SCENES = ("Misty lake", "storm over a river", "misty meadow", "alpine dawn", "desert road")


@pytest.fixture(autouse=True)
def _no_animations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")


def history() -> list[Job]:
    """An old quokka (its variation the newest job), then imagines of five scenes, each
    with a variation of the same prompt: ~3,000 distinct prompts hold "misty"."""
    done = JobState.DONE
    quokka = Job(id="quokka", kind="imagine", prompt="a quokka at dawn", state=done, created_at=1e9)
    jobs = [quokka]
    for i in range(1, JOBS - 1, 2):
        imagine = Job(
            id=f"i{i}",
            kind="imagine",
            prompt=f"{SCENES[i % len(SCENES)]}, study {i}",
            state=done,
            created_at=1e9 + i,
        )
        variation = Job(
            id=f"v{i}",
            kind="button",
            prompt=imagine.prompt,
            label="V1",
            parent_id=imagine.id,
            state=done,
            created_at=1e9 + i + 1,
        )
        jobs += (imagine, variation)
    jobs.append(
        Job(
            id="quokka-v",
            kind="button",
            prompt=quokka.prompt,
            label="V2",
            parent_id=quokka.id,
            state=done,
            created_at=1e9 + JOBS,
        )
    )
    return jobs


def seeded(path: Path) -> list[Job]:
    jobs = history()
    with JobStore(path) as store:
        store.save_many(jobs)
        assert store.count() == JOBS
    return jobs


def test_the_store_answers_the_newest_distinct_prompts_with_the_words(tmp_path: Path) -> None:
    jobs = seeded(tmp_path / "history.sqlite3")
    words = prompt_words("MISTY ")
    assert words == ["misty"]
    matching = unique_prompts(job for job in jobs if has_words(job.prompt, words))
    assert len(matching) > 10 * LOOKED_AT  # far more than one search reads
    with JobStore(tmp_path / "history.sqlite3", read_only=True) as store:
        rows = store.prompt_rows(words, LOOKED_AT)
        # The newest LOOKED_AT of them, each prompt once, by its imagine (not the newer
        # variation): what the palette showed when it read every job.
        assert [row.id for row in rows] == [job.id for _, job in matching[:LOOKED_AT]]
        assert all("misty" in row.prompt.lower() for row in rows)
        assert {row.kind for row in rows} == {"imagine"}
        # Every word, in any order; the oldest job is found, by its imagine.
        assert [row.id for row in store.prompt_rows(["dawn", "quokka"], LOOKED_AT)] == ["quokka"]
        assert store.prompt_rows(["quokka", "misty"], LOOKED_AT) == []
        assert len(store.prompt_rows([], 8)) == 8


async def test_the_palette_finds_past_prompts_in_a_long_history(tmp_path: Path) -> None:
    settings = ui_settings(tmp_path)
    seeded(settings.db_path)
    app = ImagineApp(settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        app.main.table.focus()
        await pilot.press("ctrl+p")
        await until(lambda: isinstance(app.screen, CommandPalette), what="the palette")
        await pilot.press(*"misty")

        def prompt_hits() -> list[str]:
            """The prompt hits' first lines (the second: their job's title, state, help)."""
            lines = palette_text(app).splitlines()
            return [
                line
                for line in lines
                if line.startswith("imagine · ") and not line.endswith("select this job")
            ]

        await until(lambda: len(prompt_hits()) == MAX_HITS, what="a page of misty prompts")
        assert all("misty" in line.lower() for line in prompt_hits())
        for _ in "misty":
            await pilot.press("backspace")
        await pilot.press(*"quokka")
        await until(
            lambda: prompt_hits() == ["imagine · a quokka at dawn"], what="the oldest prompt"
        )
        await pilot.press("enter")
        await until(lambda: app.main.table.selected_id == "quokka", what="its imagine selected")
