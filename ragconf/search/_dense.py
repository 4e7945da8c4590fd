"""The dense leg, fetching text and metadata only for what is shown.

Chroma answers the nearest-neighbour part of a query in about a millisecond at 100k chunks,
but reading the candidates' documents and metadata back costs ~0.2 ms per row; a filtered
query that over-fetches 400 candidates spends most of its time there. So the leg uses the
store's ``query_ids`` (ids + cosine only) and the lexical index's ``lookup``/``mask_ids``
(it keeps every chunk's text, metadata and filter columns anyway, memory-mapped); both are
part of their Protocols (``index.types``):

* unfiltered: ``query_ids(vec, n)``; the hits carry only what fusion needs (the document key
  is part of the chunk id, ``type:content_id:index``);
* filtered: ``query_ids`` over-fetches and the lexical index's filter columns decide which
  candidates pass (vectorised); ids it does not know yet (written by a sync after its last
  rebuild) are checked on their stored metadata. The over-fetch is sized by the match rate
  this filter showed last time (``rates``, a :class:`FilterRates`; 8x the first time).
  Rare filters that would need more than ``max_candidates`` fall back to the store's own
  filtered query (Chroma ``where``);
* after fusion, text and metadata are read for the chunks of the k shown documents only.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence

from ragconf.index.keys import split_chunk_key
from ragconf.index.types import Hit, LexicalIndex, SearchFilters, Vector, VectorStore

__all__ = ["FilterRates", "dense_leg", "is_bare", "materialise", "place_comments"]

_BARE = "__bare__"  # metadata marker: this hit has no text/metadata yet


class FilterRates:
    """Filter -> share of dense candidates that passed it last time; thread-safe (the
    retriever serves concurrent searches from one instance).

    >>> rates = FilterRates(); rates.record(SearchFilters(labels=("a",)), 0.25)
    >>> rates.get(SearchFilters(labels=("a",))), rates.get(SearchFilters())
    (0.25, None)
    """

    def __init__(self, max_entries: int = 256) -> None:
        self.max_entries = max_entries
        self._rates: dict[SearchFilters, float] = {}
        self._lock = threading.Lock()

    def get(self, filters: SearchFilters) -> float | None:
        with self._lock:
            return self._rates.get(filters)

    def record(self, filters: SearchFilters, rate: float) -> None:
        with self._lock:
            if len(self._rates) >= self.max_entries and filters not in self._rates:
                self._rates.clear()  # a bounded memory of recent filters is enough
            self._rates[filters] = rate


def _bare(chunk_id: str, score: float) -> Hit:
    ctype, content_id, _ = split_chunk_key(chunk_id)
    return Hit(chunk_id, score, "", {"content_type": ctype, "content_id": content_id, _BARE: True})


def is_bare(hit: Hit) -> bool:
    return bool(hit.metadata.get(_BARE))


def dense_leg(
    store: VectorStore,
    lexical: LexicalIndex,
    vec: Vector,
    n: int,
    filters: SearchFilters,
    *,
    need_metadata: bool = False,
    oversample: int = 8,
    max_candidates: int = 2000,
    rates: FilterRates | None = None,
) -> list[Hit]:
    """The ``n`` nearest chunks passing ``filters``, as bare hits (see ``materialise``)."""
    if filters.space_ids is not None and not filters.space_ids:
        return []
    if filters.empty:
        hits = [_bare(i, s) for i, s in store.query_ids(vec, n)]
    else:
        found = _filtered(store, lexical, vec, n, filters, oversample, max_candidates, rates)
        if found is None:
            return list(store.query(vec, n, filters))
        hits = found
    if need_metadata:
        return materialise(hits, store, lexical)
    return hits


def _filtered(
    store: VectorStore,
    lexical: LexicalIndex,
    vec: Vector,
    n: int,
    filters: SearchFilters,
    oversample: int,
    max_candidates: int,
    rates: FilterRates | None,
) -> list[Hit] | None:
    known_rate = rates.get(filters) if rates is not None else None
    if known_rate:
        # 1.3x the expected need: ~2 sigma of slack at the sizes seen here
        m = min(max(math.ceil(1.3 * n / known_rate), n, 32), max_candidates)
    else:
        m = min(max(n * oversample, 32), max_candidates)
    while True:
        pairs = store.query_ids(vec, m)
        ids = [i for i, _ in pairs]
        flags = list(lexical.mask_ids(ids, filters))
        unknown = [i for i, f in zip(ids, flags, strict=True) if f is None]
        if unknown:
            known = {c.id: filters.matches(c.metadata) for c in store.get(unknown)}
            flags = [
                known.get(i, False) if f is None else f for i, f in zip(ids, flags, strict=True)
            ]
        matched = [_bare(i, s) for (i, s), ok in zip(pairs, flags, strict=True) if ok]
        if rates is not None and len(pairs) >= 100:
            rates.record(filters, max(len(matched) / len(pairs), 1e-3))
        if len(matched) >= n or len(pairs) < m:
            return matched[:n]  # enough, or the whole collection was seen: complete
        if m >= max_candidates:
            return None
        rate = len(matched) / max(len(pairs), 1)
        want = math.ceil(1.5 * n / rate) if rate > 0 else math.inf
        if want > max_candidates:
            return None  # a rare filter: Chroma's own `where` query is the better tool
        m = min(max(int(want), m * 2), max_candidates)


def materialise(hits: Sequence[Hit], store: VectorStore, lexical: LexicalIndex) -> list[Hit]:
    """Fill in text and metadata of bare hits (lexical index first, then the store)."""
    missing = [h.id for h in hits if is_bare(h)]
    if not missing:
        return list(hits)
    full: dict[str, Hit] = dict(lexical.lookup(missing))
    rest = [i for i in missing if i not in full]
    if rest:
        full.update((c.id, Hit(c.id, 0.0, c.text, c.metadata)) for c in store.get(rest))
    out = []
    for h in hits:
        if not is_bare(h):
            out.append(h)
        elif h.id in full:
            f = full[h.id]
            out.append(Hit(h.id, h.score, f.text, f.metadata))
        # a chunk deleted between the query and now is dropped
    return out


def place_comments(
    hits: list[Hit], store: VectorStore, lexical: LexicalIndex
) -> list[Hit]:
    """Give bare comment hits their metadata, which names the document they count for.

    A bare dense hit knows only its chunk id (``comment:<id>:<i>``), not the page the
    comment is on; comments are few among the candidates, so reading theirs is cheap.
    """
    bare = [h for h in hits if is_bare(h) and h.id.startswith("comment:")]
    if not bare:
        return hits
    full = {h.id: h for h in materialise(bare, store, lexical)}
    gone = {h.id for h in bare} - set(full)  # deleted since the query: dropped
    return [full.get(h.id, h) for h in hits if h.id not in gone]
