"""HTTP client, response models and errors for the imagine / message / button API.

The names below load with their module when first used: the errors and models are
needed where httpx (the client's) is not, e.g. by the TUI before its first screen.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
    from app.api.models import (
        JobResult,
        MessageStatus,
        Submitted,
        parse_message,
        parse_submitted,
    )

_MODULES = {
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
}
_WHERE = {name: module for module, names in _MODULES.items() for name in names}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)


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
