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
    "_doc_key",
    "_valid_header",
    "credential_fingerprint",
    "scoped_counts",
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


def _doc_key(md: dict[str, Any]) -> str | None:
    kind, cid = md.get("content_type"), md.get("content_id")
    if not kind or not cid:
        return None
    return f"{kind}:{cid}"


def _valid_header(value: str | None) -> str:
    """The header value if it is a usable ``Basic``/``Bearer`` credential; else 401."""
    if value is None or not value.strip():
        raise PermissionRequiredError(
            f"this search service shows each reader only what they can view in Confluence: "
            f"send the reader's credentials in the {USER_AUTH_HEADER} header"
        )
    scheme, _, credential = value.strip().partition(" ")
    if scheme.lower() not in ("basic", "bearer") or not credential.strip():
        raise PermissionRequiredError(
            f"{USER_AUTH_HEADER} must be 'Basic <base64(email:api-token)>' or 'Bearer <token>'"
        )
    return f"{scheme.capitalize()} {credential.strip()}"


def scoped_counts(
    store: Any,
    raw: dict[str, Any],
    space_ids: frozenset[str],
    keys_by_id: dict[str, str],
    cache: _TTLCache,
) -> dict[str, Any]:
    """``/stats`` counted over ``space_ids`` only (the reader's spaces; spaces mode)."""
    manifest = getattr(store, "manifest", None)
    if not callable(manifest):
        keys = set(keys_by_id.values())
        by_space = {k: v for k, v in (raw.get("by_space") or {}).items() if k in keys}
        total = sum(by_space.values())
        return {
            "chunks": total,
            "documents": None,
            "by_space": by_space,
            "by_type": {},
            "lexical_chunks": total,
        }
    # one scan of the readers' spaces per set of spaces and index size, for cache_s
    cache_key = (space_ids, _count(store))
    cached = cache.get(cache_key)
    if cached is not _TTLCache._MISSING:
        return dict(cached)
    by_space_out: dict[str, int] = {}
    by_type: dict[str, int] = {}
    chunks = 0
    entries = manifest(sorted(space_ids))
    for content_key, entry in entries.items():
        n = len(entry.get("chunk_ids") or ())
        chunks += n
        space = keys_by_id.get(str(entry.get("space_id")), "")
        by_space_out[space] = by_space_out.get(space, 0) + n
        kind = content_key.split(":", 1)[0]
        by_type[kind] = by_type.get(kind, 0) + n
    out = {
        "chunks": chunks,
        "documents": len(entries),
        "by_space": dict(sorted(by_space_out.items())),
        "by_type": dict(sorted(by_type.items())),
        "lexical_chunks": chunks,
    }
    cache.put(cache_key, out)
    return out


def _count(store: Any) -> int | None:
    try:
        return int(store.count())
    except Exception:  # a store that can't count: cache by spaces alone
        return None
