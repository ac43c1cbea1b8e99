"""Effective settings: defaults, then environment, then command-line flags (flags win)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import platformdirs

APP_NAME = "imagine-tui"
GRAPHICS = ("auto", "kitty", "sixel", "sextant", "quadrant", "halfcell", "unicode")
REAL_SERVICE_INTERVAL = 3.0  # the service's documented budget: one request per 3 s


class ConfigError(Exception):
    """A setting is missing or wrong; the message says which and how to fix it."""

    def __init__(self, human: str) -> None:
        super().__init__(human)
        self.human = human


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


@dataclass
class Settings:
    base_url: str | None = None
    token: str | None = field(default=None, repr=False)
    data_dir: Path = field(default_factory=default_data_dir)
    graphics: str = "auto"
    rate_interval: float | None = None  # None: 3 s for a real service, none for the simulator
    timeout: float = 30.0
    expire_mins: int | None = None
    stall_seconds: float = 120.0
    # the built-in simulator (demo mode and tests)
    sim_speed: float = 5.0
    sim_rate_limit: float = 0.0
    sim_banned: tuple[str, ...] = ()
    sim_chaos: float = 0.0
    sim_seed: int = 0
    sim_tile_size: int = 512
    sim_stall_words: tuple[str, ...] = ()
    # webhook mode: listen here, advertise that URL to the service
    webhook_listen: str | None = None
    webhook_public_url: str | None = None
    webhook_grace: float = 30.0  # poll anyway when no webhook came this long after the estimate
    expected_seconds: float = 40.0  # how long a job takes until jobs of this session say otherwise
    theme: str | None = None
    keymap: dict[str, str] = field(default_factory=dict)
    config_path: Path | None = None
    # where each value came from, for `imagine-tui config`
    sources: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def demo(self) -> bool:
        """No account configured: run against the built-in simulator."""
        return self.base_url is None

    @property
    def db_path(self) -> Path:
        return self.data_dir / "history.sqlite3"

    @property
    def image_dir(self) -> Path:
        return self.data_dir / "images"

    def budget_interval(self) -> float:
        if self.rate_interval is not None:
            return self.rate_interval
        if self.demo:
            return self.sim_rate_limit
        return REAL_SERVICE_INTERVAL

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    def check(self) -> Settings:
        if self.token and not self.base_url:
            raise ConfigError(
                "An API token is set but no base URL: set IMAGINE_BASE_URL or pass --base-url "
                "(unset the token to use the built-in simulator)."
            )
        if self.graphics not in GRAPHICS:
            raise ConfigError(
                f"graphics must be one of {', '.join(GRAPHICS)}, not {self.graphics!r}"
            )
        return self

    @classmethod
    def for_tests(cls, tmp_path: Path, **overrides: Any) -> Settings:
        """Demo mode on a fast simulator, everything under ``tmp_path``."""
        base = cls(
            data_dir=tmp_path,
            graphics="halfcell",
            sim_speed=120.0,
            sim_tile_size=256,
            timeout=5.0,
        )
        return replace(base, **overrides)


ENV_VARS = {
    "IMAGINE_BASE_URL": "base_url",
    "IMAGINE_API_TOKEN": "token",
    "IMAGINE_DATA_DIR": "data_dir",
    "IMAGINE_GRAPHICS": "graphics",
    "IMAGINE_RATE_INTERVAL": "rate_interval",
}


def _path(value: Any) -> Path:
    return Path(os.path.expanduser(str(value)))


# Values arrive as strings (environment) or TOML/argparse types; these need converting.
_CONVERT: dict[str, Callable[[Any], Any]] = {
    "data_dir": _path,
    "rate_interval": float,
    "timeout": float,
    "stall_seconds": float,
    "expected_seconds": float,
    "webhook_grace": float,
    "sim_speed": float,
    "expire_mins": int,
}


def _coerce(name: str, value: Any) -> Any:
    convert = _CONVERT.get(name)
    return convert(value) if convert is not None else value


def resolve(
    flags: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    config: Path | None = None,
) -> Settings:
    """Defaults < config file < environment < flags. Empty values count as unset."""
    from app import config_file  # it imports this module

    env = dict(os.environ) if env is None else env
    settings = Settings()
    sources = {f.name: "default" for f in fields(Settings) if f.name != "sources"}
    file_values, keymap, path = config_file.load(config)
    values: dict[str, Any] = dict(file_values)
    sources.update({k: f"file {path}" for k in file_values})
    for var, name in ENV_VARS.items():
        if env.get(var):
            values[name] = env[var]
            sources[name] = f"env {var}"
    for name, value in (flags or {}).items():
        if value is not None and value != ():
            values[name] = value
            sources[name] = "flag"
    coerced: dict[str, Any] = {}
    for key, value in values.items():
        try:
            coerced[key] = _coerce(key, value)
        except (TypeError, ValueError):
            raise ConfigError(
                f"The setting {key} ({sources[key]}) is {str(value)[:40]!r}, not a number."
            ) from None
    settings = replace(settings, **coerced, keymap=keymap, config_path=path)
    settings.sources = sources
    return settings.check()
