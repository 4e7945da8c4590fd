"""Building blocks of ``ragconf.search.permissions``: its errors, the TTL cache, the
credential fingerprint. Import them from ``ragconf.search.permissions``.

>>> cache = _TTLCache(ttl=60, max_entries=2, clock=lambda: 0.0)
>>> cache.put("a", 1); cache.get("a")
1
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from ragconf.errors import RagconfError

__all__ = [
    "USER_AUTH_HEADER",
    "PermissionCheckError",
    "PermissionForbiddenError",
    "PermissionRequiredError",
    "_TTLCache",
    "credential_fingerprint",
]

USER_AUTH_HEADER = "X-Confluence-Authorization"


class PermissionRequiredError(RagconfError):
    """401: the request has no usable end-user credentials, or Confluence rejected them."""

    http_status = 401
    exit_code = 4
    default_hint = (
        f"send the reader's Confluence credentials in `{USER_AUTH_HEADER}: Basic "
        "<base64(email:api-token)>` (or `Bearer <token>`); results are limited to what "
        "that account can view"
    )


class PermissionForbiddenError(RagconfError):
    """403: the reader's account may not use the site, or the route can't be scoped."""

    http_status = 403
    exit_code = 5


class PermissionCheckError(RagconfError):
    """502: Confluence could not be asked what the reader may see (fail closed)."""

    http_status = 502
    exit_code = 8
    default_hint = "Confluence did not answer the permission check; retry in a moment"


def credential_fingerprint(authorization: str, key: bytes) -> str:
    """A keyed hash naming one credential in caches and logs (the secret never appears)."""
    return hmac.new(key, authorization.encode("utf-8"), hashlib.sha256).hexdigest()[:24]


class _TTLCache:
    """A small thread-safe LRU map whose entries expire ``ttl`` seconds after being put."""

    _MISSING = object()

    def __init__(self, ttl: float, max_entries: int, clock: Callable[[], float]) -> None:
        self.ttl, self.max_entries, self.clock = ttl, max_entries, clock
        self._data: OrderedDict[Any, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            found = self._data.get(key)
            if found is None:
                return self._MISSING
            expires, value = found
            if self.clock() >= expires:
                del self._data[key]
                return self._MISSING
            self._data.move_to_end(key)
            return value

    def put(self, key: Any, value: Any) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            self._data[key] = (self.clock() + self.ttl, value)
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)
