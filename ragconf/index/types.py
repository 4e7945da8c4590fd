"""The shapes that flow through the index pipeline, and the seams between its stages.

    Confluence object --convert--> Document --chunk--> [Chunk] --embed--> vectors --> VectorStore
                                                                 \\-> LexicalIndex (BM25)

``Embedder``, ``VectorStore`` and ``LexicalIndex`` are Protocols: each has one shared
contract test suite that every implementation passes (tests/contracts/).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from ragconf.document import Document, Section

__all__ = [
    "CONTENT_TYPES",
    "Chunk",
    "ContentType",
    "Document",
    "Embedder",
    "Hit",
    "LexicalIndex",
    "SearchFilters",
    "Section",
    "StoredChunk",
    "VectorStore",
    "chunk_id",
    "text_hash",
]

ContentType = Literal["page", "blogpost", "attachment", "custom_content", "comment"]
#: what the index holds; a comment is its own document (own chunks, own version) whose
#: search results are shown as the page (blog post, ...) it is on
CONTENT_TYPES: tuple[str, ...] = ("page", "blogpost", "attachment", "custom_content", "comment")


def chunk_id(content_type: str, content_id: str, chunk_index: int) -> str:
    """Stable chunk id: the same (type, id, index) always names the same chunk."""
    return f"{content_type}:{content_id}:{chunk_index}"


def text_hash(text: str) -> str:
    """Hash of the text that gets embedded; equal hash means the vector can be reused."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class Chunk:
    """A piece of a document, small enough for the embedding model.

    ``text`` is what gets embedded and BM25-indexed (it starts with the short
    "Title › H1 › H2" prefix); ``metadata`` carries every DESIGN §5 field, including
    ``chunk_index``, ``heading_path``, ``anchor_url`` and ``text_hash``.
    """

    id: str
    text: str
    metadata: dict[str, Any]


@dataclass(frozen=True)
class StoredChunk:
    id: str
    text: str
    metadata: dict[str, Any]
    embedding: np.ndarray | None = None


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk. ``score``: higher is better (cosine similarity, BM25 or fused)."""

    id: str
    score: float
    text: str
    metadata: dict[str, Any]


@dataclass(frozen=True)
class SearchFilters:
    """Filters that both retrieval legs apply. Empty lists mean "no filter"."""

    space_keys: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    content_types: tuple[str, ...] = ()
    updated_after: datetime | None = None
    #: restrict to these space ids (permission-aware search); None = no restriction
    space_ids: tuple[str, ...] | None = None
    #: only content below any of these pages/folders/... (ids in the chunk's ``ancestors``;
    #: the node itself is not below itself, as in CQL's ``ancestor = id``)
    ancestors: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (
            self.space_keys
            or self.labels
            or self.content_types
            or self.updated_after
            or self.space_ids is not None
            or self.ancestors
        )

    def matches(self, metadata: dict[str, Any]) -> bool:
        """Python-side check, used for post-filtering and by the lexical leg."""
        if self.space_keys and metadata.get("space_key") not in self.space_keys:
            return False
        if self.space_ids is not None and metadata.get("space_id") not in self.space_ids:
            return False
        if self.content_types and metadata.get("content_type") not in self.content_types:
            return False
        if self.labels:
            labels = metadata.get("labels") or []
            if isinstance(labels, str):
                labels = [x for x in labels.split(",") if x]
            if not set(self.labels) & set(labels):
                return False
        if self.ancestors:
            ancestors = metadata.get("ancestors") or []
            if isinstance(ancestors, str):
                ancestors = [x for x in ancestors.split(",") if x]
            if not set(self.ancestors) & {str(a) for a in ancestors}:
                return False
        if self.updated_after is not None:
            updated = metadata.get("updated_at_ts")
            if updated is None or float(updated) < self.updated_after.timestamp():
                return False
        return True


@runtime_checkable
class Embedder(Protocol):
    """Text -> L2-normalised float32 vectors."""

    @property
    def model_name(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def warm_up(self) -> None: ...

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...

    def count_tokens(self, text: str) -> int: ...


@runtime_checkable
class VectorStore(Protocol):
    """Chunks with vectors and metadata. Implementations: embedded Chroma, Chroma server."""

    def upsert(self, chunks: Sequence[Chunk], embeddings: np.ndarray) -> None: ...

    def update_metadata(self, ids: Sequence[str], metadatas: Sequence[dict[str, Any]]) -> None: ...

    def delete(self, ids: Iterable[str]) -> None: ...

    def get(self, ids: Sequence[str], *, include_embeddings: bool = False) -> list[StoredChunk]: ...

    def ids_for_content(self, content_ids: Sequence[str]) -> dict[str, list[str]]: ...

    def iter_all(self, *, batch_size: int = 1000) -> Iterable[StoredChunk]: ...

    def query(
        self, embedding: np.ndarray, k: int, filters: SearchFilters | None = None
    ) -> list[Hit]: ...

    def count(self) -> int: ...


@runtime_checkable
class LexicalIndex(Protocol):
    """BM25 over the same chunks as the vector store, persisted beside it."""

    def rebuild(self, chunks: Iterable[StoredChunk]) -> None: ...

    def search(self, query: str, k: int, filters: SearchFilters | None = None) -> list[Hit]: ...

    def save(self) -> None: ...

    def __len__(self) -> int: ...
