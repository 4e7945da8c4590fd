"""Hybrid retrieval: dense (vector store) + BM25 (lexical index), fused, grouped per document.

>>> from ragconf.search.retrieve import Retriever
>>> r = Retriever(store, embedder, lexical, mode="hybrid")          # doctest: +SKIP
>>> res = r.search("reset my password", k=5, filters=SearchFilters(space_keys=("ENG",)))
>>> res.results[0].title, res.results[0].anchor_url, res.timings["total_ms"]  # doctest: +SKIP

Both legs apply the same :class:`SearchFilters`. Each leg fetches chunk candidates; the
lexical leg may expand the query from its first pass (``_prf``); the two are fused per
document (``_fusion``), identifiers in keyword queries lift the documents that contain them
(``_rank``), documents are ordered by score (ties: content id), and each keeps its best chunk
as the headline and its other matching chunks as ``sections``. Comment chunks count for the
document they are on: a hit in a comment shows that page (its headline or a section names
the commenter and links to the comment).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace

from ragconf.errors import InvalidQueryError
from ragconf.index.types import (
    Embedder,
    Hit,
    LexicalIndex,
    Metadata,
    SearchFilters,
    Vector,
    VectorStore,
)
from ragconf.search._checks import Allow, PostCheck, post_check
from ragconf.search._dense import FilterRates, dense_leg, is_bare, materialise, place_comments
from ragconf.search._duplicates import collapse_duplicates, newest_version, with_spare
from ragconf.search._fusion import FusionConfig, doc_key
from ragconf.search._metadata import breadcrumbs_of, labels_of
from ragconf.search._query import analyse
from ragconf.search._rank import (
    DEFAULT_FUSION,
    DEFAULT_RANKING,
    Ranking,
    lexical_stages,
    rank_documents,
)
from ragconf.search._snippets import make_snippet

__all__ = [
    "DEFAULT_FUSION",
    "DEFAULT_RANKING",
    "MAX_K",
    "MAX_QUERY_CHARS",
    "MODES",
    "DocumentResult",
    "FusionConfig",
    "Ranking",
    "Retriever",
    "SearchResult",
    "SectionMatch",
]

MODES = ("hybrid", "dense", "bm25")
MAX_K = 100
MAX_QUERY_CHARS = 2000
#: a document lists at most this many further matching sections
MAX_SECTIONS = 3


@dataclass(frozen=True)
class SectionMatch:
    """A further matching chunk of a document: where it is and what it says."""

    chunk_id: str
    heading_path: str
    anchor_url: str
    score: float
    snippet: str
    snippet_plain: str


@dataclass
class DocumentResult:
    """One document in the results; fields follow DESIGN §6.

    ``breadcrumbs``: the space name, then the titles of the page's ancestor pages, then
    the headings leading to the best-matching section (e.g. ``["Operations",
    "Operations Home", "Runbooks", "Diagnose and fix"]``).
    ``chunks``: the matching chunks, best first (used by the LLM context builder; not
    part of the API output).
    """

    content_id: str
    content_type: str
    title: str
    url: str
    anchor_url: str
    space_key: str | None
    labels: list[str]
    breadcrumbs: list[str]
    updated_at: str | None
    score: float
    snippet: str
    snippet_plain: str
    sections: list[SectionMatch] = field(default_factory=list)
    chunks: list[Hit] = field(default_factory=list, repr=False)
    #: every copy of an attachment merged into this result (see ``_duplicates``); empty
    #: when nothing was merged
    places: list[Metadata] = field(default_factory=list)

    def to_dict(self) -> Metadata:
        """The API/CLI JSON form (without ``chunks``; ``places`` only when copies merged)."""
        out: Metadata = {
            "content_id": self.content_id,
            "content_type": self.content_type,
            "title": self.title,
            "url": self.url,
            "anchor_url": self.anchor_url,
            "space_key": self.space_key,
            "labels": list(self.labels),
            "breadcrumbs": list(self.breadcrumbs),
            "updated_at": self.updated_at,
            "score": self.score,
            "snippet": self.snippet,
            "snippet_plain": self.snippet_plain,
            "sections": [
                {
                    "chunk_id": s.chunk_id,
                    "heading_path": s.heading_path,
                    "anchor_url": s.anchor_url,
                    "score": s.score,
                    "snippet": s.snippet,
                    "snippet_plain": s.snippet_plain,
                }
                for s in self.sections
            ],
        }
        if self.places:
            out["places"] = [dict(p) for p in self.places]
        return out


@dataclass
class SearchResult:
    """What :meth:`Retriever.search` returns. ``timings`` are milliseconds per stage:
    encode, dense, lexical, fuse (fusion + grouping + snippets) and total."""

    query: str
    mode: str
    results: list[DocumentResult]
    timings: dict[str, float]


class Retriever:
    """Searches one store + lexical index pair; thread-safe for concurrent ``search`` calls.

    ``lexical`` may be a :class:`LexicalIndex` or a zero-argument callable returning the
    current one (the API passes a holder that swaps in a reloaded index after a sync).

    >>> r = Retriever(store, HashEmbedder(), bm25, mode="bm25")       # doctest: +SKIP
    >>> [d.title for d in r.search("release checklist", k=3).results]  # doctest: +SKIP
    """

    def __init__(
        self,
        store: VectorStore,
        embedder: Embedder,
        lexical: LexicalIndex | Callable[[], LexicalIndex],
        mode: str = "hybrid",
        *,
        ranking: Ranking = DEFAULT_RANKING,
        fusion: FusionConfig | None = None,
        candidates: int = 50,
        candidates_per_k: int = 3,
        snippet_chars: int = 300,
        ranking_slots: int | None = None,
    ) -> None:
        if mode not in MODES:
            raise InvalidQueryError(f"unknown search mode {mode!r}", hint=f"use one of {MODES}")
        self.store = store
        self.embedder = embedder
        self._lexical = lexical
        self.mode = mode
        #: ``fusion`` replaces the ranking's fusion (kept for callers that only tune that)
        self.ranking = ranking if fusion is None else replace(ranking, fusion=fusion)
        self.candidates = candidates
        self.candidates_per_k = candidates_per_k
        self.snippet_chars = snippet_chars
        #: filter -> share of dense candidates that passed it last time (sizes the over-fetch)
        self._filter_rates = FilterRates()
        # At most ``ranking_slots`` searches past the query encoder at once. Encoding wants
        # company (concurrent queries share encoder runs); the rest is Python that only
        # hands the GIL around when more threads than cores run it. bench/load.py on 2
        # cores: 8 threads throughout 233 req/s; 8 encoding, 2 past the encoder 255; only
        # 2 threads 275, but with every query new 92 req/s against 134 for the other two
        self._slots: AbstractContextManager[bool | None] = (
            threading.BoundedSemaphore(ranking_slots) if ranking_slots else nullcontext()
        )

    @property
    def fusion(self) -> FusionConfig:
        return self.ranking.fusion

    @property
    def lexical(self) -> LexicalIndex:
        lx = self._lexical
        if callable(lx) and not isinstance(lx, LexicalIndex):
            return lx()
        return lx  # type: ignore[return-value]

    def search(
        self,
        query: str,
        k: int = 10,
        filters: SearchFilters | None = None,
        *,
        mode: str | None = None,
        allow: Allow | None = None,
    ) -> SearchResult:
        """The ``k`` best documents for ``query``.

        ``allow`` is a post-check on chunk metadata (permission-aware search): chunks it
        rejects are dropped before fusion, so they influence neither order nor counts.
        A :class:`PostCheck` may ask for more candidates (``overfetch``) and check them
        in one batch (``prefetch``).
        """
        check = post_check(allow)
        mode = mode or self.mode
        query = validate_query(query, k, mode)
        filters = filters or SearchFilters()
        t0 = time.perf_counter()
        timings = {"encode_ms": 0.0, "dense_ms": 0.0, "lexical_ms": 0.0}
        n = max(self.candidates, k * self.candidates_per_k)
        # a post-check that hides documents (strict permissions) asks for more candidates
        # so that k documents survive it
        n *= max(1, check.overfetch if check is not None else 1)

        lexical = self.lexical  # one snapshot for the whole query
        vec: Vector | None = None
        if mode in ("hybrid", "dense"):
            t = time.perf_counter()
            vec = self.embedder.embed_query(query)
            timings["encode_ms"] = _ms(t)
        # a post-check may wait on Confluence (strict permissions): it must not hold a slot
        # that other readers' searches need, so those run as before, unbounded
        with self._slots if check is None else nullcontext():
            results = self._rank(query, k, n, mode, vec, filters, check, lexical, timings)
        timings["total_ms"] = _ms(t0)
        return SearchResult(query=query, mode=mode, results=results, timings=timings)

    def _rank(
        self,
        query: str,
        k: int,
        n: int,
        mode: str,
        vec: Vector | None,
        filters: SearchFilters,
        check: PostCheck | None,
        lexical: LexicalIndex,
        timings: dict[str, float],
    ) -> list[DocumentResult]:
        """Both legs, fusion and the documents shown (``search`` after the encoder)."""
        dense_hits: list[Hit] = []
        lexical_hits: list[Hit] = []
        if vec is not None:
            t = time.perf_counter()
            found = dense_leg(
                self.store,
                lexical,
                vec,
                n,
                filters,
                need_metadata=check is not None,
                rates=self._filter_rates,
            )
            dense_hits = self._post_check(found, filters, check)
            dense_hits = place_comments(dense_hits, self.store, lexical)
            timings["dense_ms"] = _ms(t)
        if mode in ("hybrid", "bm25"):
            t = time.perf_counter()
            lexical_hits = self._post_check(lexical.search(query, n, filters), filters, check)
            # feedback only from what this reader may see: expansion terms taken from a
            # hidden page would leak its words into the ranking
            lexical_hits = lexical_stages(
                lexical, query, lexical_hits, n, filters, self.ranking,
                check=lambda hits: self._post_check(hits, filters, check),
            )  # fmt: skip
            timings["lexical_ms"] = _ms(t)

        t = time.perf_counter()
        results = self._assemble(
            query, with_spare(k), mode, dense_hits, lexical_hits, lexical, filters
        )
        results = collapse_duplicates(results, self.store)[:k]  # one result per file
        timings["fuse_ms"] = _ms(t)
        return results

    @staticmethod
    def _post_check(hits: list[Hit], filters: SearchFilters, allow: PostCheck | None) -> list[Hit]:
        # The legs filter already; checking again here is cheap and keeps a leg that
        # ignores a filter (or a stale lexical index) from leaking a result. Bare dense
        # hits (no metadata yet) were filtered on the index's columns.
        out = [h for h in hits if filters.empty or is_bare(h) or filters.matches(h.metadata)]
        if allow is not None:
            allow.prefetch([h.metadata for h in out])  # one batched check, not one per hit
            out = [h for h in out if allow(h.metadata)]
        return out

    def _assemble(
        self,
        query: str,
        k: int,
        mode: str,
        dense_hits: list[Hit],
        lexical_hits: list[Hit],
        lexical: LexicalIndex,
        filters: SearchFilters,
    ) -> list[DocumentResult]:
        coverage = None
        if mode == "hybrid" and self.ranking.coverage > 0:
            # only chunks the legs returned (and the post-check passed): nothing hidden
            ids = list(dict.fromkeys(h.id for h in (*lexical_hits, *dense_hits)))
            coverage = lexical.coverage(query, ids, filters)
        doc_scores, chunk_scores = rank_documents(
            mode, self.ranking, analyse(query), dense_hits, lexical_hits, coverage
        )
        by_id: dict[str, Hit] = {}
        # lexical hits first: they carry text and metadata, bare dense hits do not
        for h in (*lexical_hits, *dense_hits):
            by_id.setdefault(h.id, h)
        chunks_of: dict[str, list[Hit]] = {}
        for h in by_id.values():
            chunks_of.setdefault(doc_key(h), []).append(h)

        def content_id(key: str) -> str:
            return str(chunks_of[key][0].metadata.get("content_id", key))

        order = sorted(doc_scores, key=lambda d: (-doc_scores[d], content_id(d), d))[:k]
        # text and metadata only for the chunks that are shown (see _dense)
        shown = materialise([h for key in order for h in chunks_of[key]], self.store, lexical)
        chunks_of = {}
        for h in shown:
            chunks_of.setdefault(doc_key(h), []).append(h)
        chunks_of = {key: newest_version(hits) for key, hits in chunks_of.items()}
        results = []
        for key in order:
            if key not in chunks_of:  # deleted by a sync while we searched
                continue
            chunks = sorted(chunks_of[key], key=lambda h: (-chunk_scores.get(h.id, 0.0), h.id))
            results.append(self._document(query, doc_scores[key], chunks, chunk_scores))
        return results

    def _document(
        self, query: str, score: float, chunks: list[Hit], chunk_scores: dict[str, float]
    ) -> DocumentResult:
        best = chunks[0]
        md = best.metadata
        content_id, content_type = md.get("content_id", ""), md.get("content_type", "")
        if content_type == "comment" and md.get("container_id"):  # shown as its container
            content_id, content_type = md["container_id"], md.get("container_type", "")
        snip = make_snippet(query, best.text, max_chars=self.snippet_chars)
        sections = []
        for h in chunks[1 : 1 + MAX_SECTIONS]:
            s = make_snippet(query, h.text, max_chars=self.snippet_chars)
            sections.append(
                SectionMatch(
                    chunk_id=h.id,
                    heading_path=str(h.metadata.get("heading_path") or ""),
                    anchor_url=str(h.metadata.get("anchor_url") or h.metadata.get("url") or ""),
                    score=round(chunk_scores.get(h.id, 0.0), 6),
                    snippet=s.marked,
                    snippet_plain=s.plain,
                )
            )
        url = str(md.get("url") or "")
        return DocumentResult(
            content_id=str(content_id),
            content_type=str(content_type),
            title=str(md.get("title", "")),
            url=url,
            anchor_url=str(md.get("anchor_url") or url),
            space_key=md.get("space_key"),
            labels=labels_of(md),
            breadcrumbs=breadcrumbs_of(md),
            updated_at=md.get("updated_at"),
            score=round(float(score), 6),
            snippet=snip.marked,
            snippet_plain=snip.plain,
            sections=sections,
            chunks=chunks,
        )


def validate_query(query: str, k: int, mode: str = "hybrid") -> str:
    """Reject what we can't answer with an InvalidQueryError (HTTP 422, CLI exit 2)."""
    if not isinstance(query, str) or not query.strip():
        raise InvalidQueryError("the query is empty", hint="pass a question or keywords in q")
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidQueryError(
            f"the query is {len(query)} characters long; the limit is {MAX_QUERY_CHARS}",
            hint="shorten the query",
        )
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= MAX_K:
        raise InvalidQueryError(f"k must be between 1 and {MAX_K}, got {k!r}")
    if mode not in MODES:
        raise InvalidQueryError(f"unknown search mode {mode!r}", hint=f"use one of {MODES}")
    return query.strip()


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 3)
