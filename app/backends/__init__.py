"""The image APIs this app speaks, behind one protocol (:class:`BackendApi`).

``thenextleg`` (the seed's API, the default), ``midjourney-proxy`` and ``imaginepro``.
Everything API-specific lives in its adapter module; the job manager, the CLI and the
TUI see only :class:`Update`, :class:`Button` and :class:`Submission`. No textual here.
"""

from __future__ import annotations

from app.backends.base import (
    BackendApi,
    Button,
    Failure,
    Feature,
    Image,
    Press,
    Refused,
    Submission,
    Unsupported,
    Update,
)

API_NAMES = ("thenextleg", "midjourney-proxy", "imaginepro")
DEFAULT_API = "thenextleg"


def make_api(
    name: str,
    base_url: str,
    token: str | None,
    *,
    timeout: float = 30.0,
    expire_mins: int | None = None,
) -> BackendApi:
    """The adapter for ``name``; ``ValueError`` for an unknown name or unusable URL."""
    if name == "midjourney-proxy":
        from app.backends.midjourney_proxy import MidjourneyProxy

        return MidjourneyProxy(base_url, token, timeout=timeout)
    if name == "imaginepro":
        from app.backends.imaginepro import ImaginePro

        return ImaginePro(base_url, token, timeout=timeout)
    if name == "thenextleg":
        from app.backends.thenextleg import TheNextLeg

        return TheNextLeg(base_url, token, timeout=timeout, expire_mins=expire_mins)
    raise ValueError(f"Unknown API {name!r}: choose one of {', '.join(API_NAMES)}.")


__all__ = [
    "API_NAMES",
    "DEFAULT_API",
    "BackendApi",
    "Button",
    "Failure",
    "Feature",
    "Image",
    "Press",
    "Refused",
    "Submission",
    "Unsupported",
    "Update",
    "make_api",
]
