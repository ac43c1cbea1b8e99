"""Configuration: one schema; file < env < flags; every refusal a sentence naming the setting
and where it came from; the token stored 0600 and never shown; `config` shows even a broken
configuration, as one would write it in the file."""

from __future__ import annotations

import socket
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from cli_process import cli
from ui_helpers import SIZE, ui_settings, wait_ready
from waiting import until

from app import config_file
from app.api import ImagineClient, NetworkError
from app.settings import SPECS, ConfigError, resolve
from app.simulator import Simulator
from app.ui.app import ImagineApp
from app.ui.widgets.status import StatusLine
from app.urls import redact_url


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def refused(run: subprocess.CompletedProcess[str]) -> str:
    """The sentence of a clean refusal: exit 2, no traceback, nothing on stdout."""
    assert run.returncode == 2, (run.returncode, run.stdout, run.stderr)
    assert "Traceback" not in run.stderr
    return run.stderr


def test_flags_beat_env_beat_file(tmp_path: Path) -> None:
    cfg = write(
        tmp_path / "c.toml",
        'base_url = "http://file.example"\ngraphics = "sixel"\n'
        'timeout = 12\n[keys]\nupscale = "U"\n',
    )
    env = {"IMAGINE_BASE_URL": "http://env.example"}
    s = resolve({}, env, cfg)
    assert s.base_url == "http://env.example" and s.sources["base_url"] == "env IMAGINE_BASE_URL"
    assert s.graphics == "sixel" and s.sources["graphics"] == f"file {cfg}, line 2"
    assert s.timeout == 12.0 and s.keymap == {"upscale": "U"}
    s = resolve({"base_url": "http://flag.example"}, env, cfg)
    assert s.base_url == "http://flag.example" and s.sources["base_url"] == "flag --base-url"


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ('base_url = "http://x"\ncolour = "red"\n', "line 2: unknown setting 'colour'"),
        ('timeout = "soon"\n', 'timeout = "soon" (file {cfg}, line 1): must be a number.'),
        ("expire_mins = 2.5\n", "expire_mins = 2.5 (file {cfg}, line 1): must be a whole number."),
        ('graphics = "ascii"\n', 'graphics = "ascii" (file {cfg}, line 1): must be one of'),
        ("base_url = \n", "is not valid TOML"),
        ("[keys]\nupscale = 1\n", "line 1: [keys] maps binding ids to keys as text"),
    ],
)
def test_bad_config_names_file_line_and_key(tmp_path: Path, text: str, expect: str) -> None:
    cfg = write(tmp_path / "c.toml", text)
    with pytest.raises(ConfigError) as err:
        resolve({}, {}, cfg)
    assert expect.format(cfg=cfg) in err.value.human and str(cfg) in err.value.human


# -- issue 14: values that were accepted and broke things later ------------------------------


@pytest.mark.parametrize(
    ("args", "file", "env", "expect"),
    [
        ((), "rate_interval = inf\n", {}, "rate_interval = inf (file {cfg}, line 1): must be"),
        ((), "timeout = nan\n", {}, "timeout = nan (file {cfg}, line 1): must be"),
        ((), "\ntimeout = 0\n", {}, "timeout = 0 (file {cfg}, line 2): must be"),
        ((), "timeout = -5\n", {}, "timeout = -5 (file {cfg}, line 1): must be"),
        (
            (),
            "",
            {"IMAGINE_RATE_INTERVAL": "inf"},
            "rate_interval = inf (env IMAGINE_RATE_INTERVAL)",
        ),
        (
            (),
            "",
            {"IMAGINE_RATE_INTERVAL": "abc"},
            "(env IMAGINE_RATE_INTERVAL): must be a number.",
        ),
        (("--expire-mins", "-3"), "", {}, "expire_mins = -3 (flag --expire-mins): must be"),
        (("--expire-mins", "1e9"), "", {}, "(flag --expire-mins): must be a whole number."),
        (("--speed", "0"), "", {}, "sim_speed = 0 (flag --speed): must be"),
    ],
)
def test_bad_numbers_are_refused_naming_setting_and_source(
    tmp_path: Path, args: tuple[str, ...], file: str, env: dict[str, str], expect: str
) -> None:
    cfg = write(tmp_path / "c.toml", file)
    run = cli("imagine", "a cat", *args, env={"IMAGINE_CONFIG": str(cfg), **env})
    assert expect.format(cfg=cfg) in refused(run)
    assert run.stdout == ""  # refused before anything was submitted


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:9/v2?key=1", "must not have a ?query"),
        ("http://127.0.0.1:9/v2#top", "must not have a #fragment"),
        ("ftp://127.0.0.1/v2", "must look like https://host/path"),
        ("http://127.0.0.1:port/", "is not a URL"),
    ],
)
def test_a_base_url_requests_would_miss_is_refused(url: str, why: str) -> None:
    run = cli("imagine", "a cat", "--base-url", url, "--token", "t")
    assert f"(flag --base-url): it {why}" in refused(run)


def test_url_credentials_are_never_shown(tmp_path: Path) -> None:
    secret_url = "http://alice:pa55word@127.0.0.1:9/v2"
    assert redact_url(secret_url) == "http://***@127.0.0.1:9/v2"
    assert redact_url("https://h/x@y") == "https://h/x@y"  # an @ in the path is no password
    env = {"IMAGINE_BASE_URL": secret_url, "IMAGINE_API_TOKEN": "t"}
    show = cli("config", env=env)
    assert show.returncode == 0, show.stderr
    assert 'base_url = "http://***@127.0.0.1:9/v2"' in show.stdout
    assert "# backend: service at http://***@127.0.0.1:9/v2" in show.stdout
    bad = cli("config", env={**env, "IMAGINE_BASE_URL": secret_url + "?q"})
    assert "http://***@127.0.0.1:9/v2?q" in refused(bad)
    for run in (show, bad):
        assert "pa55word" not in run.stdout + run.stderr


def test_a_latin1_config_file_is_a_sentence_not_a_traceback(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_bytes('graphics = "auto"\ntheme = "café"\n'.encode("latin-1"))
    run = cli("imagine", "a cat", env={"IMAGINE_CONFIG": str(cfg)})
    assert f"The config file {cfg} is not UTF-8 text (line 2 has the byte 0xe9)" in refused(run)


def test_set_token_where_the_file_cannot_be_written_says_so(tmp_path: Path) -> None:
    # A file where the config folder should be: fails for root too, unlike chmod 0500.
    (tmp_path / "blocked").write_text("", encoding="utf-8")
    cfg = tmp_path / "blocked" / "config.toml"
    run = cli("config", "set-token", env={"IMAGINE_CONFIG": str(cfg)}, stdin="tok-123\n")
    err = refused(run)
    assert f"Cannot write the config file {cfg}:" in err and "Nothing was changed" in err
    assert "tok-123" not in run.stdout + run.stderr


def test_set_token_keeps_the_rest_and_refuses_to_overwrite_a_broken_file(tmp_path: Path) -> None:
    cfg = write(tmp_path / "c.toml", 'theme = "nord"\n[keys]\nupscale = "U"\n')
    run = cli("config", "set-token", env={"IMAGINE_CONFIG": str(cfg)}, stdin="tok-1\n")
    assert run.returncode == 0, run.stderr
    assert tomllib.loads(cfg.read_text()) == {
        "theme": "nord",
        "token": "tok-1",
        "keys": {"upscale": "U"},
    }
    write(cfg, "theme = \n")
    run = cli("config", "set-token", env={"IMAGINE_CONFIG": str(cfg)}, stdin="tok-2\n")
    assert "is not valid TOML" in refused(run)
    assert cfg.read_text() == "theme = \n"


def test_set_token_writes_0600_in_a_0700_folder_and_config_masks_it(tmp_path: Path) -> None:
    cfg = tmp_path / "conf" / "config.toml"
    env = {"IMAGINE_CONFIG": str(cfg), "IMAGINE_BASE_URL": "http://127.0.0.1:9"}
    run = cli("config", "set-token", env=env, stdin="tok-SECRET-123\n")
    assert run.returncode == 0, run.stderr
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o600
    assert stat.S_IMODE(cfg.parent.stat().st_mode) == 0o700
    assert config_file.read(cfg).data["token"] == "tok-SECRET-123"
    show = cli("config", env=env)
    assert show.returncode == 0, show.stderr
    assert "SECRET" not in show.stdout + show.stderr + run.stdout + run.stderr
    assert '# token = "…"' in show.stdout and f"set, hidden; file {cfg}, line 1" in show.stdout


def test_config_shows_a_broken_configuration_and_what_is_missing(tmp_path: Path) -> None:
    cfg = write(tmp_path / "c.toml", 'theme = "nord"\ntimeout = -5\n')
    run = cli("config", env={"IMAGINE_CONFIG": str(cfg), "IMAGINE_API_TOKEN": "sekrit"})
    err = refused(run)
    assert "An API token is set (env IMAGINE_API_TOKEN) but no base URL" in err
    assert f"timeout = -5 (file {cfg}, line 2): must be" in err
    # ...and still everything else, with where it came from
    assert 'theme = "nord"' in run.stdout and f"# file {cfg}, line 1" in run.stdout
    assert (
        "timeout = 30.0" in run.stdout and f"default: file {cfg}, line 2 was refused" in run.stdout
    )
    assert "# base_url (not set): the built-in simulator" in run.stdout
    assert "sekrit" not in run.stdout + run.stderr


def test_config_prints_what_one_would_type_in_the_file(tmp_path: Path) -> None:
    cfg = write(
        tmp_path / "c.toml", 'theme = "nord"\nrate_interval = 1.5\n[keys]\nsearch = "ctrl+f,/"\n'
    )
    run = cli("config", "--graphics", "sixel", env={"IMAGINE_CONFIG": str(cfg)})
    assert run.returncode == 0, run.stderr
    for python in ("None", "()", "{}", "PosixPath", "[]"):
        assert python not in run.stdout
    # What is not commented out is TOML, and reads back as the effective settings.
    data = tomllib.loads(run.stdout)
    assert data["theme"] == "nord" and data["rate_interval"] == 1.5 and data["graphics"] == "sixel"
    assert data["timeout"] == 30.0 and data["data_dir"] == str(
        tmp_path / "xdg-data" / "imagine-tui"
    )
    assert data["keys"] == {"search": "ctrl+f,slash"}  # "/" as Textual names the key
    assert set(data) - {"keys"} <= set(SPECS)


def test_unknown_key_names_in_keys_are_named_in_a_warning(tmp_path: Path) -> None:
    cfg = write(
        tmp_path / "c.toml",
        '[keys]\nupscale = "Shiftt+U"\nsearch = "ctrl+f,sleash"\nvary = "V"\n',
    )
    run = cli("config", env={"IMAGINE_CONFIG": str(cfg)})
    assert run.returncode == 0, run.stderr  # a warning, not a refusal
    assert (
        f'file {cfg}, line 2: [keys] upscale = "Shiftt+U": no key is named "Shiftt+U"' in run.stderr
    )
    assert 'no key is named "sleash"' in run.stderr and "vary" not in run.stderr
    s = resolve({}, {}, cfg)
    assert s.keymap == {"search": "ctrl+f", "vary": "V"} and len(s.warnings) == 2


def test_every_setting_is_declared_once_and_reaches_each_door(tmp_path: Path) -> None:
    """Env, file and flags all come from the one declaration, with the same checks."""
    helps = {c: cli(c, "--help").stdout for c in ("tui", "imagine", "config")}
    for name, spec in SPECS.items():
        if spec.flag:
            assert any(spec.flag in h for h in helps.values()), name
        if spec.env:
            assert resolve({}, {spec.env: ""}, tmp_path / "none.toml").source(name) == "default"
    run = cli("config", "--rate-interval", "7", env={"IMAGINE_RATE_INTERVAL": "5"})
    assert "rate_interval = 7.0" in run.stdout and "# flag --rate-interval" in run.stdout


def test_the_config_file_module_does_not_import_the_settings() -> None:
    code = "import sys, app.config_file; print('app.settings' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"  # settings -> config_file, never back: no cycle


def test_key_names_match_textuals() -> None:
    from textual.keys import Keys, _character_to_key

    from app.keynames import normalize_key

    for key in Keys:
        if not key.value.startswith("<") and key.value != "ctrl-at":  # a legacy alias
            assert normalize_key(key.value) is not None, key
    for char in "!/?[]{}@-+_~aZ9é":
        assert normalize_key(char) == _character_to_key(char), char
    for typo in ("Shiftt+U", "ctrl+enterr", "PgUp", "f25", "", "ctrl+", "latin_small_letter_a"):
        assert normalize_key(typo) is None, typo
    assert normalize_key("ctrl++") == "ctrl+plus" and normalize_key(" ctrl+/ ") == "ctrl+slash"


def test_the_readme_table_matches_the_schema() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    for name, spec in SPECS.items():
        row = next(line for line in readme.splitlines() if line.startswith(f"| `{name}` |"))
        assert (f"`{spec.env}`" in row) == bool(spec.env), name
        assert (f"`{spec.flag}`" in row) == bool(spec.flag), name


async def test_the_tui_names_missing_keys_and_hides_url_passwords(
    tmp_path: Path, simulator: Simulator
) -> None:
    cfg = write(tmp_path / "c.toml", '[keys]\nupscale = "Shiftt+U"\n')
    from_file = resolve({}, {}, cfg)
    host = simulator.base_url.split("://")[1]
    settings = ui_settings(
        tmp_path / "data",
        base_url=f"http://alice:pa55word@{host}",
        rate_interval=0.0,
        keymap=from_file.keymap,
        warnings=from_file.warnings,
    )
    app = ImagineApp(settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_ready(pilot)
        await until(
            lambda: any('no key is named "Shiftt+U"' in n.message for n in app._notifications),
            what="the warning about the [keys] entry",
        )
        status = str(app.query_one(StatusLine).render())
        assert host in status and "pa55word" not in status and "alice" not in status
        assert "pa55word" not in app.export_screenshot()


async def test_errors_never_show_url_passwords() -> None:
    with socket.socket() as s:  # a port where nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://alice:pa55word@127.0.0.1:{port}/v2"
    async with ImagineClient(url, "t") as client:
        with pytest.raises(NetworkError) as err:
            await client.message("m1")
    assert f"***@127.0.0.1:{port}" in err.value.human and "pa55word" not in err.value.human
    assert "pa55word" not in repr(client)
    with pytest.raises(ValueError) as bad:
        ImagineClient("ftp://alice:pa55word@h/", "t")
    assert "pa55word" not in str(bad.value)
