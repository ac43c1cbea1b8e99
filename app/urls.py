"""URLs as the user gives them: hide credentials before showing one, refuse unusable base URLs."""

from __future__ import annotations

import re
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
