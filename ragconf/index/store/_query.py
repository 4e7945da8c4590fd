"""How ChromaStore searches: its ``query`` / ``query_ids`` methods, the filter strategy,
``where`` clauses, and Chroma's query answers -> Hits.

>>> hits = store.query(vec, 5, SearchFilters(space_keys=("ENG",)))   # doctest: +SKIP
>>> store.last_query                                                   # doctest: +SKIP
{'strategy': 'post', 'rounds': 1, 'candidates': 40}

Filtered search: a Chroma ``where`` query costs 80-220 ms at 100k rows, an unfiltered one a
few ms. So a filtered search first asks Chroma for an oversampled unfiltered top-n and
filters in Python (``SearchFilters.matches``), growing n while the observed match rate says
that will fill k cheaply, and only falls back to the ``where`` query for rare filters.

Kept free of chromadb (store.py is the only module that imports it): ``ChromaSearch`` works
on the collection object ChromaStore opened, ``filtered_search`` on a ``search(n, where)``
callable, and Chroma's answers arrive as plain dicts of lists.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

import numpy as np

from ragconf.errors import StoreError
from ragconf.index._lru import LRU
from ragconf.index.types import Hit, SearchFilters

__all__ = [
    "FILTER_STRATEGIES",
    "ChromaSearch",
    "IdsCache",
    "filtered_search",
    "hits_from",
    "in_clauses",
    "post_filter",
    "scored_ids",
    "where_clause",
]

#: "auto" (post-filter, then ``where``), or one path forced (for benchmarks and tests)
FILTER_STRATEGIES = ("auto", "post", "where")

#: values per ``$in`` list, so one clause (and the SQL Chroma builds from it) stays bounded
_IN_BATCH = 500

Search = Callable[[int, dict[str, Any] | None], list[Hit]]
#: which of these hits pass the filter (default: ``SearchFilters.matches`` on their metadata)
Passes = Callable[[list[Hit]], list[bool]]


class IdsCache:
    """A small LRU of ``query_ids`` answers, keyed by (store generation, vector bytes).

    Each vector keeps its largest answer: asked for ``k`` ids, the first ``k`` of a larger
    answer serve (for k up to HNSW's ``ef_search`` it is the very same search; beyond, a
    search at least as thorough), and an answer shorter than the ``k`` it was asked for
    was the whole collection. So a filtered search, whose candidate count follows the
    filter's observed match rate, finds its answer whatever that count is today.

    Only for a store whose answers change only through its own writes and reopens (the
    embedded one: another process's sync is seen after ``reopen``, which bumps the
    generation); a Chroma server changes under other writers, so it is never cached.
    Answers above ``max_k`` ids are not kept, which bounds memory to about
    ``entries * max_k`` pairs.
    """

    def __init__(self, entries: int = 256, max_k: int = 1024) -> None:
        self.max_k = max_k
        self._lru: LRU[tuple[int, bytes], tuple[int, list[tuple[str, float]]]] = LRU(entries)

    @property
    def entries(self) -> int:
        return self._lru.capacity

    @entries.setter
    def entries(self, value: int) -> None:
        self._lru.capacity = value

    def get(self, generation: int, vector: bytes, k: int) -> list[tuple[str, float]] | None:
        found = self._lru.get((generation, vector))
        if found is None:
            return None
        asked, answer = found
        if asked < k and len(answer) == asked:
            return None  # a shorter answer than wanted, and not the whole collection
        return answer[:k]  # a copy: callers may change what they get

    def put(self, generation: int, vector: bytes, k: int, answer: list[tuple[str, float]]) -> None:
        held = self._lru.get((generation, vector))
        if k <= self.max_k and (held is None or held[0] < k):
            self._lru.put((generation, vector), (k, list(answer)))

    def clear(self) -> None:
        self._lru.clear()


class ChromaSearch:
    """The search methods of ChromaStore (store.py), which sets the attributes declared here.

    >>> store.query_ids(vec, 3)                          # doctest: +SKIP
    [('page:101:0', 0.83), ('page:107:2', 0.61), ('page:104:0', 0.6)]
    """

    _col: Any
    dimension: int
    filter_strategy: str
    oversample: int
    max_candidates: int
    last_query: dict[str, Any]
    query_counts: Counter[str]

    _generation: int  # bumped by every write and reopen of the store
    _ids_cache: IdsCache
    vectors_only: bool  # the vectors-only layout (``_lean``): no ``where``, no documents
    _lean_query: Callable[..., tuple[list[Hit], dict[str, Any]]]  # VectorsOnly's

    @property
    def sees_other_writers(self) -> bool:
        raise NotImplementedError  # ChromaStore's

    def _errors(self, op: str) -> AbstractContextManager[None]:
        raise NotImplementedError  # ChromaStore's: Chroma failures -> StoreError

    def query(
        self, embedding: np.ndarray, k: int, filters: SearchFilters | None = None
    ) -> list[Hit]:
        """The ``k`` nearest chunks (score = cosine similarity) that pass ``filters``."""
        if k <= 0:
            return []
        vec = self._vector(embedding)
        if self.vectors_only:  # no metadata in Chroma: the index says who passes
            hits, how = self._lean_query(vec, k, filters)
            self._record(**how)
            return hits
        hits, how = filtered_search(
            lambda n, where: self._search(vec, n, where),
            k,
            filters,
            strategy=self.filter_strategy,
            oversample=self.oversample,
            cap=self.max_candidates,
        )
        self._record(**how)
        return hits

    def query_ids(self, embedding: np.ndarray, k: int) -> list[tuple[str, float]]:
        """The ``k`` nearest chunk ids with their cosine similarity; unfiltered, nothing else read.

        The search's fast dense path (``ragconf.search._dense``): the ANN part of a Chroma
        query takes about a millisecond at 100k chunks, reading documents and metadata back
        ~0.2 ms per row, so those are read only for the chunks that end up shown.

        On the embedded store, answers are kept per store generation (see :class:`IdsCache`):
        a repeated query costs no Chroma call (a Chroma call costs ~1 ms whatever it asks,
        a third of a whole search on a small index).
        """
        if k <= 0:
            return []
        vec = self._vector(embedding)
        cache = self._ids_cache if not self.sees_other_writers else None
        generation, raw = self._generation, vec.tobytes()
        out = cache.get(generation, raw, k) if cache is not None else None
        if out is None:
            batcher = getattr(self, "_ids_batcher", None)
            out = batcher.submit((vec, k)) if batcher is not None else self._ids_many([(vec, k)])[0]
            if cache is not None:
                cache.put(generation, raw, k, out)  # keeps its own copy
        self._record("ids", 1, k)
        return out

    def batch_queries(self, max_batch: int = 32) -> None:
        """Let concurrent ``query_ids`` calls share Chroma queries (one per distinct k).

        One Chroma query costs about 0.9 ms of CPU whatever it asks for; 32 vectors in one
        query cost about 6 ms (measured on 207 chunks, 2-core machine), and each vector's
        answer is the one it gets alone. Batches form only while a query is running (see
        ``ragconf.index.batching.Coalescer``), so a lone query is not delayed.
        """
        from ragconf.index.batching import Coalescer

        self._ids_batcher: Coalescer[tuple[np.ndarray, int], list[tuple[str, float]]] = Coalescer(
            self._ids_many, max_batch=max_batch
        )

    def _ids_many(self, items: list[tuple[np.ndarray, int]]) -> list[list[tuple[str, float]]]:
        rows_of: dict[int, list[int]] = {}
        for i, (_, k) in enumerate(items):
            rows_of.setdefault(k, []).append(i)
        out: list[list[tuple[str, float]]] = [[] for _ in items]
        for k, rows in rows_of.items():
            matrix = np.stack([items[i][0] for i in rows])
            with self._errors("query"):
                res = self._col.query(query_embeddings=matrix, n_results=k, include=["distances"])
            for j, i in enumerate(rows):
                out[i] = scored_ids(res, j)
        return out

    def _vector(self, embedding: np.ndarray) -> np.ndarray:
        vec = np.asarray(embedding, dtype=np.float32).reshape(-1)
        if vec.shape[0] != self.dimension:
            raise StoreError(f"query vector has dimension {vec.shape[0]}, not {self.dimension}")
        return vec

    def _search(self, vec: np.ndarray, n: int, where: dict[str, Any] | None) -> list[Hit]:
        with self._errors("query"):
            res = self._col.query(
                query_embeddings=vec[None, :],
                n_results=n,
                where=where,
                include=["documents", "metadatas", "distances"],
            )
        return hits_from(res)

    def _record(self, strategy: str, rounds: int, candidates: int) -> None:
        self.last_query = {"strategy": strategy, "rounds": rounds, "candidates": candidates}
        self.query_counts[strategy] += 1


def filtered_search(
    search: Search,
    k: int,
    filters: SearchFilters | None,
    *,
    strategy: str,
    oversample: int,
    cap: int,
    passes: Passes | None = None,
) -> tuple[list[Hit], dict[str, Any]]:
    """The ``k`` best hits passing ``filters``, and how: {"strategy", "rounds", "candidates"}.

    ``search(n, where)`` is one Chroma query for the top ``n`` (``where`` None: unfiltered).
    ``passes``: see :func:`post_filter`.
    """
    if filters is None or filters.empty:
        return search(k, None), _how("unfiltered", 1, k)
    if filters.space_ids is not None and not filters.space_ids:
        return [], _how("empty", 0, 0)
    rounds = 0
    if strategy != "where":
        post, rounds, n = post_filter(
            lambda n: search(n, None),
            k,
            filters,
            first=max(k * oversample, 32),
            cap=cap,
            strict=strategy == "post",
            passes=passes,
        )
        if post is not None:
            return post, _how("post", rounds, n)
    return search(k, where_clause(filters)), _how("where", rounds + 1, k)


def _how(strategy: str, rounds: int, candidates: int) -> dict[str, Any]:
    return {"strategy": strategy, "rounds": rounds, "candidates": candidates}


def post_filter(
    search: Callable[[int], list[Hit]],
    k: int,
    filters: SearchFilters,
    *,
    first: int,
    cap: int,
    strict: bool = False,
    passes: Passes | None = None,
) -> tuple[list[Hit] | None, int, int]:
    """Filtered top-k from unfiltered top-n searches: (hits or None, rounds, last n).

    Starts at n = ``first`` and grows n to what the observed match rate says will fill k
    (x1.5), up to ``cap``. None means "use a ``where`` query": the filter is too rare to
    fill k within ``cap`` candidates. ``strict`` never gives up (returns what it found at
    ``cap``). The answer is exact (up to HNSW) when k matched, or the whole collection was
    seen: every matching chunk outside the top-n is farther than all inside it.

    ``passes(hits)`` says which hits pass (default: ``filters.matches`` on their metadata); a
    store whose hits carry no metadata asks its own filter columns instead.
    """
    if passes is None:
        passes = lambda hits: [filters.matches(h.metadata) for h in hits]  # noqa: E731
    n, rounds = first, 0
    while True:
        rounds += 1
        found = search(n)
        matched = [h for h, ok in zip(found, passes(found), strict=True) if ok]
        exhausted = len(found) < n
        capped = n >= cap
        if len(matched) >= k or exhausted or (capped and strict):
            return matched[:k], rounds, n
        rate = len(matched) / len(found)
        want = math.ceil(1.5 * k / rate) if rate > 0 else math.inf
        if capped or (want > cap and not strict):
            return None, rounds, n
        n = min(max(int(want) if want < math.inf else n * 4, n * 2), cap)


def where_clause(filters: SearchFilters) -> dict[str, Any] | None:
    """The Chroma ``where`` equivalent of ``filters.matches`` (None: nothing to filter)."""
    parts: list[dict[str, Any]] = []
    if filters.space_keys:
        parts.append({"space_key": {"$in": list(filters.space_keys)}})
    if filters.space_ids is not None:
        parts.append({"space_id": {"$in": list(filters.space_ids)}})
    if filters.content_types:
        parts.append({"content_type": {"$in": list(filters.content_types)}})
    if filters.labels:
        labels = [{"labels": {"$contains": label}} for label in dict.fromkeys(filters.labels)]
        parts.append(labels[0] if len(labels) == 1 else {"$or": labels})
    if filters.ancestors:
        # ancestors is a string array per chunk (see _meta.to_chroma_metadata)
        below = [{"ancestors": {"$contains": a}} for a in dict.fromkeys(filters.ancestors)]
        parts.append(below[0] if len(below) == 1 else {"$or": below})
    if filters.updated_after is not None:
        parts.append({"updated_at_ts": {"$gte": _filter_ts(filters.updated_after)}})
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"$and": parts}


def _filter_ts(value: datetime) -> float:
    # SearchFilters.matches uses datetime.timestamp(); a naive datetime is local time there,
    # so use the same conversion here to keep both legs identical
    return float(value.timestamp())


def in_clauses(key: str, values: Iterable[Any]) -> list[dict[str, Any]]:
    """``where`` clauses "``key`` is one of ``values``" (as strings, deduplicated), 500 a clause."""
    wanted = list(dict.fromkeys(str(v) for v in values))
    return [
        {key: {"$in": wanted[start : start + _IN_BATCH]}}
        for start in range(0, len(wanted), _IN_BATCH)
    ]


def hits_from(res: Any) -> list[Hit]:
    """Chroma's columnar answer to one query -> Hits (score = cosine similarity), best first."""
    ids = res["ids"][0]
    docs = (res.get("documents") or [[]])[0] or [""] * len(ids)
    metas = (res.get("metadatas") or [[]])[0] or [{}] * len(ids)
    dists = (res.get("distances") or [[]])[0] or [0.0] * len(ids)
    hits = [
        Hit(id=i, score=1.0 - float(d), text=t or "", metadata=dict(m or {}))
        for i, t, m, d in zip(ids, docs, metas, dists, strict=True)
    ]
    hits.sort(key=lambda h: (-h.score, h.id))  # deterministic order on ties
    return hits


def scored_ids(res: Any, row: int = 0) -> list[tuple[str, float]]:
    """Row ``row`` of Chroma's answer to an ids-and-distances query -> (id, cosine
    similarity), best first."""
    ids = res["ids"][row]
    dists = (res.get("distances") or [])[row] if res.get("distances") else None
    dists = dists or [0.0] * len(ids)
    out = [(i, 1.0 - float(d)) for i, d in zip(ids, dists, strict=True)]
    out.sort(key=lambda p: (-p[1], p[0]))  # deterministic order on ties
    return out
