"""Retry timing for the Confluence client: Retry-After, backoff with full jitter, rate limit.

Kept apart from the transport so the arithmetic can be tested without any HTTP, and so
the clock, the sleep and the random source can be injected (tests never really sleep).

>>> policy = RetryPolicy(max_retry_after=60.0)
>>> policy.delay(0, "2")
2.0
>>> policy.delay(0, "9223372036854775807")   # Long.MAX seen in the wild: give up now
Traceback (most recent call last):
...
ragconf.confluence._retry.RetryAfterTooLong: Retry-After an unbounded time > 60 s
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime

__all__ = ["RetryAfterTooLong", "RetryPolicy", "TokenBucket", "describe_wait", "parse_retry_after"]


class RetryAfterTooLong(Exception):
    """The server asked for a wait longer than ``max_retry_after``: fail now, don't sleep."""

    def __init__(self, seconds: float, cap: float) -> None:
        super().__init__(f"Retry-After {describe_wait(seconds)} > {describe_wait(cap)}")
        self.seconds = seconds
        self.cap = cap


def describe_wait(seconds: float) -> str:
    """``"90 s"``; absurd values (inf, Long.MAX) read as what they are."""
    if math.isinf(seconds) or seconds > 10**9:
        return "an unbounded time"
    return f"{seconds:.0f} s" if seconds >= 1 else f"{seconds:.2g} s"


def parse_retry_after(value: str | None, *, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or an HTTP date).

    Returns None when the header is missing or unreadable (the caller then backs off
    exponentially instead). Huge values come back as they are; capping is the policy's job.

    >>> parse_retry_after("120")
    120.0
    >>> parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=lambda: 1445412470.0)
    10.0
    >>> parse_retry_after("soon") is None
    True
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not math.isnan(seconds):
        # inf and Long.MAX are real-world values: keep them, the cap applies later
        return max(0.0, seconds)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now())


@dataclass
class RetryPolicy:
    """How long to wait before the next attempt, and how many attempts there are.

    ``max_retries`` counts retries, so a request is sent at most ``max_retries + 1`` times.
    Exponential backoff uses *full jitter*: a uniform draw in ``[0, min(max, base * 2**n)]``
    (AWS architecture blog, "Exponential Backoff And Jitter"), which spreads out clients
    that failed together.

    >>> p = RetryPolicy(backoff_base=0.5, backoff_max=30.0, rng=lambda: 1.0)
    >>> [p.backoff_delay(n) for n in range(8)]
    [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    """

    max_retries: int = 8
    max_retry_after: float = 60.0
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    rng: Callable[[], float] = field(default=random.random)
    now: Callable[[], float] = field(default=time.time)

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if self.max_retry_after < 0 or self.backoff_base < 0 or self.backoff_max < 0:
            raise ValueError("delays must be >= 0")

    def backoff_delay(self, attempt: int) -> float:
        """Full-jitter delay before retry number ``attempt`` (0-based)."""
        # 2**attempt overflows float for silly attempt counts; clamp the exponent first
        ceiling = min(self.backoff_max, self.backoff_base * (2.0 ** min(attempt, 62)))
        return self.rng() * ceiling

    def retry_after_delay(self, header: str | None) -> float | None:
        """The server's Retry-After in seconds, as asked; None if absent/unreadable."""
        return parse_retry_after(header, now=self.now)

    def delay(self, attempt: int, retry_after: str | None) -> float:
        """Retry-After when the server gave one, else exponential backoff.

        A Retry-After beyond ``max_retry_after`` raises :class:`RetryAfterTooLong`: a
        server that asks for an hour (or Long.MAX seconds) is not worth eight waits of the
        cap each; the request fails now with the rate-limit error and its advice.
        """
        asked = self.retry_after_delay(retry_after)
        if asked is None:
            return self.backoff_delay(attempt)
        if asked > self.max_retry_after:
            raise RetryAfterTooLong(asked, self.max_retry_after)
        return asked


class TokenBucket:
    """A client-side request rate limit: ``rate`` requests per second, bursts up to ``burst``.

    Thread-safe; ``acquire()`` blocks (through the injected ``sleep``) until a token is free.

    >>> bucket = TokenBucket(rate=1000.0)
    >>> bucket.acquire()
    0.0
    """

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be > 0 requests per second")
        self.rate = float(rate)
        self.burst = float(burst) if burst is not None else max(1.0, self.rate)
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.burst
        self._last = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, waiting if needed; returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
                self._last = now
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return waited
                need = (1.0 - self._tokens) / self.rate
            self._sleep(need)
            waited += need
