"""The imagine TUI's lifecycle: settings, keymap, theme, the backend, shutdown.

Everything on screen is the main screen's (``screens/main.py``) and its widgets'. The
backend (store, job manager, simulator) opens in a worker after the first frame; the job
manager runs on this app's loop and its listener only posts typed messages
(``messages.py``) to the main screen. Workers never take the app down
(``exit_on_error=False``).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import gc
import signal
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.command import Provider
from textual.screen import Screen

from app.gcpause import IdleCollector, gc_paused
from app.jobs.store import HistoryShape, read_history_shape
from app.runtime import Backend, close_backend, open_backend
from app.settings import Settings
from app.text import clean_text
from app.ui.actions import (
    ACTIONS,
    bindings,
    current_keys,
    help_rows,
    tiles_key_display,
    unknown_ids,
)
from app.ui.messages import message_for
from app.ui.screens.main import MainScreen
from app.ui.widgets.job_list import Clock, default_elapsed

# What the first frame does not show loads when it is first used: the job manager and
# the backends in the worker that opens them (app.runtime imports them there), the
# palette's providers when it opens.
if TYPE_CHECKING:
    from app.jobs.manager import JobEvent


def _history_provider() -> type[Provider]:
    from app.ui.commands import HistoryProvider

    return HistoryProvider


def _button_provider() -> type[Provider]:
    from app.ui.commands import ButtonProvider

    return ButtonProvider


def _call_soon(
    loop: asyncio.AbstractEventLoop, callback: Callable[[], None], context: contextvars.Context
) -> None:
    """``callback`` on ``loop`` in ``context``, from any thread (a collection may run on
    a worker's, whose context is not the app's: Textual's timers need ``active_app``)."""
    with contextlib.suppress(RuntimeError):  # the loop has closed: nothing to do
        loop.call_soon_threadsafe(callback, context=context)


def _read_soon(path: Path) -> Future[HistoryShape | None]:
    """The history's shape, read on a thread."""
    future: Future[HistoryShape | None] = Future()

    def read() -> None:
        try:
            future.set_result(read_history_shape(path))
        except BaseException as exc:  # e.g. an unreadable folder: said where it is used
            future.set_exception(exc)

    threading.Thread(target=read, name="history-shape", daemon=True).start()
    return future


class ImagineApp(App[None]):
    TITLE = "imagine"
    COMMANDS = App.COMMANDS | {_history_provider, _button_provider}
    BINDINGS: ClassVar[list[BindingType]] = bindings("app")

    def __init__(self, settings: Settings, *, elapsed: Clock = default_elapsed) -> None:
        super().__init__()
        self.settings = settings
        self.backend: Backend | None = None
        # Read while Textual builds the UI (SQLite lets go of the GIL): the first frame can
        # then list the history.
        self._shape = _read_soon(settings.db_path)
        self.main = MainScreen(settings, self._shape, elapsed)
        self._collector = IdleCollector()  # full collections while no key comes
        self._gc_pause = contextlib.ExitStack()  # the collector's pause until the first frame
        self._closing = False
        self.start_error: str | None = None  # why the backend could not be opened
        self.set_keymap(settings.keymap)

    def get_default_screen(self) -> MainScreen:
        return self.main

    def on_load(self) -> None:
        # No collections until the first frame: composing and styling the screen made ~70
        # young ones (~5 ms of a ~60 ms frame), of objects that nearly all live on.
        self._gc_pause.enter_context(gc_paused())

    def on_mount(self) -> None:
        if not self.is_headless:
            self._exit_on_signals()
        unknown = unknown_ids(self.settings.keymap)
        if unknown:
            self.notify(
                "Unknown key binding ids in the config file's [keys]: "
                + ", ".join(unknown)
                + " (press ? for the keys, ctrl+p for commands)",
                severity="warning",
                markup=False,
                timeout=15,
            )
        for warning in self.settings.warnings:  # e.g. a [keys] entry naming no real key
            self.notify(warning, severity="warning", markup=False, timeout=15)
        # Before the first frame: the config file's theme, else the one last used.
        shape = self._shape.result()
        theme = self.settings.theme or (shape.theme if shape else None)
        if theme and theme in self.available_themes:
            self.theme = theme
        # After the first frame: reading a long history and starting the simulator would
        # otherwise hold it back (10,000 jobs: ~100 ms).
        self.call_after_refresh(self._gc_pause.close)
        self.call_after_refresh(self._open_backend)
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()  # the app's, as its own callbacks run in
        self._collector.start(wake=lambda: _call_soon(loop, self._collect_garbage, context))

    def _collect_garbage(self) -> None:
        wait = None if self._closing else self._collector.tick(time.monotonic())
        if wait is not None:
            self.set_timer(wait, self._collect_garbage)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.InputEvent):
            self._collector.input(time.monotonic())
        await super().on_event(event)

    @work(exclusive=True, group="backend", exit_on_error=False)
    async def _open_backend(self) -> None:
        try:
            backend = await open_backend(self.settings, listener=self._on_job_event)
        except Exception as exc:  # a bad config or a locked database must not crash the UI
            why = clean_text(getattr(exc, "human", None) or str(exc) or type(exc).__name__)
            self.start_error = why
            self.notify(f"Could not start: {why}", severity="error", markup=False, timeout=30)
            self.main.start_failed(why)
            return
        if self._closing:
            await close_backend(backend)
            return
        self.backend = backend
        self._save_theme(backend)  # one picked before the backend was open
        self.main.attach(backend)

    def _on_job_event(self, event: JobEvent) -> None:
        if not self._closing:
            self.main.post_message(message_for(event))

    def _exit_on_signals(self) -> None:
        """SIGTERM/SIGHUP end the app like ctrl+q: jobs saved, the terminal restored (out
        of the alternate screen, mouse tracking off) instead of left as the kill found it."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGHUP):
            with contextlib.suppress(NotImplementedError, AttributeError):  # Windows
                loop.add_signal_handler(sig, self.exit, None, 128 + sig)

    async def on_unmount(self) -> None:
        self._closing = True
        self._gc_pause.close()  # if it never drew a frame
        self._collector.stop()  # the process's own thresholds (tests run many apps)
        backend, self.backend = self.backend, None
        if backend is not None:
            await close_backend(backend)

    # -- theme, help, palette -------------------------------------------------------------

    def watch_theme(self, theme: str) -> None:
        """Remember the theme picked in the palette for the next start."""
        if self.backend is not None and not self._closing:
            self._save_theme(self.backend)

    def _save_theme(self, backend: Backend) -> None:
        backend.manager.remember("theme", self.theme)  # by the writer: a lock never freezes

    def get_key_display(self, binding: Binding) -> str:
        if binding.id == "tile_1" and binding.show:  # full screen: one entry for tiles 1-4
            return tiles_key_display(self)
        return super().get_key_display(binding)

    def action_command_palette(self) -> None:
        # App.action_command_palette, with the palette whose input keeps fast keys in order
        from app.ui.commands import Palette

        if self.use_command_palette and not isinstance(self.screen, Palette):
            self.push_screen(Palette(id="--command-palette"))

    def action_help(self) -> None:
        from app.ui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(help_rows(self)))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for action in ACTIONS:
            node = self if action.target == "app" else self.main.node_for(action.target)
            if action.palette and node is not None:
                what = action.description[0].upper() + action.description[1:]
                keys = " ".join(current_keys(self, action))
                run = partial(node.run_action, action.action)
                yield SystemCommand(action.palette, f"{what} ({keys})" if keys else what, run)


def run_app(settings: Settings) -> int:
    """Run the TUI in this terminal; the exit code for the command line: Textual's own
    when it crashed (1) or a signal ended it (128 + the signal), 2 when it could not
    start (the reason was on screen), else 0."""
    app = ImagineApp(settings)
    app.run()
    if app.return_code:
        return app.return_code
    return 2 if app.start_error else 0


# What the imports made (modules, classes, parsed tables) lives as long as the process.
# Frozen, the collector no longer walks it: a full collection of it landed on the first
# frame (~30 ms). Once, at import: later objects stay collectable.
gc.freeze()
