"""Opaque cursors and key-based paging over pre-sorted listings.

A cursor is base64 of JSON ``{"s": sort, "k": last sort key, "n": nonce}``, like the real
service's. Being key-based (not an offset), a cursor stays correct when items are added
or removed between two requests, and finding the position is a binary search, so every
page costs O(log N + limit) however deep the listing is.
"""

from __future__ import annotations

import base64
import binascii
import json
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from ragconf.simulator._params import bad_param

__all__ = ["SORT_KEYS", "Listing", "decode_cursor", "encode_cursor", "next_link", "take"]


def _num(rec: Any) -> int:
    rid: str = rec.id
    return int(rid[3:]) if rid.startswith("att") else int(rid)


SORT_KEYS: dict[str, Callable[[Any], tuple[Any, ...]]] = {
    "id": lambda r: (_num(r),),
    "created-date": lambda r: (r.created_at, _num(r)),
    "modified-date": lambda r: (r.modified_at, _num(r)),
    "title": lambda r: (r.title.casefold(), _num(r)),
    "key": lambda r: (r.key, _num(r)),
    "name": lambda r: (r.name.casefold(), _num(r)),
    "child-position": lambda r: (r.position, _num(r)),
    "tree-order": lambda r: (r.order, _num(r)),  # precomputed walk order (descendants)
}


@dataclass(frozen=True)
class Listing:
    """Items sorted ascending by ``keys`` (descending pages walk it backwards)."""

    items: list[Any]
    keys: list[tuple[Any, ...]]

    @classmethod
    def build(cls, items: Sequence[Any], field: str) -> Listing:
        keyf = SORT_KEYS[field]
        pairs = sorted(((keyf(item), item) for item in items), key=lambda p: p[0])
        return cls([p[1] for p in pairs], [p[0] for p in pairs])


def encode_cursor(sort: str, key: tuple[Any, ...] | None, nonce: int = 0) -> str:
    raw = json.dumps({"s": sort, "k": None if key is None else list(key), "n": nonce},
                     separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str, sort: str) -> tuple[Any, ...] | None:
    """The sort key a cursor points after (None = the start); 400 if it is not ours."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor.encode() + b"=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise bad_param("Invalid cursor") from None
    if not isinstance(data, dict) or data.get("s") != sort:
        raise bad_param("Invalid cursor: it was issued for another sort order")
    key = data.get("k")
    if key is None:
        return None
    if not isinstance(key, list) or not all(isinstance(v, int | str) for v in key):
        raise bad_param("Invalid cursor")
    return tuple(key)


def take(
    listing: Listing, *, desc: bool, after: tuple[Any, ...] | None, limit: int
) -> tuple[list[Any], tuple[Any, ...] | None, bool]:
    """(items, sort key of the last one, whether more follow) for one page."""
    n = len(listing.keys)
    try:
        if not desc:
            start = 0 if after is None else bisect_right(listing.keys, after)
            stop = min(start + limit, n)
            idx = range(start, stop)
            more = stop < n
        else:
            top = n if after is None else bisect_left(listing.keys, after)
            bottom = max(top - limit, 0)
            idx = range(top - 1, bottom - 1, -1)
            more = bottom > 0
    except TypeError:  # a cursor whose key types do not match this sort
        raise bad_param("Invalid cursor") from None
    items = [listing.items[i] for i in idx]
    last = listing.keys[idx[-1]] if len(idx) else after
    return items, last, more


def next_link(path: str, query: Sequence[tuple[str, str]], cursor: str) -> str:
    """The relative next URL: same path, same filters and limit, the new cursor.

    Array filters come back in the comma form the real service writes (``id=1%2C2``,
    i.e. ``id=1,2`` once decoded), however the request spelled them.

    >>> next_link("/wiki/api/v2/pages", [("id", "1"), ("id", "2,3"), ("limit", "5")], "c")
    '/wiki/api/v2/pages?id=1%2C2%2C3&limit=5&cursor=c'
    """
    grouped: dict[str, list[str]] = {}
    for key, value in query:
        if key != "cursor":
            grouped.setdefault(key, []).append(value)
    pairs = [(key, ",".join(values)) for key, values in grouped.items()]
    pairs.append(("cursor", cursor))
    return f"{path}?{urlencode(pairs)}"
