"""Service texts as English sentences: the proxy's Chinese descriptions and failReasons,
and Midjourney's own moderation texts. The original is always kept beside the sentence.

And refusals as one exception per reason whatever the API (:func:`refusal`): a banned
prompt is :class:`PromptBlocked`, a full queue, an unknown or unfinished job are
:class:`Refused` with the code QUEUE_FULL, NOT_FOUND, NOT_FINISHED.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from app.api.errors import FAILURE_CODES, ApiError, BadRequest, PromptBlocked
from app.backends.base import Failure, Refused
from app.text import clean_text

# (sentence, stable code) for every text the proxy is known to send (backends.md §1.4).
_KNOWN: dict[str, tuple[str, str | None]] = {
    "提交成功": ("Submitted.", None),
    "关联任务不存在或已失效": (FAILURE_CODES["NOT_FOUND"], "NOT_FOUND"),
    "无可用的账号实例": ("The service has no Midjourney account available right now.", None),
    "prompt不能为空": ("The prompt is empty.", "INVALID_PARAMETER"),
    "参数错误": ("A parameter of the request is invalid.", "INVALID_PARAMETER"),
    "关联任务状态错误": (FAILURE_CODES["NOT_FINISHED"], "NOT_FINISHED"),
    "未知的 Action 类型": (FAILURE_CODES["BUTTON_NOT_FOUND"], "BUTTON_NOT_FOUND"),
    "base64或link不能为空": ("No image was given.", "INVALID_PARAMETER"),
    "链接格式错误": ("The image link is not valid.", "INVALID_LINK"),
    "base64格式错误": ("The uploaded image is not valid.", "INVALID_PARAMETER"),
    "图片参数错误，2~5张图片": ("A blend takes 2 to 5 images.", "INVALID_PARAMETER"),
    "base64List参数错误": ("A blend takes 2 to 5 images.", "INVALID_PARAMETER"),
    "禁止上传": ("The service does not accept uploaded images.", "INVALID_PARAMETER"),
    "提交失败，系统异常": (
        "The service failed to submit the job (system error).",
        "INTERNAL_ERROR",
    ),
    "提交失败，队列已满，请稍后重试": (FAILURE_CODES["QUEUE_FULL"], "QUEUE_FULL"),
    "队列已满，请稍后尝试": (FAILURE_CODES["QUEUE_FULL"], "QUEUE_FULL"),
    "可能包含敏感词": (FAILURE_CODES["BANNED_PROMPT"], "BANNED_PROMPT"),
    "并发数已达上限": (
        "Too many of your jobs are running at once; wait for one to finish.",
        "QUEUE_FULL",
    ),
    "队列数已达上限": ("Your queue on the service is full; wait for jobs to finish.", "QUEUE_FULL"),
    "用户今日绘图次数已达上限": (
        "You reached today's image limit on the service.",
        "NO_FAST_HOURS",
    ),
    "总绘图次数已达上限": ("You reached your total image limit on the service.", "NO_FAST_HOURS"),
    "访客今日绘图次数已达上限": ("The guest image limit for today is reached.", "NO_FAST_HOURS"),
    "账号已被临时封锁，请勿使用违规词作图": (
        "The account is locked for a while after banned prompts.",
        "BLOCKED",
    ),
    "服务暂不可用，请联系管理员": ("The service is unavailable; ask its administrator.", None),
    "任务超时": ("The job took too long and timed out.", "incomplete"),
    "取消任务": ("The job was cancelled.", "CANCELLED"),
    "操作失败": ("The service failed to carry out the request.", "INTERNAL_ERROR"),
    "该任务不支持重新生成": ("This job cannot be rerolled.", "JOB_ACTION_RESTRICTED"),
    "当前账号不支持 remix，请开启 remix 功能": (
        "Remix is off on the service's Midjourney account.",
        "JOB_ACTION_RESTRICTED",
    ),
    "未找到 seed": ("The service found no seed for this job.", None),
    "请求参数格式错误": ("The service could not read the request.", "INVALID_PARAMETER"),
    "账号已禁用": ("The account is disabled on the service.", "BLOCKED"),
    "账号不可用": ("The account is not available on the service.", "BLOCKED"),
    "Waiting for window confirm": ("The service waits for a prompt.", None),
}
# English texts from Midjourney itself, matched as substrings (case-insensitive).
_ENGLISH = (
    ("banned prompt", "BANNED_PROMPT"),
    ("image denied", "IMAGE_BLOCKED"),
    ("already requested an upscale", "ALREADY_REQUESTED_UPSCALE"),
    ("invalid parameter", "INVALID_PARAMETER"),
    ("button not found", "BUTTON_NOT_FOUND"),
    ("message not found", "NOT_FOUND"),
    ("queue full", "QUEUE_FULL"),
    ("queue is full", "QUEUE_FULL"),
    ("not finished", "NOT_FINISHED"),
    ("timeout", "incomplete"),
)


def explain(text: str | None, fallback: str = "The job failed.") -> Failure:
    """A sentence for a service's failure text, keeping the text itself."""
    raw = clean_text(text or "", single_line=True).strip()
    if not raw:
        return Failure(fallback)
    if raw in FAILURE_CODES:  # TheNextLeg's codes
        return Failure(FAILURE_CODES[raw], raw)
    known = _KNOWN.get(raw)
    if known is None and raw.startswith("排队中"):
        known = ("The job is queued behind others on the account.", "JOB_QUEUED")
    if known is not None:
        return Failure(known[0], known[1], raw)
    low = raw.lower()
    for needle, code in _ENGLISH:
        if needle in low:
            return Failure(FAILURE_CODES.get(code, "The job timed out."), code, raw)
    if any("\u4e00" <= ch <= "\u9fff" for ch in raw):
        return Failure("The service refused it with a message in Chinese.", None, raw)
    return Failure(f"The service said: {raw[:200]}", None)


_BANNED_WORD = re.compile(r"banned prompt detected:\s*(\S.*)", re.IGNORECASE)


def refusal(said: str, status: int = 200, *, names_job: bool = False) -> ApiError | None:
    """The exception for a refusal the service put in words (``said``), or None when the
    words are not a reason this app knows. ``names_job``: the request named an existing
    job (a button press), so a 404 means the service does not know that job."""
    if names_job and status == 404:
        words = said if said != "no details" else None  # the client's word for an empty body
        return Refused(Failure(FAILURE_CODES["NOT_FOUND"], "NOT_FOUND", words), 404)
    failure = explain(said)
    if failure.code == "BANNED_PROMPT":
        word = _BANNED_WORD.search(said)
        return PromptBlocked(word.group(1).strip() if word else None, said)
    return Refused(failure, status) if failure.code else None


def refused(said: str, fallback: str = "The service refused the request.") -> ApiError:
    """A refusal in an answer's body (HTTP 200): its reason's exception, whatever the words."""
    return refusal(said) or Refused(explain(said, fallback))


@contextmanager
def refusals(*, names_job: bool = False) -> Iterator[None]:
    """Around a submit: a 4xx whose words are a known reason becomes that reason's
    exception (see :func:`refusal`); any other stays the client's own."""
    try:
        yield
    except BadRequest as exc:
        if isinstance(exc, Refused):
            raise
        known = refusal(exc.server_msg, exc.status, names_job=names_job)
        if known is None:
            raise
        raise known from None
