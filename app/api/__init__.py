"""HTTP client, response models and errors for the imagine / message / button API.

The names below load with their module when first used: the errors and models are
needed where httpx (the client's) is not, e.g. by the TUI before its first screen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.lazy import lazy_exports

if TYPE_CHECKING:
    from app.api.client import ImagineClient as ImagineClient
    from app.api.client import validate_base_url as validate_base_url
    from app.api.errors import ApiError as ApiError
    from app.api.errors import ApiTimeout as ApiTimeout
    from app.api.errors import AuthError as AuthError
    from app.api.errors import BadRequest as BadRequest
    from app.api.errors import BadResponse as BadResponse
    from app.api.errors import NetworkError as NetworkError
    from app.api.errors import PromptBlocked as PromptBlocked
    from app.api.errors import RateLimited as RateLimited
    from app.api.errors import ServerError as ServerError
    from app.api.errors import describe_failure as describe_failure
    from app.api.models import JobResult as JobResult
    from app.api.models import MessageStatus as MessageStatus
    from app.api.models import Submitted as Submitted
    from app.api.models import parse_message as parse_message
    from app.api.models import parse_submitted as parse_submitted

__getattr__ = lazy_exports(
    __name__,
    {
        "app.api.client": ("ImagineClient", "validate_base_url"),
        "app.api.errors": (
            "ApiError",
            "ApiTimeout",
            "AuthError",
            "BadRequest",
            "BadResponse",
            "NetworkError",
            "PromptBlocked",
            "RateLimited",
            "ServerError",
            "describe_failure",
        ),
        "app.api.models": (
            "JobResult",
            "MessageStatus",
            "Submitted",
            "parse_message",
            "parse_submitted",
        ),
    },
)
