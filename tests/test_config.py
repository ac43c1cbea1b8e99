"""Configuration: file < env < flags, clear errors, the token stored 0600 and never shown."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from app import config_file
from app.settings import ConfigError, resolve


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_flags_beat_env_beat_file(tmp_path: Path) -> None:
    cfg = write(
        tmp_path / "c.toml",
        'base_url = "http://file.example"\ngraphics = "sixel"\n'
        'timeout = 12\n[keys]\nupscale = "U"\n',
    )
    env = {"IMAGINE_BASE_URL": "http://env.example"}
    s = resolve({}, env, cfg)
    assert s.base_url == "http://env.example" and s.sources["base_url"] == "env IMAGINE_BASE_URL"
    assert s.graphics == "sixel" and s.sources["graphics"].startswith("file ")
    assert s.timeout == 12.0 and s.keymap == {"upscale": "U"}
    s = resolve({"base_url": "http://flag.example"}, env, cfg)
    assert s.base_url == "http://flag.example" and s.sources["base_url"] == "flag"


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ('base_url = "x"\ncolour = "red"\n', "line 2, key 'colour': unknown setting"),
        ('timeout = "soon"\n', "line 1, key 'timeout': expected int or float, got str"),
        ('graphics = "ascii"\n', "line 1, key 'graphics': must be one of"),
        ("base_url = \n", "is not valid TOML"),
    ],
)
def test_bad_config_names_file_line_and_key(tmp_path: Path, text: str, expect: str) -> None:
    cfg = write(tmp_path / "c.toml", text)
    with pytest.raises(ConfigError) as err:
        resolve({}, {}, cfg)
    assert expect in err.value.human and str(cfg) in err.value.human


def test_token_without_base_url_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no base URL"):
        resolve({}, {"IMAGINE_API_TOKEN": "sekrit"}, tmp_path / "none.toml")


def test_set_token_writes_0600_and_config_masks_it(tmp_path: Path) -> None:
    cfg = tmp_path / "conf" / "config.toml"
    env = {**os.environ, "IMAGINE_CONFIG": str(cfg), "IMAGINE_BASE_URL": "http://127.0.0.1:9"}
    run = subprocess.run(
        [sys.executable, "-m", "app", "config", "set-token"],
        input="tok-SECRET-123\n",
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o600
    assert config_file.load(cfg)[0]["token"] == "tok-SECRET-123"
    show = subprocess.run(
        [sys.executable, "-m", "app", "config"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert show.returncode == 0, show.stderr
    assert "SECRET" not in show.stdout + show.stderr + run.stdout + run.stderr
    assert "token = set (hidden)" in show.stdout
    assert f"[file {cfg}]" in show.stdout


def test_a_non_number_in_the_environment_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        resolve({}, {"IMAGINE_RATE_INTERVAL": "abc"}, tmp_path / "none.toml")
    assert "rate_interval (env IMAGINE_RATE_INTERVAL)" in err.value.human
