"""The vectors-only layout of the embedded store: Chroma keeps ids, vectors and each
chunk's space and labels (``KEPT``); the SQLite lexical index beside it (which holds every
chunk's text and metadata anyway) is the one copy of the documents.

Why: Chroma's SQLite spends about 6 KB per chunk on a document column, its own trigram
full-text index of that column and one indexed row per metadata key (22 of them), none of
which a search here reads (the dense leg asks Chroma for ids and scores only, then reads
the shown chunks from the lexical index). Without them a chunk costs its HNSW entry (a
384-d vector and its links, 1.8 KB), a row of ids and about 240 bytes for the space and
label keys. Measured with ``bench/scale.py``: 3.9 KB per chunk at 50,000, all included,
against 10.4 KB.

Reads that need text or metadata (``get``, ``manifest``, filtered ``query``, ``stats``) are
answered from the attached index, and so see what the last finished sync committed; a
filter too rare for post-filtering becomes a Chroma query restricted to the ids the index
says pass it (instead of a ``where`` clause). A Chroma server keeps the full layout: API
replicas on other hosts rebuild their lexical index from it.

Crash safety: a sync writes vectors as it goes and commits the index at its end. A run
killed in between leaves vectors the index does not know (never shown: every hit is
looked up in the index) and, for documents it rewrote, vectors newer than the index's
text until the next run, which sees those documents as changed and redoes them.
:func:`reconcile_vectors` (the next run's first step) drops the unknown vectors and
forgets documents whose vectors are gone, so they are fetched again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ragconf.errors import StoreError
from ragconf.index.keys import split_chunk_key
from ragconf.index.store._query import filtered_search, scored_ids
from ragconf.index.types import Hit, ManifestEntry, Metadata, SearchFilters, StoredChunk

__all__ = ["FULL", "KEPT", "VECTORS", "Documents", "VectorsOnly", "kept_keys", "reconcile_vectors"]

FULL, VECTORS = "full", "vectors"
#: the metadata a vectors-only collection keeps: a chunk's space and labels, so the
#: collection alone still tells where each vector belongs (and Chroma can filter on them)
KEPT = ("space_id", "space_key", "labels")


def kept_keys(metadata: Any, *, removals: bool = False) -> dict[str, Any] | None:
    """The ``KEPT`` part of a chunk's Chroma metadata (None: nothing to keep). With
    ``removals``, keys given as None or [] stay (an update deletes them)."""
    if not metadata:
        return None
    out = {k: metadata[k] for k in KEPT if k in metadata}
    if not removals:
        out = {k: v for k, v in out.items() if v is not None and v != [] and v != ()}
    return out or None


class Documents(Protocol):
    """What a vectors-only store reads from the index beside it (``SqliteLexicalIndex``)."""

    def lookup(self, ids: Sequence[str]) -> dict[str, Hit]: ...

    def metadata(self, ids: Sequence[str]) -> dict[str, Metadata]: ...

    def iter_metadata(self) -> Iterator[StoredChunk]: ...

    def manifest(self, space_ids: Sequence[str] | None = None) -> dict[str, ManifestEntry]: ...

    def mask_ids(self, ids: Sequence[str], filters: SearchFilters) -> list[bool | None]: ...

    def matching_ids(self, filters: SearchFilters) -> list[str]: ...

    def ids_for_content(self, content_ids: Sequence[str]) -> dict[str, list[str]]: ...

    def chunk_ids(self) -> list[str]: ...


class VectorsOnly:
    """ChromaStore's reads in the vectors-only layout (``ChromaStore`` sets ``_docs``)."""

    _col: Any
    _docs: Documents | None
    _embedded_path: Path | None
    layout: str
    model_name: str
    filter_strategy: str
    oversample: int
    max_candidates: int

    def _errors(self, op: str) -> Any:
        raise NotImplementedError  # ChromaStore's

    def _batches(self, n: int) -> Iterator[slice]:
        raise NotImplementedError  # ChromaStore's

    def query_ids(self, embedding: np.ndarray, k: int) -> list[tuple[str, float]]:
        raise NotImplementedError  # ChromaSearch's

    @property
    def vectors_only(self) -> bool:
        return self.layout == VECTORS

    def attach_documents(self, documents: Documents) -> None:
        """Name the index that keeps this store's text and metadata (vectors-only layout;
        harmless for the full layout, which keeps its own)."""
        self._docs = documents

    @property
    def documents(self) -> Documents:
        if self._docs is None and self._embedded_path is not None:
            # opened on its own (a script, a test): the index beside it, as runtime names it
            from ragconf.index.lexical_sqlite import SqliteLexicalIndex, lexical_db_path

            path = lexical_db_path(self._embedded_path.parent, None, self.model_name)
            if path.exists():
                self._docs = SqliteLexicalIndex(path)
        if self._docs is None:
            raise StoreError(
                "this embedded store keeps vectors only; its text and metadata are in the "
                "lexical index beside it, which was not attached (attach_documents)",
                hint="open it with ragconf.runtime.open_index, or attach its "
                "SqliteLexicalIndex (<data dir>/lexical/<model>.sqlite); if that file was "
                "lost, the next `ragconf sync` drops the vectors and indexes everything again",
            )
        return self._docs

    def vector_ids(self) -> list[str]:
        """Every id Chroma holds a vector for (one ids-only scan)."""
        out: list[str] = []
        offset, size = 0, 5000
        while True:
            with self._errors("get"):
                res = self._col.get(limit=size, offset=offset, include=[])
            out += res["ids"]
            if len(res["ids"]) < size:
                return out
            offset += size

    def _lean_get(self, ids: list[str], include_embeddings: bool) -> list[StoredChunk]:
        found = self.documents.lookup(ids)
        vectors: dict[str, np.ndarray] = {}
        if include_embeddings:
            known = [i for i in ids if i in found]
            for part in self._batches(len(known)):
                with self._errors("get"):
                    res = self._col.get(ids=known[part], include=["embeddings"])
                for cid, emb in zip(res["ids"], res["embeddings"], strict=True):
                    vectors[cid] = np.asarray(emb, dtype=np.float32)
        return [
            StoredChunk(i, found[i].text, found[i].metadata, vectors.get(i))
            for i in ids
            if i in found and (not include_embeddings or i in vectors)
        ]

    def _lean_query(
        self, vec: np.ndarray, k: int, filters: SearchFilters | None
    ) -> tuple[list[Hit], dict[str, Any]]:
        """``ChromaSearch.query`` for this layout: the same strategy (post-filter, then a
        filtered query), with the index's filter columns deciding which candidates pass and
        its rows read for the ``k`` shown only; the filtered query is over the ids the index
        names. Returns (hits, how)."""
        docs = self.documents

        def search(n: int, where: dict[str, Any] | None) -> list[Hit]:
            if where is None:  # ids and scores only; their metadata is the index's
                return [Hit(i, s, "", {}) for i, s in self.query_ids(vec, n)]
            allowed = docs.matching_ids(filters) if filters is not None else []
            return [Hit(i, s, "", {}) for i, s in self._within(vec, n, allowed)]

        def passes(hits: list[Hit]) -> list[bool]:
            assert filters is not None  # post-filtering happens only with filters
            # None: a vector the index does not know (a killed run's), never shown
            return [bool(ok) for ok in docs.mask_ids([h.id for h in hits], filters)]

        hits, how = filtered_search(
            search,
            k,
            filters,
            strategy=self.filter_strategy,
            oversample=self.oversample,
            cap=self.max_candidates,
            passes=passes,
        )
        found = docs.lookup([h.id for h in hits])
        # an id the index does not know is a vector a killed run left: never shown
        return [
            Hit(h.id, h.score, found[h.id].text, found[h.id].metadata)
            for h in hits
            if h.id in found
        ], how

    def _within(self, vec: np.ndarray, n: int, allowed: list[str]) -> list[tuple[str, float]]:
        if not allowed:
            return []
        with self._errors("query"):
            res = self._col.query(
                query_embeddings=vec[None, :],
                ids=allowed,
                n_results=min(n, len(allowed)),
                include=["distances"],
            )
        return scored_ids(res)


def reconcile_vectors(documents: Any, store: Any, batch: Callable[[], Any]) -> int:
    """Make a vectors-only store and its index agree; returns how many chunks were dropped.

    The index holds what the last finished run committed. Vectors it does not know (a
    killed run's) are deleted; a document with a chunk whose vector is missing is removed
    from the index (and its other vectors), so the next listing finds it new and syncs it.
    """
    ours = set(documents.chunk_ids())
    theirs = set(store.vector_ids())
    gone_docs = {split_chunk_key(cid)[:2] for cid in ours - theirs}
    forgotten = [cid for cid in ours if split_chunk_key(cid)[:2] in gone_docs]
    if forgotten:
        with batch() as b:
            b.delete(forgotten)
    doomed = sorted((theirs - ours) | (theirs & set(forgotten)))
    store.delete(doomed)
    return len(forgotten) + len(theirs - ours)
