"""The simulator's jobs: creation, the clock that moves them, and their JSON.

All state sits behind one lock. A job's outcome is fixed when it is created (its
scenes, or its failure code); only time decides when the outcome becomes visible.
"""

from __future__ import annotations

import random
import secrets
import string
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from app.simulator import landscape
from app.simulator.buttons import GRID_BUTTONS, Parent, Plan, plan_button
from app.simulator.config import (
    ACCOUNT_ID,
    GENERATION_SECONDS,
    PROGRESS_STEPS,
    QUICK_SECONDS,
    STALL_PROGRESS,
    SimulatorConfig,
)
from app.simulator.landscape import Scene

ID_ALPHABET = string.ascii_letters + string.digits


def alnum_id() -> str:
    # Not seeded: a restarted simulator (a restarted demo app) must never hand out an id
    # an earlier run used, or old jobs would pick up new jobs' results.
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(20))


def iso(moment: datetime) -> str:
    """``2023-09-02T21:25:28.675Z``, as in the seed's logs."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class SimJob:
    message_id: str
    kind: str  # "imagine" | "button" | "describe" | "blend"
    prompt: str
    label: str | None
    parent_message_id: str | None
    button_message_id: str
    ref: str | None
    created: float  # time.monotonic()
    gen_seconds: float
    finished: float | None = None
    status: str = "running"  # "running" | "done" | "failed" | "incomplete"
    failure_code: str | None = None
    # -- what the job will show --
    created_wall: datetime = field(default_factory=lambda: datetime.now(UTC))
    webhook: str | None = None
    scenes: tuple[Scene, ...] = ()
    single: bool = False
    long_side: int = 0
    buttons: tuple[str, ...] = ()
    image_owner: str = ""  # the job whose image URLs this one answers with
    seed_value: str | None = None
    stall: bool = False
    gen_seed: int = 0
    describe: tuple[str, ...] | None = None
    pressed: set[str] = field(default_factory=set)
    presses: int = 0

    @property
    def result_type(self) -> str:
        return "imagine" if self.kind == "blend" else self.kind  # a blend's result is a grid


@dataclass(frozen=True)
class Delivery:
    """A webhook to send once the lock is released."""

    url: str
    body: dict[str, Any]
    message_id: str


class JobStore:
    def __init__(
        self,
        config: SimulatorConfig,
        saved: Iterable[SimJob] = (),
        on_change: Callable[[list[SimJob]], None] | None = None,
        new_id: Callable[[], str] | None = None,
    ) -> None:
        """``saved``: jobs of an earlier run; ``on_change`` gets a copy of every job
        whenever one is created or finishes (it saves them); ``new_id`` makes ids in the
        served API's format."""
        self.config = config
        self._make_id = new_id or alnum_id
        self._reserved: set[str] = set()
        self.lock = threading.Lock()
        self._jobs: dict[str, SimJob] = {}
        self._by_button_id: dict[str, SimJob] = {}
        self._on_change = on_change
        self._save_lock = threading.Lock()
        self.arrived = threading.Event()  # set when a job is added: the clock has work again
        self._new: list[SimJob] = []  # made since take_new() last asked (when it is asked)
        for job in saved:
            self._add(job)
        self._new.clear()  # an earlier run's jobs are not new

        self.base_url = ""  # for webhook bodies, set once the server is bound

    # -- reading --------------------------------------------------------------------

    def snapshot(self) -> dict[str, SimJob]:
        with self.lock:
            return dict(self._jobs)

    def take_new(self) -> list[SimJob]:
        """The jobs made since the last call (with ``ready_images``; else none)."""
        with self.lock:
            new, self._new = self._new, []
        return new

    def running(self) -> bool:
        """Whether any job is still to settle (the clock sleeps while none is)."""
        with self.lock:
            return any(job.status == "running" for job in self._jobs.values())

    def get(self, message_id: str) -> SimJob | None:
        with self.lock:
            return self._jobs.get(message_id)

    # -- creating -------------------------------------------------------------------

    def _new_id(self) -> str:
        while True:  # a clash needs ~10**17 jobs (alphanumeric ids); bounded in practice
            candidate = self._make_id()
            taken = (self._jobs, self._by_button_id, self._reserved)
            if not any(candidate in ids for ids in taken):
                return candidate

    def _add(self, job: SimJob) -> SimJob:
        self._reserved.discard(job.message_id)
        self._jobs[job.message_id] = job
        self._by_button_id[job.button_message_id] = job
        if self.config.ready_images:
            self._new.append(job)
        self.arrived.set()
        return job

    def _changed(self) -> None:
        """Hand copies of all jobs to ``on_change``; never called with ``self.lock`` held."""
        if self._on_change is None:
            return
        # One save at a time, each copying the jobs after the last one did: the newest
        # state is always the one written last.
        with self._save_lock:
            with self.lock:  # copies, so the save runs without blocking requests
                jobs = [replace(j, pressed=set(j.pressed)) for j in self._jobs.values()]
            self._on_change(jobs)

    def _stalls(self, prompt: str) -> bool:
        low = prompt.lower()
        return any(w.lower() in low for w in self.config.stall_words)

    def create_imagine(
        self,
        prompt: str,
        ref: str | None,
        webhook: str | None,
        kind: str = "imagine",
        failure_code: str | None = None,
    ) -> SimJob:
        """``failure_code``: the job is refused once it starts (a later banned-word check)."""
        gen_seed = landscape.stable_int("imagine", prompt.strip().lower(), self.config.seed)
        with self.lock:
            message_id = self._new_id()
            job = SimJob(
                message_id=message_id,
                kind=kind,
                prompt=prompt,
                label=None,
                parent_message_id=None,
                button_message_id=self._new_id(),
                ref=ref,
                created=time.monotonic(),
                gen_seconds=self.config.scaled(
                    QUICK_SECONDS if failure_code else GENERATION_SECONDS
                ),
                failure_code=failure_code,
                webhook=webhook,
                scenes=tuple(landscape.grid_scenes(prompt, self.config.seed)),
                long_side=self.config.tile_size,
                buttons=GRID_BUTTONS,
                image_owner=message_id,
                stall=self._stalls(prompt),
                gen_seed=gen_seed,
            )
            self._add(job)
        self._changed()
        return job

    def create_describe(self, url: str, ref: str | None, webhook: str | None) -> SimJob:
        rng = random.Random(landscape.stable_int("describe", url, self.config.seed))
        subjects = ("a quiet valley", "snowy peaks", "a mountain lake", "rolling hills")
        styles = ("at dusk", "under a starry sky", "in morning mist", "in bright sunlight")
        prompts = tuple(
            f"{i}️⃣ {rng.choice(subjects)} {rng.choice(styles)}, landscape painting --ar 1:1"
            for i in range(1, 5)
        )
        with self.lock:
            message_id = self._new_id()
            job = SimJob(
                message_id=message_id,
                kind="describe",
                prompt=url,
                label=None,
                parent_message_id=None,
                button_message_id=self._new_id(),
                ref=ref,
                created=time.monotonic(),
                gen_seconds=self.config.scaled(QUICK_SECONDS),
                webhook=webhook,
                image_owner=message_id,
                describe=prompts,
            )
            self._add(job)
        self._changed()
        return job

    def find_by_button_id(self, button_message_id: str) -> SimJob | None:
        with self.lock:
            return self._by_button_id.get(button_message_id)

    def create_button(
        self,
        parent: SimJob,
        label: str,
        body: dict[str, Any],
        ref: str | None,
        webhook: str | None,
        message_id: str | None = None,
    ) -> SimJob:
        """``message_id``: an id handed out earlier (the proxy's MODAL step), else a new one."""
        with self.lock:
            parent.presses += 1
            view = Parent(
                prompt=parent.prompt,
                scenes=parent.scenes,
                single=parent.single,
                long_side=parent.long_side,
                buttons=parent.buttons if parent.status in ("running", "done") else (),
                pressed=frozenset(parent.pressed),
                gen_seed=parent.gen_seed,
            )
            plan = plan_button(view, label, body, self.config.tile_size, parent.presses)
            if plan.failure_code is None and label.startswith("U") and not parent.single:
                parent.pressed.add(label)
            job = self._add(self._job_from_plan(parent, label, plan, ref, webhook, message_id))
        self._changed()
        return job

    def reserve_id(self) -> str:
        """An id no job has yet, for a job created later (``create_button(message_id=)``)."""
        with self.lock:
            reserved = self._new_id()
            self._reserved.add(reserved)
            return reserved

    def _job_from_plan(
        self,
        parent: SimJob,
        label: str,
        plan: Plan,
        ref: str | None,
        webhook: str | None,
        message_id: str | None = None,
    ) -> SimJob:
        message_id = message_id or self._new_id()
        seconds = QUICK_SECONDS if plan.quick else GENERATION_SECONDS
        prompt = plan.prompt or parent.prompt
        return SimJob(
            message_id=message_id,
            kind="button",
            prompt=prompt,
            label=label,
            parent_message_id=parent.message_id,
            button_message_id=self._new_id(),
            ref=ref,
            created=time.monotonic(),
            gen_seconds=self.config.scaled(seconds),
            failure_code=plan.failure_code,
            webhook=webhook,
            scenes=plan.scenes,
            single=plan.single,
            long_side=plan.long_side,
            buttons=plan.buttons,
            image_owner=parent.image_owner if plan.reuse_parent_image else message_id,
            seed_value=plan.seed_value,
            stall=plan.failure_code is None and self._stalls(prompt),
            gen_seed=plan.gen_seed,
        )

    # -- the clock ------------------------------------------------------------------

    def _settle(self, job: SimJob, now: float, expire_seconds: float) -> bool:
        """Move ``job`` to its end state if its time has come; True when it moved."""
        if job.status != "running":
            return False
        done_at = job.created + job.gen_seconds if not job.stall else float("inf")
        expire_at = job.created + expire_seconds
        if now < min(done_at, expire_at):
            return False
        if done_at <= expire_at:
            job.status = "failed" if job.failure_code else "done"
            job.finished = done_at
        else:
            job.status = "incomplete"
            job.finished = expire_at
        return True

    def settle(self, job: SimJob) -> list[Delivery]:
        """Move ``job`` on if its time has come (default expiry); the webhook it owes."""
        now = time.monotonic()
        expire = self.config.scaled(self.config.default_expire_mins * 60)
        with self.lock:
            moved = self._settle(job, now, expire)
            owed = []
            if moved and job.webhook:
                owed.append(
                    Delivery(job.webhook, self._body(job, now, self.base_url), job.message_id)
                )
        if moved:
            self._changed()
        return owed

    def tick(self, now: float | None = None) -> list[Delivery]:
        """Settle every due job (default expiry); return the webhooks now owed."""
        now = time.monotonic() if now is None else now
        expire = self.config.scaled(self.config.default_expire_mins * 60)
        owed = []
        moved = False
        with self.lock:
            for job in self._jobs.values():
                if not self._settle(job, now, expire):
                    continue
                moved = True
                if job.webhook:
                    body = self._body(job, now, self.base_url)
                    owed.append(Delivery(job.webhook, body, job.message_id))
        if moved:
            self._changed()
        return owed

    def message(
        self, job: SimJob, base_url: str, expire_mins: float | None
    ) -> tuple[dict[str, Any], list[Delivery]]:
        """The ``GET /message`` answer for ``job``, and any webhook it triggers."""
        mins = self.config.default_expire_mins if expire_mins is None else expire_mins
        now = time.monotonic()
        with self.lock:
            owed = []
            moved = self._settle(job, now, self.config.scaled(mins * 60))
            if moved and job.webhook:
                hook_body = self._body(job, now, self.base_url)
                owed.append(Delivery(job.webhook, hook_body, job.message_id))
            body = self._body(job, now, base_url)
        if moved:
            self._changed()
        return body, owed

    # -- JSON -----------------------------------------------------------------------

    def progress(self, job: SimJob, now: float) -> int:
        if job.status == "done":
            return 100
        if job.failure_code:  # refusals show no progress before they fail
            return 0
        frac = (now - job.created) / job.gen_seconds if job.gen_seconds > 0 else 1.0
        step = PROGRESS_STEPS[max(0, min(len(PROGRESS_STEPS) - 1, int(frac * 7)))]
        return min(step, STALL_PROGRESS) if job.stall else step

    def image_urls(self, job: SimJob, base_url: str) -> tuple[str, list[str]]:
        root = f"{base_url}/images/{job.image_owner}"
        if job.describe is not None:
            return job.prompt, []
        if job.single:
            return f"{root}/image.png", [f"{root}/image.png"]
        return f"{root}/grid.png", [f"{root}/0_{i}.png" for i in range(4)]

    def _wall(self, job: SimJob, moment: float) -> datetime:
        return job.created_wall + timedelta(seconds=moment - job.created)

    def _body(self, job: SimJob, now: float, base_url: str) -> dict[str, Any]:
        if job.status == "running":
            progress = self.progress(job, now)
            preview = None
            if progress > 0 and job.scenes and not job.single:
                preview = f"{base_url}/images/{job.message_id}/progress_{progress}.png"
            return {"progress": progress, "progressImageUrl": preview}
        if job.status == "incomplete":
            return {"progress": "incomplete", "progressImageUrl": None}
        finished = job.finished if job.finished is not None else now
        return {
            "progress": 100 if job.status == "done" else "incomplete",
            "response": self._response(job, finished, base_url),
        }

    def _response(self, job: SimJob, finished: float, base_url: str) -> dict[str, Any]:
        failed = job.status == "failed"
        image_url, image_urls = ("", []) if failed else self.image_urls(job, base_url)
        content: Any = job.failure_code if failed else job.prompt
        if job.describe is not None and not failed:
            content = list(job.describe)
        created_at = iso(self._wall(job, finished))
        response_at = iso(self._wall(job, finished) + timedelta(milliseconds=200))
        buttons = [] if failed else list(job.buttons)
        fields: dict[str, Any] = {"accountId": ACCOUNT_ID, "createdAt": created_at}
        fields["originatingMessageId"] = job.message_id
        if job.kind == "button":  # key order as in the seed's variation log
            fields["ref"] = job.ref or ""
            fields.update(buttons=buttons, imageUrl=image_url, imageUrls=image_urls)
            fields.update(responseAt=response_at, description="", type="button")
            fields.update(content=content, buttonMessageId=job.button_message_id)
        else:
            fields.update(buttons=buttons, imageUrl=image_url, imageUrls=image_urls)
            fields.update(description="", type=job.result_type, content=content)
            fields.update(responseAt=response_at, buttonMessageId=job.button_message_id)
            if job.ref is not None:
                fields["ref"] = job.ref
        if job.seed_value is not None and not failed:
            fields["seed"] = job.seed_value
        return fields

    def counts(self) -> dict[str, int]:
        with self.lock:
            running = sum(1 for j in self._jobs.values() if j.status == "running")
            return {"running": running, "total": len(self._jobs)}
