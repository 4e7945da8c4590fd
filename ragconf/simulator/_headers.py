"""ASGI middlewares: ``HEAD`` served wherever ``GET`` is, and the rate-limit headers.

Confluence answers ``X-RateLimit-Limit``/``-Remaining`` on successful calls too, and
``X-RateLimit-NearLimit: true`` once less than a fifth of the budget is left (API-NOTES
§6), so clients can slow down before they get a 429. The budget is counted per fixed
window from :class:`Faults` (``quota``, ``quota_window_s``, ``quota_enforced``).
"""

from __future__ import annotations

import math
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from ragconf.simulator._faults import Faults

__all__ = ["HeadMiddleware", "QuotaMiddleware"]

_DEFAULT = Faults()
_QUOTA_429 = (b'{"errors":[{"status":429,"code":"TOO_MANY_REQUESTS",'
              b'"title":"Rate limit exceeded","detail":null}]}')


class HeadMiddleware:
    """``HEAD`` runs the ``GET`` handler and drops the body (Content-Length stays the
    GET's, as HTTP wants)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def no_body(message: Any) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, no_body)


class _Window:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.start = time.monotonic()
        self.count = 0

    def hit(self, length_s: float) -> tuple[int, float]:
        """Count one request: (requests so far in this window, seconds until it ends)."""
        with self.lock:
            now = time.monotonic()
            if now - self.start >= length_s:
                self.start, self.count = now, 0
            self.count += 1
            return self.count, max(self.start + length_s - now, 0.0)


class QuotaMiddleware:
    """Meters ``/wiki`` requests and adds ``X-RateLimit-*`` to their answers."""

    def __init__(self, app: Any, state: Any) -> None:
        self.app = app
        self.state = state  # has .faults (Faults | None)
        self.window = _Window()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/wiki/"):
            await self.app(scope, receive, send)
            return
        faults: Faults = self.state.faults or _DEFAULT
        quota = max(int(faults.quota), 1)
        used, left_s = self.window.hit(max(float(faults.quota_window_s), 0.001))
        remaining = max(quota - used, 0)
        headers = [(b"x-ratelimit-limit", str(quota).encode()),
                   (b"x-ratelimit-remaining", str(remaining).encode())]
        if remaining < quota * 0.2:
            headers.append((b"x-ratelimit-nearlimit", b"true"))
        if faults.quota_enforced and used > quota:
            wait = max(math.ceil(left_s), 1)
            reset = datetime.now(UTC) + timedelta(seconds=wait)
            headers += [(b"content-type", b"application/json;charset=UTF-8"),
                        (b"retry-after", str(wait).encode()),
                        (b"x-ratelimit-reset", reset.strftime("%Y-%m-%dT%H:%MZ").encode()),
                        (b"ratelimit-reason", b"confluence-quota-tenant-based"),
                        (b"content-length", str(len(_QUOTA_429)).encode())]
            await send({"type": "http.response.start", "status": 429, "headers": headers})
            await send({"type": "http.response.body", "body": _QUOTA_429})
            return

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in headers if k not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)
