"""Command line: the TUI (default), and `imagine`, `button`, `simulate` for scripts.

Exit codes: 0 done, 1 job failed or incomplete, 2 bad input, 3 API / auth / network error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.config_file import config_path
from app.settings import (
    API_NAMES,
    GRAPHICS,
    SPECS,
    ConfigError,
    Settings,
    describe,
    flags_for,
    gather,
    resolve,
    store_token,
)
from app.text import button_text, clean_text, undecodable
from app.urls import proxy_for, redact_url

# Only what parsing the command line needs is imported above: `--help` and `config` must
# start about as fast as Python itself. Each command imports its own heavy parts
# (asyncio, httpx, PIL, sqlite, textual) when it runs.
if TYPE_CHECKING:
    from app.jobs.manager import JobEvent, JobManager
    from app.jobs.model import Job
    from app.runtime import Backend

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_API = 0, 1, 2, 3


def _setting_flags(parser: argparse.ArgumentParser, command: str, *, top: bool = False) -> None:
    """The flags of the settings ``command`` uses, as app.settings declares them. Only
    the top level's flags default to None: a command's own, absent, leave the value the
    top level parsed (``imagine-tui --data-dir D jobs`` listed the default data dir's)."""
    for name, spec, default in flags_for(command):
        more = [f"env {spec.env}"] if spec.env else []
        more += [f"default: {default}"] if default is not None else []
        assert spec.flag is not None
        parser.add_argument(
            spec.flag,
            dest=name,
            metavar=spec.metavar,
            choices=spec.choices or None,
            help=f"{spec.help} ({'; '.join(more)})".replace(" ()", "").replace("%", "%%"),
            default=None if top else argparse.SUPPRESS,
        )


def _job_args(parser: argparse.ArgumentParser, command: str) -> None:
    _setting_flags(parser, command)
    parser.add_argument(
        "--wait", action="store_true", help="wait for the result, progress on stderr"
    )
    parser.add_argument("--out", type=Path, help="save the images and a JSON sidecar here")
    parser.add_argument("--json", action="store_true", help="print JSON on stdout")


def _tui_args(parser: argparse.ArgumentParser) -> None:
    _setting_flags(parser, "tui")


def _imagine_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("prompt")
    _job_args(parser, "imagine")


def _button_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("label", help="as the job listed it, e.g. U1, V2, 🔄 (u1 means U1)")
    parser.add_argument(
        "--message",
        required=True,
        dest="button_message_id",
        metavar="ID",
        help="the job id (as `jobs` lists it), the messageId imagine printed, "
        "or the job's buttonMessageId",
    )
    parser.add_argument("--zoom", type=float, help="Custom Zoom: 1 to 2")
    parser.add_argument("--ar", help="Custom Zoom: aspect ratio such as 16:9")
    parser.add_argument("--prompt", help="Remix: the new prompt for a V, 🔄 or pan press")
    _job_args(parser, "button")


def _wait_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("job", help="the job id, or the messageId imagine printed")
    _job_args(parser, "imagine")
    parser.set_defaults(wait=True)


def _jobs_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--limit", type=int, default=20, help="how many (default: 20)")
    parser.add_argument("--json", action="store_true", help="print JSON on stdout")
    _setting_flags(parser, "config")


def _cache_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--prune",
        action="store_true",
        help="remove least recently used images down to cache_max (never favourites')",
    )
    _setting_flags(parser, "config")


def _describe_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", metavar="IMAGE_OR_URL")
    _job_args(parser, "describe")


def _blend_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="+", metavar="IMAGE_OR_URL")
    _job_args(parser, "blend")


def _graphics_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--graphics", choices=GRAPHICS, help="try this renderer")


def _config_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", nargs="?", choices=("show", "set-token", "path"), default="show")
    _setting_flags(parser, "config")


def _simulate_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--api",
        choices=API_NAMES,
        default=API_NAMES[0],
        help="the API dialect to serve (default: thenextleg)",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--speed", type=float, default=1.0, help="time scale (1 = real time)")
    parser.add_argument("--token", help="require this token (the API's own header)")
    parser.add_argument(
        "--rate-limit",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="one request per SECONDS (the real service: 3)",
    )
    parser.add_argument("--banned", action="append", default=[], metavar="WORD")
    parser.add_argument("--chaos", type=float, default=0.0, metavar="RATE")
    parser.add_argument("--seed", type=int, default=0)


# Each command: its line in --help, and what adds its arguments.
_COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None]]] = {
    "tui": ("start the terminal UI (the default)", _tui_args),
    "imagine": ("submit a prompt; print the job id", _imagine_args),
    "button": ("press a button of a finished job", _button_args),
    "wait": (
        "wait again for a job of the history (after Ctrl+C, or from another window)",
        _wait_args,
    ),
    "jobs": ("list the most recent jobs of the history", _jobs_args),
    "cache": ("show the image cache's size, or prune it to its cap", _cache_args),
    "describe": ("four prompts for an image (URL or file)", _describe_args),
    "blend": ("blend 2 to 5 images (URLs or files) into a new grid", _blend_args),
    "graphics": ("show the detected terminal graphics and a test image", _graphics_args),
    "config": ("show the effective settings, or store the token", _config_args),
    "simulate": ("run the built-in API simulator on loopback", _simulate_args),
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line; with ``only``, the arguments of that command alone are added
    (the others are listed): 130 arguments cost more than Python takes to start."""
    parser = argparse.ArgumentParser(
        prog="imagine-tui",
        description="A terminal client for imagine / message / button image-generation APIs. "
        "With no account configured it runs on a built-in simulator.",
    )
    sub = parser.add_subparsers(dest="command")
    _setting_flags(parser, "tui", top=True)
    for name, (text, add_args) in _COMMANDS.items():
        command = sub.add_parser(name, help=text)
        if only is None or only == name:
            add_args(command)
    return parser


def _command_in(argv: list[str]) -> str | None:
    """The command ``argv`` names, found without parsing; None when not sure (then every
    command's parser is built). Before the command only the TUI's own flags can come."""
    valued = {spec.flag for _, spec, _ in flags_for("tui")}
    skip = False
    for token in argv:
        if skip:
            skip = False
        elif token in _COMMANDS:
            return token
        elif token in ("-h", "--help"):
            return ""  # the list of commands, and none of their arguments
        elif token in valued:
            skip = True  # its value follows, and may look like a command
        elif token.split("=", 1)[0] not in valued or "=" not in token:
            return None  # -h, an abbreviation, a typo...: argparse decides
    return "tui"  # no command: the TUI, the default


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(_command_in(argv)).parse_args(argv)
    try:
        if args.command == "simulate":
            return _simulate(args)
        if args.command == "graphics":
            from app.ui.graphics import run_graphics_command

            return run_graphics_command(args.graphics or resolve({}).graphics)
        if args.command == "config":
            return _config(args)
        settings = resolve(_flags(args))
        if args.command in ("imagine", "button", "wait", "describe", "blend"):
            import asyncio

            return asyncio.run(_run_job(args, settings))
        if args.command == "jobs":
            return _jobs(args, settings)
        if args.command == "cache":
            return _cache(args, settings)
        return _tui(settings)
    except ConfigError as exc:
        _err(f"imagine-tui: {exc.human}")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `... | head`: the reader left; say nothing more, no traceback
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python's own flush at exit would fail too
        return 128 + 13  # as a command killed by SIGPIPE


def _flags(args: argparse.Namespace) -> dict[str, Any]:
    return {n: v for n in SPECS if (v := getattr(args, n, None)) is not None}


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _config(args: argparse.Namespace) -> int:
    if args.action == "path":
        print(config_path())
        return EXIT_OK
    if args.action == "set-token":
        return _set_token()
    # Show all there is, even when it would not start: this is where one looks when it does not.
    settings, problems = gather(_flags(args))
    assert settings.config_path is not None
    missing = "" if settings.config_path.exists() else " (does not exist)"
    print(f"# config file: {settings.config_path}{missing}")
    print("\n".join(describe(settings)))
    backend = f"service at {redact_url(settings.base_url or '')}"
    print(f"# backend: {'demo: the built-in simulator' if settings.demo else backend}")
    proxy = None if settings.demo else proxy_for(settings.base_url or "")
    print(f"# proxy: {redact_url(proxy)} (from the environment)" if proxy else "# proxy: none")
    for text in settings.warnings:
        _err(f"imagine-tui: warning: {text}")
    for text in problems:
        _err(f"imagine-tui: {text}")
    return EXIT_BAD_INPUT if problems else EXIT_OK


def _set_token() -> int:
    import getpass

    if not sys.stdin.isatty():
        token = sys.stdin.readline().strip()  # for scripts: the token on stdin, never argv
    else:
        token = getpass.getpass("API token (not shown): ").strip()
    if not token:
        _err("imagine-tui: no token given; nothing changed")
        return EXIT_BAD_INPUT
    path = store_token(token)
    print(f"Token saved to {path} (readable by you only).")
    return EXIT_OK


def _tui(settings: Settings) -> int:
    from app.ui.app import run_app  # textual only when the TUI is wanted

    return run_app(settings)


def _simulate(args: argparse.Namespace) -> int:
    from app.simulator import SimulatorConfig, run_simulator

    config = SimulatorConfig(
        api=args.api,
        speed=args.speed,
        token=args.token,
        rate_limit=args.rate_limit,
        banned=tuple(args.banned),
        chaos=args.chaos,
        seed=args.seed,
    )
    if not 0 <= config.chaos <= 1 or config.speed <= 0:
        _err("imagine-tui: --chaos takes 0..1 and --speed a positive number")
        return EXIT_BAD_INPUT
    run_simulator(config, host=args.host, port=args.port, announce=lambda s: print(s, flush=True))
    return EXIT_OK


# -- imagine / button ---------------------------------------------------------------------
# The same job path as the app: the job manager, the store (the job is in the history),
# the request budget, and its retry and uncertain-POST rules.

# Job failures that were the API's answer to the request rather than the job's outcome
# (a full queue too: the service cannot take the job now, whatever the backend).
_API_FAILURES = frozenset(
    {
        "auth",
        "QUEUE_FULL",
        "bad_request",
        "rate_limited",
        "server",
        "bad_response",
        "network",
        "timeout",
        "error",
    }
)


async def _run_job(args: argparse.Namespace, settings: Settings) -> int:
    from app.jobs.manager import PromptError, check_prompt
    from app.jobs.store import StoreError
    from app.runtime import close_backend, open_backend

    try:
        prompt = check_prompt(args.prompt) if args.command == "imagine" else None
    except PromptError as exc:
        _err(f"imagine-tui: {exc}")
        return EXIT_BAD_INPUT
    if args.command == "button" and not args.button_message_id.strip():
        _err("imagine-tui: --message needs a job id, its messageId or its buttonMessageId")
        return EXIT_BAD_INPUT
    problem = _unusable_args(args)
    if problem is not None:  # found before anything is sent, and paid for
        _err(f"imagine-tui: {problem}")
        return EXIT_BAD_INPUT
    progress = _Progress()
    try:
        backend = await open_backend(settings, progress.on_event, script=True)
    except (ValueError, StoreError) as exc:  # an unusable base URL, an unreadable history
        _err(f"imagine-tui: {getattr(exc, 'human', exc)}")
        return EXIT_BAD_INPUT
    if backend.demo:  # served here or by another process on this data dir
        _err(
            "imagine-tui: no account configured; "
            f"using the built-in simulator at {backend.base_url}"
        )
    try:
        if args.command == "wait":
            return await _wait_command(args, backend, progress)
        return await _job_command(args, backend, prompt, progress)
    finally:
        await close_backend(backend)


async def _job_command(
    args: argparse.Namespace, backend: Backend, prompt: str | None, progress: _Progress
) -> int:
    try:
        job = _new_job(args, backend, prompt)
    except ValueError as exc:
        _err(f"imagine-tui: {exc}")
        return EXIT_BAD_INPUT
    return await _finish(args, backend, job, progress)


async def _wait_command(args: argparse.Namespace, backend: Backend, progress: _Progress) -> int:
    """``wait JOB``: the rest of ``imagine --wait`` for a job already in the history."""
    manager = backend.manager
    wanted = args.job.strip()
    job = _named_job(manager, wanted)
    if job is None:
        where = backend.settings.db_path
        _err(f"imagine-tui: no job {clean_text(wanted)!r} in the history ({where})")
        return EXIT_BAD_INPUT
    manager.watch(job.id)  # polled here unless a live process holds it: then followed
    return await _finish(args, backend, manager.get(job.id) or job, progress)


def _named_job(manager: JobManager, wanted: str) -> Job | None:
    """The job of the history a user names: by its job id, else by an id the service gave
    it (messageId or buttonMessageId)."""
    return manager.get(wanted) or (manager.find_message(wanted) if wanted else None)


async def _finish(args: argparse.Namespace, backend: Backend, job: Job, progress: _Progress) -> int:
    """Wait for the job (with --wait: until it settles), save and report it."""
    import asyncio

    manager = backend.manager
    progress.job_id = job.id
    try:
        job = await manager.wait_for(job.id, lambda j: j.message_id is not None or j.state.settled)
        if job.message_id is None or not args.wait:
            return _report(args, backend, job)
        if not args.json:
            print(job.message_id, flush=True)
        progress.start(job.progress)  # after the id: the bar never runs into stdout's line
        minutes = max(backend.settings.expire_mins or 30, 1) + 1  # never wait forever
        try:
            async with asyncio.timeout(60.0 * minutes):
                job = await manager.until_settled(job.id)
        except TimeoutError:
            progress.close()
            _err(
                f"imagine-tui: gave up waiting after {minutes} min: job {job.message_id} "
                "has not finished (it may still finish at the service)."
            )
            return EXIT_API
        progress.close()
        failures = await manager.images_ready(job.id) if args.out and job.state.finished else ()
        return _report(args, backend, job, failures)
    except asyncio.CancelledError:  # Ctrl+C
        progress.close()
        _interrupted(manager, job.id)
        raise


def _unusable_args(args: argparse.Namespace) -> str | None:
    """Why the command cannot do what it asks, when that can be known before sending."""
    for flag, text in (
        ("label", getattr(args, "label", "")),
        ("--message", getattr(args, "button_message_id", "")),
    ):
        if undecodable(text or ""):
            return f"the {flag} holds bytes that are not UTF-8 text; nothing was sent"
    out: Path | None = args.out
    if out is None:
        return None
    if out.exists() and not out.is_dir():
        return f"--out {out} is a file, not a folder; nothing was sent"
    nearest = next(p for p in (out, *out.parents) if p.exists())
    if not nearest.is_dir() or not os.access(nearest, os.W_OK | os.X_OK):
        return f"--out {out}: {nearest} cannot be written to; nothing was sent"
    return None


def _new_job(args: argparse.Namespace, backend: Backend, prompt: str | None) -> Job:
    """The command's job, queued; ``ValueError`` (exit 2) when it cannot be sent as asked."""
    manager = backend.manager
    if prompt is not None:
        return manager.submit_imagine(prompt)
    if args.command == "button":
        return _press(args, backend)
    images = [args.image] if args.command == "describe" else list(args.images)
    for image in images:  # a typo in a file name is found before anything is sent
        if not image.startswith(("http://", "https://")) and not Path(image).expanduser().is_file():
            raise ValueError(f"{image!r} is neither an http(s) URL nor a readable file")
    if args.command == "describe":
        return manager.submit_describe(images[0])
    return manager.submit_blend(images)


def _press(args: argparse.Namespace, backend: Backend) -> Job:
    """A button job on the job named by --message: from the history when it is there
    (the label checked before anything is sent), else sent to the service as given (a
    job another client made), unless it has our job ids' shape: then it names nothing."""
    from app.api.errors import FAILURE_CODES
    from app.jobs.model import JobState, looks_like_job_id

    manager = backend.manager
    message_id = args.button_message_id.strip()
    options = {"zoom": args.zoom, "ar": args.ar, "prompt": args.prompt}
    if args.prompt is not None:
        options["remix"] = True
    parent = _named_job(manager, message_id)
    if parent is None and looks_like_job_id(message_id):
        where = backend.settings.db_path
        raise ValueError(
            f"no job {clean_text(message_id)!r} in the history ({where}); nothing was sent"
        )
    if parent is None:
        return manager.press_message(message_id, args.label, **options)
    if not parent.state.settled:  # as the service would say it of a job it runs
        raise ValueError(f"{FAILURE_CODES['NOT_FINISHED']} (job {message_id} is {parent.state})")
    if parent.state is not JobState.DONE or not parent.button_message_id:
        raise ValueError(f"job {message_id} is {parent.state}: it has no buttons")
    label = _match_label(args.label, parent.buttons)
    if label is None:
        shown = " ".join(button_text(b) for b in parent.buttons) or "none"
        raise ValueError(f"job {message_id} has no {args.label!r} button; its buttons: {shown}")
    return manager.press(parent.id, label, **options)


def _match_label(typed: str, labels: tuple[str, ...]) -> str | None:
    """The label as the service sent it: exact, else the one matching regardless of case
    and emoji variation selectors ("u1" for U1, "❤" for "❤️")."""
    if typed in labels:
        return typed
    key = button_text(typed).casefold()
    found = [b for b in labels if button_text(b).casefold() == key]
    return found[0] if len(found) == 1 else None


def _report(
    args: argparse.Namespace, backend: Backend, job: Job, failures: tuple[str, ...] = ()
) -> int:
    """Print the outcome (and save the images); the exit code."""
    from app.export import SavedJob, save_job
    from app.jobs.lineage import ancestors
    from app.jobs.model import JobState

    code = _exit_code(job)
    saved: SavedJob | None = None
    saved_files: list[Path] = []
    if code == EXIT_OK and args.out and job.state is JobState.DONE:
        # its own tree only: the whole history is 100k jobs in a long-used one
        lineage = ancestors({j.id: j for j in backend.manager.family(job.id)}, job)
        try:
            saved = save_job(job, backend.images, args.out, lineage=lineage)
        except OSError as exc:
            _err(f"imagine-tui: cannot save into {args.out}: {exc.strerror or exc}")
            return EXIT_BAD_INPUT
        saved_files = saved.files
        reasons = [*failures, *["not downloaded"] * len(saved.missing)]
        urls = job.display_urls
        for url, why in zip(saved.missing, reasons, strict=False):
            n = urls.index(url) + 1 if url in urls else "?"
            _err(
                f"imagine-tui: image {n} of {len(urls)} not saved ({clean_text(why)}): "
                f"{clean_text(url)}"
            )
        if saved.missing:
            _err(f"imagine-tui: saved {len(saved.files)} of {len(urls)} images into {args.out}")
    if code != EXIT_OK:
        where = f"job {job.message_id or job.id}"
        _err(f"imagine-tui: {where} failed: {clean_text(job.error or 'unknown reason')}")
    if args.json:
        import json

        print(json.dumps(_job_json(job, saved_files), ensure_ascii=False), flush=True)
    elif code == EXIT_OK and (not args.wait or job.state is not JobState.DONE):
        print(job.message_id, flush=True)
    elif code == EXIT_OK:
        print(f"buttonMessageId: {job.button_message_id}")
        if job.buttons:  # a describe job has prompts instead
            print("buttons: " + " ".join(job.buttons))
        for url in job.display_urls:
            print(url)
        if job.options.get("seed"):  # ✉️ (TheNextLeg): what it was pressed for
            print(f"seed: {clean_text(str(job.options['seed']), single_line=True)}")
        for n, suggestion in enumerate(job.options.get("prompts", ()), start=1):
            print(f"prompt {n}: {clean_text(str(suggestion), single_line=True)}")
        for path in saved_files:
            print(f"saved: {path}")
    if code == EXIT_OK and saved is not None and saved.missing:
        return EXIT_FAILED  # a partial result is not a success
    return code


def _jobs(args: argparse.Namespace, settings: Settings) -> int:
    """``jobs``: the newest jobs of the history, newest first."""
    from app.jobs.store import JobStore, StoreError

    if args.limit < 1:
        _err("imagine-tui: --limit takes a positive number")
        return EXIT_BAD_INPUT
    jobs: list[Job] = []
    if settings.db_path.is_file():  # no history yet: nothing to list, nothing created
        try:
            with JobStore(settings.db_path, read_only=True) as store:
                jobs = store.newest(args.limit)
        except StoreError as exc:
            _err(f"imagine-tui: {exc.human}")
            return EXIT_BAD_INPUT
    if args.json:
        rows = [
            {
                "jobId": j.id,
                "messageId": j.message_id,
                "state": j.state.value,
                "progress": j.progress,
                "title": j.title,
                "prompt": j.prompt,
                "createdAt": j.created_at,
            }
            for j in jobs
        ]
        import json

        print(json.dumps(rows, ensure_ascii=False), flush=True)
        return EXIT_OK
    import time

    for j in jobs:
        created = time.strftime("%Y-%m-%d %H:%M", time.localtime(j.created_at))
        prompt = clean_text(j.prompt, single_line=True)
        prompt = prompt if len(prompt) <= 50 else prompt[:49] + "…"
        print(f"{j.id}  {j.state.value:<9} {j.progress:3d}%  {created}  {j.title}: {prompt}")
    if not jobs:
        _err(f"imagine-tui: no jobs in the history yet ({settings.db_path})")
    return EXIT_OK


def _cache(args: argparse.Namespace, settings: Settings) -> int:
    """``cache``: how big the image cache is; with --prune, down to its cap."""
    from app.images.evict import usage
    from app.jobs.store import StoreError
    from app.runtime import prune_images

    cap = f"cap {settings.cache_max:g} GB"
    if args.prune:
        try:
            pruned = prune_images(settings)
        except StoreError as exc:  # the favourites are unknown: remove nothing
            _err(f"imagine-tui: {exc.human}")
            return EXIT_BAD_INPUT
        print(f"removed {pruned.removed} images ({_size(pruned.freed)})")
        now = pruned.left
    else:
        now = usage(settings.image_dir)
    print(
        f"{settings.image_dir}: {_size(now.bytes)}, {now.images} images ({now.files} files); {cap}"
    )
    return EXIT_OK


def _size(n: int) -> str:
    return f"{n / 1024**3:.2f} GB" if n >= 1024**3 else f"{n / 1024**2:.1f} MB"


# Failures that what the user gave caused, at submit or later, on every backend: the same
# input fails again, so it is exit 2, as a prompt refused here before sending is.
_BAD_INPUT_FAILURES = frozenset(
    {
        "unsupported",  # the chosen backend does not offer what was asked
        "bad_input",
        "BANNED_PROMPT",  # refused at submit or failed later: the prompt's words
        "blocked",  # BANNED_PROMPT as older histories recorded it
        "NOT_FOUND",  # a job id the service does not know
        "NOT_FINISHED",  # a button pressed before its job was done
    }
)


def _exit_code(job: Job) -> int:
    from app.jobs.model import JobState

    if job.state is JobState.UNCERTAIN or (
        job.state is JobState.FAILED and job.error_code in _API_FAILURES
    ):
        return EXIT_API
    if job.state is JobState.FAILED and job.error_code in _BAD_INPUT_FAILURES:
        return EXIT_BAD_INPUT
    if job.state is JobState.FAILED:
        return EXIT_FAILED
    return EXIT_OK


def _job_json(job: Job, saved: list[Path]) -> dict[str, Any]:
    """The job as its sidecar describes it, plus the service's answer in its own shape
    (``progress``, ``response``) as earlier versions printed it."""
    from app.export import sidecar_data
    from app.jobs.model import JobState

    data = sidecar_data(job, (), saved, ())
    data["progress"] = job.progress
    if job.state is JobState.DONE:
        data["response"] = {
            "content": job.prompt,
            "buttons": list(job.buttons),
            "buttonMessageId": job.button_message_id,
            "imageUrl": job.image_url,
            "imageUrls": list(job.image_urls),
        }
    if job.state is JobState.FAILED or job.state is JobState.UNCERTAIN:
        data["failed"] = job.error
    data["saved"] = [str(p) for p in saved]
    return data


def _interrupted(manager: JobManager, job_id: str) -> None:
    """Ctrl+C: say what became of the job, so nothing is paid for unknowingly."""
    job = manager.get(job_id)
    if job is None or job.state.settled:
        return
    owner = manager.store.owner_of(job_id)
    if owner is not None and owner != manager.owner:  # `wait` on another process's job
        _err(f"imagine-tui: interrupted; job {job_id} carries on in the process that holds it.")
        return
    if manager.cancel(job_id):
        _err(f"imagine-tui: interrupted; job {job_id} was not sent.")
    elif job.message_id is None:
        _err(
            f"imagine-tui: interrupted while sending job {job_id}: it may or may not have "
            "reached the service. The app lists it as uncertain; it is not resent on its own."
        )
    else:
        _err(
            f"imagine-tui: interrupted; job {job_id} (messageId {job.message_id}) was sent and "
            "keeps running at the service. The app lists it and fetches its result."
        )


class _Progress:
    """Progress of the command's job on stderr: a bar on a terminal, plain lines otherwise;
    notes (retries, the connection) either way."""

    def __init__(self) -> None:
        self.draw = False  # a bar only while waiting, once the job id is out
        self.tty = sys.stderr.isatty()
        self.job_id: str | None = None
        self.last = -1
        self.drawn = False  # the cursor is at the end of a drawn bar
        self.error: str | None = None
        self.noted: str | None = None

    def on_event(self, event: JobEvent) -> None:
        from app.jobs.manager import ConnectionChanged, JobChanged

        if isinstance(event, ConnectionChanged) and not event.online:
            self.note(event.text)
        if not isinstance(event, JobChanged) or event.job.id != self.job_id:
            return
        job = event.job
        if job.error and job.error != self.error and not job.state.settled:
            self.note(job.error)  # a retry, said once
        self.error = job.error
        if self.draw:
            self.show(job.progress)

    def start(self, progress: int) -> None:
        self.draw = True
        self.show(progress)

    def show(self, progress: int) -> None:
        if progress == self.last:
            return
        self.last = progress
        if self.tty:
            filled = progress * 30 // 100
            sys.stderr.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {progress:3d}%")
            sys.stderr.flush()
            self.drawn = True
        else:
            _err(f"progress: {progress}%")

    def note(self, text: str) -> None:
        if text == self.noted:  # the connection and the job often say the same thing
            return
        self.noted = text
        self.close()
        _err(f"imagine-tui: {clean_text(text)}")

    def close(self) -> None:
        """End the bar's line, so what follows (or the shell's prompt after ^C) starts
        on a line of its own."""
        if self.drawn:
            sys.stderr.write("\n")
            sys.stderr.flush()
            self.drawn = False
