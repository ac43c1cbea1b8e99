"""The job layer: submit, poll, finish, download; never lose a job, never send one twice.

Runs on the caller's asyncio loop (Textual's, or ``asyncio.run`` in a script) and reports
through a listener callback. Every API call goes through one :class:`RequestBudget`.

Submission safety: a job is written to the store as ``sending`` *before* its POST goes
out. If the answer is lost (dropped connection, timeout after sending, garbled body), or
the app dies mid-request, the job becomes ``uncertain``: it is never resent on its own,
because the service may already be running (and charging for) it.

Several processes may share the store. Each active job is owned by one manager, which
holds a lease on it in the store: only the owner sends and polls it, and the "sending"
mark is written only while the lease is still held, so no job goes out twice. A manager
that closes hands its jobs back; one that dies loses them when its lease runs out; an
adopting manager (the TUI) takes such jobs over. Every manager watches the store and
reports jobs changed by other processes as :class:`JobChanged`.

The history is written by one thread (:class:`StoreWriter`), never on the event loop: a
change shows at once, and lands on disk in the order it was made, however long another
program holds the database's write lock. Reads stay on the loop's own connection (in WAL
mode a read never waits for a writer).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import logging
import operator
import os
import socket
import time
import unicodedata
import uuid
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

from app import params
from app.api.errors import (
    ApiError,
    AuthError,
    BadRequest,
    BadResponse,
    NetworkError,
    PromptBlocked,
    RateLimited,
    describe_failure,
    safe_to_resend,
)
from app.backends import BackendApi, BadInput, Press, Submission, Unsupported, Update
from app.images.split import parse_tile
from app.jobs import lineage
from app.jobs.budget import Priority, RequestBudget
from app.jobs.model import MAX_PROMPT, Job, JobState, new_job_id
from app.jobs.planner import PollPlanner
from app.jobs.store import JobStore, StoreError
from app.jobs.writer import StoreWriter
from app.text import clean_text, undecodable

log = logging.getLogger(__name__)

IMAGE_RETRY_DELAYS = (1.0, 3.0)
RESUME_DOWNLOADS_WITHIN = 24 * 3600.0  # result URLs older than this have likely expired
RESUME_DOWNLOADS_MAX = 50  # a timed-out or broken download is tried twice more
UNREADABLE_POLLS_STALL = 3  # unreadable answers in a row before a job shows as stalled
LEASE_SECONDS = 30.0  # an owner that stops renewing loses its jobs this long after
WATCH_SECONDS = 0.5  # how often the store is checked for other processes' changes
ADOPT_SECONDS = 2.0  # how often an adopting manager looks for jobs nobody holds
CLOSE_WRITE_SECONDS = 6.0  # at close, how long writes the history refuses are tried again
SLOT_WAITS_FOR_WRITE = 0.5  # a request slot taken at Enter is given back if the write lags
HELD = 500  # settled jobs kept in memory (most recently touched); the rest are read on demand

Severity = Literal["information", "warning", "error"]
T = TypeVar("T")
PARENT_MESSAGE = "parent_message_id"  # option: the button message id of a parent not in history


@dataclass(frozen=True)
class JobChanged:
    job: Job


@dataclass(frozen=True)
class ImagesReady:
    job_id: str
    failures: tuple[str, ...] = ()  # human reasons, one per tile that failed


@dataclass(frozen=True)
class Notice:
    text: str
    severity: Severity = "information"
    job_id: str | None = None


@dataclass(frozen=True)
class ConnectionChanged:
    online: bool
    text: str


@dataclass(frozen=True)
class HistoryReordered:
    """The history moved with no job's fields changed (another process's migration
    recomputed the list's order): lists read their rows again."""


JobEvent = JobChanged | ImagesReady | Notice | ConnectionChanged | HistoryReordered
Listener = Callable[[JobEvent], None]


class PromptError(ValueError):
    """The prompt cannot be sent as it is (blank, too long, a parameter the service refuses)."""


@dataclass
class ManagerSettings:
    expire_mins: int | None = None
    stall_seconds: float = 120.0
    expected_seconds: float = 40.0  # prior for how long a job takes
    min_poll_gap: float | None = None  # default: the budget's interval (at least 0.25 s)
    max_poll_gap: float | None = None  # default: 4 x min gap (at least 1 s)
    submit_attempts: int = 6
    submit_backoff: float = 1.0  # seconds before the second attempt, doubling after
    webhook_url: str | None = None
    webhook_grace: float = 30.0  # poll anyway when no webhook came this long after the estimate
    adopt: bool = True  # take over jobs no process holds (the TUI); a script minds its own
    prompt_parameters: bool = True  # the backend reads --ar etc.: check them before sending


class ImageFetcher(Protocol):
    """What the manager needs of the image pipeline: the cache, and filling it."""

    async def fetch(self, url: str) -> object: ...

    def cached_path(self, url: str) -> object | None: ...


class JobManager:
    def __init__(
        self,
        api: BackendApi,
        store: JobStore,
        *,
        budget: RequestBudget,
        images: ImageFetcher | None = None,
        settings: ManagerSettings | None = None,
        listener: Listener | None = None,
    ) -> None:
        self.api = api
        self.store = store
        self.budget = budget
        self.images = images
        self.settings = settings or ManagerSettings()
        self._listeners: list[Listener] = [listener] if listener else []
        min_gap = self.settings.min_poll_gap or max(budget.interval, 0.25)
        max_gap = self.settings.max_poll_gap or max(4 * min_gap, 1.0)
        self.planner = PollPlanner(
            min_gap=min_gap, max_gap=max_gap, expected_seconds=self.settings.expected_seconds
        )
        # Live jobs and the HELD most recently touched others, least recent first: the
        # history itself stays in the store (100,000 jobs held were ~200 MB and 1.5 s).
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._active: set[str] = set()
        # Kept as jobs come: the status line asks for the count twice a second.
        self._count = store.count()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._waiters: dict[str, list[tuple[Callable[[Job], bool], asyncio.Future[Job]]]] = {}
        self._downloads: dict[str, asyncio.Task[tuple[str, ...]]] = {}
        self._polling: set[str] = set()
        self._watched: set[str] = set()  # other processes' jobs a script waits on (``watch``)
        self._wake = asyncio.Event()
        self._poll_task: asyncio.Task[None] | None = None
        self._watch_task: asyncio.Task[None] | None = None
        self.owner = f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:8]}"
        self._seen_version = store.data_version()
        self._rev = store.revision()
        self._closing = False
        # Changes shown but not yet on disk, by job, in order: laid over what is read back.
        self._pending: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        self._seq = itertools.count()
        self._store_error: str | None = None  # the last write failure, while they last
        self._meta: dict[str, str] = {}  # settings asked to be kept, maybe not on disk yet
        self._loop: asyncio.AbstractEventLoop | None = None
        shared = str(store.path) == ":memory:"  # a second connection would be another db
        self._writer = StoreWriter(
            store if shared else lambda: JobStore(store.path), self._write_trouble
        )
        self.online = True
        self.auth_failed = False

    # -- lifecycle -------------------------------------------------------------------

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    async def start(self) -> None:
        """Take over what no process holds (the last run's unfinished jobs), then start
        polling and watching the store. A script's manager (``adopt=False``) minds only
        the jobs it makes: it neither adopts jobs nor resumes their downloads."""
        if self.settings.adopt:
            await self._adopt()
        if self.images is not None and self.settings.adopt:
            self._spawn(self._resume_downloads())
        self._poll_task = asyncio.create_task(self._poll_loop())
        self._watch_task = asyncio.create_task(self._watch_loop())

    async def close(self) -> None:
        self._closing = True
        loops = [t for t in (self._poll_task, self._watch_task) if t is not None]
        tasks = [*self._tasks, *loops]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        # Other processes may take over at once; then every write still queued lands,
        # bounded when the history refuses them.
        self._write(lambda store: store.release(self.owner))
        await asyncio.to_thread(self._writer.close, CLOSE_WRITE_SECONDS)
        for waiters in self._waiters.values():
            for _, future in waiters:
                future.cancel()
        self._waiters.clear()

    # -- queries -----------------------------------------------------------------------

    def jobs(self) -> list[Job]:
        """Every job, oldest first: reads the whole history (exports, lineage walks)."""
        return self._latest(self.store.all(), lambda _: True)

    def get(self, job_id: str) -> Job | None:
        """The job as this manager knows it: held, else read from the store."""
        job = self._jobs.get(job_id)
        if job is None:
            stored = self.store.get(job_id)
            if stored is None:
                return None
            job = self._pending_over(stored)
            self._put(job)
        return job

    def fresh(self, job: Job) -> Job:
        """``job`` as read from the store, as this manager knows it now: the held version
        (newer), else with the changes not yet written laid over it (the job list's rows)."""
        return self._jobs.get(job.id) or self._pending_over(job)

    def held(self) -> list[Job]:
        """The jobs this manager holds: live, recently touched or not written yet (newer
        than the store's versions)."""
        return list(self._jobs.values())

    def _need(self, job_id: str) -> Job:
        job = self.get(job_id)
        if job is None:
            raise KeyError(job_id)
        return job

    def children(self, job_id: str) -> list[Job]:
        return lineage.children(
            self._latest(self.store.children(job_id), lambda j: j.parent_id == job_id), job_id
        )

    def family(self, job_id: str) -> list[Job]:
        """The jobs of the tree ``job_id`` is in, oldest first (exports, sidecars)."""
        stored = self.store.family(job_id)
        ids = {job.id for job in stored} | {job_id}
        return self._latest(stored, lambda j: j.id in ids or j.parent_id in ids)

    def find_message(self, message_id: str) -> Job | None:
        """The job the service knows by ``message_id`` or ``button_message_id``, newest first."""

        def known(job: Job) -> bool:
            return message_id in (job.message_id, job.button_message_id)

        return max(
            filter(known, self._latest(self.store.by_message(message_id), known)),
            key=lambda j: j.created_at,
            default=None,
        )

    def _latest(self, stored: Iterable[Job], also: Callable[[Job], bool]) -> list[Job]:
        """Jobs read from the store as this manager knows them (held ones are newer), with
        the held jobs ``also`` accepts that the store lacks (not written yet, or never can
        be); oldest first."""
        by_id = {job.id: self._jobs.get(job.id) or self._pending_over(job) for job in stored}
        for job in self._jobs.values():
            if job.id not in by_id and also(job):
                by_id[job.id] = job
        return sorted(by_id.values(), key=lambda j: j.created_at)

    @property
    def in_flight(self) -> int:
        return len(self._active)

    @property
    def count(self) -> int:
        """Jobs in the history (the status line asks twice a second: no copy of them)."""
        return self._count

    # -- waiting (scripts and tests) -----------------------------------------------------

    async def wait_for(self, job_id: str, test: Callable[[Job], bool]) -> Job:
        """The job once ``test`` holds for it: now, or at one of its next changes."""
        job = self._need(job_id)
        if test(job):
            return job
        future: asyncio.Future[Job] = asyncio.get_running_loop().create_future()
        waiters = self._waiters.setdefault(job_id, [])
        waiters.append((test, future))
        try:
            return await future
        finally:
            with contextlib.suppress(ValueError):
                waiters.remove((test, future))
            if not waiters:
                self._waiters.pop(job_id, None)

    async def until_settled(self, job_id: str) -> Job:
        """The job once nothing more happens to it without the user: done, failed, or
        uncertain (never resent on its own)."""
        return await self.wait_for(job_id, lambda j: j.state.settled)

    async def posted(self, job_id: str, within: float) -> None:
        """Return once the job's POST has been answered, or it is not about to go out (it
        waits for a request slot, or failed), or after ``within`` seconds: a UI that lays
        out the new job after this leaves the event loop to the request first."""

        def out(job: Job) -> bool:
            return job.state is not JobState.QUEUED or not job.options.get("sending")

        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                await self.wait_for(job_id, out)

    async def images_ready(self, job_id: str) -> tuple[str, ...]:
        """After a job is done: wait for its download, or fetch what the cache lacks (a
        job another process finished, images evicted); why each missing image is missing."""
        task = self._downloads.get(job_id)
        if task is not None:
            return await asyncio.shield(task)
        job, images = self._need(job_id), self.images
        if images is None:
            return ()
        missing = [u for u in job.display_urls if images.cached_path(u) is None]
        if not missing or job.state is not JobState.DONE:
            return tuple("not downloaded" for _ in missing)
        return await self._download(job, quiet=True)

    def watch(self, job_id: str) -> None:
        """A script waits on ``job_id``, made by another process: follow it through the
        store while a live process holds it, take it over (now or later) when none does."""
        self._watched.add(job_id)
        self._spawn(self._adopt())

    # -- actions -----------------------------------------------------------------------

    def submit_imagine(self, prompt: str) -> Job:
        prompt = check_prompt(prompt, parameters=self.settings.prompt_parameters)
        job = self._enqueue(Job(id=new_job_id(), kind="imagine", prompt=prompt))
        if job.state is JobState.QUEUED:
            used = time.time()
            self._write(lambda store: store.remember_prompt(prompt, used))
        return job

    def submit_describe(self, image: str) -> Job:
        """Ask the service for four prompts for ``image`` (a URL, a tile, or a local file)."""
        if "describe" not in self.api.features:
            raise PromptError(Unsupported("Describe", self.api.name).human)
        job = Job(id=new_job_id(), kind="describe", prompt=image, options={"images": [image]})
        return self._enqueue(job)

    def submit_blend(self, images: list[str]) -> Job:
        """Blend 2 to 5 images (URLs, tiles or local files) into a new grid."""
        if "blend" not in self.api.features:
            raise PromptError(Unsupported("Blend", self.api.name).human)
        if not 2 <= len(images) <= 5:
            raise PromptError("A blend takes 2 to 5 images.")
        prompt = f"blend of {len(images)} images"
        job = Job(id=new_job_id(), kind="blend", prompt=prompt, options={"images": images})
        return self._enqueue(job)

    async def fetch_seed(self, job_id: str) -> str:
        """The seed of a finished job, asked of the service where it has a call for it (the
        proxy's image-seed; TheNextLeg's is the ✉️ button's job), remembered on the job."""
        job = self._need(job_id)
        if job.options.get("seed"):
            return str(job.options["seed"])
        if "seed" not in self.api.features:
            raise Unsupported("Asking for a seed", self.api.name)
        if job.state is not JobState.DONE or not job.message_id:
            raise BadInput("The seed is known once the job is done.")
        await self.budget.acquire(Priority.ACTION)
        try:
            seed = await self.api.seed(job.message_id)
        finally:
            self.budget.answered()
        self._update(job, options={**job.options, "seed": seed})
        return seed

    def press(self, job_id: str, label: str, **options: Any) -> Job:
        parent = self.get(job_id)
        if parent is None:
            raise KeyError(job_id)
        if parent.state is not JobState.DONE or not parent.button_message_id:
            raise ValueError("Buttons work once the job is done.")
        if label not in parent.buttons:
            raise ValueError(f"This job has no {label!r} button.")
        clean = {k: v for k, v in options.items() if v is not None}
        job = Job(
            id=new_job_id(),
            kind="button",
            prompt=clean.get("prompt") or parent.prompt,  # a remix runs its own prompt
            label=label,
            parent_id=parent.id,
            options=clean,
        )
        return self._enqueue(job)

    def retry(self, job_id: str) -> Job:
        """A fresh copy of a failed, stalled or uncertain job (the old one stays in history)."""
        old = self._need(job_id)
        if not old.state.retryable:
            raise ValueError(
                f"Only a failed, stalled or uncertain job can be retried ({old.state})."
            )
        if old.kind == "imagine":
            return self.submit_imagine(old.prompt)
        if old.kind in ("describe", "blend"):
            images = list(old.options.get("images", []))
            return (
                self.submit_describe(images[0])
                if old.kind == "describe"
                else self.submit_blend(images)
            )
        parent_id = old.parent_id
        opts = {k: v for k, v in old.options.items() if k in ("zoom", "ar", "prompt", "remix")}
        if parent_id is None and old.options.get(PARENT_MESSAGE):
            return self.press_message(old.options[PARENT_MESSAGE], old.label or "", **opts)
        if parent_id is None or self.get(parent_id) is None:
            raise ValueError("The job this button belonged to is not in the history.")
        return self.press(parent_id, old.label or "", **opts)

    def press_message(self, button_message_id: str, label: str, **options: Any) -> Job:
        """Press a button of a job this history does not hold (made by another client):
        sent to the service as it is, which says whether the button exists."""
        clean = {k: v for k, v in options.items() if v is not None}
        job = Job(
            id=new_job_id(),
            kind="button",
            prompt="",
            label=label,
            options={**clean, PARENT_MESSAGE: button_message_id},
        )
        return self._enqueue(job)

    def cancel(self, job_id: str) -> bool:
        """Drop a job that has not been sent yet (a script interrupted while it waited for
        the request budget). False when its request may already be out."""
        job = self.get(job_id)
        if job is None or job.state is not JobState.QUEUED or job.options.get("sending"):
            return False
        self._fail(job, "Cancelled before it was sent.", code="cancelled")
        return True

    def set_favourite(self, job_id: str, favourite: bool) -> Job:
        return self._update(self._need(job_id), favourite=favourite)

    def remember(self, key: str, value: str) -> None:
        """Keep a setting the UI picked (the theme, the save folder) in the history, through
        the writer like a job's change: never waits for the disk; a failure is told alike."""

        def write(store: JobStore) -> None:
            if store.get_meta(key) != value:  # an unchanged value costs no write
                store.set_meta(key, value)

        self._meta[key] = value
        self._write(write)

    def recalled(self, key: str) -> str | None:
        """A setting kept with :meth:`remember`: the last one asked for, written or not."""
        return self._meta.get(key) or self.store.get_meta(key)

    # -- submission --------------------------------------------------------------------

    def _enqueue(self, job: Job) -> Job:
        self._count += 1
        # A slot free now: the job goes to disk owned, leased and marked "sending" in one
        # write, and out as soon as that lands (a second write before the POST waited
        # behind a frame of the UI). Else it waits queued, unmarked, so a crash meanwhile
        # leaves a job the next process sends, not an uncertain one.
        slot = self.budget.try_acquire(Priority.ACTION)
        if slot:
            job = job.evolve(options={**job.options, "sending": True})
        self._put(job)
        saved = self._write(
            lambda store: store.insert(
                job, owner=self.owner, lease_until=time.time() + LEASE_SECONDS
            )
        )
        self._emit(JobChanged(job))
        self._spawn(self._submit(job, saved, slot=slot))
        return job

    async def _submit(
        self, job: Job, saved: asyncio.Future[Any] | None = None, *, slot: bool = False
    ) -> None:
        """``saved``: the job's first write, when it is not on disk yet; ``slot``: a budget
        slot is held for it, and that write marks it "sending"."""
        # A job is sent only once it is on disk (that is what stops a restart from sending
        # it twice): while the history cannot take it, it waits, queued.
        try:
            if saved is not None:
                slot = await self._landed(saved, slot)
        except StoreError as exc:  # it never can: kept on screen, failed, ready for R
            self._changed(
                self._need(job.id).evolve(
                    state=JobState.FAILED,
                    options=_without(job.options, "sending"),
                    error=f"Not sent: {exc.human}",
                    finished_at=time.time(),
                )
            )
            return
        delay, last_kind = self.settings.submit_backoff, "error"
        for attempt in range(1, self.settings.submit_attempts + 1):
            if slot:  # taken at Enter; the job's first write marked it
                slot = False
            else:
                marked = await self._mark_sending(job)
                if marked is None:
                    return
                job = marked
            try:
                try:
                    submitted = await self._send(job)
                finally:
                    self.budget.answered()
            except RateLimited as exc:
                self._heard(exc)
                self._hold(exc)
                last_kind = exc.kind
                job = self._update(job, options=_without(job.options, "sending"), error=exc.human)
                continue  # a 429 was not accepted: safe to send again
            except (AuthError, PromptBlocked, BadRequest) as exc:
                self._heard(exc)
                self._fail(job, exc.human, code=exc.kind)
                if isinstance(exc, AuthError):
                    self.auth_failed = True
                    self._emit(Notice(exc.human, "error"))
                return
            except ApiError as exc:
                if not safe_to_resend(exc):  # it may have arrived: never resend blindly
                    self._uncertain(job, exc)
                    return
                self._heard(exc)
                last_kind = exc.kind
                job = self._update(job, options=_without(job.options, "sending"), error=exc.human)
            else:
                accepted = self.planner.now()  # polls are timed from here
                self._set_online(True, "Connected.")
                job = await self._update_saved(
                    job,
                    state=JobState.SUBMITTED,
                    message_id=submitted.job_id,
                    options=_without(job.options, "sending"),
                    error=None,
                )
                if submitted.modal_prompt is not None:  # the service waits for a prompt
                    self._spawn(self._confirm(job, submitted.modal_prompt))
                    return
                self.planner.add(
                    job.id,
                    0,
                    started=accepted,
                    defer=self._webhook_defer(),
                    kind=duration_kind(job),
                    service_start=submitted.accepted_at,
                )
                self._wake.set()
                return
            if attempt < self.settings.submit_attempts:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
        reason = (job.error or "The service did not accept the job.").rstrip(".") + ". Gave up."
        self._fail(job, reason, code=last_kind)

    async def _landed(self, saved: asyncio.Future[Any], slot: bool) -> bool:
        """Wait for a new job's first write; whether the budget ``slot`` taken for it is
        still held. A write the history keeps refusing (disk full, locked) gives the slot
        back after SLOT_WAITS_FOR_WRITE: other requests go on meanwhile."""
        if not slot:
            await saved
            return False
        held = True

        def release() -> None:
            nonlocal held
            held = False
            self.budget.give_back()

        timer = asyncio.get_running_loop().call_later(SLOT_WAITS_FOR_WRITE, release)
        try:
            await saved
        except BaseException:
            if held:
                self.budget.give_back()
            raise
        finally:
            timer.cancel()
        return held

    async def _mark_sending(self, job: Job) -> Job | None:
        """Wait for a budget slot and mark the job "sending" on disk; the job then, or None
        when it must not be sent (cancelled, taken over, never writable)."""
        await self.budget.acquire(Priority.ACTION)
        if self._need(job.id).state is not JobState.QUEUED:  # cancelled while it waited
            self.budget.give_back()
            return None
        # Marked only while this manager still holds the job: if another process took
        # it over (this one stalled past its lease), that one sends it, not this one.
        sending = {"options": {**job.options, "sending": True}, "updated_at": time.time()}
        try:
            marked = await self._write(
                operator.methodcaller("update", job.id, sending, owner=self.owner)
            )
        except StoreError as exc:  # it never can be marked, so it is never sent
            self.budget.give_back()
            self._fail(job, f"Not sent: {exc.human}")
            return None
        if marked is None:
            self.budget.give_back()
            return None
        return self._changed(self._pending_over(marked))

    async def _send(self, job: Job) -> Submission:
        hook = self.settings.webhook_url
        if job.kind == "imagine":
            return await self.api.imagine(job.prompt, job.id, hook)
        if job.kind in ("describe", "blend"):
            images = [await self._image_input(i) for i in job.options.get("images", [])]
            if job.kind == "describe":
                return await self.api.describe(images[0], job.id)
            return await self.api.blend(images, job.id)
        parent = self.get(job.parent_id) if job.parent_id else None
        target = parent.button_message_id if parent else job.options.get(PARENT_MESSAGE)
        if not target:
            raise BadRequest(0, "the parent job is missing from the history")
        opts = job.options
        label = job.label or ""
        # What is sent may differ from what is shown (the proxy's customIds).
        sends = parent.options.get("button_sends", {}) if parent else {}
        press = Press(
            prompt=opts.get("prompt"),
            zoom=opts.get("zoom"),
            ar=opts.get("ar"),
            remix=bool(opts.get("remix")),
        )
        return await self.api.press(target, sends.get(label, label), job.id, hook, press)

    async def _image_input(self, image: str) -> str | bytes:
        """A URL the service can fetch as it is, or the picture's bytes: local files, and
        tiles cut here from a grid (the service never had a URL for those)."""
        if image.startswith(("http://", "https://")) and parse_tile(image) is None:
            return image
        shown = clean_text(image, single_line=True)[:100]
        if parse_tile(image) is not None and self.images is not None:
            try:
                path = await self.images.fetch(image)
                return await asyncio.to_thread(Path(str(path)).read_bytes)
            except Exception as exc:  # the pipeline's errors: any of them fails this job only
                why = getattr(exc, "human", None) or type(exc).__name__
                raise BadInput(f"The tile {shown!r} could not be loaded: {why}") from None
        try:
            return await asyncio.to_thread(Path(image).expanduser().read_bytes)
        except OSError as exc:
            raise BadInput(f"Cannot read {shown!r}: {exc.strerror}") from None

    async def _confirm(self, job: Job, prefill: str) -> None:
        """Answer the service's prompt step (remix, Custom Zoom) with the press's own prompt,
        or the one the service pre-filled, as its RemixAutoSubmit would."""
        prompt = prefill or job.options.get("prompt") or job.prompt
        for _ in range(self.settings.submit_attempts):
            await self.budget.acquire(Priority.ACTION)
            try:
                try:
                    await self.api.confirm(job.message_id or "", prompt)
                finally:
                    self.budget.answered()
            except RateLimited as exc:
                self._hold(exc)
                continue
            except ApiError as exc:
                if isinstance(exc, (AuthError, PromptBlocked, BadRequest)) or not safe_to_resend(
                    exc
                ):
                    self._fail(job, exc.human, code=exc.kind)
                    return
                await asyncio.sleep(1.0)
                continue
            job = self._update(job, options={**job.options, "prompt": prompt})
            self.planner.add(job.id, 0, defer=self._webhook_defer())
            self._wake.set()
            return
        self._fail(job, "The service did not take the prompt. Gave up.")

    def _uncertain(self, job: Job, exc: ApiError) -> None:
        self._update(
            job,
            state=JobState.UNCERTAIN,
            options=_without(job.options, "sending"),
            error=f"{exc.human} The service may or may not have received it; it was not "
            "resent automatically. Press R to resubmit if it does not show up.",
        )
        self._emit(
            Notice(f"{job.title}: the answer to the submission was lost.", "warning", job.id)
        )

    # -- polling -----------------------------------------------------------------------

    async def _poll_loop(self) -> None:
        while not self._closing:
            await asyncio.sleep(0)  # a granted slot returns without yielding: never starve the loop
            self._check_stalls()
            job_id, wait = self.planner.next_due(busy=self._polling)
            if job_id is None:
                self._wake.clear()
                # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancel
                # that races with the event, and close() would then wait forever.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(min(wait, 5.0)):
                        await self._wake.wait()
                continue
            await self.budget.acquire(Priority.POLL)
            # Choose again: the wait may have changed what is most worth asking about.
            job_id, _ = self.planner.next_due(busy=self._polling)
            if job_id is None:
                self.budget.give_back()
                continue
            # A batch fetch costs one request whatever the number of jobs: ask about all.
            ids = [job_id]
            if self.api.batch:
                ids += [j for j in self.planner.job_ids() if j != job_id and j not in self._polling]
            for one in ids:
                self._polling.add(one)
                self.planner.touch(one)
            self._spawn(self._poll(ids))

    async def _poll(self, job_ids: list[str]) -> None:
        try:
            jobs = []
            for job_id in job_ids:
                job = self.get(job_id)
                if job is None or job.message_id is None:
                    self.planner.remove(job_id)
                else:
                    jobs.append(job)
            if not jobs:
                self.budget.give_back()
                return
            try:
                try:
                    if len(jobs) == 1 and not self.api.batch:
                        only = jobs[0].message_id or ""
                        found = {only: await self.api.fetch(only)}
                    else:
                        found = await self.api.fetch_many([j.message_id or "" for j in jobs])
                finally:
                    self.budget.answered()
            except ApiError as exc:
                for job in jobs:
                    self._poll_failed(job, exc)
                return
            self._set_online(True, "Connected again.")
            for job in jobs:
                update = found.get(job.message_id or "")
                if update is None:  # a batch leaves out the jobs the service forgot
                    self._poll_failed(job, BadRequest(404, "the service no longer lists it"))
                else:
                    self.apply_update(job.id, update)
        finally:
            for job_id in job_ids:
                self._polling.discard(job_id)
            self._wake.set()

    def _poll_failed(self, job: Job, exc: ApiError) -> None:
        self._heard(exc)
        if isinstance(exc, RateLimited):
            self._hold(exc)
            self.planner.failed(job.id, exc.retry_after or self.planner.min_gap)
            return
        if isinstance(exc, BadRequest) and exc.status == 404:
            self.planner.remove(job.id)
            self._fail(job, f"The service no longer knows this job (HTTP 404: {exc.server_msg}).")
            return
        if isinstance(exc, AuthError):
            self.auth_failed = True
            self._emit(Notice(exc.human, "error"))
            self.planner.failed(job.id, 30.0)
            return
        errors = job.options.get("poll_errors", 0) + 1
        self.planner.failed(job.id, min(self.planner.min_gap * 2.0 ** min(errors, 5), 30.0))
        # The service answers, but nothing it says about this job can be read: that is
        # no longer "checking", and the row must say so rather than sit at "submitted".
        stuck = isinstance(exc, BadResponse) and errors >= UNREADABLE_POLLS_STALL
        self._update(
            job,
            state=JobState.STALLED if stuck else job.state,
            options={**job.options, "poll_errors": errors},
            error=f"Checking on it failed ({errors}×): {exc.human} Still trying"
            + ("; press R to retry." if stuck else "."),
        )

    def apply_update(self, job_id: str, update: Update) -> None:
        """Fold one poll answer (or webhook body) into the job."""
        job = self.get(job_id)
        if job is None or job.state.finished:
            return
        options = _without(job.options, "poll_errors")
        if update.state == "failed":
            self.planner.remove(job.id)
            failure = update.failure
            reason = failure.text if failure else describe_failure(None)
            self._fail(job, reason, code=(failure.code if failure else None) or "incomplete")
            return
        if update.state == "done":
            self.planner.finished(job.id, update.finished_at)
            self.planner.remove(job.id)
            self.planner.learn_duration(time.time() - job.created_at)
            sends = {b.name: b.value for b in update.buttons if b.value != b.name}
            extra: dict[str, Any] = {"seed": update.seed} if update.seed else {}
            if update.prompts:
                extra["prompts"] = list(update.prompts)
            if sends:
                extra["button_sends"] = sends
            job = self._update(
                job,
                state=JobState.DONE,
                progress=100,
                # a button pressed by message id alone learns its prompt from the result
                prompt=job.prompt or clean_text(update.prompt or "", single_line=True),
                buttons=tuple(b.name for b in update.buttons),
                image_url=update.image_url,
                image_urls=update.image_urls,
                button_message_id=update.button_target,
                # an uncertain job reconciled by its webhook learns its id here
                message_id=job.message_id or update.job_id,
                progress_image_url=None,
                error=None,
                finished_at=time.time(),
                options={**options, **extra},
            )
            if self.images is not None:
                task = self._spawn(self._download(job))
                self._downloads[job.id] = task
                task.add_done_callback(lambda _: self._downloads.pop(job.id, None))
            return
        if update.state == "modal":  # parked until its prompt is sent (see _confirm)
            return
        progress = max(job.progress, update.progress)  # never show progress going back
        self.planner.polled(job.id, progress)
        moved = progress != job.progress or update.preview_url != job.progress_image_url
        if moved or job.state is JobState.SUBMITTED or job.options != options:
            self._update(
                job,
                state=JobState.RUNNING,
                progress=progress,
                progress_image_url=update.preview_url or job.progress_image_url,
                error=None,
                options=options,
            )

    def _webhook_defer(self) -> float:
        """With a webhook on, polling only starts once the webhook is overdue."""
        if not self.settings.webhook_url:
            return 0.0
        return self.planner.expected_seconds + self.settings.webhook_grace

    def webhook_body(self, body: Any) -> bool:
        """A webhook delivery: the same body as a poll. True when it matched a job."""
        update = self.api.webhook_update(body)
        if update is None:
            log.warning("ignored a webhook body this backend cannot read")
            return False
        job = self._match_webhook(update)
        if job is None:
            return False
        self.apply_update(job.id, update)
        return True

    def _match_webhook(self, update: Update) -> Job | None:
        if update.ref and (job := self.get(update.ref)) is not None:
            return job
        if update.job_id is None:
            return None
        mid = update.job_id

        def known(job: Job) -> bool:
            return job.message_id == mid

        return next(filter(known, self._latest(self.store.by_message(mid), known)), None)

    def _check_stalls(self) -> None:
        # Runs on every poll-loop turn: walk the polled jobs, not the whole history.
        for job_id in self.planner.job_ids():
            job = self.get(job_id)
            if job is None or job.state is not JobState.RUNNING:
                continue
            idle = self.planner.seconds_since_change(job_id)
            if idle > self.settings.stall_seconds:
                self._update(
                    job,
                    state=JobState.STALLED,
                    error=f"No progress for {idle:.0f} s. Still checking; press R to retry "
                    "or reroll.",
                )

    # -- images -------------------------------------------------------------------------

    async def _download(self, job: Job, *, quiet: bool = False) -> tuple[str, ...]:
        """Fetch a finished job's images at once (result URLs expire), retrying hiccups.
        Returns why images failed, one reason each."""
        urls = job.display_urls
        if not urls or self.images is None:
            return ()
        results = await asyncio.gather(*(self._fetch(u) for u in urls))
        failures = tuple(clean_text(r) for r in results if r is not None)
        if failures and not quiet:
            self._emit(
                Notice(
                    f"{job.title}: {len(failures)} image(s) failed: {failures[0]}",
                    "warning",
                    job.id,
                )
            )
        self._emit(ImagesReady(job.id, failures))
        return failures

    async def _resume_downloads(self) -> None:
        """Finish downloads a previous run left undone: recent jobs only, a few at a time.

        Old result URLs have expired anyway, and a long history must not turn into tens
        of thousands of requests at start-up (it once kept 10k jobs from ever painting).
        """
        images = self.images
        if images is None:
            return
        since = time.time() - RESUME_DOWNLOADS_WITHIN

        def done_since(j: Job) -> bool:
            return j.state is JobState.DONE and (j.finished_at or 0) > since

        stored = self.store.finished_since(since, RESUME_DOWNLOADS_MAX)
        recent = sorted(
            filter(done_since, self._latest(stored, done_since)),
            key=lambda j: j.finished_at or 0,
            reverse=True,
        )[:RESUME_DOWNLOADS_MAX]

        def missing() -> list[Job]:  # stat calls: off the event loop
            return [j for j in recent if any(images.cached_path(u) is None for u in j.display_urls)]

        gate = asyncio.Semaphore(2)

        async def one(job: Job) -> None:
            async with gate:
                await self._download(job, quiet=True)

        await asyncio.gather(*(one(j) for j in await asyncio.to_thread(missing)))

    async def _fetch(self, url: str) -> str | None:
        """None when the image is in the cache, else why not."""
        assert self.images is not None
        delays = iter(IMAGE_RETRY_DELAYS)
        while True:
            try:
                await self.images.fetch(url)
                return None
            except Exception as exc:  # the pipeline's errors, and anything it let through
                delay = next(delays, None)
                if delay is None or not getattr(exc, "transient", False):
                    return str(getattr(exc, "human", None) or exc or type(exc).__name__)
            await asyncio.sleep(delay)

    # -- sharing the store with other processes -----------------------------------------

    async def _adopt(self) -> None:
        """Take over active jobs no live process holds, and carry on with them."""
        now = time.time()
        for job_id, owner, lease_until in self.store.active_leases():
            if owner == self.owner or not (self.settings.adopt or job_id in self._watched):
                continue
            gone = owner is None or (lease_until or 0.0) < now or _owner_died(owner)
            if not gone:
                continue
            job = await self._write(
                operator.methodcaller(
                    "claim", job_id, self.owner, now + LEASE_SECONDS, now, was=owner
                )
            )
            if job is None:
                continue  # another process was quicker
            job = self._changed(self._pending_over(job))
            if job.state is JobState.QUEUED:
                if job.options.get("sending"):
                    self._update(
                        job,
                        state=JobState.UNCERTAIN,
                        options=_without(job.options, "sending"),
                        error="The app stopped while sending this job: it may or may not "
                        "have reached the service. Resubmit it if it does not show up.",
                    )
                else:
                    self._spawn(self._submit(job))
            elif job.id not in self.planner:
                self.planner.add(job.id, job.progress)
                self._wake.set()

    async def _watch_loop(self) -> None:
        """Follow other processes' changes; keep this manager's leases; adopt orphans."""
        renewed = adopted = time.monotonic()
        while not self._closing:
            await asyncio.sleep(WATCH_SECONDS)
            try:
                self._follow()
                now = time.monotonic()
                if now - renewed >= LEASE_SECONDS / 3:
                    renewed = now
                    self._spawn(self._renew())  # the following goes on while it waits
                if (self.settings.adopt or self._watched) and now - adopted >= ADOPT_SECONDS:
                    adopted = now
                    await self._adopt()
            except StoreError as exc:
                log.warning("watching the job history failed: %s", exc.human)

    async def _renew(self) -> None:
        until = time.time() + LEASE_SECONDS
        try:
            held: set[str] = await self._write(lambda store: store.renew(self.owner, until))
        except StoreError as exc:
            log.warning("renewing the job leases failed: %s", exc.human)
            return
        for job_id in set(self.planner.job_ids()) - held:
            self.planner.remove(job_id)  # taken over: its new owner polls it

    def _follow(self) -> None:
        """Report jobs other processes created or changed (cheap when none did)."""
        version = self.store.data_version()
        if version == self._seen_version:
            return
        self._seen_version = version
        jobs, self._rev = self.store.changed_since(self._rev)
        if not jobs:
            revision = self.store.revision()
            if revision > self._rev:  # moved, though no job's fields did
                self._rev = revision
                self._emit(HistoryReordered())
            return
        if any(job.id not in self._jobs for job in jobs):  # perhaps new: count again
            self._count = max(self._count, self.store.count())
        for job in map(self._pending_over, jobs):
            if self._jobs.get(job.id) != job:  # this manager's own writes match already
                self._changed(job)

    # -- plumbing -------------------------------------------------------------------------

    def _update(self, job: Job, **changes: Any) -> Job:
        """Show these field changes at once and write just them (other fields keep what
        other processes wrote) through the writer, in order. While the history cannot be
        written (disk full, locked by another program) the writer keeps trying."""
        changes = {**changes, "updated_at": time.time()}
        seq = next(self._seq)
        self._pending.setdefault(job.id, []).append((seq, changes))
        written = self._write(lambda store: store.update(job.id, changes))
        written.add_done_callback(lambda done: self._written(job.id, seq, done))
        return self._changed(dataclasses.replace(self._jobs.get(job.id, job), **changes))

    async def _update_saved(self, job: Job, **changes: Any) -> Job:
        """As :meth:`_update`, but shown once it is on disk: a job the service accepted
        is reported as such only when a crash can no longer lose its message id."""
        changes = {**changes, "updated_at": time.time()}
        try:
            stored = await self._write(lambda store: store.update(job.id, changes))
        except StoreError:  # never can be written (said already): memory only
            stored = None
        if stored is None:
            return self._changed(dataclasses.replace(self._jobs.get(job.id, job), **changes))
        return self._changed(self._pending_over(stored))

    def _written(self, job_id: str, seq: int, done: asyncio.Future[Any]) -> None:
        """A change reached the disk (or never can): what the disk holds, with the changes
        still on their way laid over it, is the job now."""
        pending = [entry for entry in self._pending.get(job_id, ()) if entry[0] != seq]
        if pending:
            self._pending[job_id] = pending
        else:
            self._pending.pop(job_id, None)
        if done.cancelled() or done.exception() is not None:
            return  # not on disk: the change lives in memory only
        stored = done.result()
        if stored is not None:  # None: a job that is not in the history (memory only)
            job = self._pending_over(stored)
            if self._jobs.get(job_id) != job:  # another process changed other fields
                self._changed(job)

    def _pending_over(self, job: Job) -> Job:
        """``job`` as read from disk, with this manager's changes not yet written."""
        for _, changes in self._pending.get(job.id, ()):
            job = dataclasses.replace(job, **changes)
        return job

    def _write(self, op: Callable[[JobStore], T]) -> asyncio.Future[T]:
        """Run ``op`` on the writer's thread after every earlier write; its result. Not
        cancelled with its awaiter: a write asked for is a write made."""
        loop = self._loop = self._loop or asyncio.get_running_loop()
        result: asyncio.Future[T] = loop.create_future()

        def settle(value: Any, error: BaseException | None) -> None:
            if result.done():  # its awaiter was cancelled
                return
            if error is not None:
                result.set_exception(error)
            else:
                result.set_result(value)

        def done(value: Any, error: BaseException | None) -> None:  # in the writer's thread
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                loop.call_soon_threadsafe(settle, value, error)

        self._writer.submit(op, done)
        result.add_done_callback(self._write_failed)
        return result

    def _write_failed(self, result: asyncio.Future[Any]) -> None:
        """A write that can never succeed (a damaged file): say so. One that may later
        (locked, disk full) is retried by the writer, which says so itself."""
        error = None if result.cancelled() else result.exception()
        if isinstance(error, StoreError) and not error.transient:
            self._emit(Notice(f"{error.human} The change is kept in this session only.", "error"))

    def _write_trouble(self, exc: StoreError | None) -> None:
        """The writer's thread: writes started failing (``exc``) or work again (None)."""
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody to tell
                loop.call_soon_threadsafe(self._store_trouble, exc)

    def _store_trouble(self, exc: StoreError | None) -> None:
        if exc is not None:
            self._store_failed(exc)
        elif self._store_error is not None:
            self._store_error = None
            self._emit(Notice("The job history can be written again.", "information"))

    def _store_failed(self, exc: StoreError) -> None:
        """Say once per spell of failures that the history is not being saved."""
        if self._store_error is None:
            self._emit(
                Notice(
                    f"{exc.human} Jobs are kept in this session and saved when it works again.",
                    "error",
                )
            )
        self._store_error = exc.human

    def _changed(self, job: Job) -> Job:
        """``job`` is the latest version: keep it and tell the listeners."""
        self._put(job)
        self._emit(JobChanged(job))
        return job

    def _put(self, job: Job) -> None:
        self._jobs[job.id] = job
        self._jobs.move_to_end(job.id)
        if job.state.active:
            self._active.add(job.id)
        else:
            self._active.discard(job.id)
        self._let_go()
        for test, future in self._waiters.get(job.id, ()):
            if not future.done() and test(job):
                future.set_result(job)

    def _let_go(self) -> None:
        """Forget the least recently touched settled jobs past HELD: the store has them.
        Live jobs, jobs with changes on their way or someone waiting stay."""
        excess = len(self._jobs) - len(self._active) - HELD
        if excess <= 0:
            return
        gone = []
        for job_id in self._jobs:  # oldest first; stops after ``excess`` jobs
            busy = (self._active, self._pending, self._waiters, self._downloads)
            if not any(job_id in held for held in busy):
                gone.append(job_id)
                if len(gone) == excess:
                    break
        for job_id in gone:
            del self._jobs[job_id]

    def _fail(self, job: Job, reason: str, code: str | None = None) -> None:
        self.planner.remove(job.id)
        self._update(
            job,
            state=JobState.FAILED,
            error=reason,
            error_code=code,
            finished_at=time.time(),
            options=_without(job.options, "sending", "poll_errors"),
        )
        self._emit(Notice(f"{job.title} failed: {reason}", "error", job.id))

    def _hold(self, exc: RateLimited) -> None:
        self.budget.hold(
            exc.retry_after if exc.retry_after is not None else 2 * max(self.budget.interval, 1.0)
        )

    def _heard(self, exc: ApiError) -> None:
        """Any HTTP answer, even a 404 or a 500, means the service is reachable again."""
        if isinstance(exc, NetworkError):
            self._set_online(False, exc.human)
        else:
            self._set_online(True, "Connected again.")

    def _set_online(self, online: bool, text: str) -> None:
        if online != self.online:
            self.online = online
            self._emit(ConnectionChanged(online, text))

    def _emit(self, event: JobEvent) -> None:
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:  # a broken listener must not stop the job layer
                log.exception("job event listener failed")

    def _spawn(self, coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


def check_prompt(prompt: str, *, parameters: bool = True) -> str:
    """The prompt as it will be sent, or :class:`PromptError` saying what is wrong.

    With ``parameters`` (a backend that reads them), dash look-alikes become ``--`` and a
    parameter the service would refuse stops the prompt here: a refused job costs money.
    """
    if undecodable(prompt):
        raise PromptError(
            "The prompt holds bytes that are not UTF-8 text (check the terminal's or "
            "the script's encoding): it was not sent."
        )
    cleaned = clean_text(prompt, single_line=True)
    if not any(unicodedata.category(c) != "Cf" for c in cleaned):  # "" or only U+200B...
        raise PromptError("Type a prompt first: an empty prompt is not sent.")
    if len(cleaned) > MAX_PROMPT:
        raise PromptError(
            f"The prompt is {len(cleaned):,} characters; the limit is {MAX_PROMPT:,}. "
            "Shorten it and press Enter again."
        )
    sent, problem = params.prepare(cleaned, enabled=parameters)
    if problem is not None:
        raise PromptError(problem)
    return sent


def duration_kind(job: Job) -> str:
    """Jobs that take about as long as each other: imagines; each button (U1-U4 alike)."""
    if job.kind != "button":
        return job.kind
    return f"button {(job.label or '').rstrip('1234')}"


def _owner_died(owner: str) -> bool:
    """True when ``owner`` names a process on this machine that no longer runs."""
    host, _, rest = owner.partition("/")
    pid = rest.partition("/")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine's process: only its lease can tell
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, but someone else's
        return False
    return False


def _without(options: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in options.items() if k not in keys}
