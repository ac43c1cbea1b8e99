"""The TOML config file: reading with errors that name file, line and key; writing at 0600.

```toml
base_url = "https://api.example.com/v2"
token = "..."            # better: `imagine-tui config set-token`
graphics = "auto"
theme = "textual-dark"

[keys]                   # binding id = keys, as Textual keymaps take them
upscale = "U"
```
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any

import platformdirs

from app.files import write_atomic
from app.settings import APP_NAME, GRAPHICS, ConfigError

# key -> accepted Python types
SCHEMA: dict[str, tuple[type, ...]] = {
    "base_url": (str,),
    "token": (str,),
    "data_dir": (str,),
    "graphics": (str,),
    "rate_interval": (int, float),
    "timeout": (int, float),
    "expire_mins": (int,),
    "stall_seconds": (int, float),
    "theme": (str,),
    "webhook_listen": (str,),
    "webhook_public_url": (str,),
    "sim_speed": (int, float),
}
TABLES = ("keys",)


def config_path() -> Path:
    env = os.environ.get("IMAGINE_CONFIG")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "config.toml"


def _line_of(text: str, key: str) -> int | None:
    pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=", re.MULTILINE)
    match = pattern.search(text)
    return text.count("\n", 0, match.start()) + 1 if match else None


def _where(path: Path, text: str, key: str) -> str:
    line = _line_of(text, key)
    return f"{path}, line {line}, key {key!r}" if line else f"{path}, key {key!r}"


def load(path: Path | None = None) -> tuple[dict[str, Any], dict[str, str], Path]:
    """Settings and keymap from the file (both empty when there is no file)."""
    path = path or config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}, {}, path
    except OSError as exc:
        raise ConfigError(f"Cannot read the config file {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"The config file {path} is not valid TOML: {exc}") from None
    values: dict[str, Any] = {}
    keymap: dict[str, str] = {}
    for key, value in data.items():
        if key in TABLES:
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                raise ConfigError(
                    f"{_where(path, text, key)}: [keys] maps binding ids to key names "
                    'as strings, e.g. upscale = "U"'
                )
            keymap = dict(value)
            continue
        kinds = SCHEMA.get(key)
        if kinds is None:
            known = ", ".join(sorted(SCHEMA))
            raise ConfigError(f"{_where(path, text, key)}: unknown setting. Known: {known}")
        if isinstance(value, bool) or not isinstance(value, kinds):
            want = " or ".join(k.__name__ for k in kinds)
            raise ConfigError(
                f"{_where(path, text, key)}: expected {want}, got {type(value).__name__}"
            )
        if key == "graphics" and value not in GRAPHICS:
            raise ConfigError(f"{_where(path, text, key)}: must be one of {', '.join(GRAPHICS)}")
        values[key] = value
    return values, keymap, path


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    escaped = re.sub(r"[\x00-\x1f\x7f]", lambda m: f"\\u{ord(m.group()):04x}", escaped)
    return f'"{escaped}"'


def save(values: dict[str, Any], keymap: dict[str, str], path: Path | None = None) -> Path:
    """Write the file atomically, readable by the owner only (it may hold the token)."""
    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{k} = {_toml_value(v)}" for k, v in values.items()]
    if keymap:
        lines += [
            "",
            "[keys]",
            *(f"{_toml_value(k)} = {_toml_value(v)}" for k, v in keymap.items()),
        ]
    return write_atomic(path, ("\n".join(lines) + "\n").encode("utf-8"))  # 0600


def set_value(key: str, value: Any, path: Path | None = None) -> Path:
    values, keymap, path = load(path)
    values[key] = value
    return save(values, keymap, path)
