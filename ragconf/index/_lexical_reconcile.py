"""Bring a lexical index into agreement with the vector store, paying for the difference.

One metadata scan of each side; text is read from the store only for the chunks whose
fingerprint (doc hash, text hash, version, space) differs, and they are written in one
batch. Used after a run that was killed between writing the store and committing the
index, on a data dir from before the incremental index, and by an API replica whose
store was synced from another host.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

__all__ = ["reconcile"]

log = logging.getLogger(__name__)


def _fingerprint(md: Mapping[str, Any]) -> tuple[Any, ...]:
    return (md.get("doc_hash"), md.get("text_hash"), md.get("version"), md.get("space_id"))


def reconcile(lexical: Any, store: Any) -> int:
    """Copy to ``lexical`` every chunk that differs from ``store``, delete the extra ones;
    returns how many chunks were touched."""
    if getattr(store, "vectors_only", False):  # the index is the one copy of the documents
        from ragconf.index.store._lean import reconcile_vectors

        return reconcile_vectors(lexical, store, lexical.batch)
    ours = {c.id: _fingerprint(c.metadata) for c in lexical.iter_metadata()}
    theirs = {c.id: _fingerprint(c.metadata) for c in store.iter_metadata()}
    stale = [cid for cid, fp in theirs.items() if ours.get(cid) != fp]
    extra = [cid for cid in ours if cid not in theirs]
    if not stale and not extra:
        return 0
    with lexical.batch() as batch:
        batch.delete(extra)
        for start in range(0, len(stale), 500):
            batch.upsert(store.get(stale[start : start + 500]))
    log.info("lexical index: %d chunks copied from the store, %d removed", len(stale), len(extra))
    return len(stale) + len(extra)
