"""The API token never shows: not in logs, exceptions, the store, notifications or screenshots."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from demo_settings import demo_settings, opened
from waiting import until

from app.api import ImagineClient
from app.jobs import JobState
from app.settings import resolve
from app.simulator import Simulator, SimulatorConfig
from app.ui.app import ImagineApp

TOKEN = "tok-9f8e7d6c5b4a-SECRET"


async def test_token_is_not_in_logs_store_or_errors(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # httpx and httpcore log every request at DEBUG
    with Simulator(SimulatorConfig(speed=120, token=TOKEN, tile_size=64)) as sim:
        settings = demo_settings(tmp_path, base_url=sim.base_url, token=TOKEN, rate_interval=0.0)
        async with opened(settings) as backend:
            job = backend.manager.submit_imagine("a secret garden")
            await until(lambda: backend.manager.get(job.id).state is JobState.DONE)  # type: ignore[union-attr]
            child = backend.manager.press(job.id, "V1")
            await until(lambda: backend.manager.get(child.id).state is JobState.DONE)  # type: ignore[union-attr]
        wrong = demo_settings(
            tmp_path / "w", base_url=sim.base_url, token="x" + TOKEN, rate_interval=0.0
        )
        async with opened(wrong) as backend:
            bad = backend.manager.submit_imagine("denied")
            await until(lambda: backend.manager.get(bad.id).state is JobState.FAILED)  # type: ignore[union-attr]
            error = backend.manager.get(bad.id).error or ""  # type: ignore[union-attr]
    assert "rejected the API token" in error and TOKEN not in error
    assert any("httpx" in r.name or "httpcore" in r.name for r in caplog.records)
    assert TOKEN not in caplog.text
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), f"token written to {path}"
    assert TOKEN not in repr(settings) and TOKEN not in repr(ImagineClient(sim.base_url, TOKEN))


def test_token_is_not_in_resolved_settings_repr() -> None:
    s = resolve({}, {"IMAGINE_BASE_URL": "http://127.0.0.1:9", "IMAGINE_API_TOKEN": TOKEN})
    assert s.token == TOKEN and TOKEN not in repr(s) and TOKEN not in str(s.sources)


async def test_token_is_not_on_screen_or_in_notifications(tmp_path: Path) -> None:
    with Simulator(SimulatorConfig(speed=120, token=TOKEN, tile_size=64)) as sim:
        settings = demo_settings(
            tmp_path,
            base_url=sim.base_url,
            token="x" + TOKEN,
            rate_interval=0.0,
            graphics="halfcell",
        )
        app = ImagineApp(settings)
        async with app.run_test(size=(140, 45)) as pilot:
            for _ in range(200):
                if app.backend is not None:
                    break
                await pilot.pause(0.05)
            app.main.prompt_input.value = "hello"
            await pilot.press("enter")
            for _ in range(200):
                if any("token" in n.message for n in app._notifications):
                    break
                await pilot.pause(0.05)
            messages = [n.message for n in app._notifications]
            screen = app.export_screenshot()
    assert any("rejected the API token" in m for m in messages)
    assert all(TOKEN not in m for m in messages)
    assert TOKEN not in screen


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_history_cache_and_saved_images_are_private_whatever_the_umask(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    data = tmp_path / "new" / "data"  # neither exists yet: both are the app's to create
    saved = tmp_path / "saved" / "here"
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    env.pop("IMAGINE_BASE_URL", None)
    env.pop("IMAGINE_API_TOKEN", None)
    out = subprocess.run(
        [
            *(sys.executable, "-m", "app", "imagine", "a private garden", "--wait"),
            *("--data-dir", str(data), "--speed", "120", "--rate-interval", "0"),
            *("--out", str(saved)),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        umask=0o022,
    )
    assert out.returncode == 0, out.stderr
    made = [data.parent, data, *(p for p in data.rglob("*") if not p.name.startswith("."))]
    assert (data / "history.sqlite3") in made and any(p.suffix == ".png" for p in made)
    made += [saved.parent, saved, *saved.iterdir()]
    assert any(p.suffix == ".json" for p in made) and len(list(saved.glob("*.png"))) == 4
    for path in made:
        want = 0o700 if path.is_dir() else 0o600
        assert _mode(path) == want, f"{path.relative_to(tmp_path)} is {_mode(path):o}"


def test_an_old_world_readable_history_becomes_private(tmp_path: Path) -> None:
    from app.jobs.store import JobStore

    path = tmp_path / "history.sqlite3"
    JobStore(path).close()
    path.chmod(0o644)
    JobStore(path).close()
    assert _mode(path) == 0o600


def test_bidi_overrides_in_an_export_are_isolated(tmp_path: Path) -> None:
    """A U+202E in a prompt or a server's label must not reverse the page around it."""
    from html.parser import HTMLParser

    from app.export import export_tree
    from app.jobs import Job

    rlo = "\u202e"
    root = Job(
        id="r1",
        kind="imagine",
        prompt=f"a cat {rlo}gnp.exe",
        state=JobState.DONE,
        message_id=f"m{rlo}1",
        buttons=(f"Zap{rlo}",),
        button_message_id="b1",
        image_urls=(f"http://x.example/{rlo}1.png",),
        options={"seed": f"7{rlo}"},
    )
    child = Job(
        id="c1",
        kind="button",
        prompt=root.prompt,
        label=f"Zap{rlo}",
        parent_id="r1",
        state=JobState.DONE,
    )
    index = export_tree([root, child], "r1", lambda url: None, tmp_path / "export")

    class Check(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.stack: list[bool] = []  # per open element: isolated?
            self.leaks: list[str] = []
            self.title = False

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag in ("meta", "img", "link"):
                return
            isolated = tag == "bdi" or ("dir", "auto") in attrs
            self.stack.append(isolated or bool(self.stack and self.stack[-1]))
            self.title = tag == "title"

        def handle_endtag(self, tag: str) -> None:
            if tag not in ("meta", "img", "link") and self.stack:
                self.stack.pop()
            self.title = False

        def handle_data(self, data: str) -> None:
            if rlo not in data:
                return
            inside = self.stack and self.stack[-1]
            fenced = self.title and data.count("\u2068") == data.count("\u2069") == 1
            if not (inside or fenced):
                self.leaks.append(data)

    check = Check()
    check.feed(index.read_text(encoding="utf-8"))
    assert check.leaks == []
    assert index.read_text(encoding="utf-8").count(rlo) >= 6
