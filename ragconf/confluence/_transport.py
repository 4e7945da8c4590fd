"""One HTTP request to Confluence, done right: retries, limits, stats and clear errors.

``Transport`` owns the pooled ``httpx.Client`` (or wraps an injected one), puts the
``Authorization`` header on the client (never in a URL), and turns every failure into the
ragconf error tree with the request method, a credential-free URL, the status, Confluence's
error body and the fix. Only GET/HEAD are retried.

>>> import httpx
>>> t = Transport("https://acme.atlassian.net/wiki/api/v2/",
...               client=httpx.Client(transport=httpx.MockTransport(
...                   lambda r: httpx.Response(200, json={"results": []}))))
>>> t.request("GET", t.api("spaces")).data
{'results': []}
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from ragconf._version import __version__
from ragconf.confluence._errors import (
    AttachmentTooLargeError,
    BodyReadError,
    bad_body_error,
    status_error,
    too_large,
    transport_error,
    wait_refused,
)
from ragconf.confluence._retry import RetryAfterTooLong, RetryPolicy, TokenBucket, describe_wait
from ragconf.confluence.urls import redact_url, site_origin
from ragconf.errors import TransportError

__all__ = ["AttachmentTooLargeError", "Reply", "Transport"]

log = logging.getLogger("ragconf.confluence")

#: statuses that mean "try again later"; 429/503 may say when (Retry-After)
_THROTTLED = {429, 503}
_RETRY_STATUSES = {500, 502, 503, 504, 429}
#: a body that can't be read is retried only this often: a wrong URL that answers 200 with
#: an HTML login page must fail soon, a proxy's error page or a cut body deserves a retry
_BAD_BODY_RETRIES = 2
#: connection refused / DNS: usually a wrong host, so only a couple of quick retries
_CONNECT_RETRIES = 2


@dataclass
class Reply:
    """A finished response: status, headers, decoded JSON (or raw bytes for downloads)."""

    status: int
    headers: httpx.Headers
    data: Any
    content: bytes
    url: str


class _Stats:
    """Counters shared by every thread using the client."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, float] = {
            "requests": 0,
            "retries": 0,
            "bytes": 0,
            "errors": 0,
            "rate_limited": 0,
            "retry_wait_s": 0.0,
            "throttle_wait_s": 0.0,
        }

    def add(self, **deltas: float) -> None:
        with self._lock:
            for key, value in deltas.items():
                self._values[key] = self._values.get(key, 0) + value

    def snapshot(self) -> dict[str, float]:
        with self._lock:
            return dict(self._values)


class Transport:
    """Sends requests for ``Confluence``; see the module docstring."""

    def __init__(
        self,
        api_url: str,
        *,
        auth: str | None = None,
        client: httpx.Client | None = None,
        timeout: float = 30.0,
        policy: RetryPolicy | None = None,
        rate: float | None = None,
        max_concurrency: int = 4,
        deadline: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be >= 1")
        #: seconds one request may take in all, retries and waits included (None: no limit)
        self.deadline = deadline
        self.timeout = timeout
        self.api_url = api_url
        self.origin = site_origin(api_url)
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self._owns_client = client is None
        if client is None:
            client = httpx.Client(
                timeout=timeout,
                follow_redirects=False,
                limits=httpx.Limits(
                    max_connections=max(10, 2 * max_concurrency),
                    max_keepalive_connections=max(10, 2 * max_concurrency),
                ),
            )
        self.client = client
        # on the client, so it is in every request and never in a URL; httpx drops it on
        # redirects to another origin (the media service gets no credentials)
        if auth:
            client.headers["Authorization"] = auth
        client.headers["User-Agent"] = f"ragconf/{__version__} (+httpx)"
        self._slots = threading.BoundedSemaphore(max_concurrency)
        self._bucket = TokenBucket(rate, clock=clock, sleep=sleep) if rate else None
        self._stats = _Stats()

    # -- public ---------------------------------------------------------------------------

    @property
    def stats(self) -> dict[str, float]:
        return self._stats.snapshot()

    def api(self, path: str) -> str:
        """An absolute URL for a path under the v2 root (``"pages/1"``)."""
        return self.api_url + path.lstrip("/")

    def wiki(self, path: str) -> str:
        """An absolute URL for a path under ``/wiki`` (v1 routes, downloads)."""
        if not path.startswith("/"):
            path = "/" + path
        if not path.startswith("/wiki/"):
            path = "/wiki" + path
        return self.origin + path

    def close(self) -> None:
        if self._owns_client:
            self.client.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        decode_json: bool = True,
        follow_redirects: bool = False,
        max_bytes: int | None = None,
        root_404: bool = False,
        not_found_hint: str | None = None,
    ) -> Reply:
        """Send one request with retries and return the reply, or raise a ragconf error.

        ``root_404``: a 404 here means the endpoint itself is wrong (a collection or the
        v1 user route), so raise ``EndpointNotFoundError`` instead of ``NotFoundError``.
        """
        method = method.upper()
        shown = _shown_url(url, params)
        retryable = method in ("GET", "HEAD")
        began = self._clock()
        attempt = 0
        bad_bodies = 0
        connect_failures = 0
        while True:
            if self._bucket is not None:
                waited = self._bucket.acquire()
                if waited:
                    self._stats.add(throttle_wait_s=waited)
            started = self._clock()
            failure: Exception | None = None
            response: httpx.Response | None = None
            content = b""
            with self._slots:
                try:
                    response, content = self._send_once(
                        method, url, params, follow_redirects, max_bytes, shown, decode_json,
                        self._attempt_timeout(began),
                    )
                except (
                    httpx.TimeoutException,
                    httpx.NetworkError,
                    httpx.RemoteProtocolError,
                ) as exc:
                    failure = exc
                except BodyReadError as exc:
                    failure = exc
                except httpx.HTTPError as exc:
                    self._stats.add(errors=1)
                    raise TransportError(
                        f"request failed: {type(exc).__name__}: {exc}", method=method, url=shown
                    ) from exc
            elapsed = self._clock() - started
            self._stats.add(requests=1, bytes=len(content))
            can_retry = retryable and attempt < self.policy.max_retries

            if failure is not None:
                if isinstance(failure, httpx.ConnectError):
                    connect_failures += 1
                    can_retry = can_retry and connect_failures <= _CONNECT_RETRIES
                delay = self.policy.backoff_delay(attempt)
                if can_retry and self._in_time(began, delay):
                    self._retry(method, shown, type(failure).__name__, attempt, delay)
                    attempt += 1
                    continue
                self._stats.add(errors=1)
                raise transport_error(failure, method, shown) from failure

            assert response is not None
            status = response.status_code
            log.debug("%s %s -> %d in %.0f ms", method, shown, status, elapsed * 1000)
            if status in _RETRY_STATUSES:
                if status == 429:
                    self._stats.add(rate_limited=1)
                if can_retry:
                    header = response.headers.get("Retry-After") if status in _THROTTLED else None
                    try:
                        delay = self.policy.delay(attempt, header)
                    except RetryAfterTooLong as exc:
                        self._stats.add(errors=1)
                        raise wait_refused(
                            method, shown, response, content,
                            describe_wait(exc.seconds), describe_wait(exc.cap),
                        ) from None
                    if self._in_time(began, delay):
                        self._retry(method, shown, str(status), attempt, delay)
                        attempt += 1
                        continue
            if status >= 400 or (300 <= status < 400 and not follow_redirects):
                self._stats.add(errors=1)
                raise status_error(
                    method,
                    shown,
                    response,
                    content,
                    root_404=root_404,
                    not_found_hint=not_found_hint,
                )
            if not decode_json:
                return Reply(status, response.headers, None, content, shown)
            try:
                data = _decode(content)
            except ValueError as exc:
                html = "html" in response.headers.get("Content-Type", "").lower()
                bad_bodies += 1
                delay = self.policy.backoff_delay(attempt)
                if can_retry and bad_bodies <= _BAD_BODY_RETRIES and self._in_time(began, delay):
                    self._retry(method, shown, "unreadable body", attempt, delay)
                    attempt += 1
                    continue
                self._stats.add(errors=1)
                raise bad_body_error(method, shown, status, content, html) from exc
            return Reply(status, response.headers, data, content, shown)

    # -- internals ------------------------------------------------------------------------

    def _in_time(self, began: float, delay: float) -> bool:
        """Whether a retry after ``delay`` still starts within the request's deadline."""
        if self.deadline is None:
            return True
        return self._clock() - began + delay < self.deadline

    def _attempt_timeout(self, began: float) -> float | None:
        """A shorter timeout for an attempt that would otherwise outlast the deadline."""
        if self.deadline is None:
            return None
        left = self.deadline - (self._clock() - began)
        return max(0.5, left) if left < self.timeout else None

    def _send_once(
        self,
        method: str,
        url: str,
        params: dict[str, Any] | None,
        follow_redirects: bool,
        max_bytes: int | None,
        shown: str,
        accept_json: bool,
        timeout: float | None = None,
    ) -> tuple[httpx.Response, bytes]:
        headers = {"Accept": "application/json"} if accept_json else {}
        extra: dict[str, Any] = {"timeout": timeout} if timeout is not None else {}
        request = self.client.build_request(method, url, params=params, headers=headers, **extra)
        response = self.client.send(request, stream=True, follow_redirects=follow_redirects)
        try:
            if max_bytes is not None and response.is_success:
                declared = response.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > max_bytes:
                    raise too_large(method, shown, response.status_code, max_bytes)
            chunks: list[bytes] = []
            size = 0
            try:
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if max_bytes is not None and response.is_success and size > max_bytes:
                        raise too_large(method, shown, response.status_code, max_bytes)
                    chunks.append(chunk)
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                raise BodyReadError(response.status_code, exc) from exc
            return response, b"".join(chunks)
        finally:
            response.close()

    def _retry(self, method: str, url: str, why: str, attempt: int, delay: float) -> None:
        # long waits are worth a warning (a run that seems stuck); short ones are routine
        level = logging.WARNING if delay >= 5 else logging.INFO
        log.log(
            level,
            "%s %s: %s; retry %d/%d in %.2f s",
            method,
            url,
            why,
            attempt + 1,
            self.policy.max_retries,
            delay,
        )
        self._stats.add(retries=1, retry_wait_s=delay)
        if delay > 0:
            self._sleep(delay)


def _shown_url(url: str, params: dict[str, Any] | None) -> str:
    """The URL as reported in errors and logs: with its query, without userinfo."""
    if params:
        url = str(httpx.URL(url, params=params))
    return redact_url(url)


def _decode(content: bytes) -> Any:
    if not content.strip():
        raise ValueError("empty body")
    return json.loads(content)
