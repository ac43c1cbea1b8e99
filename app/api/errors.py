"""One exception per kind of API failure, each with a sentence a person can act on.

The token is never part of any message: errors are built from status codes and server
text only, and server text is cleaned of control characters before it is stored.
"""

from __future__ import annotations

from app.text import clean_text


class ApiError(Exception):
    """Base of every failure the API client reports."""

    kind = "error"

    def __init__(self, human: str) -> None:
        super().__init__(human)
        self.human = human


class AuthError(ApiError):
    """401/403: the token is missing, wrong or revoked."""

    kind = "auth"

    def __init__(self, status: int) -> None:
        super().__init__(
            f"The service rejected the API token (HTTP {status}). "
            "Check IMAGINE_API_TOKEN or run `imagine-tui config set-token`."
        )
        self.status = status


class RateLimited(ApiError):
    """429: the service's request budget was exceeded."""

    kind = "rate_limited"

    def __init__(self, retry_after: float | None, *, limit: float | None = None) -> None:
        """``retry_after``: the pause the service asked for; ``limit``: the longest kept."""
        if retry_after is None:
            wait = ""
        elif limit is not None and retry_after > limit:
            wait = (
                f" It asked for a {retry_after:.0f} s pause; waiting {limit:g} s instead, "
                "then trying again."
            )
            retry_after = limit
        else:
            wait = f" Retrying in {retry_after:g} s."
        super().__init__(f"The service is rate limiting requests.{wait}")
        self.retry_after = retry_after


class PromptBlocked(ApiError):
    """The service refused the prompt at submit (a banned-word prefilter). Its kind and
    first sentence are those of a job that fails later for the same reason, on every API."""

    kind = "BANNED_PROMPT"

    def __init__(self, phrase: str | None, server_msg: str) -> None:
        human = FAILURE_CODES["BANNED_PROMPT"]
        if phrase:
            human += f" The word {clean_text(phrase, single_line=True)[:60]!r} is banned."
        said = clean_text(server_msg, single_line=True)[:200]
        super().__init__(f"{human} (the service said: {said})" if said else human)
        self.phrase = phrase
        self.server_msg = server_msg


class BadRequest(ApiError):
    """Another 4xx: the request itself was refused."""

    kind = "bad_request"

    def __init__(self, status: int, server_msg: str) -> None:
        super().__init__(f"The service refused the request (HTTP {status}): {server_msg}")
        self.status = status
        self.server_msg = server_msg


class ServerError(ApiError):
    """5xx: the service failed."""

    kind = "server"

    def __init__(self, status: int) -> None:
        super().__init__(f"The service had an internal error (HTTP {status}). Try again shortly.")
        self.status = status


class BadResponse(ApiError):
    """The answer was not the JSON the API documents (HTML, garbage, wrong types)."""

    kind = "bad_response"

    def __init__(self, detail: str) -> None:
        super().__init__(
            f"The service sent an answer this client cannot read: {clean_text(detail)}"
        )
        self.detail = detail


class NetworkError(ApiError):
    """The service could not be reached, or stopped answering.

    ``maybe_sent`` is true when the request may have reached the server before the
    failure: a POST in that state must not be resent blindly.
    """

    kind = "network"

    def __init__(self, human: str, *, maybe_sent: bool) -> None:
        super().__init__(human)
        self.maybe_sent = maybe_sent


class ApiTimeout(NetworkError):
    kind = "timeout"


def safe_to_resend(exc: ApiError) -> bool:
    """True when the service certainly did not take the request, so a POST may go again:
    a 429, a gateway's 502/503/504, or a connection that never reached it."""
    if isinstance(exc, RateLimited):
        return True
    if isinstance(exc, ServerError):
        return exc.status in (502, 503, 504)
    if isinstance(exc, NetworkError):
        return not exc.maybe_sent
    return False


# Status codes TheNextLeg puts in `response.content` when a job fails, and the names every
# adapter gives the same refusal (NOT_FOUND, NOT_FINISHED): one sentence each, any API.
FAILURE_CODES: dict[str, str] = {
    "ALREADY_REQUESTED_UPSCALE": "That tile was already upscaled from this grid.",
    "BOT_TOOK_TOO_LONG_TO_PROCESS_YOUR_COMMAND": "The generator took too long and gave up.",
    "APPEAL_ACCEPTED": "The moderation appeal was accepted; submit the prompt again.",
    "APPEAL_REJECTED": "The moderation appeal was rejected.",
    "BANNED_PROMPT": "The service refused the prompt under its content rules.",
    "BLOCKED": "The account is blocked by the service.",
    "BUTTON_NOT_FOUND": "The service does not offer that button on this job.",
    "FAILED_TO_PROCESS_YOUR_COMMAND": "The service failed to process the command.",
    "FAILED_TO_REQUEST": "The service failed to pass the request on.",
    "IMAGE_BLOCKED": "The finished image was blocked by moderation.",
    "INTERNAL_ERROR": "The service had an internal error.",
    "INVALID_LINK": "An image link in the prompt is invalid or unreachable.",
    "INVALID_PARAMETER": "A parameter in the prompt is invalid.",
    "JOB_ACTION_RESTRICTED": "That action is restricted for this job.",
    "JOB_QUEUED": "The job is queued behind others on the account.",
    "MODERATION_OUTAGE": "The service's moderation is down; try again later.",
    "NOT_FINISHED": "That job has not finished yet: its buttons work once it is done.",
    "NOT_FOUND": "The service does not know that job: a wrong id, or it has expired.",
    "NO_FAST_HOURS": "The account has no fast hours left.",
    "PLEASE_SUBSCRIBE_TO_MJ_IN_YOUR_DASHBOARD": "The account needs an active subscription.",
    "QUEUE_FULL": "The account's job queue is full; wait for running jobs to finish.",
}


def describe_failure(code: str | None) -> str:
    """A sentence for a failed job's status code (or a generic one)."""
    if code and code in FAILURE_CODES:
        return FAILURE_CODES[code]
    if code:
        return f"The job failed: {clean_text(code)[:200]}"
    return "The job failed or expired before it finished."
