"""The write stage's store calls: new chunks, metadata fix-ups, stale ids, metadata updates.

Write order per document: its new chunks are upserted, then the chunk ids the new
version no longer has are deleted. Searches during a sync therefore see the old or the
new document, never neither; and a crash in between leaves chunks that disagree on
``doc_hash``/``chunk_count``, which the next run detects and rewrites.
"""

from __future__ import annotations

import numpy as np

from ragconf.index.types import Chunk, Metadata, StoredChunk, VectorStore
from ragconf.sync._documents import DOC_HASH, PENDING
from ragconf.sync._pipeline import DocWork
from ragconf.sync._report import Outcome

__all__ = ["removed_keys", "store_docs"]


def store_docs(store: VectorStore, docs: list[DocWork]) -> None:
    """Upsert new chunks, fix up metadata keys the new version dropped, delete stale ids.

    Chroma merges metadata on upsert, so a key the new version no longer has (labels
    removed, page moved to the root) must be deleted explicitly. Those chunks are
    upserted with a placeholder ``doc_hash`` that only the follow-up update replaces:
    a crash in between leaves the document visibly inconsistent, and it is redone.
    """
    body = [d for d in docs if d.action is not Outcome.METADATA]
    chunks: list[Chunk] = []
    fix_ids: list[str] = []
    fixes: list[Metadata] = []
    for d in body:
        for c in d.chunks:
            gone = d.removed.get(c.id)
            if gone:
                chunks.append(Chunk(c.id, c.text, {**c.metadata, DOC_HASH: PENDING}))
                fix_ids.append(c.id)
                fixes.append({**dict.fromkeys(gone), DOC_HASH: c.metadata[DOC_HASH]})
            else:
                chunks.append(c)
    stale = [cid for d in body for cid in d.stale_ids]
    meta_ids = [c.id for d in docs if d.action is Outcome.METADATA for c in d.chunks]
    metas = [
        {**dict.fromkeys(d.removed.get(c.id, ())), **c.metadata}
        for d in docs
        if d.action is Outcome.METADATA
        for c in d.chunks
    ]
    if chunks:
        vectors = [np.asarray(v, dtype=np.float32) for d in body for v in d.vectors]
        store.upsert(chunks, np.vstack(vectors))  # new chunks first ...
    if fix_ids:
        store.update_metadata(fix_ids, fixes)
    if stale:
        store.delete(stale)  # ... then the ones the new version no longer has
    if meta_ids:
        store.update_metadata(meta_ids, metas)


def removed_keys(old: list[StoredChunk], new: list[Chunk]) -> dict[str, list[str]]:
    """chunk id -> metadata keys its stored version has and the new one must lose."""
    old_keys = {s.id: set(s.metadata) for s in old}
    out: dict[str, list[str]] = {}
    for c in new:
        kept = {k for k, v in c.metadata.items() if v is not None and v != [] and v != ()}
        gone = sorted(old_keys.get(c.id, set()) - kept)
        if gone:
            out[c.id] = gone
    return out
