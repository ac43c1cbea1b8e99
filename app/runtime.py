"""Wire the core together from settings: backend API, store, budget, images, job manager.

The TUI and the CLI both start here, so "no account configured -> built-in simulator"
behaves the same everywhere.

The parts are imported where they are opened, not with this module: the TUI imports it to
draw its first screen and opens the backend afterwards in a worker, so httpx, Pillow and
the simulator (demo mode only) load while the first screen is already up.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app.settings import API_NAMES, ConfigError, Settings

if TYPE_CHECKING:
    from app.backends import BackendApi
    from app.images import ImagePipeline
    from app.images.evict import Pruned
    from app.jobs.budget import RequestBudget
    from app.jobs.manager import JobManager, Listener
    from app.jobs.store import JobStore
    from app.jobs.webhook import WebhookReceiver
    from app.simulator import Simulator
    from app.simulator.demo import DemoSimulator

log = logging.getLogger(__name__)


@dataclass
class Backend:
    settings: Settings
    demo: bool
    base_url: str
    api: BackendApi
    store: JobStore
    budget: RequestBudget
    images: ImagePipeline
    manager: JobManager
    simulator: Simulator | None = None  # the demo service, when this process serves it
    webhook: WebhookReceiver | None = None
    demo_service: DemoSimulator | None = None
    pruning: asyncio.Task[None] | None = None  # the start-up pruning of the image cache


def start_simulator(settings: Settings) -> DemoSimulator:
    """The data dir's demo service: started here, or the one another process serves."""
    from app.simulator import SimulatorConfig
    from app.simulator.demo import DemoSimulator

    where = _demo_dir(settings)
    simulator = DemoSimulator(
        SimulatorConfig(
            api=settings.api,
            speed=settings.sim_speed,
            rate_limit=settings.sim_rate_limit,
            banned=settings.sim_banned,
            chaos=settings.sim_chaos,
            seed=settings.sim_seed,
            tile_size=settings.sim_tile_size,
            stall_words=settings.sim_stall_words,
            # The history in data_dir outlives the app; the demo service's jobs must too,
            # or a restarted demo could not press buttons of, or finish, its old jobs.
            state_path=where / "simulator-state.json",
            ready_images=True,
        ),
        where,
    )
    simulator.start()
    return simulator


def _demo_dir(settings: Settings) -> Path:
    # One demo service per dialect: a proxy task id means nothing to TheNextLeg's.
    if settings.api == API_NAMES[0]:
        return settings.data_dir
    return settings.data_dir / f"simulator-{settings.api}"


def open_api(settings: Settings) -> tuple[BackendApi, DemoSimulator | None]:
    """The chosen backend's adapter, on the built-in simulator in demo mode."""
    from app.backends import make_api
    from app.simulator.server import dialect_for

    simulator = start_simulator(settings) if settings.demo else None
    # The dialect's documented base (the proxy's ends in /mj) on the demo service's host.
    base_url = simulator.base_url + dialect_for(settings.api).base_path if simulator else None
    base_url = base_url or settings.base_url
    assert base_url is not None
    api = make_api(
        settings.api,
        base_url,
        settings.token,
        timeout=settings.timeout,
        expire_mins=settings.expire_mins,
        use_env_proxy=simulator is None,  # the built-in simulator is on this machine
    )
    return api, simulator


def _import_parts() -> None:
    import app.backends
    import app.images.pipeline
    import app.jobs.manager
    import app.jobs.webhook  # noqa: F401


async def open_backend(
    settings: Settings, listener: Listener | None = None, *, script: bool = False
) -> Backend:
    """Open the store, start the simulator when in demo mode, and resume unfinished jobs.

    ``script``: for a command that runs its own jobs (the CLI): the same store, budget and
    rules, but the history's unfinished jobs are left to the app, and no webhook is set up
    (its receiver belongs to the app; a script polls).
    """
    # In a thread: the first import of httpx, Pillow and the job manager takes ~60 ms,
    # which on the event loop would hold up the TUI's first frame.
    await asyncio.to_thread(_import_parts)
    from app.images import ImagePipeline
    from app.images.evict import GB
    from app.jobs.budget import Priority, RequestBudget, shared_budget
    from app.jobs.manager import JobManager, ManagerSettings
    from app.jobs.store import JobStore

    settings.check()
    # In a thread: opening may wait for another program's write lock (up to 5 s).
    store = await asyncio.to_thread(JobStore, settings.db_path)
    # In a thread: the demo simulator loads its saved jobs, and the TLS context takes
    # ~20 ms to build; neither should hold up the UI's event loop.
    api, simulator = await asyncio.to_thread(open_api, settings)
    budget = RequestBudget(
        settings.budget_interval(),
        shared=shared_budget(settings.data_dir, api.base_url, settings.token),
    )

    async def get_image(url: str) -> bytes:
        await budget.acquire(Priority.IMAGE)  # /getImage is an API call: it costs a slot
        try:
            return await api.get_image(url)
        finally:
            budget.answered()

    images = ImagePipeline(
        api.http,
        settings.image_dir,
        get_image=get_image,
        cache_cap=int(settings.cache_max * GB),
        keep=lambda: kept_images(settings),
    )
    receiver, webhook_url = (None, None) if script else await _start_webhook(settings)
    manager = JobManager(
        api,
        store,
        budget=budget,
        images=images,
        settings=ManagerSettings(
            expire_mins=settings.expire_mins,
            stall_seconds=settings.stall_seconds,
            expected_seconds=settings.expected_seconds,
            webhook_url=webhook_url,
            webhook_grace=settings.webhook_grace,
            adopt=not script,
        ),
        listener=listener,
    )
    if receiver is not None:
        receiver.on_body = manager.webhook_body
    await manager.start()
    # The app prunes the cache as it starts (in a thread); scripts leave that to the app.
    pruning = None if script else asyncio.create_task(_prune_quietly(settings))
    return Backend(
        settings=settings,
        demo=simulator is not None,
        base_url=api.base_url,
        api=api,
        store=store,
        budget=budget,
        images=images,
        manager=manager,
        simulator=simulator.hosted if simulator else None,
        webhook=receiver,
        demo_service=simulator,
        pruning=pruning,
    )


KEEP_NEWEST = 200  # the newest jobs' images are never evicted: they are what is on screen


def kept_images(settings: Settings) -> set[str]:
    """Image URLs the cache never evicts: favourite jobs' and the newest jobs'. Blocking."""
    from app.jobs.store import JobStore

    if not settings.db_path.is_file():
        return set()
    with JobStore(settings.db_path, read_only=True) as store:
        return store.image_urls_to_keep(KEEP_NEWEST)


def prune_images(settings: Settings) -> Pruned:
    """Bring the image cache down to ``cache_max``, least recently used first, never the
    images of favourite jobs or of the newest ones. Blocking: run it in a thread."""
    from app.images.evict import GB, prune

    return prune(settings.image_dir, int(settings.cache_max * GB), kept_images(settings))


async def _prune_quietly(settings: Settings) -> None:
    from app.jobs.store import StoreError

    try:
        pruned = await asyncio.to_thread(prune_images, settings)
    except (OSError, StoreError) as exc:  # a full cache is no reason not to start
        log.warning("could not prune the image cache: %s", getattr(exc, "human", exc))
        return
    if pruned.removed:
        log.info("image cache pruned: %d images, %d bytes", pruned.removed, pruned.freed)


async def _start_webhook(settings: Settings) -> tuple[WebhookReceiver | None, str | None]:
    """The local receiver, and the URL the service is told to call."""
    from app.jobs.webhook import WebhookReceiver

    if not settings.webhook_listen:
        return None, settings.webhook_public_url
    host, _, port = settings.webhook_listen.rpartition(":")
    try:
        receiver = WebhookReceiver(host or "127.0.0.1", int(port), lambda body: None)
        await receiver.start()
    except (ValueError, OSError) as exc:
        raise ConfigError(
            f"Cannot listen for webhooks on {settings.webhook_listen!r} (HOST:PORT): {exc}"
        ) from None
    return receiver, receiver.public_url(settings.webhook_public_url)


async def close_backend(backend: Backend) -> None:
    if backend.pruning is not None:
        await backend.pruning  # a thread cannot be cancelled: it ends by itself
    if backend.webhook is not None:
        await backend.webhook.close()
    await backend.manager.close()
    await backend.images.flush()
    await backend.api.aclose()
    if backend.budget.shared is not None:
        backend.budget.shared.close()
    backend.store.close()
    if backend.demo_service is not None:
        backend.demo_service.stop()
