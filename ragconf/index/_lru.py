"""One small thread-safe LRU map for the serving caches (query vectors, dense answers,
postings): bounded by the total weight of its values, one per entry unless told otherwise.

>>> cache = LRU(2)
>>> cache.put("a", 1); cache.put("b", 2); cache.get("a"); cache.put("c", 3)
1
>>> sorted(cache.keys())
['a', 'c']
>>> rows = LRU(5, weight=len); rows.put("x", [1, 2, 3]); rows.put("y", [4, 5, 6])
>>> list(rows.keys())
['y']
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, KeysView
from typing import Generic, TypeVar

__all__ = ["LRU"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LRU(Generic[K, V]):
    """Least recently used entries leave first once the weights add up past ``capacity``.

    ``capacity`` may change at any time (it is read on every ``put``); 0 keeps nothing.
    """

    def __init__(self, capacity: int, weight: Callable[[V], int] | None = None) -> None:
        self.capacity = capacity
        self._weight = weight
        self._data: OrderedDict[K, V] = OrderedDict()
        self._total = 0
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            found = self._data.get(key)
            if found is not None:
                self._data.move_to_end(key)
            return found

    def put(self, key: K, value: V) -> None:
        size = self._weight(value) if self._weight else 1
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self._total -= self._weight(old) if self._weight else 1
            self._data[key] = value
            self._total += size
            while self._total > self.capacity and self._data:
                _, gone = self._data.popitem(last=False)
                self._total -= self._weight(gone) if self._weight else 1

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._total = 0

    def keys(self) -> KeysView[K]:
        return self._data.keys()

    def __len__(self) -> int:
        return len(self._data)
