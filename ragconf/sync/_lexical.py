"""The sync's side of the lexical index: one batch per run, and reading the index's own
manifest instead of scanning the vector store.

With an index whose ``capabilities.documents`` is true (``SqliteLexicalIndex``) and that
agrees with the store, a run classifies content from the index (SQLite, local) and never
scans the store's metadata: a no-change run costs the listing. The index agrees with the
store when the last run finished: its batch commits after the store writes, then the run
records the index's stamp in the store's collection metadata. Otherwise (first run on an
old data dir, a run killed between the two, a store written by another worker)
:meth:`LexicalSync.prepare` compares the two manifests and copies the documents that
differ from the store into the index, in one batch.

Every chunk the run writes to the store goes into the run's batch in the same step, every
deletion too; the batch commits at the end of the run, so a search sees the index of the
previous run or of this one, never half of it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from ragconf.index.lexical_sqlite import reconcile
from ragconf.index.types import (
    Chunk,
    DocumentIndex,
    LexicalBatch,
    LexicalIndex,
    ManifestEntry,
    Metadata,
    VectorStore,
)

__all__ = ["LexicalSync"]

log = logging.getLogger("ragconf.sync")


class LexicalSync:
    """Wraps the run's lexical index (or None) and the store it mirrors."""

    def __init__(self, lexical: LexicalIndex | None, store: VectorStore) -> None:
        self.lexical = lexical
        self.store = store
        caps = lexical.capabilities if lexical is not None else None
        self.incremental = bool(caps and caps.incremental)
        #: the index that keeps the manifest too, when it declares so
        self.documents: DocumentIndex | None = (
            lexical if caps and caps.documents and isinstance(lexical, DocumentIndex) else None
        )
        #: the index, once prepare() found (or made) it equal to the store: read from it
        self.trusted: DocumentIndex | None = None
        self.batch: LexicalBatch | None = None
        #: chunks copied from the store by prepare() (0 when the index already agreed)
        self.reconciled = 0

    def prepare(self, resumed: bool) -> None:
        """Make the index agree with the store, cheaply when it already does."""
        index = self.documents
        if index is None:
            return
        # no store read but its collection metadata: counting or scanning Chroma is what
        # a no-change run must not pay for
        if resumed or not self._same_stamp(index):
            self.reconciled = reconcile(index, self.store)
        self.trusted = index

    def _same_stamp(self, index: DocumentIndex) -> bool:
        """Whether the store's last sync recorded this index's generation (another worker's
        sync, on a shared Chroma server, records its own)."""
        recorded = (self.store.get_meta() or {}).get("lexical_stamp")
        if recorded is None:  # no sync recorded one yet: the counts must agree
            return len(index) == self.store.count()
        return bool(recorded == index.stamp)

    # -- what the run reads ---------------------------------------------------------------

    def manifest(self, scope: Sequence[str] | None) -> dict[str, ManifestEntry]:
        if self.trusted is not None:
            return self.trusted.manifest(scope)
        return self.store.manifest(scope)

    def metadata(self, ids: Sequence[str]) -> dict[str, Metadata]:
        """chunk id -> stored metadata, for the classification of listed content."""
        if self.trusted is not None:
            return self.trusted.metadata(ids)
        return {s.id: s.metadata for s in self.store.get(ids)} if ids else {}

    def still_there(self, space_ids: Sequence[str] | None, chunk_ids: list[str]) -> list[str]:
        """Of these chunk ids (documents about to be deleted), those not moved out of
        ``space_ids`` (None: anywhere) in the store meanwhile by another worker; ids the
        store no longer has at all are kept (the index must lose them too)."""
        if self.trusted is None or space_ids is None:
            return chunk_ids  # the caller read the store's own manifest, or deletes anywhere
        moved: set[str] = set()
        for start in range(0, len(chunk_ids), 1000):
            for s in self.store.get(chunk_ids[start : start + 1000]):
                if str(s.metadata.get("space_id")) not in space_ids:
                    moved.add(s.id)
        return [c for c in chunk_ids if c not in moved]

    # -- what the run writes -------------------------------------------------------------------

    @contextmanager
    def run_batch(self) -> Iterator[None]:
        """The run's batch (nothing when there is no index)."""
        if self.lexical is None or not self.incremental:
            yield  # a rebuilding index is rebuilt once at the end instead
            return
        with self.lexical.batch() as batch:
            self.batch = batch
            try:
                yield
            finally:
                self.batch = None

    def upsert(self, chunks: Sequence[Chunk]) -> None:
        if self.batch is not None and chunks:
            self.batch.upsert(chunks)

    def delete(self, ids: Sequence[str]) -> None:
        if self.batch is not None and ids:
            self.batch.delete(ids)
