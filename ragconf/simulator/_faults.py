"""Opt-in faults: latency, 5xx, 429, connection resets, truncated and non-JSON bodies.

Faults are drawn from one seeded RNG, so a run with the same seed and the same request
order sees the same faults. Page-level faults (empty and short pages that still carry
``next``, a cursor loop) are applied by the list routes; the rest by the ASGI middleware
here. ``/_admin`` routes never get faults.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import socket
import struct
import threading
from collections import Counter
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["FaultMiddleware", "Faults", "Stats", "abort_connection"]

PATHOLOGICAL_RETRY_AFTER = "9223372036854775807"


@dataclass
class Faults:
    """What to break, and how often (each rate is a probability per request, 0..1).

    >>> f = Faults(rate_limit_rate=0.3, retry_after="1", seed=7)
    >>> f.update(latency_s=0.02); f.latency_s
    0.02

    retry_after: the ``Retry-After`` value of 429 and 503 answers (seconds, an HTTP date,
    or ``"9223372036854775807"`` for the pathological Long.MAX seen in the wild).
    truncate_mode: ``close`` drops the connection mid-body (Content-Length unmet);
    ``short`` sends a complete HTTP message whose JSON is cut off.
    paths: a regex; only matching request paths get faults (None = all but /_admin).
    quota, quota_window_s: the request budget per window behind the ``X-RateLimit-*``
    headers of every ``/wiki`` answer (``X-RateLimit-NearLimit: true`` once less than 20%
    is left); ``quota_enforced`` answers 429 once it is spent, until the window ends.
    The default is the documented 65000 an hour, reported but not enforced.
    """

    latency_s: float = 0.0
    error_rate: float = 0.0
    rate_limit_rate: float = 0.0
    retry_after: str = "1"
    reset_rate: float = 0.0
    truncate_rate: float = 0.0
    non_json_rate: float = 0.0
    empty_page_rate: float = 0.0
    cursor_loop: bool = False
    seed: int = 0
    paths: str | None = None
    short_page_rate: float = 0.0
    truncate_mode: str = "close"
    error_statuses: tuple[int, ...] = (500, 502, 503, 504)
    beta_headers: bool = False
    quota: int = 65000
    quota_window_s: float = 3600.0
    quota_enforced: bool = False
    _rng: random.Random = field(init=False, repr=False, compare=False)
    _lock: threading.Lock = field(init=False, repr=False, compare=False)
    _compiled: tuple[str | None, re.Pattern[str] | None] = field(
        init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()
        self._compiled = (None, None)

    def update(self, **changes: Any) -> None:
        """Change settings while the simulator runs (a new ``seed`` reseeds the RNG)."""
        known = {f.name for f in fields(self) if not f.name.startswith("_")}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"unknown fault setting {name!r}")
            if name == "error_statuses":
                value = tuple(value)
            if name in ("quota", "quota_window_s") and not (
                    isinstance(value, int | float) and not isinstance(value, bool) and value > 0):
                raise ValueError(f"{name} must be a positive number")
            setattr(self, name, value)
        if "seed" in changes:
            with self._lock:
                self._rng = random.Random(self.seed)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}

    def roll(self, rate: float) -> bool:
        """True with probability ``rate`` (thread-safe; no draw at all when rate is 0)."""
        if rate <= 0:
            return False
        with self._lock:
            return self._rng.random() < rate

    def randint(self, low: int, high: int) -> int:
        with self._lock:
            return self._rng.randint(low, high)

    def choice(self, options: tuple[int, ...]) -> int:
        with self._lock:
            return self._rng.choice(options)

    def applies(self, path: str) -> bool:
        if path.startswith("/_admin"):
            return False
        if self.paths is None:
            return True
        pattern, compiled = self._compiled
        if pattern != self.paths or compiled is None:
            compiled = re.compile(self.paths)
            self._compiled = (self.paths, compiled)
        return compiled.search(path) is not None


@dataclass
class Stats:
    """Counters the tests and benchmarks read: ``requests``, ``faults`` by kind, and
    ``paths`` (requests per URL path, e.g. ``/wiki/rest/api/user/bulk``)."""

    requests: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    paths: Counter[str] = field(default_factory=Counter)


def abort_connection() -> bool:
    """Reset the current uvicorn connection (RST, no response). False if not under uvicorn.

    uvicorn does not expose the transport to the app, but it runs each request in a task
    whose coroutine is the protocol cycle's ``run_asgi`` method; its ``self`` holds it.
    """
    task = asyncio.current_task()
    coro: Any = task.get_coro() if task is not None else None
    frame = getattr(coro, "cr_frame", None)
    cycle = frame.f_locals.get("self") if frame is not None else None
    transport = getattr(cycle, "transport", None)
    if transport is None:
        return False
    sock = transport.get_extra_info("socket")
    if sock is not None:
        # linger 0: close() sends RST instead of FIN, like a dropped proxy connection
        with contextlib.suppress(OSError, AttributeError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    return True


def _retry_seconds(value: str) -> int:
    try:
        return min(int(value), 10**6)
    except ValueError:
        return 1


def rate_limit_headers(faults: Faults) -> list[tuple[bytes, bytes]]:
    value = faults.retry_after
    reset = datetime.now(UTC) + timedelta(seconds=_retry_seconds(value))
    pathological = value == PATHOLOGICAL_RETRY_AFTER
    headers = {
        "content-type": "application/json;charset=UTF-8",
        "retry-after": value,
        "x-ratelimit-limit": "0" if pathological else "100",
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": reset.strftime("%Y-%m-%dT%H:%MZ"),
        "x-ratelimit-nearlimit": "true",
        "ratelimit-reason": "confluence-quota-tenant-based",
    }
    if pathological:
        headers["x-ratelimit-fillrate"] = "0"
        headers["x-ratelimit-interval-seconds"] = "1"
    if faults.beta_headers:
        headers["beta-ratelimit-policy"] = '"global-app-quota";q=65000;w=3600'
        headers["beta-ratelimit"] = f'"global-app-quota";r=0;t={_retry_seconds(value)}'
        headers["beta-retry-after"] = value
    return [(k.encode(), v.encode()) for k, v in headers.items()]


_GATEWAY_HTML = (b"<html><head><title>%d</title></head><body><h1>%d</h1>"
                 b"<p>The upstream server is temporarily unavailable.</p></body></html>")
_NON_JSON = (b"<!DOCTYPE html><html><head><title>Atlassian</title></head><body>"
             b"<p>We're doing some maintenance. Please check back soon.</p></body></html>")


class FaultMiddleware:
    """Pure ASGI middleware (no extra task per request, so resets can reach the socket)."""

    def __init__(self, app: Any, state: Any) -> None:
        self.app = app
        self.state = state  # has .faults (Faults | None) and .stats (Stats)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        stats: Stats = self.state.stats
        stats.requests += 1
        path: str = scope["path"]
        stats.paths[path] += 1
        faults: Faults | None = self.state.faults
        if faults is None or not faults.applies(path):
            await self.app(scope, receive, send)
            return
        if faults.latency_s > 0:
            await asyncio.sleep(faults.latency_s)
        if faults.roll(faults.reset_rate):
            stats.faults["reset"] += 1
            if abort_connection():
                await asyncio.sleep(0.01)  # let uvicorn see connection_lost before we return
                return
            raise ConnectionResetError("simulated connection reset")
        if faults.roll(faults.error_rate):
            stats.faults["error"] += 1
            await self._error(send, faults)
            return
        if faults.roll(faults.rate_limit_rate):
            stats.faults["rate_limit"] += 1
            body = (b'{"errors":[{"status":429,"code":"TOO_MANY_REQUESTS",'
                    b'"title":"Rate limit exceeded","detail":null}]}')
            await _send(send, 429, rate_limit_headers(faults), body)
            return
        if faults.roll(faults.non_json_rate):
            stats.faults["non_json"] += 1
            await _send(send, 200, [(b"content-type", b"text/html;charset=UTF-8")], _NON_JSON)
            return
        if faults.roll(faults.truncate_rate):
            stats.faults["truncate"] += 1
            await self._truncated(scope, receive, send, faults.truncate_mode)
            return
        await self.app(scope, receive, send)

    async def _error(self, send: Any, faults: Faults) -> None:
        status = faults.choice(faults.error_statuses)
        if status in (502, 504):
            await _send(send, status, [(b"content-type", b"text/html")],
                        _GATEWAY_HTML % (status, status))
            return
        headers = [(b"content-type", b"application/json;charset=UTF-8")]
        if status == 503:
            headers.append((b"retry-after", faults.retry_after.encode()))
        code = b"SERVICE_UNAVAILABLE" if status == 503 else b"INTERNAL_SERVER_ERROR"
        body = b'{"errors":[{"status":%d,"code":"%s","title":"%s","detail":null}]}' % (
            status, code, b"Service Unavailable" if status == 503 else b"Internal Server Error")
        await _send(send, status, headers, body)

    async def _truncated(self, scope: Any, receive: Any, send: Any, mode: str) -> None:
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Any) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        body = b"".join(chunks)
        cut = body[: max(len(body) // 2, 1)] if body else b""
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        declared = len(body) if mode == "close" else len(cut)
        headers.append((b"content-length", str(declared).encode()))
        await send({"type": "http.response.start", "status": start.get("status", 200),
                    "headers": headers})
        # close mode: the message stays incomplete and uvicorn drops the connection
        await send({"type": "http.response.body", "body": cut, "more_body": mode == "close"})


async def _send(send: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
