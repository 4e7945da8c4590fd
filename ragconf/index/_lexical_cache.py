"""Postings kept per index generation (private helper of ``lexical_sqlite``).

A served index answers the same terms query after query; reading their postings costs a
handful of SQLite calls per search, and each one hands Python's GIL back and forth with
every other thread of the server (under load, a search's lexical leg spent most of its
wall time waiting to get it back). Postings of one generation never change, so they are
kept, keyed by (generation, term, space codes): a search scoped to other spaces reads its
own. The cache holds at most ``max_rows`` posting rows in all (16 bytes each) and starts
afresh with every generation.

>>> cache = PostingsCache(max_rows=100)
>>> rows = np.arange(3); cache.put((1, "ledger", None), (rows, rows * 1.0))
>>> cache.get((1, "ledger", None))[0].tolist(), cache.get((2, "ledger", None))
([0, 1, 2], None)
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

__all__ = ["PostingsCache", "PostingsKey"]

#: (generation, term, space codes or None for all spaces)
PostingsKey = tuple[int, str, tuple[int, ...] | None]
Postings = tuple[np.ndarray, np.ndarray]


class PostingsCache:
    """An LRU of one generation's postings, bounded by the rows it holds."""

    def __init__(self, max_rows: int = 2_000_000) -> None:
        self.max_rows = max_rows
        self._data: OrderedDict[PostingsKey, Postings] = OrderedDict()
        self._rows = 0
        self._gen = -1
        self._lock = threading.Lock()

    def get(self, key: PostingsKey) -> Postings | None:
        with self._lock:
            found = self._data.get(key)
            if found is not None:
                self._data.move_to_end(key)
            return found

    def put(self, key: PostingsKey, value: Postings) -> None:
        size = len(value[0])
        if size > self.max_rows // 8:  # one very frequent term must not flush the rest
            return
        for array in value:
            array.setflags(write=False)  # shared by every search that reads it
        with self._lock:
            if key[0] != self._gen:
                if key[0] < self._gen:
                    return  # a search on an older snapshot: nothing to keep
                self._data.clear()
                self._rows, self._gen = 0, key[0]
            if key in self._data:
                return
            self._data[key] = value
            self._rows += size
            while self._rows > self.max_rows and self._data:
                _, (old, _) = self._data.popitem(last=False)
                self._rows -= len(old)
