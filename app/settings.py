"""Every setting, declared once.

Each user-facing field of :class:`Settings` carries its help, environment variable, flag,
check and what "unset" means; reading the environment, checking the config file, the CLI
flags and `imagine-tui config` are all derived from these declarations. The type is the
field's annotation. Precedence: defaults < config file < environment < flags; empty values
count as unset.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from dataclasses import MISSING, dataclass, field, fields, replace
from pathlib import Path
from types import NoneType, UnionType
from typing import Any, get_args, get_type_hints

from app import config_file
from app.keynames import normalize_keys
from app.urls import base_url_problem, redact_url

GRAPHICS = ("auto", "kitty", "sixel", "sextant", "quadrant", "halfcell", "unicode")
# The APIs a service may speak (app.backends has one adapter, app.simulator one dialect each).
API_NAMES = ("thenextleg", "midjourney-proxy", "imaginepro")
REAL_SERVICE_INTERVAL = 3.0  # the service's documented budget: one request per 3 s
# commands offering a flag
TUI, JOBS = ("tui", "config"), ("imagine", "button", "describe", "blend", "config")
EVERYWHERE = ("tui", "imagine", "button", "describe", "blend", "config")


class ConfigError(Exception):
    """A setting is missing or wrong; the message says which, where it came from, how to fix it."""

    def __init__(self, human: str) -> None:
        super().__init__(human)
        self.human = human


Check = Callable[[Any], str | None]  # the problem with a value, or None


def _number(unit: str, low: float, high: float, *, above: bool = False) -> Check:
    """A finite number from ``low`` (excluded when ``above``) to ``high``."""
    bounds = f"above {low:g}, at most {high:g}" if above else f"from {low:g} to {high:g}"

    def check(value: float) -> str | None:
        bad = not math.isfinite(value) or value < low or (above and value == low)
        return f"must be {unit} {bounds}" if bad or value > high else None

    return check


def _host_port(value: str) -> str | None:
    _host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        return "must be HOST:PORT, e.g. 127.0.0.1:8765"
    return None


@dataclass(frozen=True)
class Spec:
    """How a setting reaches the user; the name, type and default are the field's own."""

    help: str
    env: str | None = None
    flag: str | None = None
    commands: tuple[str, ...] = EVERYWHERE  # where the flag is offered
    metavar: str | None = None
    choices: tuple[str, ...] = ()
    check: Check | None = None
    unset: str = ""  # what None means, for `imagine-tui config`


def spec(help: str, **more: Any) -> dict[str, Spec]:
    """A field's metadata: ``field(default=..., metadata=spec("help", env=...))``."""
    return {"spec": Spec(help, **more)}


def default_data_dir() -> Path:
    return config_file.user_dir("data")


_SECONDS = "a number of seconds"


@dataclass
class Settings:
    api: str = field(
        default=API_NAMES[0],
        metadata=spec(
            "the API the service speaks (see README: Backends)",
            env="IMAGINE_API",
            flag="--api",
            choices=API_NAMES,
        ),
    )
    base_url: str | None = field(
        default=None,
        metadata=spec(
            "API base URL",
            env="IMAGINE_BASE_URL",
            flag="--base-url",
            metavar="URL",
            check=base_url_problem,
            unset="the built-in simulator",
        ),
    )
    token: str | None = field(
        default=None,
        repr=False,
        metadata=spec(
            "API token (prefer the environment or `config set-token`: flags show in `ps`)",
            env="IMAGINE_API_TOKEN",
            flag="--token",
        ),
    )
    data_dir: Path = field(
        default_factory=default_data_dir,
        metadata=spec(
            "history and image cache",
            env="IMAGINE_DATA_DIR",
            flag="--data-dir",
            metavar="DIR",
        ),
    )
    graphics: str = field(
        default="auto",
        metadata=spec(
            "image drawing",
            env="IMAGINE_GRAPHICS",
            flag="--graphics",
            commands=TUI,
            choices=GRAPHICS,
        ),
    )
    rate_interval: float | None = field(
        default=None,
        metadata=spec(
            "seconds between API requests",
            env="IMAGINE_RATE_INTERVAL",
            flag="--rate-interval",
            metavar="SECONDS",
            check=_number(_SECONDS, 0, 3600),
            unset="3 s against a service, none for the simulator",
        ),
    )
    timeout: float = field(
        default=30.0,
        metadata=spec(
            "seconds to wait for an answer from the service",
            check=_number(_SECONDS, 0, 3600, above=True),
        ),
    )
    expire_mins: int | None = field(
        default=None,
        metadata=spec(
            "report a job incomplete after this many minutes",
            flag="--expire-mins",
            commands=JOBS,
            metavar="MINUTES",
            check=_number("a whole number of minutes", 1, 1440),
            unset="the service's default, 12",
        ),
    )
    stall_seconds: float = field(
        default=120.0,
        metadata=spec(
            "warn about a job whose progress has not moved this long",
            check=_number(_SECONDS, 0, 86400, above=True),
        ),
    )
    sim_speed: float = field(
        default=5.0,
        metadata=spec(
            "built-in simulator speed when no account is set (1 = a real 35 s job)",
            flag="--speed",
            metavar="FACTOR",
            check=_number("a speed factor", 0, 1000, above=True),
        ),
    )
    theme: str | None = field(
        default=None, metadata=spec("Textual theme", unset="the last one picked in the palette")
    )
    webhook_listen: str | None = field(
        default=None,
        metadata=spec(
            "receive finished jobs on this local address instead of polling",
            flag="--webhook-listen",
            commands=TUI,
            metavar="HOST:PORT",
            check=_host_port,
            unset="poll for results",
        ),
    )
    webhook_public_url: str | None = field(
        default=None,
        metadata=spec(
            "the public URL the service should call",
            flag="--webhook-url",
            commands=TUI,
            metavar="URL",
            check=base_url_problem,
            unset="the listen address",
        ),
    )
    cache_max: float = field(
        default=2.0,
        metadata=spec(
            "image cache cap in GB: least recently used images go first, favourites stay",
            env="IMAGINE_CACHE_MAX",
            flag="--cache-max",
            commands=TUI,
            metavar="GB",
            check=_number("a size in GB", 0, 1_000_000, above=True),
        ),
    )
    # The config file's [keys] table: binding id -> keys, as Textual keymaps take them.
    keymap: dict[str, str] = field(default_factory=dict)
    # Not user settings: knobs for the built-in simulator (demo mode, tests) and the scheduler.
    sim_rate_limit: float = 0.0
    sim_banned: tuple[str, ...] = ()
    sim_chaos: float = 0.0
    sim_seed: int = 0
    sim_tile_size: int = 512
    sim_stall_words: tuple[str, ...] = ()
    webhook_grace: float = 30.0  # poll anyway when no webhook came this long after the estimate
    expected_seconds: float = 40.0  # how long a job takes until jobs of this session say otherwise
    # Where the values came from, for messages and `imagine-tui config`.
    config_path: Path | None = None
    sources: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    warnings: tuple[str, ...] = ()  # worth telling the user, not worth refusing to start

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

    def source(self, name: str) -> str:
        return self.sources.get(name, "default")

    def problems(self) -> list[str]:
        """Each wrong or missing setting as a sentence naming it and where it came from."""
        found = [
            p
            for name, _ in SPECS.items()
            if (p := problem(name, getattr(self, name), self.source(name)))
        ]
        if self.token and not self.base_url:
            found.append(
                f"An API token is set ({self.source('token')}) but no base URL: set "
                "IMAGINE_BASE_URL, base_url in the config file or --base-url (unset the token "
                "to use the built-in simulator)."
            )
        return found

    def check(self) -> Settings:
        found = self.problems()
        if found:
            raise ConfigError(_one_message(found))
        return self


SPECS: dict[str, Spec] = {f.name: f.metadata["spec"] for f in fields(Settings) if f.metadata}
_SECRET = {f.name for f in fields(Settings) if f.name in SPECS and not f.repr}  # the token
_HINTS = get_type_hints(Settings)


def kind(name: str) -> type:
    """The setting's type without its None: float for ``float | None``."""
    hint = _HINTS[name]
    if isinstance(hint, UnionType):
        return next(a for a in get_args(hint) if a is not NoneType)  # type: ignore[no-any-return]
    return hint  # type: ignore[no-any-return]


def flags_for(command: str) -> Iterator[tuple[str, Spec, Any]]:
    """(name, spec, default) of each setting ``command`` offers a flag for."""
    defaults = {f.name: f.default for f in fields(Settings)}
    for name, spec in SPECS.items():
        if spec.flag and command in spec.commands:
            default = defaults[name]
            yield name, spec, None if default is MISSING else default


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def shown(name: str, value: Any) -> str:
    """A value as one would type it in the config file; never the token, never a password."""
    if name in _SECRET:
        return '"…"'
    if isinstance(value, str) and kind(name) in (int, float) and _numeric(value):
        return value.strip()  # from a flag or the environment, as typed: -3, inf, 1e9
    if isinstance(value, str):
        value = redact_url(value)
    simple = isinstance(value, (bool, int, float))
    text = config_file.toml_value(value if simple else str(value))
    return text if len(text) <= 200 else text[:197] + '…"'


def problem(name: str, value: Any, source: str, given: Any = None) -> str | None:
    """What is wrong with ``value`` (``given`` as typed, before conversion), as a sentence."""
    spec = SPECS[name]
    if value is None:
        return None
    why = spec.check(value) if spec.check else None
    if spec.choices and value not in spec.choices:
        why = f"must be one of {', '.join(spec.choices)}"
    shown_value = shown(name, value if given is None else given)
    return f"{name} = {shown_value} ({source}): {why}." if why else None


def _one_message(problems: list[str]) -> str:
    if len(problems) == 1:
        return problems[0]
    return "the settings have problems:\n" + "\n".join(f"  - {p}" for p in problems)


def _convert(name: str, raw: Any) -> Any:
    """Environment and flags give text, the file gives TOML types; ValueError names the want."""
    want = kind(name)
    if want is float and not isinstance(raw, bool):
        try:
            return float(raw)
        except (TypeError, ValueError):
            raise ValueError("must be a number") from None
    if want is int and not isinstance(raw, (bool, float)):
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise ValueError("must be a whole number") from None
    if want in (str, Path) and isinstance(raw, str):
        return Path(os.path.expanduser(raw)) if want is Path else raw
    raise ValueError("must be " + {float: "a number", int: "a whole number"}.get(want, "text"))


def _keymap(
    file: config_file.ConfigFile, table: Any
) -> tuple[dict[str, str], list[str], list[str]]:
    """The [keys] table: keymap, problems, warnings about keys that do not exist."""
    where = file.where("keys")
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        return {}, [f'{where}: [keys] maps binding ids to keys as text, e.g. upscale = "U".'], []
    keymap: dict[str, str] = {}
    warnings: list[str] = []
    for binding, keys in table.items():
        good, bad = normalize_keys(keys)
        if bad:
            names = ", ".join(config_file.toml_value(b) for b in bad)
            warnings.append(
                f"{file.where(binding)}: [keys] {binding} = {config_file.toml_value(keys)}: "
                f"no key is named {names} (keys look like U, ctrl+s, f5, slash, pageup)."
            )
        if good:
            keymap[binding] = good
    return keymap, [], warnings


def gather(
    flags: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    config: Path | None = None,
) -> tuple[Settings, list[str]]:
    """The settings from every source, and the problems with them; bad values are left out
    (their defaults apply), so that `imagine-tui config` can show everything it can."""
    env = dict(os.environ) if env is None else env
    file = config_file.read(config)
    problems = [file.problem] if file.problem else []
    raw: dict[str, tuple[Any, str]] = {}
    keymap: dict[str, str] = {}
    warnings: list[str] = []
    for key, value in file.data.items():
        if key == "keys":
            keymap, wrong, warnings = _keymap(file, value)
            problems += wrong
        elif key in SPECS:
            raw[key] = (value, file.where(key))
        else:
            known = ", ".join([*SPECS, "[keys]"])
            problems.append(f"{file.where(key)}: unknown setting {key!r}. Known: {known}.")
    for name, spec in SPECS.items():
        if spec.env and env.get(spec.env):
            raw[name] = (env[spec.env], f"env {spec.env}")
    for name, value in (flags or {}).items():
        if value is not None and value != "":
            raw[name] = (value, f"flag {SPECS[name].flag}")
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name, (given, source) in raw.items():
        try:
            value = _convert(name, given)
        except ValueError as exc:
            problems.append(f"{name} = {shown(name, given)} ({source}): {exc}.")
            sources[name] = f"default: {source} was refused"
            continue
        bad = problem(name, value, source, given)
        if bad:
            problems.append(bad)
            sources[name] = f"default: {source} was refused"
            continue
        values[name] = value
        sources[name] = source
    settings = Settings(
        **values,
        keymap=keymap,
        config_path=file.path,
        sources=sources,
        warnings=tuple(warnings),
    )
    return settings, problems + settings.problems()


def resolve(
    flags: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    config: Path | None = None,
) -> Settings:
    """The effective settings; ConfigError lists every problem, each with where it came from."""
    settings, problems = gather(flags, env, config)
    if problems:
        raise ConfigError(_one_message(problems))
    return settings


def describe(settings: Settings) -> list[str]:
    """`imagine-tui config`: each setting as one would write it in the file, and its source."""
    lines: list[str] = []
    for name, spec in SPECS.items():
        value = getattr(settings, name)
        source = settings.source(name)
        if value is None:  # a refused value leaves its source; the default has none
            line, source = f"# {name} (not set): {spec.unset}", settings.sources.get(name, "")
        elif name in _SECRET:  # a commented placeholder: nothing anyone should copy
            line, source = f"# {name} = {shown(name, value)}", f"set, hidden; {source}"
        else:
            line = f"{name} = {shown(name, value)}"
        line = line.removesuffix(": ")
        lines.append(f"{line:<46}  # {source}" if source else line)
    if settings.keymap:
        lines += ["", "[keys]"]
        lines += [f"{k} = {config_file.toml_value(v)}" for k, v in settings.keymap.items()]
    return lines


def store_token(token: str, path: Path | None = None) -> Path:
    """Put the token in the config file, keeping what else it holds."""
    file = config_file.read(path)
    if file.problem:
        raise ConfigError(file.problem + " Nothing was changed.")
    values = {k: v for k, v in file.data.items() if k != "keys"}
    keys = file.data.get("keys", {})
    try:
        return config_file.write(file.path, {**values, "token": token}, keys)
    except OSError as exc:
        raise ConfigError(
            f"Cannot write the config file {file.path}: {exc.strerror}. Nothing was changed; "
            "set IMAGINE_CONFIG to a file in a folder you can write, or use IMAGINE_API_TOKEN."
        ) from None
