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

import numpy as np

from ragconf.index._lru import LRU

__all__ = ["PostingsCache", "PostingsKey"]

#: (generation, term, space codes or None for all spaces)
PostingsKey = tuple[int, str, tuple[int, ...] | None]
Postings = tuple[np.ndarray, np.ndarray]


class PostingsCache:
    """One generation's postings, least recently used out first, bounded by their rows."""

    def __init__(self, max_rows: int = 2_000_000) -> None:
        self.max_rows = max_rows
        self._lru: LRU[PostingsKey, Postings] = LRU(max_rows, weight=lambda v: len(v[0]))
        self._gen = -1
        self._lock = threading.Lock()

    def get(self, key: PostingsKey) -> Postings | None:
        return self._lru.get(key)

    def put(self, key: PostingsKey, value: Postings) -> None:
        if len(value[0]) > self.max_rows // 8:  # one very frequent term must not flush the rest
            return
        for array in value:
            array.setflags(write=False)  # shared by every search that reads it
        with self._lock:
            if key[0] < self._gen:
                return  # a search on an older snapshot: nothing to keep
            if key[0] > self._gen:
                self._lru.clear()
                self._gen = key[0]
            self._lru.put(key, value)
