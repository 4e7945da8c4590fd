"""Scoring over the SQLite postings: BM25 ``search`` and query-term ``coverage``.

A mixin of ``SqliteLexicalIndex`` (it brings the connection, the state snapshot, the
postings cache and the tokenizer). Both read a term's postings once per index generation
and permission scope, so ``coverage`` right after ``search`` costs no SQL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager

import numpy as np

from ragconf.index._lexical_cache import PostingsCache
from ragconf.index._lexical_sql import postings, term_ids
from ragconf.index._lexical_state import Ids, State
from ragconf.index._lexical_text import Tokenizer
from ragconf.index.types import Hit, SearchFilters

__all__ = ["PostingsSearch", "idf", "term_coverage"]

Postings = dict[str, tuple[np.ndarray, np.ndarray]]


def idf(n_docs: int, df: int) -> float:
    """Lucene's BM25 idf: ln(1 + (N - df + 0.5) / (df + 0.5))."""
    return float(np.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))) if n_docs else 0.0


def term_coverage(
    terms: Sequence[str], rows_of: Postings, n_docs: int, ids: Sequence[str], wanted: np.ndarray
) -> dict[str, float]:
    """``ids[i]`` (at row ``wanted[i]``) -> the idf-weighted share of the distinct ``terms``
    whose postings ``rows_of`` hold that row."""
    weights = {t: idf(n_docs, len(rows_of[t][0])) for t in dict.fromkeys(terms)}
    total = sum(weights.values())
    if total <= 0:
        return {cid: 0.0 for cid in ids}
    got = np.zeros(len(ids))
    for term, w in weights.items():
        rows = rows_of[term][0]
        if w > 0 and len(rows) and len(wanted):
            # a mask over the rows, not np.isin: a common term's postings are not sorted
            has = np.zeros(max(int(rows.max()), int(wanted.max())) + 1, dtype=bool)
            has[rows] = True
            got += w * has[wanted]
    return {cid: float(g / total) for cid, g in zip(ids, got, strict=True)}


class PostingsSearch:
    """``search`` and ``coverage`` for ``SqliteLexicalIndex`` (see the module docstring)."""

    _postings: PostingsCache
    _ids: Ids
    _state: State
    k1: float
    b: float
    last_work: dict[str, int]

    @property
    def _tokenizer(self) -> Tokenizer:
        raise NotImplementedError  # SqliteLexicalIndex's

    def _read(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError  # SqliteLexicalIndex's

    def _snapshot(self, conn: sqlite3.Connection) -> State | None:
        raise NotImplementedError  # SqliteLexicalIndex's

    def lookup(self, ids: Sequence[str]) -> dict[str, Hit]:
        raise NotImplementedError  # SqliteLexicalIndex's

    def _term_postings(
        self, terms: Sequence[str], filters: SearchFilters
    ) -> tuple[State, int, float, Postings]:
        """(state, N, average length, term -> (rows, tfs)) inside the scope ``filters`` sets;
        postings come from the cache when this generation and scope read them before."""
        with self._read() as conn:
            st = self._snapshot(conn) or self._state
            codes = st.codes(filters)
            n_docs, avgdl = st.statistics(codes)
            scope = tuple(codes) if codes is not None else None
            ids: dict[str, int] | None = None
            read: Postings = {}
            for term in terms:
                if term not in read:
                    got = self._postings.get((st.gen, term, scope))
                    if got is None:
                        if ids is None:
                            ids = term_ids(conn, list(terms))
                        got = postings(conn, ids.get(term, -1), codes)
                        self._postings.put((st.gen, term, scope), got)
                    read[term] = got
        return st, n_docs, avgdl, read

    def coverage(
        self, query: str, ids: Sequence[str], filters: SearchFilters | None = None
    ) -> dict[str, float]:
        """For each of ``ids`` this index holds: the share of the query's distinct terms the
        chunk contains, each term weighted by its idf (as ``search`` computes it, inside the
        same scope). Reads the postings ``search`` just read, from the cache."""
        terms = list(dict.fromkeys(self._tokenizer.tokens(query)))
        if not terms or not ids:
            return {}
        _, n_docs, _, read = self._term_postings(terms, filters or SearchFilters())
        row_of = self._ids.row_of
        known = [(cid, row_of[cid]) for cid in ids if cid in row_of]
        if not known:
            return {}
        wanted = np.fromiter((r for _, r in known), dtype=np.int64, count=len(known))
        return term_coverage(terms, read, n_docs, [cid for cid, _ in known], wanted)

    def search(self, query: str, k: int, filters: SearchFilters | None = None) -> list[Hit]:
        """The ``k`` best chunks by BM25 among those passing ``filters`` (score > 0 only).

        The same steps run whatever the query: every query term is looked up and its
        postings read (inside the permission scope), even for terms this index never saw.
        """
        filters = filters or SearchFilters()
        terms = self._tokenizer.query_tokens(query)
        st, n_docs, avgdl, read = self._term_postings(terms, filters)
        rows_parts: list[np.ndarray] = []
        score_parts: list[np.ndarray] = []
        for term in terms:  # repeated terms count again, as in bm25s
            rows, tfs = read[term]
            df = len(rows)
            dl = st.length[rows].astype(np.float64) if df else np.zeros(0)
            norm = self.k1 * ((1 - self.b) + self.b * dl / (avgdl or 1.0))
            rows_parts.append(rows)
            score_parts.append(idf(n_docs, df) * tfs / (norm + tfs))
        self.last_work = {
            "terms": len(terms),
            "lookups": len(read),
            "postings": int(sum(len(r) for r, _ in read.values())),
        }
        if k <= 0 or not rows_parts:
            return []
        # summed per row straight into an array over all rows: no sort of the postings
        dense = np.bincount(
            np.concatenate(rows_parts), weights=np.concatenate(score_parts),
            minlength=len(st.length),
        )  # fmt: skip
        if not filters.empty:
            dense = np.where(st.row_mask(filters)[: len(dense)], dense, 0.0)
        uniq = np.flatnonzero(dense > 0)
        scores = dense[uniq]
        if uniq.size > k:
            top = np.argpartition(-scores, k - 1)[:k]
            cut = scores[top].min()
            sel = scores >= cut  # every row tied with the k-th: the id tie-break is exact
            uniq, scores = uniq[sel], scores[sel]
        id_of = self._ids.id_of
        order = sorted(
            ((float(s), id_of[int(r)]) for r, s in zip(uniq, scores, strict=True)),
            key=lambda p: (-p[0], p[1]),
        )[:k]
        found = self.lookup([cid for _, cid in order])
        return [
            Hit(cid, score, found[cid].text, found[cid].metadata)
            for score, cid in order
            if cid in found
        ]
