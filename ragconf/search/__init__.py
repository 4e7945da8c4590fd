"""Hybrid retrieval (dense + BM25, fused, grouped per document) and LLM context packs.

>>> from ragconf.search import Retriever, build_context
>>> r = Retriever(store, embedder, bm25)                       # doctest: +SKIP
>>> r.search("rotate the API key", k=5).results[0].anchor_url  # doctest: +SKIP
"""

from ragconf.search.context import Citation, ContextPack, build_context
from ragconf.search.retrieve import (
    DocumentResult,
    FusionConfig,
    Retriever,
    SearchResult,
    SectionMatch,
)

__all__ = [
    "Citation",
    "ContextPack",
    "DocumentResult",
    "FusionConfig",
    "Retriever",
    "SearchResult",
    "SectionMatch",
    "build_context",
]
