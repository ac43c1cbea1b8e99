"""Command line: the TUI (default), and `imagine`, `button`, `simulate` for scripts.

Exit codes: 0 done, 1 job failed or incomplete, 2 bad input, 3 API / auth / network error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

from app.api.client import ImagineClient, proxy_for, redact
from app.api.errors import (
    ApiError,
    NetworkError,
    RateLimited,
    ServerError,
    describe_failure,
    safe_to_resend,
)
from app.api.models import MessageStatus, Submitted
from app.jobs.budget import Priority, RequestBudget
from app.settings import GRAPHICS, ConfigError, Settings, resolve
from app.text import clean_text

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_API = 0, 1, 2, 3


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base-url", help="API base URL (env IMAGINE_BASE_URL)")
    parser.add_argument("--token", help="API token (env IMAGINE_API_TOKEN)")
    parser.add_argument(
        "--data-dir", type=Path, help="history and image cache (env IMAGINE_DATA_DIR)"
    )
    parser.add_argument(
        "--speed",
        type=float,
        dest="sim_speed",
        help="built-in simulator speed factor when no account is set",
    )
    parser.add_argument(
        "--rate-interval",
        type=float,
        metavar="SECONDS",
        help="seconds between API requests (default: 3 against a service)",
    )


def _job_args(parser: argparse.ArgumentParser) -> None:
    _common(parser)
    parser.add_argument(
        "--wait", action="store_true", help="wait for the result, progress on stderr"
    )
    parser.add_argument("--out", type=Path, help="save the images and a JSON sidecar here")
    parser.add_argument("--json", action="store_true", help="print JSON on stdout")
    parser.add_argument("--expire-mins", type=int, help="report a job incomplete after this long")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="imagine-tui",
        description="A terminal client for imagine / message / button image-generation APIs. "
        "With no account configured it runs on a built-in simulator.",
    )
    sub = parser.add_subparsers(dest="command")

    tui = sub.add_parser("tui", help="start the terminal UI (the default)")
    for p in (parser, tui):
        _common(p)
        p.add_argument("--graphics", choices=GRAPHICS, help="image drawing (default: auto)")
        p.add_argument(
            "--webhook-listen",
            metavar="HOST:PORT",
            help="receive finished jobs on this local address instead of polling",
        )
        p.add_argument(
            "--webhook-url",
            dest="webhook_public_url",
            metavar="URL",
            help="the public URL the service should call (default: the listen address)",
        )

    imagine = sub.add_parser("imagine", help="submit a prompt; print the job id")
    imagine.add_argument("prompt")
    _job_args(imagine)

    button = sub.add_parser("button", help="press a button of a finished job")
    button.add_argument("label", help="exactly as the job listed it, e.g. U1, V2, 🔄")
    button.add_argument(
        "--message", required=True, dest="button_message_id", help="the job's buttonMessageId"
    )
    button.add_argument("--zoom", type=float, help="Custom Zoom: 1 to 2")
    button.add_argument("--ar", help="Custom Zoom: aspect ratio such as 16:9")
    _job_args(button)

    graphics = sub.add_parser(
        "graphics", help="show the detected terminal graphics and a test image"
    )
    graphics.add_argument("--graphics", choices=GRAPHICS, help="try this renderer")

    config = sub.add_parser("config", help="show the effective settings, or store the token")
    config.add_argument("action", nargs="?", choices=("show", "set-token", "path"), default="show")

    simulate = sub.add_parser("simulate", help="run the built-in API simulator on loopback")
    simulate.add_argument(
        "--api",
        choices=("thenextleg", "midjourney-proxy", "imaginepro"),
        default="thenextleg",
        help="the API dialect to serve (default: thenextleg)",
    )
    simulate.add_argument("--host", default="127.0.0.1")
    simulate.add_argument("--port", type=int, default=0, help="0 picks a free port")
    simulate.add_argument("--speed", type=float, default=1.0, help="time scale (1 = real time)")
    simulate.add_argument("--token", help="require this token (the API's own header)")
    simulate.add_argument(
        "--rate-limit",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="one request per SECONDS (the real service: 3)",
    )
    simulate.add_argument("--banned", action="append", default=[], metavar="WORD")
    simulate.add_argument("--chaos", type=float, default=0.0, metavar="RATE")
    simulate.add_argument("--seed", type=int, default=0)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "simulate":
            return _simulate(args)
        if args.command == "graphics":
            from app.ui.graphics import run_graphics_command

            return run_graphics_command(args.graphics or resolve({}).graphics)
        if args.command == "config" and args.action in ("set-token", "path"):
            return _config_write(args.action)
        settings = resolve(_flags(args))
        if args.command == "config":
            return _config_show(settings)
        if args.command in ("imagine", "button"):
            return asyncio.run(_run_job(args, settings))
        return _tui(settings)
    except ConfigError as exc:
        _err(f"imagine-tui: {exc.human}")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130


def _flags(args: argparse.Namespace) -> dict[str, Any]:
    names = (
        "base_url",
        "token",
        "data_dir",
        "graphics",
        "sim_speed",
        "expire_mins",
        "rate_interval",
        "webhook_listen",
        "webhook_public_url",
    )
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _config_show(settings: Settings) -> int:
    print(f"config file: {settings.config_path}")
    for name, source in settings.sources.items():
        if name == "config_path":  # shown above; not a setting
            continue
        value = getattr(settings, name)
        if name == "token":
            value = "set (hidden)" if value else "not set"
        print(f"{name} = {value!s}    [{source}]")
    mode = "demo: built-in simulator" if settings.demo else f"service at {settings.base_url}"
    print(f"backend: {mode}")
    proxy = None if settings.demo else proxy_for(settings.base_url or "")
    print(f"proxy: {redact(proxy)} (from the environment)" if proxy else "proxy: none")
    return EXIT_OK


def _config_write(action: str) -> int:
    import getpass

    from app import config_file

    if action == "path":
        print(config_file.config_path())
        return EXIT_OK
    if not sys.stdin.isatty():
        token = sys.stdin.readline().strip()  # for scripts: the token on stdin, never argv
    else:
        token = getpass.getpass("API token (not shown): ").strip()
    if not token:
        _err("imagine-tui: no token given; nothing changed")
        return EXIT_BAD_INPUT
    path = config_file.set_value("token", token)
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


# -- imagine / button -------------------------------------------------------------------


async def _run_job(args: argparse.Namespace, settings: Settings) -> int:
    from app.jobs.manager import PromptError, check_prompt
    from app.runtime import open_client

    try:
        prompt = check_prompt(args.prompt) if args.command == "imagine" else None
    except PromptError as exc:
        _err(f"imagine-tui: {exc}")
        return EXIT_BAD_INPUT
    try:
        client, simulator = open_client(settings)
    except ValueError as exc:  # an unusable base URL
        _err(f"imagine-tui: {exc}")
        return EXIT_BAD_INPUT
    if simulator is not None:
        _err(
            "imagine-tui: no account configured; "
            f"using the built-in simulator at {simulator.base_url}"
        )
    budget = RequestBudget(settings.budget_interval())
    try:
        async with client:
            submitted = await _submit(client, budget, args, prompt)
            if not args.wait:
                _print_result(
                    args, {"messageId": submitted.message_id, "createdAt": submitted.created_at}
                )
                return EXIT_OK
            if not args.json:
                print(submitted.message_id, flush=True)
            status = await _wait(client, budget, submitted.message_id, args.expire_mins)
            return await _finish(args, client, settings, submitted, status)
    except ApiError as exc:
        _err(f"imagine-tui: {exc.human}")
        return EXIT_API
    finally:
        if simulator is not None:
            simulator.stop()


async def _submit(
    client: ImagineClient, budget: RequestBudget, args: argparse.Namespace, prompt: str | None
) -> Submitted:
    """One submission; resent only when the service certainly did not take it."""
    attempts = 3
    for attempt in range(attempts):
        await budget.acquire(Priority.ACTION)
        try:
            if prompt is not None:
                return await client.imagine(prompt)
            return await client.button(
                args.label, args.button_message_id, zoom=args.zoom, ar=args.ar
            )
        except RateLimited as exc:
            budget.hold(exc.retry_after or 3.0)
        except ApiError as exc:
            if not safe_to_resend(exc) or attempt == attempts - 1:
                raise
            await asyncio.sleep(0.5 * 2**attempt)
    raise RateLimited(None)


async def _wait(
    client: ImagineClient, budget: RequestBudget, message_id: str, expire_mins: int | None
) -> MessageStatus:
    bar = _Progress()
    gap, errors = 0.25, 0  # the budget does the real pacing
    deadline = time.monotonic() + 60 * (expire_mins or 30) + 60  # never wait forever
    while time.monotonic() < deadline:
        await budget.acquire(Priority.POLL)
        try:
            status = await client.message(message_id, expire_mins)
        except RateLimited as exc:
            budget.hold(exc.retry_after or 3.0)
            continue
        except (ServerError, NetworkError) as exc:
            errors += 1
            if errors > 8:
                raise
            bar.note(exc.human)
            await asyncio.sleep(min(2.0**errors, 30.0))
            continue
        errors = 0
        if status.done or status.failed:
            bar.close(status.progress)
            return status
        bar.show(status.progress or 0)
        await asyncio.sleep(gap)
    raise NetworkError("Gave up waiting: the job never finished.", maybe_sent=False)


async def _finish(
    args: argparse.Namespace,
    client: ImagineClient,
    settings: Settings,
    submitted: Submitted,
    status: MessageStatus,
) -> int:
    result = status.response
    if status.failed or result is None:
        reason = describe_failure(result.failure_code if result else None)
        _err(f"imagine-tui: job {submitted.message_id} failed: {reason}")
        if args.json:
            _print_result(args, {"messageId": submitted.message_id, "failed": reason, **status.raw})
        return EXIT_FAILED
    saved: list[str] = []
    if args.out:
        saved = await _save(args.out, client, settings, submitted.message_id, status)
    if args.json:
        _print_result(args, {"messageId": submitted.message_id, **status.raw, "saved": saved})
    else:
        print(f"buttonMessageId: {result.button_message_id}")
        print("buttons: " + " ".join(result.api_buttons))
        for url in result.image_urls or ((result.image_url,) if result.image_url else ()):
            print(url)
        for path in saved:
            print(f"saved: {path}")
    return EXIT_OK


async def _save(
    out: Path, client: ImagineClient, settings: Settings, message_id: str, status: MessageStatus
) -> list[str]:
    from app.images import ImagePipeline, save_copy

    assert status.response is not None
    result = status.response
    urls = list(result.image_urls) or ([result.image_url] if result.image_url else [])
    pipeline = ImagePipeline(client.http, settings.image_dir, get_image=client.get_image)
    paths = await asyncio.gather(*(pipeline.fetch(u) for u in urls), return_exceptions=True)
    out.mkdir(parents=True, exist_ok=True)
    saved: list[str] = []
    for index, path in enumerate(paths, start=1):
        if isinstance(path, BaseException):
            _err(f"imagine-tui: image {index} not saved: {getattr(path, 'human', path)}")
            continue
        saved.append(str(save_copy(path, out, f"{message_id}_{index}")))
    sidecar = {
        "messageId": message_id,
        "prompt": result.content,
        "type": result.type,
        "buttonMessageId": result.button_message_id,
        "buttons": list(result.api_buttons),
        "imageUrl": result.image_url,
        "imageUrls": list(result.image_urls),
        "files": [Path(p).name for p in saved],
    }
    stem = re.sub(r"[^A-Za-z0-9_-]", "_", message_id)[:80] or "job"
    (out / f"{stem}.json").write_text(
        json.dumps(sidecar, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    return saved


def _print_result(args: argparse.Namespace, data: dict[str, Any]) -> None:
    if args.json:
        print(json.dumps(data, ensure_ascii=False), flush=True)
    else:
        print(data["messageId"], flush=True)


class _Progress:
    """Progress on stderr: a bar on a terminal, plain lines otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last = -1

    def show(self, progress: int) -> None:
        if progress == self.last:
            return
        self.last = progress
        if self.tty:
            filled = progress * 30 // 100
            sys.stderr.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {progress:3d}%")
            sys.stderr.flush()
        else:
            _err(f"progress: {progress}%")

    def note(self, text: str) -> None:
        if self.tty:
            sys.stderr.write("\n")
        _err(f"imagine-tui: {clean_text(text)} (retrying)")

    def close(self, progress: int | None) -> None:
        if progress is not None:
            self.show(progress)
        if self.tty:
            sys.stderr.write("\n")
            sys.stderr.flush()
