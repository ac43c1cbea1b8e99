"""Typed views of the API's JSON, tolerant of the shapes the real service sends.

``parse_*`` either return a typed result or raise :class:`BadResponse`; nothing else
escapes them (a property-based test holds them to that).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from app.api.errors import FAILURE_CODES, BadResponse
from app.text import clean_text

# Labels the chat client shows that are links, not API buttons.
HIDDEN_BUTTONS = frozenset({"Web"})


@dataclass(frozen=True)
class Submitted:
    """Answer to ``POST /imagine`` and ``POST /button``."""

    message_id: str
    created_at: str


@dataclass(frozen=True)
class JobResult:
    """The ``response`` object of a finished (or failed) message."""

    content: str
    type: str = ""
    buttons: tuple[str, ...] = ()
    image_url: str | None = None
    image_urls: tuple[str, ...] = ()
    button_message_id: str | None = None
    originating_message_id: str | None = None
    account_id: str | None = None
    created_at: str | None = None
    response_at: str | None = None
    description: str = ""
    ref: str | None = None
    seed: str | None = None

    @property
    def failure_code(self) -> str | None:
        """The status code the service put in ``content`` when the job failed."""
        return self.content if self.content in FAILURE_CODES else None

    @property
    def api_buttons(self) -> tuple[str, ...]:
        return tuple(b for b in self.buttons if b not in HIDDEN_BUTTONS)


@dataclass(frozen=True)
class MessageStatus:
    """Answer to ``GET /message/{id}``."""

    progress: int | None  # 0..100, None when the service said "incomplete"
    incomplete: bool = False
    progress_image_url: str | None = None
    response: JobResult | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def done(self) -> bool:
        return self.progress == 100 and self.response is not None and not self.failed

    @property
    def failed(self) -> bool:
        if self.incomplete:
            return True
        return self.response is not None and self.response.failure_code is not None


def _object(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise BadResponse(f"{what} is {type(data).__name__}, expected a JSON object")
    return data


def _opt_str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise BadResponse(f"field {key!r} is {type(value).__name__}, expected a string")
    return value


def _str_list(data: dict[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadResponse(f"field {key!r} is not a list of strings")
    return tuple(value)


def parse_submitted(data: Any) -> Submitted:
    obj = _object(data, "the answer")
    message_id = _opt_str(obj, "messageId")
    if obj.get("success") is False or message_id is None:
        msg = obj.get("msg") or obj.get("message") or "no messageId in the answer"
        raise BadResponse(clean_text(str(msg))[:300])
    return Submitted(message_id=message_id, created_at=_opt_str(obj, "createdAt") or "")


def parse_result(data: Any) -> JobResult:
    obj = _object(data, "response")
    content = obj.get("content", "")
    if isinstance(content, list):  # /describe answers four prompts
        content = "\n".join(str(c) for c in content)
    elif not isinstance(content, str):
        content = str(content) if content is not None else ""
    return JobResult(
        content=content,
        type=_opt_str(obj, "type") or "",
        buttons=_str_list(obj, "buttons"),
        image_url=_opt_str(obj, "imageUrl"),
        image_urls=_str_list(obj, "imageUrls"),
        button_message_id=_opt_str(obj, "buttonMessageId"),
        originating_message_id=_opt_str(obj, "originatingMessageId"),
        account_id=_opt_str(obj, "accountId"),
        created_at=_opt_str(obj, "createdAt"),
        response_at=_opt_str(obj, "responseAt"),
        description=_opt_str(obj, "description") or "",
        ref=_opt_str(obj, "ref"),
        seed=_opt_str(obj, "seed"),
    )


def parse_message(data: Any) -> MessageStatus:
    obj = _object(data, "the answer")
    raw_progress = obj.get("progress")
    response = parse_result(obj["response"]) if obj.get("response") is not None else None
    preview = _opt_str(obj, "progressImageUrl")
    if raw_progress == "incomplete":
        return MessageStatus(None, True, preview, response, obj)
    if isinstance(raw_progress, bool) or raw_progress is None:
        if response is not None:  # some relatives omit progress on the final body
            return MessageStatus(100, False, preview, response, obj)
        raise BadResponse("the answer has no progress")
    if isinstance(raw_progress, str):
        text = raw_progress
        try:
            raw_progress = float(text.strip().rstrip("%"))
        except ValueError:
            raise BadResponse(f"progress is {clean_text(text)[:40]!r}") from None
    if not isinstance(raw_progress, (int, float)):
        raise BadResponse(f"progress is {type(raw_progress).__name__}, expected a number")
    if not math.isfinite(raw_progress):  # NaN, or 1e400 read as infinity
        raise BadResponse(f"progress is {raw_progress}, expected 0 to 100")
    progress = max(0, min(100, int(raw_progress)))
    return MessageStatus(progress, False, preview, response, obj)
