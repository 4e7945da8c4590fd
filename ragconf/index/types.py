"""The shapes that flow through the index pipeline, and the seams between its stages.

    Confluence object --convert--> Document --chunk--> [Chunk] --embed--> vectors --> VectorStore
                                                                 \\-> LexicalIndex (BM25)

``Embedder``, ``VectorStore`` and ``LexicalIndex`` are Protocols: each has one shared
contract test suite that every implementation passes (tests/contracts/). ``LeaseStore``
is what a store offers the sync lock (lease records beside the chunks, see
``ragconf.sync._lease``). Keys (``type:id[:index]``) and labels are encoded in ``keys``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol, TypeAlias, TypedDict, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from ragconf.document import Document, Section
from ragconf.index.keys import chunk_key, decode_labels

__all__ = [
    "CONTENT_TYPES",
    "Chunk",
    "ContentType",
    "Document",
    "DocumentIndex",
    "Embedder",
    "Hit",
    "JSONObject",
    "LeaseRecord",
    "LeaseStore",
    "LexicalBatch",
    "LexicalCapabilities",
    "LexicalIndex",
    "ManifestEntry",
    "Metadata",
    "SearchFilters",
    "Section",
    "StoredChunk",
    "Vector",
    "VectorStore",
    "chunk_id",
    "text_hash",
]

ContentType = Literal["page", "blogpost", "attachment", "custom_content", "comment"]
#: what the index holds; a comment is its own document (own chunks, own version) whose
#: search results are shown as the page (blog post, ...) it is on
CONTENT_TYPES: tuple[str, ...] = ("page", "blogpost", "attachment", "custom_content", "comment")

#: chunk (and collection) metadata: the DESIGN §5 fields; values are JSON scalars or lists
#: of strings, so callers read them with ``str()``/``int()`` as each field needs
Metadata: TypeAlias = dict[str, Any]
#: a decoded JSON object (state files, report summaries)
JSONObject: TypeAlias = dict[str, Any]
#: one embedding (float32, L2-normalised) or a matrix of them, one row per text
Vector: TypeAlias = NDArray[np.float32]

#: the stable chunk id ``type:id:index`` (see ``keys.chunk_key``)
chunk_id = chunk_key


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
    metadata: Metadata


@dataclass(frozen=True)
class StoredChunk:
    id: str
    text: str
    metadata: Metadata
    embedding: np.ndarray | None = None


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk. ``score``: higher is better (cosine similarity, BM25 or fused)."""

    id: str
    score: float
    text: str
    metadata: Metadata


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
        if self.labels and not set(self.labels) & set(decode_labels(metadata.get("labels"))):
            return False
        # the same codec: ancestors are stored as a list, or comma-joined by older writers
        if self.ancestors and not set(self.ancestors) & set(
            decode_labels(metadata.get("ancestors"))
        ):
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


class ManifestEntry(TypedDict, total=False):
    """What the store holds for one document (``VectorStore.manifest``), from its chunks.

    ``version`` is the lowest over the document's chunks, so a document caught half-way
    through a rewrite looks stale; ``chunk_ids`` are in ``chunk_index`` order.
    """

    version: int | None
    chunk_ids: list[str]
    space_id: str | None
    space_key: str | None
    updated_at: str | None
    title: str | None
    labels: list[str]
    parent_id: str | None
    status: str | None


@runtime_checkable
class VectorStore(Protocol):
    """Chunks with vectors and metadata. Implementations: embedded Chroma, Chroma server.

    ``manifest`` (``"type:id"`` -> ManifestEntry, optionally for some space ids only),
    ``get_meta``/``set_meta`` (collection-level values: model, ``last_sync_at``,
    ``lexical_stamp``; None removes a key) and ``query_ids`` (ids and cosine scores
    only, no payload) are part of the contract: the sync, the retriever and the API use
    them, and tests/contracts/test_vector_store.py checks them.
    """

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

    def query_ids(self, embedding: np.ndarray, k: int) -> list[tuple[str, float]]: ...

    def manifest(self, space_ids: Sequence[str] | None = None) -> dict[str, ManifestEntry]: ...

    def get_meta(self) -> Metadata: ...

    def set_meta(self, **values: Any) -> None: ...


@dataclass(frozen=True)
class LeaseRecord:
    """One claim on part of a collection (see ``ragconf.sync._lease``).

    ``scopes``: ``("*",)`` (the whole collection) or space keys. ``held``: the claimant
    verified it won (a candidate row is still settling). ``expires_at``: epoch seconds;
    the holder renews it while it works, so a killed holder's record simply runs out.
    """

    token: str
    collection: str
    scopes: tuple[str, ...]
    host: str
    pid: int
    started_at: float
    expires_at: float
    held: bool = False


@runtime_checkable
class LeaseStore(Protocol):
    """Lease records kept where the index lives, so syncs on any host see each other.

    Rows are independent (one per claimant, never read-modify-written together), so a
    write can't undo another claimant's. ``lease_settle_s`` bounds how long a write takes
    to become visible to every reader: the lock waits that long before it reads back.
    """

    @property
    def name(self) -> str: ...

    @property
    def lease_settle_s(self) -> float: ...

    def put_lease(self, record: LeaseRecord) -> None: ...

    def leases(self) -> list[LeaseRecord]: ...

    def drop_lease(self, token: str) -> None: ...


@dataclass(frozen=True)
class LexicalCapabilities:
    """What a lexical index can do beyond searching; callers branch on these, never on
    attribute probing.

    ``incremental``: a batch costs O(changed chunks) (else every commit rebuilds it all).
    ``shared``: other processes opening the same ``path`` see a commit on their next
    search (else they must reload). ``scoped_statistics``: with ``filters.space_ids`` or
    ``space_keys`` set, BM25 statistics (N, average length, document frequencies) come from
    those spaces only, and no work is done on chunks outside them. ``documents``:
    ``manifest``/``metadata`` answer what the sync needs to classify content without
    reading the vector store.
    """

    incremental: bool
    shared: bool
    scoped_statistics: bool
    documents: bool


@runtime_checkable
class LexicalBatch(Protocol):
    """Changes that become visible together, when the batch's context exits cleanly."""

    def upsert(self, chunks: Sequence[Chunk | StoredChunk]) -> None: ...

    def delete(self, ids: Iterable[str]) -> None: ...


@runtime_checkable
class LexicalIndex(Protocol):
    """BM25 over the same chunks as the vector store; holds each chunk's text and metadata.

    Implementations: ``ragconf.index.lexical_sqlite.SqliteLexicalIndex`` (incremental, the
    default) and ``ragconf.index.lexical.BM25Index`` (bm25s, rebuilt per commit). One
    contract suite (tests/contracts/test_lexical_index.py) runs against both.
    """

    capabilities: LexicalCapabilities

    @property
    def stamp(self) -> str | None:
        """The identity of the saved contents; the sync records it for other hosts."""
        ...

    @property
    def path(self) -> Path:
        """Where the index lives on this host (a file, or a folder of versions)."""
        ...

    def __len__(self) -> int: ...

    def search(self, query: str, k: int, filters: SearchFilters | None = None) -> list[Hit]: ...

    def tokens(self, text: str) -> list[str]:
        """The index terms of ``text`` (the tokenisation ``search`` applies)."""
        ...

    def doc_freqs(self, terms: Sequence[str]) -> list[int]:
        """How many chunks contain each index term (for query expansion's idf)."""
        ...

    def coverage(
        self, query: str, ids: Sequence[str], filters: SearchFilters | None = None
    ) -> dict[str, float]:
        """For each of ``ids`` this index holds: the share (0..1) of the query's distinct
        terms the chunk contains, each weighted by its idf as ``search`` computes it (with
        the statistics of the same scope). Unknown ids are left out."""
        ...

    def lookup(self, ids: Sequence[str]) -> dict[str, Hit]: ...

    def mask_ids(self, ids: Sequence[str], filters: SearchFilters) -> list[bool | None]: ...

    def batch(self) -> AbstractContextManager[LexicalBatch]: ...

    def rebuild(self, chunks: Iterable[StoredChunk | Chunk]) -> None: ...

    def refresh(self) -> bool: ...

    def save(self) -> None: ...


@runtime_checkable
class DocumentIndex(LexicalIndex, Protocol):
    """A lexical index that also keeps the store's manifest (``capabilities.documents``):
    the sync classifies content from it instead of scanning the vector store."""

    def manifest(self, space_ids: Sequence[str] | None = None) -> dict[str, ManifestEntry]: ...

    def metadata(self, ids: Sequence[str]) -> dict[str, Metadata]: ...
