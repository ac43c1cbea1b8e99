"""Start-up: `--help`, `config` and `config path` run without loading the heavy parts
(textual, httpx, Pillow, asyncio, sqlite) that only the TUI and the job commands need.
Checked in a fresh interpreter, as a user starts it (no timing here: see bench/)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Literal

import pytest

HEAVY = ("textual", "rich", "httpx", "PIL", "asyncio", "sqlite3", "urllib.request")

_PROBE = """
import contextlib, io, json, sys
from app.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
    try:
        code = main(sys.argv[1:])
    except SystemExit as exc:  # --help
        code = exc.code
print(json.dumps({"code": code, "out": out.getvalue(), "modules": sorted(sys.modules)}))
"""


def _run(tmp_path: Path, *argv: str, **env: str) -> dict[str, object]:
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith("IMAGINE_") and "PROXY" not in k
    }
    environ |= {
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
    } | env
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv],
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def _heavy(result: dict[str, object]) -> list[str]:
    modules = result["modules"]
    assert isinstance(modules, list)
    return [m for m in HEAVY if m in modules]


@pytest.mark.parametrize(
    "argv", [("--help",), ("config",), ("config", "path"), ("imagine", "--help")]
)
def test_quick_commands_do_not_load_the_heavy_parts(tmp_path: Path, argv: tuple[str]) -> None:
    result = _run(tmp_path, *argv)
    assert result["code"] == 0
    assert result["out"]  # it did print its help / settings
    assert _heavy(result) == []


def test_config_with_a_service_and_a_config_file_stays_light(tmp_path: Path) -> None:
    folder = tmp_path / "config" / "imagine-tui"
    folder.mkdir(parents=True)
    (folder / "config.toml").write_text(
        'base_url = "https://api.example.com/v2"\ntoken = "t0ken"\n', encoding="utf-8"
    )
    result = _run(tmp_path, "config")
    assert result["code"] == 0
    out = str(result["out"])
    assert "https://api.example.com/v2" in out and "# proxy: none" in out
    assert "t0ken" not in out
    assert _heavy(result) == []


def test_config_still_names_the_proxy_from_the_environment(tmp_path: Path) -> None:
    folder = tmp_path / "config" / "imagine-tui"
    folder.mkdir(parents=True)
    (folder / "config.toml").write_text('base_url = "https://api.example.com/v2"\n')
    result = _run(tmp_path, "config", "--token", "x", HTTPS_PROXY="proxy.example:3128")
    assert "# proxy: http://proxy.example:3128 (from the environment)" in str(result["out"])
    result = _run(
        tmp_path,
        "config",
        "--token",
        "x",
        HTTPS_PROXY="proxy.example:3128",
        NO_PROXY=".example.com",
    )
    assert "# proxy: none" in str(result["out"])


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--api", "imaginepro"],
        ["--graphics=kitty"],
        ["imagine", "a red fox", "--wait", "--json", "--out", "x"],
        ["button", "U1", "--message", "m1", "--zoom", "1.5"],
        ["wait", "j1"],
        ["jobs", "--limit", "3"],
        ["cache", "--prune", "--cache-max", "1"],
        ["describe", "a.png"],
        ["blend", "a.png", "b.png"],
        ["graphics", "--graphics", "sixel"],
        ["config", "path"],
        ["--base-url", "http://x", "config"],
        ["--token", "config", "jobs"],  # a flag's value that reads like a command
        ["--data-dir=/tmp/d", "tui", "--graphics", "halfcell"],
        ["simulate", "--port", "0", "--banned", "war"],
    ],
)
def test_building_only_the_named_command_parses_as_the_whole_parser(argv: list[str]) -> None:
    from app.cli import _command_in, build_parser

    assert build_parser(_command_in(argv)).parse_args(argv) == build_parser().parse_args(argv)


@pytest.mark.parametrize("argv", [["--help"], ["--token", "t", "-h"], ["config", "--help"]])
def test_help_reads_the_same_from_the_partial_parser(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    from app.cli import _command_in, build_parser

    shown = []
    for parser in (build_parser(_command_in(argv)), build_parser()):
        with pytest.raises(SystemExit):
            parser.parse_args(argv)
        shown.append(capsys.readouterr().out)
    assert shown[0] == shown[1] and "usage: imagine-tui" in shown[0]


# What the TUI's first frame must not wait for: the job manager with the backends and the
# HTTP client behind it, images, the simulator, the parameter tables, the palette and the
# dialogs. They load after it (the backend in a worker) or when first used.
LATER = (
    "app.jobs.manager",
    "app.backends",
    "app.api.client",
    "app.images.pipeline",
    "app.simulator",
    "app.params",
    "app.export",
    "app.ui.commands",
    "app.ui.screens.help",
    "app.ui.screens.save",
    "httpx",
    "PIL",
    "numpy",
)

_FIRST_FRAME = """
import json, sys
from app.cli import resolve  # the command line's path into the TUI
from app.ui.app import ImagineApp

app = ImagineApp(resolve({"data_dir": sys.argv[1], "graphics": "halfcell"}))
seen = {}
original = app._display

def display(screen, renderable):
    original(screen, renderable)
    if renderable is not None and not seen:
        seen["modules"] = sorted(sys.modules)
        seen["rows"] = app.main.table.row_count
        seen["text"] = "\\n".join(line.text for line in app.screen._compositor.render_strips())
        app.exit()

app._display = display
app.run(headless=True, size=(120, 40))
print(json.dumps(seen))
"""


def test_the_first_frame_lists_the_history_without_loading_the_backend(tmp_path: Path) -> None:
    from app.jobs.model import Job
    from app.jobs.store import JobStore

    data = tmp_path / "data"
    data.mkdir()
    with JobStore(data / "history.sqlite3") as store:
        store.save(Job(id="j1", kind="imagine", prompt="a heron"))
    environ = {k: v for k, v in os.environ.items() if not k.startswith("IMAGINE_")}
    environ |= {"XDG_CONFIG_HOME": str(tmp_path / "config"), "TEXTUAL_ANIMATIONS": "none"}
    done = subprocess.run(
        [sys.executable, "-c", _FIRST_FRAME, str(data)],
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
        check=True,
    )
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["rows"] == 1 and "a heron" in seen["text"]  # the history is on it
    loaded = [m for m in seen["modules"] if m.split(".")[0] in LATER or m.startswith(LATER)]
    assert loaded == []


@pytest.mark.parametrize("value", [None, "", "relative/dir", "/abs/xdg"])
@pytest.mark.parametrize("kind", ["config", "data"])
def test_the_folders_are_where_platformdirs_puts_them(
    kind: Literal["config", "data"], value: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Read by hand on Linux (platformdirs is slow to import): existing config files and
    # histories must still be found where they were.
    import platformdirs

    from app.config_file import user_dir

    variable = {"config": "XDG_CONFIG_HOME", "data": "XDG_DATA_HOME"}[kind]
    if value is None:
        monkeypatch.delenv(variable, raising=False)
    else:
        monkeypatch.setenv(variable, value)
    find = platformdirs.user_config_dir if kind == "config" else platformdirs.user_data_dir
    assert user_dir(kind) == Path(find("imagine-tui", appauthor=False))


async def test_the_collector_runs_again_once_the_first_frame_is_drawn(tmp_path: Path) -> None:
    import gc

    from ui_helpers import SIZE, ui_settings

    from app.ui.app import ImagineApp

    app = ImagineApp(ui_settings(tmp_path))
    assert gc.isenabled()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert gc.isenabled()  # paused only until the first frame (see ImagineApp.on_load)
