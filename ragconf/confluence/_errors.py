"""How a failed request becomes a ragconf error: message, status, body and the fix.

Confluence's error bodies come in several shapes (v2 ``errors[]``, v1 ``message``, the
gateway's ``{code, message}``, plain text on some 401s and 5xx); each error quotes the most
useful line and keeps the whole body on ``exc.body``.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from ragconf.errors import (
    AuthenticationError,
    BadResponseError,
    ConfluenceError,
    EndpointNotFoundError,
    HTTPStatusError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    TransportError,
)

__all__ = [
    "AttachmentTooLargeError",
    "BodyReadError",
    "bad_body_error",
    "status_error",
    "too_large",
    "transport_error",
    "wait_refused",
]

_BODY_IN_ERROR_MAX = 4000


class AttachmentTooLargeError(ConfluenceError):
    """A download was larger than the caller's ``max_bytes``."""

    default_hint = "raise max_bytes, or skip attachments of this size"


class BodyReadError(Exception):
    """The headers arrived but the body did not (reset or short read mid-body)."""

    def __init__(self, status: int, cause: Exception) -> None:
        super().__init__(str(cause))
        self.status = status
        self.cause = cause


def _body_for_error(content: bytes) -> Any:
    """Confluence's error body: JSON when it is JSON, else (some of) the text."""
    try:
        return json.loads(content)
    except ValueError:
        text = content.decode("utf-8", errors="replace")
        return text[:_BODY_IN_ERROR_MAX]


def _error_summary(body: Any) -> str:
    """The most useful line of an error body (v2, v1 and gateway shapes)."""
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            parts = [str(first.get(k)) for k in ("title", "detail") if first.get(k)]
            if parts:
                return ": ".join(parts)
        for key in ("message", "detail", "title", "reason"):
            if isinstance(body.get(key), str) and body[key]:
                return str(body[key])
        return ""
    if isinstance(body, str):
        line = body.strip().splitlines()[0] if body.strip() else ""
        return line[:200]
    return ""


def status_error(
    method: str,
    url: str,
    response: httpx.Response,
    content: bytes,
    *,
    root_404: bool,
    not_found_hint: str | None,
) -> ConfluenceError:
    status = response.status_code
    body = _body_for_error(content)
    summary = _error_summary(body)
    reason = response.reason_phrase or ""
    message = f"Confluence answered {status} {reason}".rstrip()
    if summary:
        message += f": {summary}"
    kwargs: dict[str, Any] = {"method": method, "url": url, "status": status, "body": body}
    if status == 401:
        if "scope does not match" in str(body).lower():
            kwargs["hint"] = (
                "this token is a scoped API token or OAuth token: those must call "
                "https://api.atlassian.com/ex/confluence/<cloudId>/wiki/api/v2/ — or use a "
                "classic API token with the site URL"
            )
        return AuthenticationError(message, **kwargs)
    if status == 403:
        return PermissionDeniedError(message, **kwargs)
    if status == 404:
        # a wrong base URL usually answers with an HTML page, never the v2 error JSON
        if root_404 or not isinstance(body, dict):
            return EndpointNotFoundError(message, **kwargs)
        if not_found_hint:
            kwargs["hint"] = not_found_hint
        return NotFoundError(message, **kwargs)
    if status == 400:
        return InvalidRequestError(message, **kwargs)
    if status == 429:
        return RateLimitedError(message + " (still rate limited after retries)", **kwargs)
    if 300 <= status < 400:
        return BadResponseError(
            message + " (a redirect where the API was expected)",
            hint="use the final site URL as the endpoint (e.g. https:// instead of http://)",
            **kwargs,
        )
    if status >= 500:
        return ServerError(message + " (still failing after retries)", **kwargs)
    return HTTPStatusError(message, **kwargs)


def wait_refused(
    method: str, url: str, response: httpx.Response, content: bytes, asked: str, cap: str
) -> ConfluenceError:
    """Confluence asked for a longer wait (Retry-After) than ``max_retry_after``."""
    status = response.status_code
    kind = RateLimitedError if status == 429 else ServerError
    return kind(
        f"Confluence answered {status} and asked to wait {asked} before retrying, longer "
        f"than the {cap} ragconf waits (RAGCONF_MAX_RETRY_AFTER_S)",
        method=method, url=url, status=status, body=_body_for_error(content),
        hint="wait a while and rerun (a sync resumes where it stopped), or raise "
        "RAGCONF_MAX_RETRY_AFTER_S to wait that long",
    )


def bad_body_error(
    method: str, url: str, status: int, content: bytes, html: bool
) -> BadResponseError:
    preview = content[:200].decode("utf-8", errors="replace")
    what = (
        "an HTML page"
        if html
        else ("an empty body" if not content.strip() else "a non-JSON or truncated body")
    )
    hint = (
        "the URL answered with a web page, not the REST API — "
        "confirm the base URL includes /wiki/api/v2/"
        if html
        else None
    )
    return BadResponseError(
        f"Confluence answered {status} with {what} ({len(content)} bytes)",
        method=method,
        url=url,
        status=status,
        body=preview,
        hint=hint,
    )


def transport_error(failure: Exception, method: str, url: str) -> ConfluenceError:
    if isinstance(failure, BodyReadError):
        cause = failure.cause
        return BadResponseError(
            f"Confluence answered {failure.status} but the body was cut short "
            f"({type(cause).__name__}: {cause})",
            method=method,
            url=url,
            status=failure.status,
        )
    return TransportError(
        f"request failed: {type(failure).__name__}: {failure}", method=method, url=url
    )


def too_large(method: str, url: str, status: int, max_bytes: int) -> AttachmentTooLargeError:
    return AttachmentTooLargeError(
        f"download is larger than max_bytes={max_bytes}", method=method, url=url, status=status
    )
