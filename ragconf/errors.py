"""One exception tree for ragconf.

Every error carries a human message and, where we know it, a ``hint`` that tells the
user what to do. Confluence errors also carry the request (method + URL, never
credentials), the HTTP status and Confluence's error body, like httpx's exceptions::

    RagconfError
    ├── ConfigurationError          bad or missing settings
    ├── ConfluenceError             anything that went wrong talking to Confluence
    │   ├── TransportError          connection refused/reset, timeout, DNS (after retries)
    │   ├── BadResponseError        non-JSON or truncated body, cursor loop
    │   └── HTTPStatusError         an HTTP error status
    │       ├── AuthenticationError     401
    │       ├── PermissionDeniedError   403
    │       ├── NotFoundError           404 on an object
    │       │   └── EndpointNotFoundError   404 on the API root: wrong base URL
    │       ├── InvalidRequestError     400
    │       ├── RateLimitedError        429 after retries
    │       └── ServerError             5xx after retries
    ├── IndexingError               convert/chunk/embed/store failures
    │   ├── ConversionError
    │   ├── EmbeddingError
    │   └── StoreError
    ├── SyncLockedError             another sync holds the data directory
    └── InvalidQueryError           a search request we can't answer (bad k, empty q, …)

``ragconf.cli`` maps these to exit codes in one place and ``ragconf.api`` maps them to
HTTP statuses in one exception handler.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AuthenticationError",
    "BadResponseError",
    "ConfigurationError",
    "ConfluenceError",
    "ConversionError",
    "EmbeddingError",
    "EndpointNotFoundError",
    "HTTPStatusError",
    "IndexingError",
    "InvalidQueryError",
    "InvalidRequestError",
    "NotFoundError",
    "PermissionDeniedError",
    "RagconfError",
    "RateLimitedError",
    "ServerError",
    "StoreError",
    "SyncLockedError",
    "TransportError",
]


class RagconfError(Exception):
    """Base of every ragconf error: a message plus an optional fix (``hint``)."""

    #: exit code used by the CLI for this kind of error
    exit_code: int = 1
    #: HTTP status used by the API for this kind of error
    http_status: int = 500
    #: default fix, shown when no specific hint was given
    default_hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint if hint is not None else self.default_hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\nFix: {self.hint}"
        return self.message

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe description (used by ``--json`` output and the API)."""
        return {"error": type(self).__name__, "message": self.message, "hint": self.hint}


class ConfigurationError(RagconfError):
    exit_code = 2
    default_hint = "run `ragconf configure` or set the RAGCONF_* environment variables"


class ConfluenceError(RagconfError):
    """Something went wrong talking to Confluence.

    ``method`` and ``url`` describe the request; the URL never contains credentials
    (ragconf authenticates with a header, and strips userinfo from URLs it reports).
    """

    exit_code = 8
    http_status = 502

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        url: str | None = None,
        status: int | None = None,
        body: Any = None,
        hint: str | None = None,
    ) -> None:
        self.method = method
        self.url = url
        self.status = status
        self.body = body
        where = f" ({method} {url})" if method and url else ""
        super().__init__(f"{message}{where}", hint=hint)

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d.update(method=self.method, url=self.url, status=self.status, body=self.body)
        return d


class TransportError(ConfluenceError):
    exit_code = 8
    default_hint = "check the network and that RAGCONF_CONFLUENCE_URL points at a reachable site"


class BadResponseError(ConfluenceError):
    exit_code = 8
    default_hint = (
        "Confluence sent a response ragconf cannot read; retry later, and report it if it persists"
    )


class HTTPStatusError(ConfluenceError):
    exit_code = 1


class AuthenticationError(HTTPStatusError):
    exit_code = 4
    http_status = 401
    default_hint = (
        "invalid or expired API token — generate a new token at "
        "https://id.atlassian.com/manage-profile/security/api-tokens and update the configuration "
        "(`ragconf configure`); the username must be the account's email"
    )


class PermissionDeniedError(HTTPStatusError):
    exit_code = 5
    http_status = 403
    default_hint = "the account can't view this — grant access to the space or page in Confluence"


class NotFoundError(HTTPStatusError):
    exit_code = 6
    http_status = 404
    default_hint = (
        "it does not exist or this account can't view it (Confluence answers 404 for both) — "
        "check the id and the account's access in the Confluence UI"
    )


class EndpointNotFoundError(NotFoundError):
    default_hint = (
        "wrong endpoint — confirm the base URL includes /wiki/api/v2/ "
        "(e.g. https://your-site.atlassian.net/wiki/api/v2/)"
    )


class InvalidRequestError(HTTPStatusError):
    exit_code = 2
    http_status = 400
    default_hint = "a parameter was rejected by Confluence; see the error body for which one"


class RateLimitedError(HTTPStatusError):
    exit_code = 7
    http_status = 429
    default_hint = "Confluence is rate limiting this account — wait a minute and retry"


class ServerError(HTTPStatusError):
    """Confluence kept answering 5xx (or asked for a longer wait than ragconf allows)."""

    exit_code = 10
    http_status = 502
    default_hint = "Confluence is having trouble; retry later (check https://status.atlassian.com)"


class IndexingError(RagconfError):
    exit_code = 3


class ConversionError(IndexingError):
    pass


class EmbeddingError(IndexingError):
    default_hint = "check RAGCONF_EMBED_MODEL names a sentence-transformers model available offline"


class StoreError(IndexingError):
    http_status = 503
    default_hint = (
        "check RAGCONF_DATA_DIR is writable, or that the Chroma server at RAGCONF_CHROMA_URL is up"
    )


class SyncLockedError(RagconfError):
    exit_code = 9
    http_status = 409
    default_hint = "another `ragconf sync` is running on this data directory; wait for it to finish"


class InvalidQueryError(RagconfError):
    exit_code = 2
    http_status = 422
