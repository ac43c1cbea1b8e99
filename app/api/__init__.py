"""HTTP client, response models and errors for the imagine / message / button API."""

from app.api.client import ImagineClient, validate_base_url
from app.api.errors import (
    ApiError,
    ApiTimeout,
    AuthError,
    BadRequest,
    BadResponse,
    NetworkError,
    PromptBlocked,
    RateLimited,
    ServerError,
    describe_failure,
)
from app.api.models import JobResult, MessageStatus, Submitted, parse_message, parse_submitted

__all__ = [
    "ApiError",
    "ApiTimeout",
    "AuthError",
    "BadRequest",
    "BadResponse",
    "ImagineClient",
    "JobResult",
    "MessageStatus",
    "NetworkError",
    "PromptBlocked",
    "RateLimited",
    "ServerError",
    "Submitted",
    "describe_failure",
    "parse_message",
    "parse_submitted",
    "validate_base_url",
]
