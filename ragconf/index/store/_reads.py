"""ChromaStore's scans: every chunk, metadata only, manifests and stats (from Chroma, or
from the lexical index for a vectors-only collection, see ``_lean``)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from ragconf.index.store._lean import VectorsOnly
from ragconf.index.store._meta import chunk_ids_by_content, manifest_from, stats_from, stored_chunks
from ragconf.index.store._query import in_clauses
from ragconf.index.types import ManifestEntry, Metadata, StoredChunk

__all__ = ["ChromaReads"]


class ChromaReads(VectorsOnly):
    """The scanning reads of ChromaStore (``_chroma``), which sets the attributes declared here."""

    max_batch_size: int
    _generation: int
    _stats_cache: tuple[tuple[Any, ...], float, dict[str, Any]] | None

    def count(self) -> int:
        raise NotImplementedError  # ChromaStore's

    def get_meta(self) -> Metadata:
        raise NotImplementedError  # ChromaStore's

    def iter_all(self, *, batch_size: int = 1000) -> Iterator[StoredChunk]:
        """Every chunk, page by page (text + metadata, no vectors)."""
        if self.vectors_only:
            ids = self.documents.chunk_ids()
            for start in range(0, len(ids), batch_size):
                yield from self._lean_get(ids[start : start + batch_size], False)
            return
        yield from self._scan(["documents", "metadatas"], None, batch_size)

    def _scan(
        self, include: list[str], where: dict[str, Any] | None, batch_size: int
    ) -> Iterator[StoredChunk]:
        size = max(1, min(batch_size, self.max_batch_size))
        offset = 0
        while True:
            with self._errors("get"):
                res = self._col.get(where=where, limit=size, offset=offset, include=include)
            page = list(stored_chunks(res, "embeddings" in include))
            yield from page
            if len(page) < size:
                return
            offset += size

    def text_hashes(self, ids: Sequence[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        ids = list(dict.fromkeys(ids))
        if self.vectors_only:
            found = self.documents.metadata(ids)
            return {i: str(md["text_hash"]) for i, md in found.items() if md.get("text_hash")}
        for part in self._batches(len(ids)):
            with self._errors("get"):
                res = self._col.get(ids=ids[part], include=["metadatas"])
            for cid, md in zip(res["ids"], res["metadatas"] or [], strict=False):
                if md and md.get("text_hash") is not None:
                    out[cid] = str(md["text_hash"])
        return out

    def iter_metadata(self) -> Iterator[StoredChunk]:
        """Every chunk's id and metadata (no text, no vector), page by page."""
        if self.vectors_only:
            return self.documents.iter_metadata()
        return self._scan_metadata([None])

    def _scan_metadata(self, wheres: Iterable[dict[str, Any] | None]) -> Iterator[StoredChunk]:
        for where in wheres:
            yield from self._scan(["metadatas"], where, self.max_batch_size)

    def ids_for_content(self, content_ids: Sequence[str]) -> dict[str, list[str]]:
        """content_id -> its chunk ids (by chunk_index); content without chunks is left out."""
        if self.vectors_only:
            return self.documents.ids_for_content(content_ids)
        return chunk_ids_by_content(self._scan_metadata(in_clauses("content_id", content_ids)))

    def manifest(self, space_ids: Sequence[str] | None = None) -> dict[str, ManifestEntry]:
        """``"type:id"`` -> {"version", "chunk_ids", "space_id", "updated_at", ...} from chunks.

        ``version`` is the lowest over the document's chunks, so a document caught half-way
        through a rewrite (a crash between writing new chunks and deleting old ones) looks
        stale and gets synced again.
        """
        if self.vectors_only:  # version, chunk ids and space: what its readers use
            return self.documents.manifest(space_ids)
        wheres: Sequence[dict[str, Any] | None] = [None]
        if space_ids is not None:
            wheres = in_clauses("space_id", space_ids)  # [] (no spaces): an empty manifest
        return manifest_from(self._scan_metadata(wheres))

    def stats(self, *, max_age_s: float = 3600.0) -> dict[str, Any]:
        """{"chunks", "documents", "by_space", "by_type"}.

        A full metadata scan (seconds at 100k chunks), so the answer is cached until this
        store writes, the chunk count changes or a sync records a new ``last_sync_at``.
        """
        key = (self._generation, self.count(), self.get_meta().get("last_sync_at"))
        cached = self._stats_cache
        if cached and cached[0] == key and time.monotonic() - cached[1] < max_age_s:
            return cached[2]
        out = stats_from(c.metadata for c in self.iter_metadata())
        self._stats_cache = (key, time.monotonic(), out)
        return out
