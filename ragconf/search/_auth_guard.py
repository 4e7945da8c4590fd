"""Guards against junk credentials turning into Confluence requests (permission modes).

Every new ``X-Confluence-Authorization`` value costs one Confluence request to find out
whether it works, so an unauthenticated caller could make the service hammer Confluence
(300 junk values, 300 requests). Three guards, cheapest first:

* a ``Basic`` value that doesn't decode to ``email:token`` is refused locally;
* rejected credentials are remembered (``PermissionEngine``'s negative cache, apart from
  the good ones so junk cannot evict them);
* each client (its address) may fail only ``per_minute`` checks a minute (bursts of
  ``burst``): past that, new credentials from it get 429 without asking Confluence, while
  credentials already known to work keep working.

>>> limiter = FailureLimiter(per_minute=2, burst=2, clock=lambda: 0.0)
>>> limiter.failed("10.0.0.7"); limiter.failed("10.0.0.7")
>>> try:
...     limiter.check("10.0.0.7")
... except TooManyFailedChecksError as exc:
...     print(exc.http_status, exc.retry_after)
429 30
"""

from __future__ import annotations

import base64
import binascii
import math
import threading
from collections import OrderedDict
from collections.abc import Callable

from ragconf.errors import RagconfError

__all__ = ["FailureLimiter", "TooManyFailedChecksError", "well_formed"]


class TooManyFailedChecksError(RagconfError):
    """429: this client sent too many credentials Confluence rejected; it must slow down."""

    http_status = 429
    exit_code = 7

    def __init__(self, retry_after: float) -> None:
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__(
            "too many rejected credentials from this client; "
            f"try again in {self.retry_after} s",
            hint="check the reader's email and API token; each rejected credential counts "
            "against a per-client limit",
        )
        #: sent with the answer (the API's error handler adds these headers)
        self.http_headers = {"Retry-After": str(self.retry_after)}


def well_formed(authorization: str) -> bool:
    """Whether a ``Basic`` value decodes to ``user:secret`` (``Bearer`` values can't be told)."""
    scheme, _, credential = authorization.partition(" ")
    if scheme.lower() != "basic":
        return True
    try:
        decoded = base64.b64decode(credential.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return False
    user, sep, secret = decoded.partition(":")
    return bool(sep and user.strip() and secret)


class FailureLimiter:
    """A token bucket per client of failed credential checks; thread-safe, bounded size."""

    def __init__(
        self,
        per_minute: float = 10.0,
        *,
        burst: float = 10.0,
        max_clients: int = 4096,
        clock: Callable[[], float],
    ) -> None:
        self.rate = per_minute / 60.0
        self.burst = burst
        self.max_clients = max_clients
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def _tokens(self, client: str) -> float:
        now = self.clock()
        tokens, last = self._buckets.get(client, (self.burst, now))
        return min(self.burst, tokens + (now - last) * self.rate)

    def check(self, client: str | None) -> None:
        """Raise :class:`TooManyFailedChecksError` if ``client`` has no failures left."""
        if client is None or self.rate <= 0:
            return
        with self._lock:
            tokens = self._tokens(client)
        if tokens < 1.0:
            raise TooManyFailedChecksError((1.0 - tokens) / self.rate)

    def failed(self, client: str | None) -> None:
        """Count one rejected credential against ``client``."""
        if client is None:
            return
        with self._lock:
            self._buckets[client] = (max(0.0, self._tokens(client) - 1.0), self.clock())
            self._buckets.move_to_end(client)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
