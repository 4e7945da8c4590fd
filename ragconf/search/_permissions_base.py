"""Building blocks of ``ragconf.search.permissions``: its errors, the TTL cache, the
credential fingerprint, the reader's client seam. Import them from
``ragconf.search.permissions``.

>>> cache = _TTLCache(ttl=60, max_entries=2, clock=lambda: 0.0)
>>> cache.put("a", 1); cache.get("a")
1
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from enum import Enum
from typing import Final, Generic, Protocol, TypeVar

from ragconf.confluence.models import Attachment, BlogPost, CustomContent, Page, Space
from ragconf.errors import RagconfError, StoreError
from ragconf.index.keys import content_type_of
from ragconf.index.types import JSONObject, VectorStore

__all__ = [
    "USER_AUTH_HEADER",
    "PermissionCheckError",
    "PermissionForbiddenError",
    "PermissionRequiredError",
    "ReaderClient",
    "_Missing",
    "_TTLCache",
    "_valid_header",
    "credential_fingerprint",
    "scoped_counts",
]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

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


class ReaderClient(Protocol):
    """A Confluence client acting as the reader (``ragconf.confluence.Confluence``)."""

    def get_spaces(self) -> Iterable[Space]: ...

    def get_page_by_id(self, id: str, /, *, body_format: None) -> Page: ...

    def get_blog_post_by_id(self, id: str, /, *, body_format: None) -> BlogPost: ...

    def get_attachment_by_id(self, id: str, /) -> Attachment: ...

    def get_custom_content(
        self, type: str, /, *, ids: list[str], limit: int
    ) -> Iterable[CustomContent]: ...

    def close(self) -> None: ...


class _Missing(Enum):
    MISSING = "missing"


def credential_fingerprint(authorization: str, key: bytes) -> str:
    """A keyed hash naming one credential in caches and logs (the secret never appears)."""
    return hmac.new(key, authorization.encode("utf-8"), hashlib.sha256).hexdigest()[:24]


class _TTLCache(Generic[K, V]):
    """A small thread-safe LRU map whose entries expire ``ttl`` seconds after being put."""

    _MISSING: Final = _Missing.MISSING

    def __init__(self, ttl: float, max_entries: int, clock: Callable[[], float]) -> None:
        self.ttl, self.max_entries, self.clock = ttl, max_entries, clock
        self._data: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | _Missing:
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

    def put(self, key: K, value: V) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            self._data[key] = (self.clock() + self.ttl, value)
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)



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
    store: VectorStore,
    raw: JSONObject,
    space_ids: frozenset[str],
    keys_by_id: dict[str, str],
    cache: _TTLCache[tuple[frozenset[str], int | None], JSONObject],
) -> JSONObject:
    """``/stats`` counted over ``space_ids`` only (the reader's spaces; spaces mode)."""
    # one scan of the readers' spaces per set of spaces and index size, for cache_s
    cache_key = (space_ids, _count(store))
    cached = cache.get(cache_key)
    if not isinstance(cached, _Missing):
        return dict(cached)
    by_space: dict[str, int] = {}
    by_type: dict[str, int] = {}
    chunks = 0
    entries = store.manifest(sorted(space_ids))
    for content_key, entry in entries.items():
        n = len(entry.get("chunk_ids") or ())
        chunks += n
        space = keys_by_id.get(str(entry.get("space_id")), "")
        by_space[space] = by_space.get(space, 0) + n
        kind = content_type_of(content_key)
        by_type[kind] = by_type.get(kind, 0) + n
    out: JSONObject = {
        "chunks": chunks,
        "documents": len(entries),
        "by_space": dict(sorted(by_space.items())),
        "by_type": dict(sorted(by_type.items())),
        "lexical_chunks": chunks,
    }
    cache.put(cache_key, out)
    return out


def _count(store: VectorStore) -> int | None:
    try:
        return int(store.count())
    except StoreError:  # a store that can't count now: cache by spaces alone
        return None
