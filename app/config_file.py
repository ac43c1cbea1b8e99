"""The TOML config file: where it lives, reading it (problems as sentences), writing it at 0600.

```toml
base_url = "https://api.example.com/v2"
token = "..."            # better: `imagine-tui config set-token`
graphics = "auto"
theme = "textual-dark"

[keys]                   # binding id = keys, as Textual keymaps take them
upscale = "U"
```

What the keys mean and which values are good is the settings schema's business
(``app.settings``); this module only knows TOML, paths and file modes.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from app import APP_NAME
from app.files import write_atomic

# XDG base directories: the variable, and the folder under home when it is unset.
_XDG = {"config": ("XDG_CONFIG_HOME", ".config"), "data": ("XDG_DATA_HOME", ".local/share")}


def user_dir(kind: Literal["config", "data"]) -> Path:
    """This app's folder for ``kind`` ("config" or "data"). On Linux that is two XDG
    variables, read here: platformdirs (for macOS and Windows) costs ~4 ms, a tenth of
    `imagine-tui config`."""
    if not sys.platform.startswith("linux"):
        import platformdirs

        find = platformdirs.user_config_dir if kind == "config" else platformdirs.user_data_dir
        return Path(find(APP_NAME, appauthor=False))
    variable, under_home = _XDG[kind]
    base = os.environ.get(variable, "")
    if not os.path.isabs(base):  # unset, empty or relative: the spec says to ignore it
        base = os.path.join(os.path.expanduser("~"), under_home)
    return Path(base) / APP_NAME


def config_path() -> Path:
    env = os.environ.get("IMAGINE_CONFIG")
    if env:
        return Path(env).expanduser()
    return user_dir("config") / "config.toml"


@dataclass
class ConfigFile:
    path: Path
    data: dict[str, Any] = field(default_factory=dict)  # empty when missing or unreadable
    text: str = ""
    exists: bool = False
    problem: str | None = None  # why the file could not be used at all

    def where(self, key: str) -> str:
        """ "file PATH, line N" for a top-level key or table, for messages."""
        pattern = re.compile(
            rf"^[ \t]*\[?[ \t]*[\"']?{re.escape(key)}[\"']?[ \t]*(=|\])", re.MULTILINE
        )
        match = pattern.search(self.text)
        if match is None:
            return f"file {self.path}"
        return f"file {self.path}, line {self.text.count(chr(10), 0, match.start()) + 1}"


def read(path: Path | None = None) -> ConfigFile:
    path = path or config_path()
    try:
        raw = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return ConfigFile(path)
    except OSError as exc:
        return ConfigFile(path, problem=f"Cannot read the config file {path}: {exc.strerror}.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        return ConfigFile(
            path,
            exists=True,
            problem=f"The config file {path} is not UTF-8 text (line {line} has the byte "
            f"0x{raw[exc.start]:02x}); save it as UTF-8.",
        )
    import tomllib  # only when there is a file to read

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        problem = f"The config file {path} is not valid TOML: {exc}."
        return ConfigFile(path, text=text, exists=True, problem=problem)
    return ConfigFile(path, data, text, exists=True)


def toml_value(value: Any) -> str:
    """``value`` as one would type it in the file."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    escaped = re.sub(r"[\x00-\x1f\x7f]", lambda m: f"\\u{ord(m.group()):04x}", escaped)
    return f'"{escaped}"'


def write(path: Path, values: dict[str, Any], keymap: dict[str, str]) -> Path:
    """Write the file atomically, readable by the owner only (it may hold the token);
    a folder made for it is private too. Raises OSError."""
    lines = [f"{k} = {toml_value(v)}" for k, v in values.items()]
    if keymap:
        lines += ["", "[keys]", *(f"{toml_value(k)} = {toml_value(v)}" for k, v in keymap.items())]
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.parent == user_dir("config"):  # ours alone (an IMAGINE_CONFIG folder may be shared)
        os.chmod(path.parent, 0o700)
    return write_atomic(path, ("\n".join(lines) + "\n").encode("utf-8"))  # 0600
