"""The one job model every backend maps its answers onto, and the protocol the job
manager talks to. Nothing here knows any API's field names: those live in the adapters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    import httpx

from app.api.errors import BadRequest
from app.text import clean_text

UpdateState = Literal["waiting", "running", "done", "failed", "modal"]
Feature = Literal["describe", "blend", "seed", "remix"]
Image = str | bytes  # a URL the service can fetch, or the bytes of a local file


@dataclass(frozen=True)
class Button:
    """One button of a finished job: what is shown, and what is sent to press it."""

    label: str  # may be "" (the proxy's pan and reroll buttons are emoji only)
    emoji: str = ""
    send: str = ""  # the label itself (TheNextLeg, ImaginePro) or the proxy's customId

    @property
    def name(self) -> str:
        """How keys, the palette and ``button LABEL`` name it: the label, else the emoji."""
        return self.label or self.emoji

    @property
    def value(self) -> str:
        return self.send or self.name


@dataclass(frozen=True)
class Failure:
    """Why a job failed: a sentence in English, the service's own words kept beside it."""

    human: str
    code: str | None = None  # a stable name (BANNED_PROMPT, QUEUE_FULL, incomplete, ...)
    original: str | None = None  # the service's text when it differs (e.g. Chinese)

    @property
    def text(self) -> str:
        if self.original and self.original not in self.human:
            return f"{self.human} (the service said: {clean_text(self.original)[:200]})"
        return self.human


@dataclass(frozen=True)
class Update:
    """Where one job stands, in any backend's terms."""

    state: UpdateState
    progress: int = 0  # 0..100
    preview_url: str | None = None  # an unfinished picture, never the result
    image_url: str | None = None  # the grid, or the single image of an upscale
    image_urls: tuple[str, ...] = ()  # four tiles (split locally when the service has none)
    buttons: tuple[Button, ...] = ()
    button_target: str | None = None  # the id the next press names (TheNextLeg: its own)
    failure: Failure | None = None
    seed: str | None = None
    prompts: tuple[str, ...] = ()  # a describe job's suggestions
    prompt: str | None = None  # the prompt the service ran (remix, MODAL pre-fill)
    job_id: str | None = None  # the service's id for the job (webhooks are matched on it)
    ref: str | None = None  # the ref / state the client sent, echoed
    parent_id: str | None = None  # the service's id of the job a button was pressed on
    finished_at: float | None = None  # when it finished, by the service's clock (Unix s)

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed")


@dataclass(frozen=True)
class Submission:
    """The service took a request: the job's id, and its MODAL step if it asks for one."""

    job_id: str
    modal_prompt: str | None = None  # set when the service waits for a prompt (remix)
    accepted_at: float | None = None  # when it took the job, by the service's clock (Unix s)

    @property
    def needs_prompt(self) -> bool:
        return self.modal_prompt is not None


def service_time(text: str | None) -> float | None:
    """A service's ISO 8601 timestamp (``2023-09-02T21:25:28.675Z``) as Unix seconds; None
    when absent or unreadable. Only differences of two are used: the clocks may differ."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


class Unsupported(BadRequest):
    """The chosen backend does not offer this (describe on ImaginePro, a mask, ...)."""

    kind = "unsupported"

    def __init__(self, what: str, backend: str) -> None:
        super().__init__(0, f"{what} is not supported by {backend}")
        self.human = f"{what} is not supported by the {backend} backend."
        self.args = (self.human,)


class BadInput(BadRequest):
    """What the user gave cannot be sent (an unreadable file, an image that will not load)."""

    kind = "bad_input"

    def __init__(self, human: str) -> None:
        super().__init__(0, human)
        self.human = human
        self.args = (human,)


# Refusals every backend names alike: their code is the job's error code, so the exit code
# and the row's words are the same whatever the API (a banned prompt is PromptBlocked).
SHARED_REFUSALS = frozenset({"QUEUE_FULL", "NOT_FOUND", "NOT_FINISHED"})


class Refused(BadRequest):
    """The service refused the request, in whatever words or shape its API uses."""

    def __init__(self, failure: Failure, status: int = 200) -> None:
        super().__init__(status, failure.text)
        self.human = failure.text
        self.args = (self.human,)
        self.failure = failure
        self.kind = failure.code if failure.code in SHARED_REFUSALS else BadRequest.kind


@dataclass(frozen=True)
class Press:
    """What a button press sends beyond the button itself."""

    prompt: str | None = None  # remix / Custom Zoom / Vary (Region) prompt
    zoom: float | None = None
    ar: str | None = None
    remix: bool = False  # ask for the prompt step where the service has one
    extra: dict[str, Any] = field(default_factory=dict)


class BackendApi(Protocol):
    """One image API. Each call is one attempt; failures are ``app.api.errors`` types."""

    name: str
    base_url: str
    http: httpx.AsyncClient  # image downloads share the API's connection pool
    batch: bool  # fetch_many costs one request whatever the number of jobs
    features: frozenset[Feature]

    async def imagine(self, prompt: str, ref: str | None, webhook: str | None) -> Submission: ...

    async def press(
        self,
        target: str,
        button: str,
        ref: str | None,
        webhook: str | None,
        press: Press,
    ) -> Submission:
        """Press ``button`` (a :attr:`Button.value`) on the job whose target id is ``target``."""

    async def confirm(self, job_id: str, prompt: str) -> Submission:
        """Finish a MODAL step: run the parked job with ``prompt``."""

    async def fetch(self, job_id: str) -> Update: ...

    async def fetch_many(self, job_ids: Sequence[str]) -> dict[str, Update]:
        """The jobs the service still knows, by id (unknown ids are left out)."""

    async def describe(self, image: Image, ref: str | None) -> Submission: ...

    async def blend(self, images: Sequence[Image], ref: str | None) -> Submission: ...

    async def seed(self, job_id: str) -> str: ...

    async def get_image(self, url: str) -> bytes:
        """The service's way round an image URL that answers 403, where it has one."""

    def webhook_update(self, body: Any) -> Update | None:
        """A webhook body as an update (None when it is not one of this API's)."""

    async def aclose(self) -> None: ...


def split_prompts(text: str) -> tuple[str, ...]:
    """Describe's four prompts: split on blank lines or CRLF, the 1️⃣–4️⃣ prefixes dropped."""
    lines = [line.strip() for line in text.replace("\r\n", "\n").split("\n")]
    prompts = []
    for line in lines:
        if not line:
            continue
        for n in "1234":
            line = line.removeprefix(f"{n}\ufe0f\u20e3").removeprefix(f"{n}\u20e3")
        if line.strip():
            prompts.append(line.strip())
    return tuple(prompts)


def percent(raw: Any) -> int:
    """Progress as 0..100: a number, or a string such as ``"57%"``; null, "" and junk are 0."""
    if isinstance(raw, bool):
        return 0
    if isinstance(raw, str):
        raw = raw.strip().rstrip("%")
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return 0
    return max(0, min(100, int(value))) if value == value else 0


def text(value: Any) -> str:
    """A field as text: strings as they are, numbers (ids) as digits, anything else ""."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return ""
