"""The image APIs this app speaks, behind one protocol (:class:`BackendApi`).

``thenextleg`` (the seed's API, the default), ``midjourney-proxy`` and ``imaginepro``.
Everything API-specific lives in its adapter module; the job manager, the CLI and the
TUI see only :class:`Update`, :class:`Button` and :class:`Submission`. No textual here.
"""

from __future__ import annotations

from app.backends.base import (
    BackendApi,
    BadInput,
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
from app.settings import API_NAMES  # the setting's choices: one list for the whole app

DEFAULT_API = API_NAMES[0]


def make_api(
    name: str,
    base_url: str,
    token: str | None,
    *,
    timeout: float = 30.0,
    expire_mins: int | None = None,
    use_env_proxy: bool = True,
) -> BackendApi:
    """The adapter for ``name``; ``ValueError`` for an unknown name or unusable URL.
    ``use_env_proxy``: honour HTTP(S)_PROXY (off for the built-in simulator)."""
    from app.api.client import ImagineClient  # httpx: only once an API is opened

    if name not in API_NAMES:
        raise ValueError(f"Unknown API {name!r}: choose one of {', '.join(API_NAMES)}.")
    client = ImagineClient(
        base_url,
        token if name != "midjourney-proxy" else None,  # the proxy's secret is not a Bearer
        timeout=timeout,
        use_env_proxy=use_env_proxy,
    )
    if name == "midjourney-proxy":
        from app.backends.midjourney_proxy import MidjourneyProxy

        return MidjourneyProxy(base_url, token, client=client)
    if name == "imaginepro":
        from app.backends.imaginepro import ImaginePro

        return ImaginePro(base_url, token, client=client)
    from app.backends.thenextleg import TheNextLeg

    return TheNextLeg(base_url, token, client=client, expire_mins=expire_mins)


__all__ = [
    "API_NAMES",
    "DEFAULT_API",
    "BackendApi",
    "BadInput",
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
