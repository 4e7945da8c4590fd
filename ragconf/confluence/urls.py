"""Endpoint normalisation and credential headers.

Users paste all kinds of URLs: the site (``https://acme.atlassian.net``), the wiki
(``…/wiki``), the API root with or without a trailing slash. They all mean the same
REST v2 endpoint, so we normalise once, here.
"""

from __future__ import annotations

import base64
from urllib.parse import urlsplit, urlunsplit

__all__ = ["basic_auth", "normalise_api_url", "redact_url", "site_origin"]


def normalise_api_url(url: str) -> str:
    """Return the REST v2 base URL, always ending in ``/wiki/api/v2/``.

    >>> normalise_api_url("https://acme.atlassian.net")
    'https://acme.atlassian.net/wiki/api/v2/'
    >>> normalise_api_url("https://acme.atlassian.net/wiki/api/v2")
    'https://acme.atlassian.net/wiki/api/v2/'
    >>> normalise_api_url("http://127.0.0.1:8090/wiki/")
    'http://127.0.0.1:8090/wiki/api/v2/'
    """
    raw = url.strip()
    if "://" not in raw:
        raw = "https://" + raw
    parts = urlsplit(raw)
    if not parts.netloc:
        raise ValueError(f"not a URL: {url!r}")
    path = parts.path.rstrip("/")
    for suffix in ("/api/v2", "/rest/api"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
    if path.endswith("/wiki"):
        path = path[: -len("/wiki")]
    # userinfo never travels in the URL: credentials go in the Authorization header
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, netloc, f"{path}/wiki/api/v2/", "", ""))


def site_origin(api_url: str) -> str:
    """``https://acme.atlassian.net/wiki/api/v2/`` -> ``https://acme.atlassian.net``.

    ``_links.next`` is relative and already starts with ``/wiki``, so it is joined to
    the origin (plus any path prefix in front of ``/wiki``), not to ``_links.base``.
    """
    parts = urlsplit(api_url)
    prefix = parts.path.split("/wiki/", 1)[0] if "/wiki/" in parts.path else ""
    return urlunsplit((parts.scheme, parts.netloc, prefix, "", ""))


def redact_url(url: str) -> str:
    """Drop userinfo from a URL before it goes into a message or a log line."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[-1]))


def basic_auth(username: str, token: str) -> str:
    """The ``Authorization`` value for an account email + API token."""
    raw = f"{username}:{token}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")
