"""Dynamic micro-batching of query encoding, and a cache of query vectors.

>>> emb = BatchingEmbedder(SentenceTransformerEmbedder())      # doctest: +SKIP
>>> emb.embed_query("how do I reset my password?")             # doctest: +SKIP

A server answers many queries at once, and a transformer encodes n short texts in one run
for about half the CPU of n single runs (the weights are read once per run, not once per
text). :class:`BatchingEmbedder` wraps an embedder and makes concurrent ``embed_query``
calls share encoder runs, without a timer:

* a call that finds the encoder idle encodes its text at once, alone (no added wait);
* calls that arrive while a run is in progress queue up; when the run ends, the first of
  them becomes the next "leader" and encodes everything queued (up to ``max_batch``) in
  one ``embed_queries`` call, then hands each caller its own row.

So batches form exactly when queries wait for the encoder anyway. ``window_ms`` > 0 makes
a leader that found the encoder idle wait that long for company first (more batching at
low load, at the cost of that much latency; off by default).

Repeated queries skip the encoder: an LRU cache (``cache_size`` entries, 0 = off) maps a
query text to its vector. The vector of a text never changes for a given model, so the
cache never serves a stale answer. Cached vectors are read-only arrays.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import numpy as np

from ragconf.index._lru import LRU
from ragconf.index.types import Embedder

__all__ = ["BatchStats", "BatchingEmbedder", "Coalescer"]

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class BatchStats:
    """Counters of a :class:`Coalescer` (read them for tests and logs)."""

    items: int = 0  #: items submitted
    runs: int = 0  #: calls of the batch function
    largest: int = 0  #: the biggest batch so far
    sizes: dict[int, int] = field(default_factory=dict)  #: batch size -> how many runs


class _Slot(Generic[T, R]):
    __slots__ = ("error", "event", "item", "lead", "result")

    def __init__(self, item: T) -> None:
        self.item = item
        self.event = threading.Event()
        self.lead = False  # set when this waiting caller is promoted to run the next batch
        self.result: R | None = None
        self.error: BaseException | None = None


class Coalescer(Generic[T, R]):
    """Makes concurrent ``submit(item)`` calls share ``run_batch(items)`` calls.

    ``run_batch`` gets a list of items and returns one result per item, in order. It runs
    in the thread of one of the callers (the leader), never in a thread of its own, and
    never twice at once. An exception from it reaches every caller of that batch.
    """

    def __init__(
        self,
        run_batch: Callable[[list[T]], Sequence[R]],
        *,
        max_batch: int = 32,
        window_ms: float = 0.0,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be >= 1")
        if window_ms < 0:
            raise ValueError("window_ms must be >= 0")
        self._run_batch = run_batch
        self.max_batch = max_batch
        self.window_s = window_ms / 1000.0
        self.stats = BatchStats()
        self._lock = threading.Lock()
        self._pending: list[_Slot[T, R]] = []
        self._busy = False

    @property
    def waiting(self) -> int:
        """Items queued for the next batch (not counting the one being encoded)."""
        with self._lock:
            return len(self._pending)

    def submit(self, item: T) -> R:
        slot: _Slot[T, R] = _Slot(item)
        with self._lock:
            self.stats.items += 1
            self._pending.append(slot)
            idle = not self._busy
            if idle:
                self._busy = True
                slot.lead = True
        if not idle:
            slot.event.wait()
        if slot.lead:
            if idle and self.window_s > 0:
                time.sleep(self.window_s)  # let company arrive (only when asked to)
            self._lead()
        if slot.error is not None:
            raise slot.error
        return slot.result  # type: ignore[return-value]

    def _lead(self) -> None:
        """Run one batch of what is queued (this caller's item first), then hand over."""
        with self._lock:
            batch = self._pending[: self.max_batch]
            del self._pending[: self.max_batch]
        try:
            results = list(self._run_batch([s.item for s in batch]))
            if len(results) != len(batch):
                raise RuntimeError(
                    f"the batch function returned {len(results)} results for {len(batch)} items"
                )
            for s, r in zip(batch, results, strict=True):
                s.result = r
        except BaseException as exc:
            for s in batch:
                s.error = exc
        finally:
            with self._lock:
                self.stats.runs += 1
                self.stats.largest = max(self.stats.largest, len(batch))
                self.stats.sizes[len(batch)] = self.stats.sizes.get(len(batch), 0) + 1
                if self._pending:
                    nxt = self._pending[0]
                    nxt.lead = True  # the oldest waiter runs the next batch
                    nxt.event.set()
                else:
                    self._busy = False
            for s in batch:
                s.event.set()


class BatchingEmbedder:
    """An :class:`Embedder` whose ``embed_query`` batches concurrent calls and caches vectors.

    ``inner.embed_queries(texts)`` (when it has one) encodes a batch in one call; without
    it each text goes through ``inner.embed_query``. ``embed_documents`` and the rest pass
    through unchanged. ``batching=False`` keeps only the cache (each miss encodes alone,
    concurrently with others, as without the wrapper).
    """

    def __init__(
        self,
        inner: Embedder,
        *,
        batching: bool = True,
        max_batch: int = 32,
        window_ms: float = 0.0,
        cache_size: int = 1024,
    ) -> None:
        if cache_size < 0:
            raise ValueError("cache_size must be >= 0")
        self.inner = inner
        self.batching = batching
        self.cache_size = cache_size
        self.cache_hits = 0
        self._cache: LRU[str, np.ndarray] = LRU(cache_size)
        self._batcher: Coalescer[str, np.ndarray] = Coalescer(
            self._encode, max_batch=max_batch, window_ms=window_ms
        )

    def __repr__(self) -> str:
        return f"BatchingEmbedder({self.inner!r}, max_batch={self._batcher.max_batch})"

    @property
    def stats(self) -> BatchStats:
        return self._batcher.stats

    @property
    def model_name(self) -> str:
        return self.inner.model_name

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def __getattr__(self, name: str) -> Any:
        # loaded, onnx_status, query_count, … of the wrapped embedder
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def warm_up(self) -> None:
        self.inner.warm_up()

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> np.ndarray:
        if self.cache_size:
            vec = self._cache.get(text)
            if vec is not None:
                self.cache_hits += 1
                return vec
        vec = self._batcher.submit(text) if self.batching else self._encode([text])[0]
        if self.cache_size:
            self._cache.put(text, vec)
        return vec

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Many queries from one caller: one direct call (nothing to coalesce with)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack(self._encode(list(texts)))

    def _encode(self, texts: list[str]) -> list[np.ndarray]:
        # one encoder row per distinct text: two clients asking the same thing share it
        unique = list(dict.fromkeys(texts))
        many: Callable[[Sequence[str]], np.ndarray] | None = getattr(
            self.inner, "embed_queries", None
        )
        if many is not None:
            matrix = np.asarray(many(unique), dtype=np.float32)
            rows = [matrix[i] for i in range(len(unique))]
        else:
            rows = [np.asarray(self.inner.embed_query(t), dtype=np.float32) for t in unique]
        by_text = {}
        for t, row in zip(unique, rows, strict=True):
            row = np.array(row, dtype=np.float32)  # its own buffer, not a view of the batch
            row.flags.writeable = False
            by_text[t] = row
        return [by_text[t] for t in texts]
