"""URLs as the user gives them: hide credentials before showing one, refuse unusable base URLs."""

from __future__ import annotations

import os
import re
import sys
from urllib.parse import urlsplit

# scheme://userinfo@ : everything up to the last "@" before the path is userinfo
_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@")


def redact_url(url: str) -> str:
    """``url`` with any ``user:pass@`` replaced by ``***@``: safe to print, log or show."""
    return _USERINFO.sub(r"\1***@", url)


def base_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be an API base URL (requests would go astray), or None if it can."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 -- raises ValueError on a port that is not a number
    except ValueError:
        return "it is not a URL (check the host and port)"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "it must look like https://host/path"
    if parts.query or url.strip().endswith("?"):
        return "it must not have a ?query: paths are appended to it, so requests would go astray"
    if parts.fragment or "#" in url:
        return "it must not have a #fragment: paths are appended to it, so requests would go astray"
    return None


def proxy_for(url: str) -> str | None:
    """The proxy a request to ``url`` goes through: HTTP(S)_PROXY, ALL_PROXY and NO_PROXY
    from the environment, read the way httpx reads them."""
    if sys.platform not in ("darwin", "win32") and not any(
        name.lower().endswith("_proxy") for name in os.environ
    ):
        return None  # what getproxies() finds here, without importing urllib.request (20 ms)
    import urllib.request

    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    found = urllib.request.getproxies()
    for entry in found.get("no", "").split(","):
        entry = entry.strip().lower()
        if entry == "*":
            return None
        name = entry.split("://", 1)[-1].split(":", 1)[0].strip("[]")
        if name and (host == name.lstrip(".") and not name.startswith(".")):
            return None
        if name and host.endswith("." + name.lstrip(".")):
            return None
    proxy = found.get(parts.scheme) or found.get("all")
    if not proxy:
        return None
    return proxy if "://" in proxy else f"http://{proxy}"
